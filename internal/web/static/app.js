// Book Smeta: copy buttons, confirmation dialogs and the GetCourse
// connection test. Everything works without this file too; it only makes it
// quicker. Text from the server is always set with textContent, never as HTML.
(function () {
  "use strict";

  function announce(msg) {
    var live = document.getElementById("live");
    if (live) {
      live.textContent = "";
      window.setTimeout(function () { live.textContent = msg; }, 50);
    }
  }

  function fallbackCopy(el) {
    el.focus();
    el.select();
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }

  // Reveal buttons: <button data-reveal="ID"> shows or hides the password in #ID.
  document.querySelectorAll("button[data-reveal]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var el = document.getElementById(btn.getAttribute("data-reveal"));
      if (!el) { return; }
      var show = el.type === "password";
      el.type = show ? "text" : "password";
      btn.textContent = show ? "Скрыть" : "Показать";
    });
  });

  // Copy buttons: <button data-copy="ID"> copies the value of #ID.
  document.querySelectorAll("button[data-copy]").forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var el = document.getElementById(btn.getAttribute("data-copy"));
      if (!el) { return; }
      var text = el.value !== undefined ? el.value : el.textContent;
      var done = function () {
        var old = btn.textContent;
        btn.textContent = "Скопировано";
        announce("Скопировано в буфер обмена");
        window.setTimeout(function () { btn.textContent = old; }, 2000);
      };
      var failed = function () {
        if (fallbackCopy(el)) { done(); return; }
        el.focus();
        el.select();
        announce("Не удалось скопировать автоматически: текст выделен, нажмите Ctrl+C (на телефоне — «Копировать»).");
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, failed);
      } else {
        failed();
      }
    });
  });

  // Confirmation: <form data-confirm="Вопрос?">. A hidden input named
  // "confirm" is set to "yes" so the server knows the question was asked.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        ev.preventDefault();
        return;
      }
      var c = form.querySelector("input[name=confirm]");
      if (c) { c.value = "yes"; }
    });
  });

  // Connection test: send the form's values (saved or not) and show the
  // verdict without leaving the page, so typed values stay in the form.
  document.querySelectorAll("button[data-gc-test]").forEach(function (btn) {
    btn.addEventListener("click", function (ev) {
      var form = btn.form;
      var out = document.getElementById("gc-test-result");
      if (!form || !out || !window.fetch) { return; }
      ev.preventDefault();
      var show = function (ok, text) {
        out.textContent = "";
        var p = document.createElement("p");
        p.className = ok ? "ok-box" : "error";
        p.textContent = text;
        out.appendChild(p);
      };
      btn.disabled = true;
      show(true, "Проверяем подключение к GetCourse…");
      out.firstChild.className = "note";
      var body = new URLSearchParams(new FormData(form));
      fetch(btn.getAttribute("formaction"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch", "Content-Type": "application/x-www-form-urlencoded" },
        body: body
      }).then(function (resp) {
        var type = resp.headers.get("Content-Type") || "";
        if (!resp.ok || type.indexOf("application/json") !== 0) {
          throw new Error("HTTP " + resp.status);
        }
        return resp.json();
      }).then(function (v) {
        show(!!v.ok, v.message || (v.ok ? "Подключение работает." : "Подключение не удалось."));
      }).catch(function () {
        show(false, "Не удалось выполнить тест: сеанс мог истечь или сервер недоступен. Обновите страницу и попробуйте снова.");
      }).then(function () {
        btn.disabled = false;
      });
    });
  });
})();
