package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"testing"

	"booksmeta/internal/store"
)

// The template editor: subject and text with named placeholders, the list
// of what each holds, a preview with sample data on every view, and a
// refusal that names the wrong placeholder and keeps what was typed.
func TestTemplateEditorPlaceholders(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	a := f.as(t, f.admin)
	const path = "/admin/mail-templates/booking_confirmation"

	p := a.get(path)
	expect(t, p, 200, `id="placeholders"`, "<code>{Имя}</code>", "<code>{Время}</code>", "<code>{Номер брони}</code>", "<code>{Школа}</code>",
		"27.11.2026, 10:00–11:00 (Москва, UTC&#43;3)", `id="template-preview"`,
		html.EscapeString("Бронирование №{Номер брони} подтверждено: {Дата}, {Часы}"),
		"Бронирование №1042 подтверждено: 27.11.2026, 10:00–11:00")
	expectNot(t, p, "{{", `name="html"`)

	// An unknown placeholder: refused with its name and the line, the typed
	// text stays in the form, nothing is stored.
	typed := "{Приветствие}\n\nЖдём вас {Время}.\nБронь {Номер}"
	p = a.submit(path, path, url.Values{"action": {"save"}, "subject": {"Бронь {Номер брони}"}, "text": {typed}})
	expect(t, p, http.StatusUnprocessableEntity, `role="alert"`, html.EscapeString("неизвестная подстановка «{Номер}»"), "строка 4",
		html.EscapeString(typed))
	if _, ok, _ := f.srv.Store.MailTemplate(ctx, "booking_confirmation"); ok {
		t.Fatal("a refused template was stored")
	}
	p = a.submit(path, path, url.Values{"action": {"save"}, "subject": {""}, "text": {"x"}})
	expect(t, p, http.StatusUnprocessableEntity, "тема пустая")
	p = a.submit(path, path, url.Values{"action": {"preview"}, "subject": {"Бронь"}, "text": {"Ждём {Время"}})
	expect(t, p, http.StatusUnprocessableEntity, "не закрыта скобка")

	// «Предпросмотр» renders the typed text with the sample, without saving.
	p = a.submit(path, path, url.Values{"action": {"preview"}, "subject": {"Ждём вас: {Дата}"}, "text": {"{Приветствие}\nЖдём вас {Время}."}})
	expect(t, p, 200, "Ждём вас: 27.11.2026", "Здравствуйте, Анна!\nЖдём вас 27.11.2026, 10:00–11:00 (Москва, UTC&#43;3).")
	if _, ok, _ := f.srv.Store.MailTemplate(ctx, "booking_confirmation"); ok {
		t.Fatal("preview stored the template")
	}

	p = a.submit(path, path, url.Values{"action": {"save"}, "subject": {"Ждём вас: {Дата}"}, "text": {"{Приветствие}\nЖдём вас {Время}."}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", p.Status, p.Body)
	}
	got, ok, _ := f.srv.Store.MailTemplate(ctx, "booking_confirmation")
	if !ok || got.Subject != "Ждём вас: {Дата}" || got.HTML != "" {
		t.Fatalf("stored %+v", got)
	}
	expect(t, a.get(path), 200, html.EscapeString("Ждём вас: {Дата}"))
}

// A template stored in the old Go syntax: one that only printed values is
// shown converted; one with conditions is shown beside the built-in text.
func TestTemplateEditorOldTemplates(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	a := f.as(t, f.admin)
	put := func(m store.MailTemplate) {
		t.Helper()
		if err := f.srv.Store.InTx(ctx, func(tx *store.Tx) error { return tx.PutMailTemplate(ctx, m, f.admin.ID) }); err != nil {
			t.Fatal(err)
		}
	}
	put(store.MailTemplate{Kind: "welcome", Subject: "Привет, {{.Name}} из {{appName}}", Text: "Ссылка: {{.SetPasswordURL}}"})
	p := a.get("/admin/mail-templates/welcome")
	expect(t, p, 200, html.EscapeString("Привет, {Имя} из {Школа}"), html.EscapeString("Ссылка: {Ссылка}"), "Привет, Анна из Book Smeta")
	expectNot(t, p, "в старом формате")

	put(store.MailTemplate{Kind: "reminder", Text: "{{if .StartsIn}}Скоро{{end}}", HTML: "<p>{{.When}}</p>"})
	p = a.get("/admin/mail-templates/reminder")
	expect(t, p, 200, "в старом формате", html.EscapeString("{{if .StartsIn}}Скоро{{end}}"), html.EscapeString("{Через сколько}"))
}
