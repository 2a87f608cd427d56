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

  // Addresses with a secret: <input data-reveal-form="FORM"> holds the
  // address with the secret masked, and form#FORM[data-reveal="INPUT"] asks
  // the server for the full one (a POST carrying the CSRF token). Without
  // this file the form reloads the page with the address shown.
  function fetchSecret(form) {
    return fetch(form.getAttribute("action").split("#")[0], {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(new FormData(form))
    }).then(function (resp) {
      var type = resp.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") !== 0) { throw new Error("HTTP " + resp.status); }
      return resp.json();
    }).then(function (v) {
      if (!v.ok || typeof v.value !== "string") { throw new Error(v.message || "refused"); }
      return v.value;
    });
  }

  var revealers = {};
  document.querySelectorAll("form[data-reveal]").forEach(function (form) {
    var el = document.getElementById(form.getAttribute("data-reveal"));
    var btn = form.querySelector("button");
    if (!el || !btn || !window.fetch) { return; }
    var masked = el.value;
    var show = function (value) {
      el.value = value;
      el.setAttribute("data-revealed", "1");
      btn.textContent = "Скрыть";
    };
    revealers[el.id] = { form: form, show: show };
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (el.hasAttribute("data-revealed")) {
        el.value = masked;
        el.removeAttribute("data-revealed");
        btn.textContent = "Показать";
        announce("Секрет в адресе снова скрыт");
        return;
      }
      btn.disabled = true;
      fetchSecret(form).then(function (v) {
        show(v);
        announce("Адрес показан полностью, с секретом");
      }).catch(function () {
        announce("Не удалось показать адрес: сеанс мог истечь. Обновите страницу и попробуйте снова.");
      }).then(function () { btn.disabled = false; });
    });
  });

  // Copy buttons: <button data-copy="ID"> copies the value of #ID; a masked
  // address is fetched in full and copied without being shown.
  document.querySelectorAll("button[data-copy]").forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var el = document.getElementById(btn.getAttribute("data-copy"));
      if (!el) { return; }
      var rev = revealers[el.id];
      var text = Promise.resolve(el.value !== undefined ? el.value : el.textContent);
      if (rev && !el.hasAttribute("data-revealed")) { text = fetchSecret(rev.form); }
      var done = function () {
        var old = btn.textContent;
        btn.textContent = "Скопировано";
        announce("Скопировано в буфер обмена");
        window.setTimeout(function () { btn.textContent = old; }, 2000);
      };
      var failed = function (value) {
        // Copying by hand needs the full text in the field.
        if (rev && typeof value === "string" && !el.hasAttribute("data-revealed")) { rev.show(value); }
        if (fallbackCopy(el)) { done(); return; }
        el.focus();
        el.select();
        announce("Не удалось скопировать автоматически: текст выделен, нажмите Ctrl+C (на телефоне — «Копировать»).");
      };
      text.then(function (value) {
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(value).then(done, function () { failed(value); });
        } else {
          failed(value);
        }
      }, function () {
        announce("Не удалось получить адрес для копирования: сеанс мог истечь. Обновите страницу и попробуйте снова.");
      });
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

// Student pages: a password in the access panel is shown as text when this
// file does not run (the student must be able to read it) and masked, with
// a «Показать» button, when it does. A refusal message marked data-focus
// takes the focus, so it is in view and read out first.
(function () {
  "use strict";
  document.querySelectorAll("input[data-mask]").forEach(function (el) {
    el.type = "password";
    document.querySelectorAll("button[data-reveal='" + el.id + "']").forEach(function (btn) {
      btn.hidden = false;
    });
  });
  var alertEl = document.querySelector("[role=alert][data-focus]");
  if (alertEl) {
    alertEl.focus();
    if (alertEl.scrollIntoView) { alertEl.scrollIntoView({ block: "start" }); }
  }
})();

// Access being prepared (a provider's grant not done yet): ask the API every
// few seconds and reload the page once access answers, so the student need
// not press anything. Without JavaScript the page offers a link to reload.
(function () {
  "use strict";
  document.querySelectorAll("[data-access-poll]").forEach(function (el) {
    var url = el.getAttribute("data-access-poll");
    var tries = 0;
    var timer = setInterval(function () {
      tries++;
      if (tries > 120) { clearInterval(timer); return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } }).then(function (resp) {
        if (resp.status !== 409) {
          clearInterval(timer);
          window.location.reload();
        }
      }).catch(function () {});
    }, 5000);
  });
})();

// Mail template editor: the preview follows what is typed, shortly after
// typing stops. Without JavaScript «Предпросмотр» does the same.
(function () {
  var form = document.querySelector("form[data-template-editor]");
  var box = document.getElementById("template-preview");
  if (!form || !box || !window.fetch || !window.DOMParser || !window.URLSearchParams) {
    return;
  }
  var timer = null, seq = 0;
  var refresh = function () {
    var body = new URLSearchParams(new FormData(form));
    body.set("action", "preview");
    var mine = ++seq;
    fetch(form.getAttribute("action"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body
    }).then(function (resp) {
      return resp.text();
    }).then(function (text) {
      var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("template-preview");
      if (mine === seq && fresh) {
        box.innerHTML = fresh.innerHTML;
      }
    }).catch(function () {});
  };
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 600);
  });
})();

// The admin menu is one sideways-scrolling row on a phone: bring the
// current section into view in it.
(function () {
  "use strict";
  var cur = document.querySelector('.nav[aria-label="Разделы панели администратора"] a[aria-current="page"]');
  var nav = cur && cur.closest(".nav");
  if (nav && nav.scrollWidth > nav.clientWidth) {
    nav.scrollLeft += cur.getBoundingClientRect().left - nav.getBoundingClientRect().left - (nav.clientWidth - cur.offsetWidth) / 2;
  }
})();
