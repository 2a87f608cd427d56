package web_test

import (
	"booksmeta"

	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"booksmeta/internal/accounts"
	"booksmeta/internal/apptest"
)

const testPassword = "correct horse battery"

// browser is an HTTP client with its own cookie jar that does not follow
// redirects, so tests see each answer.
type browser struct {
	t   *testing.T
	srv *apptest.Server
	c   *http.Client
}

func newBrowser(t *testing.T, srv *apptest.Server) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, srv: srv, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	Status int
	Body   string
	Header http.Header
}

func (p page) location() string { return p.Header.Get("Location") }

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(body), resp.Header}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.srv.URL+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// token reads the CSRF token from the form on the page at path.
func (b *browser) token(path string) string {
	b.t.Helper()
	p := b.get(path)
	// The last form's token: on /login that is the sign-in form's own token
	// (the sign-out form in the header carries the session's).
	ms := csrfRe.FindAllStringSubmatch(p.Body, -1)
	if ms == nil {
		b.t.Fatalf("no csrf_token on %s (status %d)", path, p.Status)
	}
	return html.UnescapeString(ms[len(ms)-1][1])
}

// submit posts form to action with the CSRF token taken from the page at from.
func (b *browser) submit(from, action string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", b.token(from))
	return b.post(action, form)
}

func (b *browser) login(email, pw string) page {
	b.t.Helper()
	return b.submit("/login", "/login", url.Values{"email": {email}, "password": {pw}})
}

func (b *browser) mustLogin(email string) {
	b.t.Helper()
	if p := b.login(email, testPassword); p.Status != http.StatusSeeOther {
		b.t.Fatalf("sign-in as %s: status %d\n%s", email, p.Status, p.Body)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func expect(t *testing.T, p page, status int, contains ...string) {
	t.Helper()
	if p.Status != status {
		t.Fatalf("status %d, want %d; body:\n%s", p.Status, status, p.Body)
	}
	for _, s := range contains {
		if !strings.Contains(p.Body, s) {
			t.Fatalf("page does not contain %q; body:\n%s", s, p.Body)
		}
	}
}

func expectNot(t *testing.T, p page, absent ...string) {
	t.Helper()
	for _, s := range absent {
		if s != "" && strings.Contains(p.Body, s) {
			t.Fatalf("page contains %q but must not", s)
		}
	}
}

// fixture is a running app with a super-admin, an admin and a student.
type fixture struct {
	srv                   *apptest.Server
	super, admin, student *booksmeta.User
}

func start(t *testing.T, env map[string]string) *fixture {
	t.Helper()
	srv := apptest.Start(t, apptest.Options{Env: env})
	ctx := context.Background()
	super, err := srv.Accounts.EnsureSuperAdmin(ctx, "owner@example.com", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: srv, super: super}
	f.admin = f.user(t, "admin@example.com", booksmeta.RoleAdmin, true)
	f.student = f.user(t, "student@example.com", booksmeta.RoleStudent, true)
	return f
}

func (f *fixture) user(t *testing.T, email, role string, paid bool) *booksmeta.User {
	t.Helper()
	pw, active, limit := testPassword, true, 3
	u, err := f.srv.Accounts.AdminCreate(context.Background(), f.super, accounts.UserInput{Email: &email, Role: &role,
		Paid: &paid, Active: &active, BookingLimit: &limit, Password: &pw}, 3)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (f *fixture) as(t *testing.T, u *booksmeta.User) *browser {
	t.Helper()
	b := newBrowser(t, f.srv)
	b.mustLogin(u.Email)
	return b
}
