package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"booksmeta/internal/accounts"
	"booksmeta/internal/auth"
)

func TestLoginLandsByRole(t *testing.T) {
	f := start(t, nil)
	a := newBrowser(t, f.srv)
	p := a.login(f.admin.Email, testPassword)
	if p.Status != http.StatusSeeOther || p.location() != "/admin" {
		t.Fatalf("admin sign-in: %d → %q", p.Status, p.location())
	}
	expect(t, a.get("/admin"), 200, "Панель администратора", `action="/logout"`)
	// An admin opening / goes to the panel.
	if p := a.get("/"); p.location() != "/admin" {
		t.Fatalf("admin on /: %d → %q", p.Status, p.location())
	}

	s := newBrowser(t, f.srv)
	p = s.login("  Student@Example.com ", testPassword)
	if p.Status != http.StatusSeeOther || p.location() != "/" {
		t.Fatalf("student sign-in: %d → %q", p.Status, p.location())
	}
	expect(t, s.get("/"), 200, "Бронирование сервера", "Осталось бронирований: <strong>3 из 3</strong>")
	expect(t, s.get("/profile"), 200, "student@example.com", "оплачено", "одновременно до 3")
}

func TestLoginNext(t *testing.T) {
	f := start(t, nil)
	b := newBrowser(t, f.srv)
	p := b.get("/admin/users?role=student")
	if p.Status != http.StatusSeeOther || p.location() != "/login?next=%2Fadmin%2Fusers%3Frole%3Dstudent" {
		t.Fatalf("signed-out visitor: %d → %q", p.Status, p.location())
	}
	expect(t, b.get(p.location()), 200, `name="next" value="/admin/users?role=student"`)
	p = b.submit("/login", "/login", url.Values{"email": {f.admin.Email}, "password": {testPassword}, "next": {"/admin/users?role=student"}})
	if p.location() != "/admin/users?role=student" {
		t.Fatalf("next not followed: %q", p.location())
	}
	for _, bad := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "/login"} {
		c := newBrowser(t, f.srv)
		p := c.submit("/login", "/login", url.Values{"email": {f.admin.Email}, "password": {testPassword}, "next": {bad}})
		if p.location() != "/admin" {
			t.Errorf("next=%q: redirected to %q, want /admin", bad, p.location())
		}
	}
	// A student is not sent to an admin page after signing in.
	c := newBrowser(t, f.srv)
	p = c.submit("/login", "/login", url.Values{"email": {f.student.Email}, "password": {testPassword}, "next": {"/admin/settings"}})
	if p.location() != "/" {
		t.Fatalf("student with next=/admin/settings: %q", p.location())
	}
	if p := newBrowser(t, f.srv).get("/"); p.location() != "/login" {
		t.Fatalf("signed-out /: %d → %q", p.Status, p.location())
	}
}

func TestLoginFailureAndDisabled(t *testing.T) {
	f := start(t, nil)
	b := newBrowser(t, f.srv)
	p := b.login(f.admin.Email, "wrong password!")
	expect(t, p, http.StatusUnauthorized, "Неверный email или пароль", `value="admin@example.com"`, "Забыли пароль?")
	expectNot(t, p, "wrong password!")
	p = b.login("nobody@example.com", "whatever123")
	expect(t, p, http.StatusUnauthorized, "Неверный email или пароль")
	expect(t, b.login("", ""), http.StatusUnprocessableEntity, "Введите email и пароль")

	active := false
	if _, err := f.srv.Accounts.AdminUpdate(context.Background(), f.super, f.student.ID, accounts.UserInput{Active: &active}); err != nil {
		t.Fatal(err)
	}
	expect(t, b.login(f.student.Email, testPassword), http.StatusUnauthorized, "аккаунт отключён")
}

func TestLoginThrottled(t *testing.T) {
	f := start(t, nil)
	b := newBrowser(t, f.srv)
	for i := 0; i < auth.MaxClientFailures; i++ {
		expect(t, b.login(f.admin.Email, "wrong password!"), http.StatusUnauthorized)
	}
	p := b.login(f.admin.Email, testPassword)
	expect(t, p, http.StatusTooManyRequests, "Слишком много неудачных попыток входа")
	if p.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	if b.get("/admin").Status != http.StatusSeeOther {
		t.Fatal("throttled sign-in opened a session")
	}
}

func TestLoginCSRF(t *testing.T) {
	f := start(t, nil)
	b := newBrowser(t, f.srv)
	form := url.Values{"email": {f.admin.Email}, "password": {testPassword}}
	expect(t, b.post("/login", form), http.StatusForbidden, "форма входа устарела")
	b.get("/login") // has the cookie now, but the form lacks the token
	expect(t, b.post("/login", form), http.StatusForbidden)
	form.Set("csrf_token", "forged-token-forged-token-forged-token")
	expect(t, b.post("/login", form), http.StatusForbidden)
	// A token from another browser does not work with this browser's cookie.
	other := newBrowser(t, f.srv).token("/login")
	form.Set("csrf_token", other)
	expect(t, b.post("/login", form), http.StatusForbidden)
	if b.get("/admin").Status != http.StatusSeeOther {
		t.Fatal("refused sign-in opened a session")
	}
}

func TestLoginRenewsSession(t *testing.T) {
	f := start(t, nil)
	b := newBrowser(t, f.srv)
	b.mustLogin(f.student.Email)
	u, _ := url.Parse(f.srv.URL)
	old := cookieValue(b, u)
	b.mustLogin(f.admin.Email)
	if now := cookieValue(b, u); now == old || now == "" {
		t.Fatal("session cookie not renewed on sign-in")
	}
	// The old session is gone: its cookie opens nothing.
	o := newBrowser(t, f.srv)
	o.c.Jar.SetCookies(u, []*http.Cookie{{Name: auth.CookieName, Value: old}})
	if p := o.get("/"); p.location() != "/login" {
		t.Fatalf("old session still valid: %d → %q", p.Status, p.location())
	}
}

func cookieValue(b *browser, u *url.URL) string {
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == auth.CookieName {
			return c.Value
		}
	}
	return ""
}

func TestLogout(t *testing.T) {
	f := start(t, nil)
	b := f.as(t, f.admin)
	expect(t, b.post("/logout", url.Values{}), http.StatusForbidden, "CSRF")
	expect(t, b.get("/admin"), 200)
	p := b.submit("/admin", "/logout", nil)
	if p.Status != http.StatusSeeOther || p.location() != "/login?ok=logout" {
		t.Fatalf("logout: %d → %q", p.Status, p.location())
	}
	expect(t, b.get("/login?ok=logout"), 200, "Вы вышли")
	if p := b.get("/admin"); !strings.HasPrefix(p.location(), "/login") {
		t.Fatalf("after logout /admin: %d → %q", p.Status, p.location())
	}
}

func TestStudentGetsForbiddenOnAdmin(t *testing.T) {
	f := start(t, nil)
	s := f.as(t, f.student)
	tok := s.token("/")
	for _, path := range []string{"/admin", "/admin/", "/admin/settings", "/admin/webhooks", "/admin/webhooks/1",
		"/admin/users", "/admin/users/new", "/admin/users/1", "/admin/nothing"} {
		expect(t, s.get(path), http.StatusForbidden, "только для администраторов")
	}
	for _, path := range []string{"/admin/settings", "/admin/settings/webhook-secret", "/admin/settings/reveal",
		"/admin/settings/test", "/admin/webhooks/prune", "/admin/webhooks/1/rerun", "/admin/users/new",
		"/admin/users/1", "/admin/users/1/password", "/admin/users/1/link", "/admin/users/1/active", "/admin/users/1/delete"} {
		expect(t, s.post(path, url.Values{"csrf_token": {tok}}), http.StatusForbidden, "только для администраторов")
	}
	// A student demoted from admin loses the panel on the next request.
	a := f.as(t, f.admin)
	expect(t, a.get("/admin/users"), 200)
	role := "student"
	if _, err := f.srv.Accounts.AdminUpdate(context.Background(), f.super, f.admin.ID, accounts.UserInput{Role: &role}); err != nil {
		t.Fatal(err)
	}
	expect(t, a.get("/admin/users"), http.StatusForbidden)
}

func TestSignedOutRedirects(t *testing.T) {
	f := start(t, nil)
	b := newBrowser(t, f.srv)
	for _, path := range []string{"/admin", "/admin/settings", "/admin/webhooks/3", "/admin/users/new"} {
		p := b.get(path)
		if p.Status != http.StatusSeeOther || p.location() != "/login?next="+url.QueryEscape(path) {
			t.Errorf("%s: %d → %q", path, p.Status, p.location())
		}
	}
	if p := b.post("/admin/settings", url.Values{"getcourse_account": {"x"}}); p.Status != http.StatusSeeOther || p.location() != "/login" {
		t.Errorf("signed-out POST: %d → %q", p.Status, p.location())
	}
}
