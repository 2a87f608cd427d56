package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"booksmeta/internal/booking"
	"booksmeta/internal/outbox"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

// The «Школа» section of the general settings: the school's name in the
// page header and title, how far ahead students may book (the calendar
// hides what is beyond, a booking posted anyway is refused with the
// reason), and the mail switch the mail page speaks of.
func TestSchoolSection(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	a := f.as(t, f.admin)
	p := a.get("/admin/settings/general")
	expect(t, p, 200, `<fieldset id="school">`, "<legend>Школа</legend>", `id="f-school_name"`, `id="f-max_advance_days"`, `value="60"`,
		`id="f-mail_enabled"`, "Режим отправки писем", "— Book Smeta</title>")

	// A value out of 0..365 is refused beside the field; what was typed stays.
	form := url.Values{settings.SchoolName: {"Школа сметчика «Гранд»"}, booking.MaxAdvanceDays: {"400"}}
	p = a.submit("/admin/settings/general", "/admin/settings/general", form)
	expect(t, p, http.StatusUnprocessableEntity, "На сколько дней вперёд можно бронировать — целое число от 0 до 365", `value="400"`,
		`value="Школа сметчика «Гранд»"`)
	form.Set(booking.MaxAdvanceDays, "1")
	if p = a.submit("/admin/settings/general", "/admin/settings/general", form); p.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", p.Status, p.Body)
	}
	p = a.get("/admin")
	expect(t, p, 200, `<a class="brand" href="/">Школа сметчика «Гранд»</a>`, "— Школа сметчика «Гранд»</title>")

	// One day ahead: tomorrow is offered, the day after is not, and posting
	// it anyway gets the rule's words.
	tomorrow, later := futureHour(1), futureHour(2)
	near, far := addSlot(t, f, tomorrow, 3), addSlot(t, f, later, 3)
	b := f.as(t, f.student)
	expect(t, b.get("/?week="+tomorrow.Format("2006-01-02")), 200, tomorrow.Format("15:04")+"–", `value="`+itoa(near)+`"`)
	p = b.get("/?week=" + later.Format("2006-01-02"))
	expectNot(t, p, `value="`+itoa(far)+`"`)
	expect(t, p, 200, `id="advance-limit"`, "Бронировать можно не дальше чем на 1 день вперёд: последний день — "+tomorrow.Format("02.01.2006")+".")
	expect(t, bookVia(t, b, later.Format("2006-01-02"), itoa(far)), 200, "Бронировать можно не дальше чем на 1 день вперёд")
	expect(t, bookVia(t, b, tomorrow.Format("2006-01-02"), itoa(near)), 200, "Время забронировано")

	// Mail switched off: the mail page says so; mail keeps being queued.
	expectNot(t, a.get("/admin/mail"), "Отправка писем выключена")
	form = url.Values{outbox.MailEnabled: {"0"}}
	if p = a.submit("/admin/settings/general", "/admin/settings/general", form); p.Status != http.StatusSeeOther {
		t.Fatalf("switch off: %d %s", p.Status, p.Body)
	}
	if on, err := f.srv.Outbox.Enabled(ctx); err != nil || on {
		t.Fatalf("enabled after switching off: %v %v", on, err)
	}
	p = a.get("/admin/mail")
	expect(t, p, 200, `id="mail-off"`, "Отправка писем выключена: письма не уходят, а копятся в очереди")
	var mails []*store.OutboxMail
	mails, _ = f.srv.Store.MailByUser(ctx, f.student.ID)
	if len(mails) == 0 || mails[0].Status != store.MailQueued {
		t.Fatalf("booking mail not kept in the queue: %+v", mails)
	}
	form.Set(outbox.MailEnabled, "1")
	a.submit("/admin/settings/general", "/admin/settings/general", form)
	if p = a.get("/admin/mail"); strings.Contains(p.Body, `id="mail-off"`) {
		t.Fatal("still says mail is off")
	}
}
