package api_test

import (
	"booksmeta"

	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/apptest"
	"booksmeta/internal/mail/mailtest"
	"booksmeta/internal/store"
)

func TestAdminMailAPI(t *testing.T) {
	srv := mailtest.Start(t)
	s := apptest.Start(t, apptest.Options{})
	mkUser(t, s, "adm@example.ru", booksmeta.RoleAdmin, false)
	stud := mkUser(t, s, "st@example.ru", booksmeta.RoleStudent, true)
	a := newClient(t, s)
	a.login("adm@example.ru", "password123")

	ctx := context.Background()
	m := &store.OutboxMail{Kind: "welcome", ToEmail: stud.Email, UserID: stud.ID, Data: `{}`}
	s.Store.InTx(ctx, func(tx *store.Tx) error { _, err := tx.QueueMail(ctx, m); return err })

	st, body := a.do("GET", "/api/v1/admin/mail", nil)
	list := body["mail"].([]any)
	if st != 200 || body["configured"] != false || len(list) != 1 || body["counts"].(map[string]any)["queued"].(float64) != 1 {
		t.Fatalf("list: %d %v", st, body)
	}
	if st, body := a.do("POST", "/api/v1/admin/mail/"+strconv.FormatInt(m.ID, 10)+"/resend", nil); st != 409 || body["message"] == "" {
		t.Fatalf("resending a queued mail: %d %v", st, body)
	}
	st, body = a.do("POST", "/api/v1/admin/mail/test", map[string]string{"to": "me@example.ru"})
	if st != 200 || body["ok"] != false || body["message"] == "" {
		t.Fatalf("test mail without SMTP: %d %v", st, body)
	}
	if st, _ := a.do("POST", "/api/v1/admin/mail/test", map[string]string{"to": "nope"}); st != 422 {
		t.Fatalf("bad address: %d", st)
	}
	if st, _ := a.do("PATCH", "/api/v1/admin/settings", map[string]string{"mail_host": srv.Host(), "mail_port": strconv.Itoa(srv.Port()),
		"mail_encryption": "none", "mail_from_email": "school@example.ru"}); st != 200 {
		t.Fatalf("save mail settings: %d", st)
	}
	st, body = a.do("POST", "/api/v1/admin/mail/test", map[string]string{"to": "me@example.ru"})
	if st != 200 || body["ok"] != true {
		t.Fatalf("test mail: %d %v", st, body)
	}
	apptest.WaitFor(t, 5*time.Second, "the test mail", func() bool {
		for _, m := range srv.Messages() {
			if len(m.To) == 1 && m.To[0] == "me@example.ru" {
				return true
			}
		}
		return false
	})
	sc := newClient(t, s)
	sc.login("st@example.ru", "password123")
	if st, _ := sc.do("GET", "/api/v1/admin/mail", nil); st != 403 {
		t.Fatalf("student: %d", st)
	}
}

// The test mail reports a refusing server's verdict in Russian without the
// password; every mail action needs the CSRF token; a failed mail can be
// resent and goes out.
func TestAdminMailAPIVerdictCSRFAndResend(t *testing.T) {
	const smtpPass = "wrong-Smtp-Pa55-SECRET"
	srv := mailtest.Start(t, mailtest.WithAuth("school", "the-right-one"))
	s := apptest.Start(t, apptest.Options{NoJobs: true, Env: map[string]string{
		"MAIL_HOST": srv.Host(), "MAIL_PORT": strconv.Itoa(srv.Port()), "MAIL_ENCRYPTION": "none",
		"MAIL_USERNAME": "school", "MAIL_PASSWORD": smtpPass, "MAIL_FROM_EMAIL": "school@example.ru"}})
	mkUser(t, s, "adm@example.ru", booksmeta.RoleAdmin, false)
	stud := mkUser(t, s, "st@example.ru", booksmeta.RoleStudent, true)
	a := newClient(t, s)
	a.login("adm@example.ru", "password123")

	st, body := a.do("POST", "/api/v1/admin/mail/test", map[string]string{"to": "me@example.ru"})
	msg, _ := body["message"].(string)
	if st != 200 || body["ok"] != false || !strings.Contains(msg, "не принял логин или пароль") || strings.Contains(msg, smtpPass) {
		t.Fatalf("verdict with a refused login: %d %v", st, body)
	}
	st, body = a.do("GET", "/api/v1/admin/mail", nil)
	if st != 200 || body["configured"] != true {
		t.Fatalf("list: %d %v", st, body)
	}

	ctx := context.Background()
	m := &store.OutboxMail{Kind: "welcome", ToEmail: stud.Email, UserID: stud.ID, Data: `{}`}
	s.Store.InTx(ctx, func(tx *store.Tx) error { _, err := tx.QueueMail(ctx, m); return err })
	// A refused login is the school's settings to fix: the mail waits in the
	// queue with the server's answer, never the password.
	if err := s.Outbox.SendOne(ctx, m.ID); err == nil {
		t.Fatal("sent with a refused login")
	}
	if got, _ := s.Store.MailByID(ctx, m.ID); got.Status != store.MailQueued || !strings.Contains(got.LastError, "535") ||
		strings.Contains(got.LastError, smtpPass) {
		t.Fatalf("after a refused login: %+v", got)
	}
	// Then a recipient's server refuses it for good.
	if _, err := s.Store.ClaimMail(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.MarkMailFailed(ctx, m.ID, "550 5.1.1 Mailbox unavailable"); err != nil {
		t.Fatal(err)
	}
	st, body = a.do("GET", "/api/v1/admin/mail?status=failed", nil)
	list := body["mail"].([]any)
	if st != 200 || len(list) != 1 || list[0].(map[string]any)["last_error"] != "550 5.1.1 Mailbox unavailable" || strings.Contains(fmt.Sprint(body), smtpPass) {
		t.Fatalf("failed list: %d %v", st, body)
	}

	path := "/api/v1/admin/mail/" + strconv.FormatInt(m.ID, 10) + "/resend"
	token := a.CSRF
	a.CSRF = ""
	if st, _ := a.do("POST", path, nil); st != 403 {
		t.Fatalf("resend without CSRF: %d", st)
	}
	if st, _ := a.do("POST", "/api/v1/admin/mail/test", map[string]string{"to": "me@example.ru"}); st != 403 {
		t.Fatalf("test mail without CSRF: %d", st)
	}
	a.CSRF = token
	sc := newClient(t, s)
	sc.login("st@example.ru", "password123")
	if st, _ := sc.do("POST", path, nil); st != 403 {
		t.Fatalf("student resend: %d", st)
	}
	if st, _ := sc.do("POST", "/api/v1/admin/mail/test", map[string]string{"to": "me@example.ru"}); st != 403 {
		t.Fatalf("student test mail: %d", st)
	}

	if st, body := a.do("POST", path, nil); st != 200 || body["status"] != store.MailQueued {
		t.Fatalf("resend: %d %v", st, body)
	}
	if got, _ := s.Store.MailByID(ctx, m.ID); got.Status != store.MailQueued {
		t.Fatalf("after resend: %+v", got)
	}
	if st, _ := a.do("POST", "/api/v1/admin/mail/999999/resend", nil); st != 409 && st != 404 {
		t.Fatalf("resend of a missing mail: %d", st)
	}
}
