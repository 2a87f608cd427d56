package api_test

import (
	"booksmeta"

	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/apptest"
	"booksmeta/internal/getcourse/getcoursetest"
	"booksmeta/internal/store"
	"booksmeta/internal/webhook"
)

// client is apptest's API client under the short names these tests use.
type client struct{ *apptest.Client }

func newClient(t *testing.T, s *apptest.Server) *client { return &client{s.NewClient(t)} }

func (c *client) do(method, path string, body any) (int, map[string]any) {
	return c.Do(method, path, body)
}

func (c *client) login(email, pw string) { c.Login(email, pw) }

func mkUser(t *testing.T, s *apptest.Server, email, role string, paid bool) *booksmeta.User {
	t.Helper()
	u, err := s.Accounts.EnsureSuperAdmin(context.Background(), email, "password123")
	if err != nil {
		t.Fatal(err)
	}
	u.Role, u.Paid, u.BookingLimit = role, paid, 3
	if err := s.Store.InTx(context.Background(), func(tx *store.Tx) error { return tx.UpdateUser(context.Background(), u) }); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestLoginMeLogoutAndCSRF(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	mkUser(t, s, "stud@example.ru", booksmeta.RoleStudent, true)
	c := newClient(t, s)
	if st, m := c.do("GET", "/api/v1/me", nil); st != 401 || m["error"] != "unauthorized" {
		t.Fatalf("signed out me: %d %v", st, m)
	}
	if st, m := c.do("POST", "/api/v1/auth/login", map[string]string{"email": "stud@example.ru", "password": "wrong-pass"}); st != 401 || !strings.Contains(m["message"].(string), "Неверный") {
		t.Fatalf("bad password: %d %v", st, m)
	}
	c.login("STUD@example.ru", "password123")
	st, m := c.do("GET", "/api/v1/me", nil)
	user := m["user"].(map[string]any)
	if st != 200 || user["email"] != "stud@example.ru" || user["booking_limit"] == nil || user["password_hash"] != nil {
		t.Fatalf("me: %d %v", st, m)
	}
	// State-changing request without the token: 403.
	token := c.CSRF
	c.CSRF = ""
	if st, m := c.do("POST", "/api/v1/auth/logout", nil); st != 403 || m["error"] != "csrf" {
		t.Fatalf("logout without CSRF: %d %v", st, m)
	}
	c.CSRF = "wrong"
	if st, _ := c.do("POST", "/api/v1/auth/logout", nil); st != 403 {
		t.Fatalf("logout with a wrong CSRF token: %d", st)
	}
	c.CSRF = token
	if st, _ := c.do("POST", "/api/v1/auth/logout", nil); st != 200 {
		t.Fatalf("logout: %d", st)
	}
	if st, _ := c.do("GET", "/api/v1/me", nil); st != 401 {
		t.Fatalf("after logout: %d", st)
	}
}

func TestLoginThrottling(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	mkUser(t, s, "victim@example.ru", booksmeta.RoleStudent, true)
	c := newClient(t, s)
	for i := 0; i < 5; i++ {
		if st, _ := c.do("POST", "/api/v1/auth/login", map[string]string{"email": "victim@example.ru", "password": "guess" + strconv.Itoa(i)}); st != 401 {
			t.Fatalf("attempt %d: %d", i, st)
		}
	}
	st, m := c.do("POST", "/api/v1/auth/login", map[string]string{"email": "victim@example.ru", "password": "password123"})
	if st != 429 || m["error"] != "too_many_attempts" {
		t.Fatalf("after 5 failures even the right password waits: %d %v", st, m)
	}
	// Another account is not locked by this one's failures.
	mkUser(t, s, "other@example.ru", booksmeta.RoleStudent, true)
	c.login("other@example.ru", "password123")
}

func TestSessionRenewedAndAccessLostAtOnce(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	boss := mkUser(t, s, "boss@example.ru", booksmeta.RoleSuperAdmin, false)
	adm := mkUser(t, s, "adm@example.ru", booksmeta.RoleAdmin, false)
	a := newClient(t, s)
	a.login("adm@example.ru", "password123")
	first := a.CSRF
	a.login("adm@example.ru", "password123")
	if a.CSRF == first {
		t.Fatal("a new sign-in must create a new session")
	}
	if st, _ := a.do("GET", "/api/v1/admin/users", nil); st != 200 {
		t.Fatalf("admin list: %d", st)
	}
	b := newClient(t, s)
	b.login("boss@example.ru", "password123")
	// Demote: the admin's very next request is refused.
	if st, m := b.do("PATCH", "/api/v1/admin/users/"+strconv.FormatInt(adm.ID, 10), map[string]any{"role": "student"}); st != 200 {
		t.Fatalf("demote: %d %v", st, m)
	}
	if st, _ := a.do("GET", "/api/v1/admin/users", nil); st != 403 {
		t.Fatalf("demoted admin still in: %d", st)
	}
	// Deactivate: signed out at once.
	if st, _ := b.do("PATCH", "/api/v1/admin/users/"+strconv.FormatInt(adm.ID, 10), map[string]any{"active": false}); st != 200 {
		t.Fatal("deactivate")
	}
	if st, _ := a.do("GET", "/api/v1/me", nil); st != 401 {
		t.Fatalf("deactivated user still signed in: %d", st)
	}
	if st, m := a.do("POST", "/api/v1/auth/login", map[string]string{"email": "adm@example.ru", "password": "password123"}); st != 401 || !strings.Contains(m["message"].(string), "отключён") {
		t.Fatalf("deactivated login: %d %v", st, m)
	}
	_ = boss
}

func TestStudentGets403OnAdminAPI(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	mkUser(t, s, "s@example.ru", booksmeta.RoleStudent, true)
	c := newClient(t, s)
	c.login("s@example.ru", "password123")
	for _, p := range []struct{ m, path string }{{"GET", "/api/v1/admin/users"}, {"GET", "/api/v1/admin/webhooks"},
		{"GET", "/api/v1/admin/settings"}, {"PATCH", "/api/v1/admin/settings"}, {"POST", "/api/v1/admin/getcourse/test"},
		{"GET", "/api/v1/admin/dashboard"}, {"DELETE", "/api/v1/admin/users/1"}} {
		var body any
		if p.m != "GET" {
			body = map[string]string{}
		}
		if st, m := c.do(p.m, p.path, body); st != 403 || m["error"] != "forbidden" {
			t.Errorf("%s %s: %d %v", p.m, p.path, st, m)
		}
	}
}

func TestAdminUsers(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	boss := mkUser(t, s, "boss@example.ru", booksmeta.RoleSuperAdmin, false)
	mkUser(t, s, "adm@example.ru", booksmeta.RoleAdmin, false)
	a := newClient(t, s)
	a.login("adm@example.ru", "password123")

	st, m := a.do("POST", "/api/v1/admin/users", map[string]any{"email": "New@Example.ru", "first_name": "Новый", "phone": "+7 900 111-22-33", "paid": true, "booking_limit": 5, "password": "longenough1"})
	if st != 201 || m["email"] != "new@example.ru" || m["paid"] != true || m["booking_limit"].(float64) != 5 || m["bookings_left"].(float64) != 5 {
		t.Fatalf("create: %d %v", st, m)
	}
	id := strconv.FormatInt(int64(m["id"].(float64)), 10)
	if st, m := a.do("POST", "/api/v1/admin/users", map[string]any{"email": "new@example.ru"}); st != 409 {
		t.Fatalf("duplicate email: %d %v", st, m)
	}
	for _, bad := range []map[string]any{{"email": "nope"}, {"email": "x@y.ru", "phone": "call me"}, {"email": "x@y.ru", "booking_limit": -1}, {"email": "x@y.ru", "password": "short"}} {
		if st, m := a.do("POST", "/api/v1/admin/users", bad); st != 422 || m["message"] == "" {
			t.Errorf("invalid %v: %d %v", bad, st, m)
		}
	}
	// Only a super-admin grants admin.
	if st, m := a.do("PATCH", "/api/v1/admin/users/"+id, map[string]any{"role": "admin"}); st != 403 {
		t.Fatalf("admin granting admin: %d %v", st, m)
	}
	if st, _ := a.do("DELETE", "/api/v1/admin/users/"+strconv.FormatInt(boss.ID, 10), nil); st != 403 {
		t.Fatalf("admin deleting the super-admin: %d", st)
	}
	// Partial update keeps the other fields.
	st, m = a.do("PATCH", "/api/v1/admin/users/"+id, map[string]any{"last_name": "Фамилия"})
	if st != 200 || m["first_name"] != "Новый" || m["phone"] != "+7 900 111-22-33" || m["paid"] != true {
		t.Fatalf("patch: %d %v", st, m)
	}
	// Filters.
	st, m = a.do("GET", "/api/v1/admin/users?q=фамил&paid=true&role=student", nil)
	if us := m["users"].([]any); st != 200 || len(us) != 1 {
		t.Fatalf("search: %d %v", st, m)
	}
	st, m = a.do("GET", "/api/v1/admin/users?paid=false&role=student", nil)
	if us := m["users"].([]any); st != 200 || len(us) != 0 {
		t.Fatalf("paid=false: %d %v", st, m)
	}
	// The new password works for the student.
	stud := newClient(t, s)
	stud.login("new@example.ru", "longenough1")
	if st, _ := a.do("DELETE", "/api/v1/admin/users/"+id, nil); st != 200 {
		t.Fatalf("delete: %d", st)
	}
	if st, _ := a.do("GET", "/api/v1/admin/users/"+id, nil); st != 404 {
		t.Fatalf("deleted user: %d", st)
	}
	// The last super-admin cannot remove themself.
	b := newClient(t, s)
	b.login("boss@example.ru", "password123")
	if st, m := b.do("PATCH", "/api/v1/admin/users/"+strconv.FormatInt(boss.ID, 10), map[string]any{"role": "admin"}); st != 409 {
		t.Fatalf("last super-admin demoting self: %d %v", st, m)
	}
	if st, _ := b.do("DELETE", "/api/v1/admin/users/"+strconv.FormatInt(boss.ID, 10), nil); st != 409 {
		t.Fatal("deleting oneself")
	}
	if st, _ := a.do("POST", "/api/v1/admin/users", "not an object"); st != 400 {
		t.Fatalf("bad JSON: %d", st)
	}
}

func TestAdminWebhooksAndRerun(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	mkUser(t, s, "adm@example.ru", booksmeta.RoleAdmin, false)
	a := newClient(t, s)
	a.login("adm@example.ru", "password123")
	// An event without email fails; after the admin fixes the data a rerun works.
	s.Do(t, "POST", "/api/getcourse/webhook", http.Header{"Content-Type": {"application/json"}}, `{"action":"user_payment","user":{"first_name":"<script>alert(1)</script>"}}`)
	var id string
	apptest.WaitFor(t, 5*time.Second, "failure", func() bool {
		_, m := a.do("GET", "/api/v1/admin/webhooks?state=failed", nil)
		ws := m["webhooks"].([]any)
		if len(ws) == 1 {
			id = strconv.Itoa(int(ws[0].(map[string]any)["id"].(float64)))
		}
		return len(ws) == 1
	})
	st, m := a.do("GET", "/api/v1/admin/webhooks/"+id, nil)
	if st != 200 || !strings.Contains(m["last_error"].(string), "email") || m["body"] == "" {
		t.Fatalf("detail: %d %v", st, m)
	}
	if st, m := a.do("POST", "/api/v1/admin/webhooks/"+id+"/rerun", nil); st != 200 || m["state"] != "pending" {
		t.Fatalf("rerun: %d %v", st, m)
	}
	apptest.WaitFor(t, 5*time.Second, "rerun to fail again", func() bool {
		_, m := a.do("GET", "/api/v1/admin/webhooks/"+id, nil)
		return m["state"] == "failed" && m["attempts"].(float64) == 2
	})
	if _, m := a.do("GET", "/api/v1/admin/webhooks?outcome=rejected", nil); len(m["webhooks"].([]any)) != 0 {
		t.Fatal("outcome filter")
	}
	if st, m := a.do("POST", "/api/v1/admin/webhooks/prune", map[string]int{"older_than_days": 0}); st != 422 {
		t.Fatalf("prune 0 days: %d %v", st, m)
	}
	if st, m := a.do("POST", "/api/v1/admin/webhooks/prune", map[string]int{"older_than_days": 30}); st != 200 || m["deleted"].(float64) != 0 {
		t.Fatalf("prune: %d %v", st, m)
	}
	if st, _ := a.do("GET", "/api/v1/admin/webhooks/999999", nil); st != 404 {
		t.Fatal("missing entry")
	}
}

func TestAdminSettingsAndConnectionTest(t *testing.T) {
	fake := getcoursetest.New()
	t.Cleanup(fake.Close)
	s := apptest.Start(t, apptest.Options{Env: map[string]string{"GETCOURSE_ACCOUNT": "fromenv"}})
	mkUser(t, s, "adm@example.ru", booksmeta.RoleAdmin, false)
	a := newClient(t, s)
	a.login("adm@example.ru", "password123")

	st, m := a.do("GET", "/api/v1/admin/settings", nil)
	vals := m["values"].(map[string]any)
	if st != 200 || vals["getcourse_account"] != "fromenv" {
		t.Fatalf("settings: %d %v", st, m)
	}
	secret := webhook.NewSecret()
	st, m = a.do("PATCH", "/api/v1/admin/settings", map[string]string{"getcourse_api_key": "super-secret-api-key-123", "getcourse_webhook_secret": secret})
	if st != 200 {
		t.Fatalf("save: %d %v", st, m)
	}
	raw, _ := json.Marshal(m)
	if strings.Contains(string(raw), "super-secret-api-key-123") || strings.Contains(string(raw), secret) {
		t.Fatalf("secrets echoed back: %s", raw)
	}
	// Saving another field keeps the secrets; sending the mask back keeps them too.
	masked := m["values"].(map[string]any)["getcourse_api_key"].(string)
	if st, m := a.do("PATCH", "/api/v1/admin/settings", map[string]string{"getcourse_account": "school", "getcourse_api_key": masked}); st != 422 || m["field"] != "getcourse_api_key" {
		t.Fatalf("a new account with the stored key: %d %v, want 422 asking for the key again", st, m)
	}
	if st, _ := a.do("PATCH", "/api/v1/admin/settings", map[string]string{"mail_from_name": "Школа", "getcourse_api_key": masked}); st != 200 {
		t.Fatal("save another field")
	}
	if got, _ := s.Settings.Get(context.Background(), "getcourse_api_key"); got.Value != "super-secret-api-key-123" {
		t.Fatalf("api key lost: %q", got.Value)
	}
	if got, _ := s.Settings.WebhookSecret(context.Background()); got != secret {
		t.Fatal("webhook secret lost")
	}
	for k, v := range map[string]string{"getcourse_api_url": "ftp://x", "timezone": "Mars/Base", "getcourse_webhook_secret": "short", "nope": "1"} {
		if st, m := a.do("PATCH", "/api/v1/admin/settings", map[string]string{k: v}); st != 422 || m["message"] == "" {
			t.Errorf("invalid %s=%s: %d %v", k, v, st, m)
		}
	}
	// Connection test with entered values against the fake GetCourse.
	st, m = a.do("POST", "/api/v1/admin/getcourse/test", map[string]string{"getcourse_api_url": fake.URL(), "getcourse_api_key": fake.Key()})
	if st != 200 || m["ok"] != true || m["message"] == "" {
		t.Fatalf("good test: %d %v", st, m)
	}
	st, m = a.do("POST", "/api/v1/admin/getcourse/test", map[string]string{"getcourse_api_url": fake.URL(), "getcourse_api_key": "wrong-key"})
	if st != 200 || m["ok"] != false || !strings.Contains(strings.ToLower(m["message"].(string)), "ключ") {
		t.Fatalf("wrong key: %d %v", st, m)
	}
}

// TestConnectionTestKeepsKeyAtItsHost: an admin is shown the API key only
// masked; pointing the connection test at another address must not send
// the stored key there (issue 13), while a test with the key typed in works.
func TestConnectionTestKeepsKeyAtItsHost(t *testing.T) {
	real := getcoursetest.New()
	t.Cleanup(real.Close)
	evil := getcoursetest.New()
	t.Cleanup(evil.Close)
	s := apptest.Start(t, apptest.Options{})
	mkUser(t, s, "adm@example.ru", booksmeta.RoleAdmin, false)
	a := newClient(t, s)
	a.login("adm@example.ru", "password123")
	if st, m := a.do("PATCH", "/api/v1/admin/settings", map[string]string{"getcourse_api_url": real.URL(), "getcourse_api_key": real.Key()}); st != 200 {
		t.Fatalf("save: %d %v", st, m)
	}
	st, m := a.do("POST", "/api/v1/admin/getcourse/test", map[string]string{"getcourse_api_url": evil.URL(), "getcourse_api_key": "••••••••"})
	if st != 200 || m["ok"] != false || !strings.Contains(m["message"].(string), "введите API ключ заново") {
		t.Fatalf("test against another host with the stored key: %d %v", st, m)
	}
	if n := len(evil.Requests()); n != 0 {
		t.Fatalf("the other host received %d requests", n)
	}
	if st, m := a.do("POST", "/api/v1/admin/getcourse/test", nil); st != 200 || m["ok"] != true {
		t.Fatalf("test of the saved settings: %d %v", st, m)
	}
}
