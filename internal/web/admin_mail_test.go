package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"booksmeta/internal/mail/mailtest"
	"booksmeta/internal/store"
)

// The SMTP password is never shown or echoed: not on the settings page, not
// in the test mail's verdict (which explains a refused login in Russian),
// not on the outbox page. Mail actions need the CSRF token and an admin.
func TestMailSettingsVerdictAndSecrets(t *testing.T) {
	const smtpPass = "Wrong-Smtp-Pa55-SECRET"
	srv := mailtest.Start(t, mailtest.WithAuth("school", "the-right-one"))
	f := start(t, map[string]string{"MAIL_HOST": srv.Host(), "MAIL_PORT": strconv.Itoa(srv.Port()), "MAIL_ENCRYPTION": "none",
		"MAIL_USERNAME": "school", "MAIL_PASSWORD": smtpPass, "MAIL_FROM_EMAIL": "school@example.com"})
	a := f.as(t, f.admin)

	p := a.get("/admin/settings/general")
	expect(t, p, 200, `id="mail"`, "переменная окружения", "оставьте пустым, чтобы не менять", "smtp.yandex.ru")
	expectNot(t, p, smtpPass, "Почта не настроена")

	p = a.submit("/admin/settings/general", "/admin/settings/mail-test", url.Values{"to": {"owner@example.com"}})
	expect(t, p, 200, "не принял логин или пароль", "535")
	expectNot(t, p, smtpPass)
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages with a refused login", n)
	}

	// Saving the form with the password left empty keeps it.
	p = a.submit("/admin/settings/general", "/admin/settings/general", url.Values{"mail_from_name": {"Школа"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", p.Status, p.Body)
	}
	if got, err := f.srv.Settings.String(t.Context(), "mail_password"); err != nil || got != smtpPass {
		t.Fatalf("the empty password field changed the password to %q (%v)", got, err)
	}

	// A mail that waits after the refused login shows the server's answer,
	// never the password.
	f.srv.Store.InTx(t.Context(), func(tx *store.Tx) error {
		_, err := tx.QueueMail(t.Context(), &store.OutboxMail{Kind: "welcome", ToEmail: "student@example.com", UserID: f.student.ID, Data: "{}"})
		return err
	})
	mails, _ := f.srv.Store.MailByUser(t.Context(), f.student.ID)
	if err := f.srv.Outbox.SendOne(t.Context(), mails[0].ID); err == nil {
		t.Fatal("sent with a refused login")
	}
	p = a.get("/admin/mail")
	expect(t, p, 200, "student@example.com", "не принял логин или пароль")
	expectNot(t, p, smtpPass, "Почта не настроена")

	// No CSRF token: refused, nothing sent.
	expect(t, a.post("/admin/settings/mail-test", url.Values{"to": {"owner@example.com"}}), http.StatusForbidden)
	expect(t, a.post("/admin/mail/"+itoa(mails[0].ID)+"/resend", nil), http.StatusForbidden)
	// Students never reach the mail pages.
	st := f.as(t, f.student)
	for _, path := range []string{"/admin/mail", "/admin/mail-templates", "/admin/mail/settings", "/admin/settings/general"} {
		expect(t, st.get(path), http.StatusForbidden)
	}
}

func TestMailShortAddresses(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.admin)
	for from, to := range map[string]string{"/admin/mail/settings": "/admin/settings/general#mail",
		"/admin/mail/templates": "/admin/mail-templates", "/admin/mail/templates/reminder": "/admin/mail-templates/reminder"} {
		p := a.get(from)
		if p.Status != http.StatusSeeOther || p.location() != to {
			t.Fatalf("%s: %d → %q", from, p.Status, p.location())
		}
	}
	expect(t, a.get("/admin/mail-templates/reminder"), 200, "Предпросмотр")
}
