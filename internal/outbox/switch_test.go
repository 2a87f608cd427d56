package outbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/mail/mailtest"
	"booksmeta/internal/outbox"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

// With mail switched off nothing leaves: mail stays queued with no attempt
// counted, its job leaves it be and the sweep passes it over. Switched on,
// the queue leaves — named after the school from the general settings.
func TestMailSwitchKeepsQueueThenSends(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a := start(t, srv, "")
	ctx := context.Background()
	if err := a.Settings.Put(ctx, map[string]string{outbox.MailEnabled: "0", settings.SchoolName: "Школа сметчика"}, 0); err != nil {
		t.Fatal(err)
	}
	u := newStudent(t, a, "zoya@example.com")
	id := welcome(t, a, u)

	for a.Jobs.RunOne(ctx, "test") { // the job QueueMail added
	}
	if n, err := a.Outbox.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("sweep while off: %d %v", n, err)
	}
	if err := a.Outbox.SendOne(ctx, id); !errors.Is(err, outbox.ErrMailOff) {
		t.Fatalf("SendOne while off: %v", err)
	}
	m, _ := a.Store.MailByID(ctx, id)
	if m.Status != store.MailQueued || m.Attempts != 0 || m.LastError != "" {
		t.Fatalf("row while off: %+v", m)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages left while mail was off", n)
	}
	// The test mail is the admin checking the server: it goes either way.
	if err := a.Outbox.SendTest(ctx, "admin@example.com"); err != nil {
		t.Fatalf("test mail while off: %v", err)
	}
	if got := srv.WaitMessages(1, 2*time.Second); len(got) != 1 || got[0].Subject() != "Тестовое письмо от Школа сметчика" {
		t.Fatalf("test mail: %d %q", len(got), got[0].Subject())
	}

	if err := a.Settings.Put(ctx, map[string]string{outbox.MailEnabled: "1"}, 0); err != nil {
		t.Fatal(err)
	}
	drain(t, a, id, store.MailSent)
	got := srv.WaitMessages(2, 2*time.Second)
	if len(got) != 2 {
		t.Fatalf("%d messages after switching on", len(got))
	}
	w := got[1]
	if w.To[0] != "zoya@example.com" || w.Subject() != "Добро пожаловать в Школа сметчика: задайте пароль для входа" {
		t.Fatalf("welcome: %v %q", w.To, w.Subject())
	}
	if !strings.Contains(w.Text(), "сервисом Школа сметчика") || !strings.Contains(w.HTML(), "Школа сметчика") {
		t.Fatalf("school name missing from the signature:\n%s", w.Text())
	}
}

// An admin's template with placeholders is what the student receives,
// with an HTML version made from it; one stored in the old Go syntax still
// goes out as it did.
func TestEditedTemplatesAreSent(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a := start(t, srv, "")
	ctx := context.Background()
	put := func(m store.MailTemplate) {
		t.Helper()
		if err := a.Store.InTx(ctx, func(tx *store.Tx) error { return tx.PutMailTemplate(ctx, m, 0) }); err != nil {
			t.Fatal(err)
		}
	}
	put(store.MailTemplate{Kind: "welcome", Subject: "{Школа} ждёт вас, {Имя}", Text: "{Приветствие}\n\nВаш вход: {Почта}\nПароль задаётся здесь: {Ссылка}"})
	u := newStudent(t, a, "ira@example.com")
	drain(t, a, welcome(t, a, u), store.MailSent)
	m := srv.WaitMessages(1, 2*time.Second)[0]
	noSecrets(t, m)
	if m.Subject() != "Book Smeta ждёт вас, Анна" {
		t.Errorf("subject %q", m.Subject())
	}
	for _, want := range []string{"Здравствуйте, Анна!", "Ваш вход: ira@example.com", "Пароль задаётся здесь: https://school.example/set-password?token="} {
		if !strings.Contains(m.Text(), want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text())
		}
	}
	if !strings.Contains(m.HTML(), `<a href="https://school.example/set-password?token=`) || !strings.Contains(m.HTML(), "Ваш вход: ira@example.com") {
		t.Errorf("HTML not made from the text:\n%s", m.HTML())
	}

	put(store.MailTemplate{Kind: "payment_revoked", Subject: "Оплата {{.Deal}} отменена", Text: "{{with .Name}}{{.}}, {{end}}оплата отменена."})
	id := queue(t, a, &store.OutboxMail{Kind: "payment_revoked", ToEmail: u.Email, ToName: u.Name(), UserID: u.ID, Data: `{"first_name":"Анна","deal":"№55"}`})
	drain(t, a, id, store.MailSent)
	old := srv.WaitMessages(2, 2*time.Second)[1]
	if old.Subject() != "Оплата №55 отменена" || !strings.Contains(old.Text(), "Анна, оплата отменена.") {
		t.Errorf("old template: %q\n%s", old.Subject(), old.Text())
	}
}
