// Package securitytest checks Book Smeta against every defect of the PHP
// version listed in OLD_PHP_VERSION.md §8. Each defect names the test that
// keeps it from coming back; several live next to the code they guard.
//
//	§8.1  no CSRF anywhere             → api TestLoginMeLogoutAndCSRF, web CSRF tests, TestCookieFlags here
//	§8.2  default admin password       → TestNoDefaultAdmin here
//	§8.3  MD5 passwords accepted        → password TestHashVerify, TestMD5NeverSignsIn here
//	§8.4  server passwords in plaintext → booking TestAccessWindow (raw row sealed, window enforced),
//	      shown to every user             api TestStudentBookingFlow (404 for someone else), TestNoSecretsInAnswers here
//	§8.5  hashes / SMTP key in pages    → TestNoSecretsInAnswers here, web settings tests
//	§8.6  secrets in logs               → TestNoSecretsInLogs here, webhook TestVerify (no expected HMAC in messages)
//	§8.7  files under the web root      → TestNothingButRoutesIsServed here
//	§8.8  webhook open, secret wiped    → api TestAdminSettingsAndConnectionTest, web banner tests
//	§8.9  debug pages shipped           → TestNothingButRoutesIsServed here
//	§8.10 re-runnable installer         → accounts setup-token tests (only while no admin exists)
//	§8.11 XSS                           → e2e TestAdmin (script body inert), mail render tests (escaped names)
//	§8.12 privileges and sessions       → api TestAdminUsers, TestSessionRenewedAndAccessLostAtOnce, TestLoginThrottling
//	§8.13 weak password generation      → no passwords are generated; tokens come from crypto/rand (password TestValidateAndTokens)
//	§8.14 races on capacity and limit   → booking TestNoOverbooking, TestLimitUnderRace; crashtest
//	§8.15 drifting booking counter      → crashtest TestKillDuringBookings (counter equals active bookings)
//
// Issue 13 (attack and fault review), the sign-in, session and operations parts:
//
//	1  hashing exhausts memory          → api TestLoginHashingBounded
//	2  throttle raced                   → api TestLoginThrottleHoldsUnderRace (both databases)
//	3  throttle locks out the owner     → api TestThrottleDoesNotLockOutOwner, TestUntrustedForwardedForIgnored, auth TestClientIP, config TestTrustedProxies
//	6  password links and sessions      → web TestWelcomeLinkDeadAfterEmailCorrected, TestDeactivationKillsLinks,
//	                                      TestAdminSetPasswordRevokes, TestProfilePasswordChangeRevokes, TestResetLinkEndsSessions
//	7  timing oracle                    → api TestEveryPathVerifiesOnce
//	   super-admins demote each other   → api TestSuperAdminsDemotingEachOther (both databases)
//	   /healthz ok while unwritable     → TestHealthzNeedsWrites here
//	   database file 0644               → db TestSQLiteFilesPrivate
//	   .env lines ignored silently      → config TestDotenvWarnsAboutMalformedLines
//	   /metrics unprotectable           → TestMetricsToken here
//	   ?secret= in nginx's access log   → TestNginxLogKeepsNoQuery here
//	9  expired sessions never deleted   → TestExpiredSessionsPruned here
package securitytest

import (
	"booksmeta"

	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/apptest"
	"booksmeta/internal/booking"
	"booksmeta/internal/store"
	"booksmeta/internal/syncbuf"
	"booksmeta/internal/webhook"
)

var ctx = context.Background()

func post(t *testing.T, c *http.Client, url, body string, h map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestNoDefaultAdmin(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	n, err := s.Store.CountAdmins(ctx)
	if err != nil || n != 0 {
		t.Fatalf("a fresh install has %d admins (%v)", n, err)
	}
	for _, pw := range []string{"password", "admin", "admin123"} {
		resp, _ := post(t, http.DefaultClient, s.URL+"/api/v1/auth/login", `{"email":"admin@book-smeta.com","password":"`+pw+`"}`, nil)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the PHP default admin signs in with %q: %d", pw, resp.StatusCode)
		}
	}
}

func TestMD5NeverSignsIn(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	u := &booksmeta.User{Email: "md5@example.ru", Role: booksmeta.RoleStudent, Paid: true, Active: true, BookingLimit: 3,
		PasswordHash: "5f4dcc3b5aa765d61d8327deb882cf99"} // md5("password"), as the PHP admin page stored it
	s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.InsertUser(ctx, u) })
	resp, _ := post(t, http.DefaultClient, s.URL+"/api/v1/auth/login", `{"email":"md5@example.ru","password":"password"}`, nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an MD5 hash signed in: %d", resp.StatusCode)
	}
}

func TestCookieFlags(t *testing.T) {
	s := apptest.Start(t, apptest.Options{Env: map[string]string{"BOOKSMETA_BASE_URL": "https://book.school.example"}})
	if _, err := s.Accounts.EnsureSuperAdmin(ctx, "boss@example.ru", "password123"); err != nil {
		t.Fatal(err)
	}
	resp, _ := post(t, http.DefaultClient, s.URL+"/api/v1/auth/login", `{"email":"boss@example.ru","password":"password123"}`, nil)
	var c *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == "booksmeta_session" {
			c = k
		}
	}
	if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie flags: %+v", c)
	}
}

// TestNoSecretsInAnswers: no password hash, API key, SMTP password, webhook
// secret or server password in what the API and admin pages return.
func TestNoSecretsInAnswers(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	const apiKey, smtpPass, whSecret, srvPass = "gc-api-key-SECRET-1", "smtp-pass-SECRET-2", "webhook-secret-SECRET-3", "server-pass-SECRET-4"
	if err := s.Settings.Put(ctx, map[string]string{"getcourse_api_key": apiKey, "mail_password": smtpPass,
		"getcourse_webhook_secret": whSecret, booking.ServerPassword: srvPass}, 0); err != nil {
		t.Fatal(err)
	}
	boss, _ := s.Accounts.EnsureSuperAdmin(ctx, "boss@example.ru", "password123")
	now := time.Now().Add(time.Hour).UnixMilli()
	s.DB.Write.Exec(`INSERT INTO slots (starts_at, ends_at, capacity, server_login, server_password, created_at, updated_at) VALUES ($1,$2,1,$3,$4,$5,$5)`,
		now, now+3600000, s.Box.Seal("slot-login"), s.Box.Seal("slot-pass-SECRET-5"), time.Now().UnixMilli())
	jar := newJar()
	c := &http.Client{Jar: jar}
	resp, body := post(t, c, s.URL+"/api/v1/auth/login", `{"email":"boss@example.ru","password":"password123"}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("login %d %s", resp.StatusCode, body)
	}
	var pages bytes.Buffer
	for _, p := range []string{"/api/v1/admin/settings", "/api/v1/admin/users", "/api/v1/admin/users/" + itoa(boss.ID), "/api/v1/me",
		"/api/v1/admin/slots", "/api/v1/admin/webhooks", "/admin", "/admin/settings", "/admin/users", "/admin/webhooks"} {
		r, err := c.Get(s.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Fatalf("%s: %d", p, r.StatusCode)
		}
		pages.Write(b)
	}
	all := pages.String()
	for _, secret := range []string{apiKey, smtpPass, whSecret, srvPass, "slot-pass-SECRET-5", "$argon2id$", "password_hash"} {
		if strings.Contains(all, secret) {
			t.Errorf("%q appears in an API answer or admin page", secret)
		}
	}
}

// TestNoSecretsInLogs: a rejected webhook, an accepted one and a failed
// sign-in leave no secret, signature or password in the log.
func TestNoSecretsInLogs(t *testing.T) {
	logs := &syncbuf.Buffer{}
	s := apptest.Start(t, apptest.Options{Log: logs, Env: map[string]string{"GETCOURSE_WEBHOOK_SECRET": "log-test-secret-value-123"}})
	body := `{"action":"user_payment","user":{"email":"log@example.ru"},"password":"pw-in-body-123"}`
	sig := webhook.Sign("log-test-secret-value-123", []byte(body))
	post(t, http.DefaultClient, s.URL+"/api/getcourse/webhook?secret=wrong-query-secret", body, map[string]string{"X-GetCourse-Signature": "sha256=" + strings.Repeat("ab", 32)})
	post(t, http.DefaultClient, s.URL+"/api/getcourse/webhook", body, map[string]string{"X-GetCourse-Signature": sig})
	post(t, http.DefaultClient, s.URL+"/api/v1/auth/login", `{"email":"log@example.ru","password":"typed-password-123"}`, nil)
	apptest.WaitFor(t, 5*time.Second, "processing", func() bool {
		u, err := s.Store.UserByEmail(ctx, "log@example.ru")
		return err == nil && u.Paid
	})
	// The worker logs after its transaction commits, so the paid flag can
	// be seen a moment before the line is written.
	apptest.WaitFor(t, 5*time.Second, "the processing log line", func() bool {
		return strings.Contains(logs.String(), "webhook processed")
	})
	out := logs.String()
	for _, secret := range []string{"log-test-secret-value-123", strings.TrimPrefix(sig, "sha256="), "wrong-query-secret", "pw-in-body-123", "typed-password-123"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q is in the log", secret)
		}
	}
	// Stored log rows are redacted too.
	es, _ := s.Store.ListWebhooks(ctx, store.WebhookFilter{})
	raw, _ := json.Marshal(es)
	for _, secret := range []string{"log-test-secret-value-123", "wrong-query-secret", "pw-in-body-123", strings.TrimPrefix(sig, "sha256=")} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("%q is stored in the webhook log", secret)
		}
	}
}

// TestNothingButRoutesIsServed: the data folder, .env and the PHP
// version's debug and install pages do not exist here.
func TestNothingButRoutesIsServed(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	for _, p := range []string{"/.env", "/data/booksmeta.db", "/data/secret.key", "/install.php", "/test_login.php",
		"/check_users_table.php", "/debug_form_data.php", "/debug_mysql_users.php", "/debug_installer_exact.php",
		"/test_form.php", "/FULL_PROJECT_AUDIT.php", "/fix_logs_permissions.php", "/logs/info.log", "/static/../app.go"} {
		r, err := http.Get(s.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusMovedPermanently {
			t.Errorf("%s answered %d", p, r.StatusCode)
		}
		if strings.Contains(string(b), "BOOKSMETA_") || strings.Contains(string(b), "SQLite format") {
			t.Errorf("%s leaks file content", p)
		}
	}
}
