package outbox_test

import (
	"booksmeta"

	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/apptest"
	"booksmeta/internal/booking"
	"booksmeta/internal/dbtest"
	"booksmeta/internal/mail/mailtest"
	"booksmeta/internal/outbox"
	"booksmeta/internal/store"
)

const (
	mailUser = "school-smtp"
	mailPass = "smtp-Pa55-SECRET"
	srvPass  = "Server-Pa55-SECRET"
)

func mailEnv(srv *mailtest.Server, dbURL string) map[string]string {
	env := map[string]string{
		"BOOKSMETA_BASE_URL": "https://school.example",
		"BOOKSMETA_TIMEZONE": "Europe/Moscow",
	}
	if dbURL != "" {
		env["BOOKSMETA_DATABASE_URL"] = dbURL
	}
	if srv != nil {
		env["MAIL_HOST"] = srv.Host()
		env["MAIL_PORT"] = strconv.Itoa(srv.Port())
		env["MAIL_ENCRYPTION"] = "none"
		env["MAIL_USERNAME"] = mailUser
		env["MAIL_PASSWORD"] = mailPass
		env["MAIL_FROM_EMAIL"] = "school@example.ru"
		env["MAIL_FROM_NAME"] = "Школа"
	}
	return env
}

func start(t *testing.T, srv *mailtest.Server, dbURL string) *apptest.Server {
	t.Helper()
	return apptest.Start(t, apptest.Options{NoJobs: true, Env: mailEnv(srv, dbURL)})
}

func newStudent(t *testing.T, a *apptest.Server, email string) *booksmeta.User {
	t.Helper()
	u := &booksmeta.User{Email: email, FirstName: "Анна", LastName: "Петрова", Role: booksmeta.RoleStudent, Active: true, Paid: true}
	if err := a.Store.InTx(context.Background(), func(tx *store.Tx) error { return tx.InsertUser(context.Background(), u) }); err != nil {
		t.Fatal(err)
	}
	return u
}

func queue(t *testing.T, a *apptest.Server, m *store.OutboxMail) int64 {
	t.Helper()
	err := a.Store.InTx(context.Background(), func(tx *store.Tx) error {
		ok, err := tx.QueueMail(context.Background(), m)
		if err == nil && !ok {
			err = errors.New("not queued")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m.ID
}

func welcome(t *testing.T, a *apptest.Server, u *booksmeta.User) int64 {
	return queue(t, a, &store.OutboxMail{Kind: "welcome", ToEmail: u.Email, ToName: u.Name(), UserID: u.ID,
		Data: `{"first_name":"Анна"}`, DedupeKey: fmt.Sprintf("welcome:%d", u.ID)})
}

// drain sweeps and runs jobs until the mail reaches a final-looking status.
func drain(t *testing.T, a *apptest.Server, id int64, want string) *store.OutboxMail {
	t.Helper()
	ctx := context.Background()
	var m *store.OutboxMail
	apptest.WaitFor(t, 5*time.Second, "mail "+want, func() bool {
		if _, err := a.Outbox.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		for a.Jobs.RunOne(ctx, "test") {
		}
		var err error
		if m, err = a.Store.MailByID(ctx, id); err != nil {
			t.Fatal(err)
		}
		return m.Status == want
	})
	return m
}

func noSecrets(t *testing.T, r mailtest.Received) {
	t.Helper()
	raw := string(r.Data)
	for _, s := range []string{mailPass, srvPass} {
		if strings.Contains(raw, s) {
			t.Errorf("message contains secret %q", s)
		}
	}
}

func TestWelcomeMailHasWorkingLinkAndNoPassword(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a := start(t, srv, "")
	ctx := context.Background()
	u := newStudent(t, a, "anna@example.com")
	id := welcome(t, a, u)

	m := drain(t, a, id, store.MailSent)
	if m.Subject == "" || m.Attempts != 1 || m.SentAt.IsZero() {
		t.Fatalf("row after send: %+v", m)
	}
	if strings.Contains(m.Data, "token") {
		t.Fatalf("outbox data holds a token: %s", m.Data)
	}
	msgs := srv.WaitMessages(1, 2*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("got %d messages", len(msgs))
	}
	r := msgs[0]
	noSecrets(t, r)
	if r.To[0] != "anna@example.com" || !strings.Contains(r.MessageID(), fmt.Sprintf("outbox-%d@", id)) {
		t.Fatalf("to %v, message-id %q", r.To, r.MessageID())
	}
	tok := regexp.MustCompile(`https://school\.example/set-password\?token=([A-Za-z0-9_\-%]+)`).FindStringSubmatch(r.Text())
	if tok == nil {
		t.Fatalf("no set-password link in:\n%s", r.Text())
	}
	got, err := a.Accounts.LinkUser(ctx, tok[1])
	if err != nil || got.ID != u.ID {
		t.Fatalf("link does not work: %v %v", got, err)
	}
	if strings.Contains(strings.ToLower(r.Text()), "ваш пароль:") {
		t.Fatal("welcome mail shows a password")
	}
	// A finished mail is not sent again by later sweeps.
	drain(t, a, id, store.MailSent)
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("sent %d times", n)
	}
}

func TestBookingConfirmationInSchoolZone(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a := start(t, srv, "")
	ctx := context.Background()
	u := newStudent(t, a, "boris@example.com")
	if err := a.Settings.Put(ctx, map[string]string{booking.ServerPassword: srvPass}, u.ID); err != nil {
		t.Fatal(err)
	}
	// 07:00 UTC is 10:00 in Moscow.
	id := queue(t, a, &store.OutboxMail{Kind: "booking_confirmation", ToEmail: u.Email, ToName: u.Name(), UserID: u.ID,
		Data: `{"booking_id":7,"starts_at":"2026-03-10T07:00:00Z","ends_at":"2026-03-10T08:00:00Z","by":"","reason":""}`})
	drain(t, a, id, store.MailSent)
	r := srv.WaitMessages(1, 2*time.Second)[0]
	noSecrets(t, r)
	if !strings.Contains(r.Text(), "10:00") || strings.Contains(r.Text(), "07:00") {
		t.Fatalf("time not in school zone:\n%s", r.Text())
	}
	if !strings.Contains(r.Text(), "10.03.2026") {
		t.Fatalf("no date:\n%s", r.Text())
	}

	cid := queue(t, a, &store.OutboxMail{Kind: "booking_cancelled", ToEmail: u.Email, ToName: u.Name(), UserID: u.ID,
		Data: `{"booking_id":7,"starts_at":"2026-03-10T07:00:00Z","ends_at":"2026-03-10T08:00:00Z","by":"admin","reason":"Профилактика сервера"}`})
	drain(t, a, cid, store.MailSent)
	c := srv.WaitMessages(2, 2*time.Second)[1]
	noSecrets(t, c)
	if !strings.Contains(c.Text(), "Профилактика сервера") || !strings.Contains(c.Text(), "10:00") {
		t.Fatalf("cancellation:\n%s", c.Text())
	}
}

func TestNoSMTPKeepsMailQueued(t *testing.T) {
	a := start(t, nil, "")
	ctx := context.Background()
	u := newStudent(t, a, "vera@example.com")
	id := welcome(t, a, u)
	if on, err := a.Outbox.Configured(ctx); err != nil || on {
		t.Fatal("configured without MAIL_*")
	}
	if n, err := a.Outbox.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if err := a.Outbox.SendOne(ctx, id); !errors.Is(err, outbox.ErrNotConfigured) {
		t.Fatalf("SendOne: %v", err)
	}
	m, _ := a.Store.MailByID(ctx, id)
	if m.Status != store.MailQueued || m.Attempts != 0 {
		t.Fatalf("row: %+v", m)
	}
	if err := a.Outbox.SendTest(ctx, "admin@example.com"); err == nil || !strings.Contains(err.Error(), "не настроена") {
		t.Fatalf("SendTest: %v", err)
	}
}

func TestTemporaryErrorIsRetried(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	srv.FailDataTemporary(1)
	a := start(t, srv, "")
	ctx := context.Background()
	u := newStudent(t, a, "gleb@example.com")
	id := welcome(t, a, u)

	if _, err := a.Outbox.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	a.Jobs.RunOne(ctx, "test")
	m, _ := a.Store.MailByID(ctx, id)
	if m.Status != store.MailQueued || m.Attempts != 1 || !strings.Contains(m.LastError, "451") {
		t.Fatalf("after 451: %+v", m)
	}
	m = drain(t, a, id, store.MailSent)
	if m.Attempts != 2 || m.LastError != "" {
		t.Fatalf("after retry: %+v", m)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("%d messages", n)
	}
}

func TestPermanentErrorFails(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	srv.FailDataPermanent(1)
	a := start(t, srv, "")
	u := newStudent(t, a, "dina@example.com")
	id := welcome(t, a, u)
	m := drain(t, a, id, store.MailFailed)
	if !strings.Contains(m.LastError, "Message rejected as spam") || !strings.Contains(m.LastError, "отказался") {
		t.Fatalf("last_error: %q", m.LastError)
	}
	if m.Attempts != 1 || len(srv.Messages()) != 0 {
		t.Fatalf("attempts %d", m.Attempts)
	}
	// Resend after the admin looked at it.
	if err := a.Outbox.Resend(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	drain(t, a, id, store.MailSent)
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("%d messages", n)
	}
}

func TestStuckSendingIsNotResentBlindly(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a := start(t, srv, "")
	ctx := context.Background()
	u := newStudent(t, a, "egor@example.com")
	id := welcome(t, a, u)
	// A process claimed the row and died before recording the outcome.
	if _, err := a.Store.ClaimMail(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := a.Outbox.HandleSend(ctx, &store.Job{Kind: outbox.JobSend, Payload: store.MailJobPayload(id)}); err != nil {
		t.Fatal(err)
	}
	m := drain(t, a, id, store.MailFailed)
	if !strings.Contains(m.LastError, "возможно, уже отправлено") || len(srv.Messages()) != 0 {
		t.Fatalf("stuck row: %+v, %d messages", m, len(srv.Messages()))
	}
	// The connection breaks after the message went out: not retried either.
	srv.DropAfterData(1)
	u2 := newStudent(t, a, "zhanna@example.com")
	id2 := welcome(t, a, u2)
	m = drain(t, a, id2, store.MailFailed)
	if !strings.Contains(m.LastError, "возможно, уже отправлено") {
		t.Fatalf("dropped: %+v", m)
	}
	time.Sleep(50 * time.Millisecond)
	drain(t, a, id2, store.MailFailed)
	if n := srv.DataAttempts(); n != 1 {
		t.Fatalf("DATA attempts %d, want 1", n)
	}
	// The admin checks and resends.
	if err := a.Outbox.Resend(ctx, id); err != nil {
		t.Fatal(err)
	}
	drain(t, a, id, store.MailSent)
}

func TestOutboxSurvivesRestart(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	url := dbtest.URL(t)
	first := start(t, nil, url) // mail not configured yet
	u := newStudent(t, first, "ilya@example.com")
	id := welcome(t, first, u)
	if _, err := first.Outbox.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}

	second := start(t, srv, url)
	m := drain(t, second, id, store.MailSent)
	if m.Attempts != 1 {
		t.Fatalf("attempts %d", m.Attempts)
	}
	if n := len(srv.WaitMessages(1, 2*time.Second)); n != 1 {
		t.Fatalf("%d messages", n)
	}
}

func TestSendTest(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a := start(t, srv, "")
	ctx := context.Background()
	if err := a.Outbox.SendTestBy(ctx, "admin@example.com", "Админ"); err != nil {
		t.Fatal(err)
	}
	noSecrets(t, srv.WaitMessages(1, 2*time.Second)[0])
	srv.RejectRecipient("nobody@example.com")
	err := a.Outbox.SendTest(ctx, "nobody@example.com")
	if err == nil || !strings.Contains(err.Error(), "nobody@example.com") {
		t.Fatalf("verdict: %v", err)
	}
}
