package outbox_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"booksmeta"
	"booksmeta/internal/booking"
	"booksmeta/internal/mail/mailtest"
	"booksmeta/internal/store"
)

func TestPasswordResetMailHasWorkingLink(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a := start(t, srv, "")
	u := newStudent(t, a, "reset@example.ru")
	id := queue(t, a, &store.OutboxMail{Kind: "password_reset", ToEmail: u.Email, ToName: u.Name(), UserID: u.ID, Data: "{}"})
	drain(t, a, id, store.MailSent)
	msgs := srv.WaitMessages(1, 5*time.Second)
	text := msgs[0].Text()
	m := regexp.MustCompile(`https://school\.example/set-password\?token=([A-Za-z0-9_%-]+)`).FindStringSubmatch(text)
	if m == nil || !strings.Contains(msgs[0].Subject(), "арол") {
		t.Fatalf("no reset link in %q (subject %q)", text, msgs[0].Subject())
	}
	tok, _ := url.QueryUnescape(m[1])
	if got, err := a.Accounts.LinkUser(context.Background(), tok); err != nil || got.ID != u.ID {
		t.Fatalf("the link does not open the account: %v", err)
	}
	noSecrets(t, msgs[0])
}

func TestPaymentRevokedMail(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a := start(t, srv, "")
	u := newStudent(t, a, "revoked@example.ru")
	id := queue(t, a, &store.OutboxMail{Kind: "payment_revoked", ToEmail: u.Email, ToName: u.Name(), UserID: u.ID,
		Data: `{"first_name":"<b>Анна</b>","deal":"№77","status":"cancelled"}`})
	drain(t, a, id, store.MailSent)
	msg := srv.WaitMessages(1, 5*time.Second)[0]
	if !strings.Contains(msg.Text(), "№77") || !strings.Contains(msg.Text(), "отменена или возвращена") {
		t.Fatalf("text: %q", msg.Text())
	}
	if strings.Contains(msg.HTML(), "<b>Анна</b>") {
		t.Fatal("the name is not escaped in HTML")
	}
}

func TestRemindersQueuedOnceInsideTheWindow(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a := start(t, srv, "")
	ctx := context.Background()
	u := newStudent(t, a, "remind@example.ru")
	u.BookingLimit = 5
	a.Store.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateUser(ctx, u) })
	slot := func(in time.Duration) int64 {
		st := time.Now().Add(in).Truncate(time.Minute)
		var id int64
		if err := a.DB.Write.QueryRow(`INSERT INTO slots (starts_at, ends_at, capacity, created_at, updated_at) VALUES ($1,$2,1,$3,$3) RETURNING id`,
			st.UnixMilli(), st.Add(time.Hour).UnixMilli(), time.Now().UnixMilli()).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	soon, later := slot(40*time.Minute), slot(3*time.Hour)
	for _, s := range []int64{soon, later} {
		if _, err := a.Booking.Book(ctx, u.ID, s); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		n, err := a.Outbox.QueueReminders(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 1, false: 0}[i == 0]; n != want {
			t.Fatalf("run %d queued %d reminders, want %d (only the booking within 60 min, once)", i, n, want)
		}
	}
	mails, _ := a.Store.MailByUser(ctx, u.ID)
	var rem *store.OutboxMail
	for _, m := range mails {
		if m.Kind == "reminder" {
			rem = m
		}
	}
	if rem == nil {
		t.Fatal("no reminder row")
	}
	drain(t, a, rem.ID, store.MailSent)
	var got *mailtest.Received
	for _, m := range srv.WaitMessages(3, 5*time.Second) {
		if strings.Contains(m.Subject(), "апомин") {
			got = &m
		}
	}
	if got == nil || !strings.Contains(got.Text(), "https://school.example/bookings") {
		t.Fatalf("reminder mail missing or without the access link")
	}
	// A reminder setting of 0 turns reminders off.
	a.Settings.Put(ctx, map[string]string{booking.ReminderMinutesBefore: "0"}, 0)
	if n, _ := a.Outbox.QueueReminders(ctx); n != 0 {
		t.Fatal("reminders queued although switched off")
	}
}

func TestAdminAlertOnFailedEvent(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a := start(t, srv, "")
	ctx := context.Background()
	boss, _ := a.Accounts.EnsureSuperAdmin(ctx, "boss@example.ru", "")
	adm, _ := a.Accounts.EnsureSuperAdmin(ctx, "adm@example.ru", "")
	adm.Role = booksmeta.RoleAdmin
	a.Store.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateUser(ctx, adm) })
	// An event without an email fails by rule.
	status, body := a.Do(t, "POST", "/api/getcourse/webhook", map[string][]string{"Content-Type": {"application/json"}}, `{"action":"user_payment","user":{"first_name":"Без почты"}}`)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	for a.Jobs.RunOne(ctx, "test") {
	}
	for _, who := range []*booksmeta.User{boss, adm} {
		mails, _ := a.Store.MailByUser(ctx, who.ID)
		if len(mails) != 1 || mails[0].Kind != "admin_alert" {
			t.Fatalf("%s got %d mails: %+v", who.Email, len(mails), mails)
		}
		drain(t, a, mails[0].ID, store.MailSent)
	}
	msgs := srv.WaitMessages(2, 5*time.Second)
	if !strings.Contains(msgs[0].Text(), "/admin/webhooks/") || !strings.Contains(msgs[0].Text(), "email") {
		t.Fatalf("alert text: %q", msgs[0].Text())
	}
}

func TestEditedTemplateIsUsed(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a := start(t, srv, "")
	ctx := context.Background()
	u := newStudent(t, a, "edited@example.ru")
	a.Store.InTx(ctx, func(tx *store.Tx) error {
		return tx.PutMailTemplate(ctx, store.MailTemplate{Kind: "payment_revoked", Subject: "Наша школа: оплата {{.Deal}} отменена"}, 0)
	})
	id := queue(t, a, &store.OutboxMail{Kind: "payment_revoked", ToEmail: u.Email, UserID: u.ID, Data: `{"deal":"№5"}`})
	drain(t, a, id, store.MailSent)
	msg := srv.WaitMessages(1, 5*time.Second)[0]
	if msg.Subject() != "Наша школа: оплата №5 отменена" || !strings.Contains(msg.Text(), "отменена или возвращена") {
		t.Fatalf("subject %q; the text should stay the built-in one", msg.Subject())
	}
}

func TestAccessEndingAndEndedMails(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a := start(t, srv, "")
	u := newStudent(t, a, "ending@example.ru")
	until := time.Date(2027, 1, 15, 9, 30, 0, 0, time.UTC) // 12:30 in Moscow
	id := queue(t, a, &store.OutboxMail{Kind: "access_ending", ToEmail: u.Email, ToName: u.Name(), UserID: u.ID,
		Data: `{"first_name":"Анна","until":"` + until.Format(time.RFC3339) + `"}`})
	drain(t, a, id, store.MailSent)
	msg := srv.WaitMessages(1, 5*time.Second)[0]
	if !strings.Contains(msg.Subject(), "15.01.2027") || !strings.Contains(msg.Text(), "15.01.2027 в 12:30") {
		t.Fatalf("reminder: %q / %q", msg.Subject(), msg.Text())
	}
	id = queue(t, a, &store.OutboxMail{Kind: "access_ended", ToEmail: u.Email, ToName: u.Name(), UserID: u.ID,
		Data: `{"first_name":"Анна","reason":"Срок доступа к серверу по вашей покупке закончился."}`})
	drain(t, a, id, store.MailSent)
	msg = srv.WaitMessages(2, 5*time.Second)[1]
	if !strings.Contains(msg.Text(), "Срок доступа к серверу по вашей покупке закончился. Бронирование") || !strings.Contains(msg.Subject(), "закончился") {
		t.Fatalf("ended: %q / %q", msg.Subject(), msg.Text())
	}
	noSecrets(t, msg)
}
