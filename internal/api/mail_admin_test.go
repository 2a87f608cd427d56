package api_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"booksmeta/internal/apptest"
	"booksmeta/internal/mail/mailtest"
	"booksmeta/internal/store"
)

func TestAdminMailAPI(t *testing.T) {
	srv := mailtest.Start(t)
	s := apptest.Start(t, apptest.Options{})
	mkUser(t, s, "adm@example.ru", store.RoleAdmin, false)
	stud := mkUser(t, s, "st@example.ru", store.RoleStudent, true)
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
	time.Sleep(2100 * time.Millisecond) // the settings cache's TTL
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
