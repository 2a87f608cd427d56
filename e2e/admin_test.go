//go:build e2e

// Package e2e drives the real pages in headless Chromium (Debian's chromium
// package): sign-in, GetCourse settings, the generated webhook secret, the
// connection test against the fake GetCourse server, and the webhook log.
//
//	go test -tags e2e -count=1 ./e2e/...
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"booksmeta/internal/apptest"
	"booksmeta/internal/getcourse/getcoursetest"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
	"booksmeta/internal/webhook"
)

const password = "correct horse battery"

// phoneWidth is the emulated screen width in CSS pixels (a typical phone).
const phoneWidth = 390

func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("BOOKSMETA_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("Chromium not found at %s: install Debian's chromium package (apt-get install chromium) or set BOOKSMETA_CHROMIUM", p)
	}
	return p
}

// newTab starts a fresh headless Chromium (its own profile) with a phone-sized
// viewport, and accepts every confirm() dialog the pages show.
func newTab(t *testing.T) context.Context {
	t.Helper()
	return newTabFor(t, 3*time.Minute)
}

// newTabFor is newTab for a walk that may take longer than three minutes
// on a slow machine: everything in the tab must be done within timeout.
func newTabFor(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	acceptDialogs(ctx)
	return ctx
}

// acceptDialogs answers every JavaScript dialog of the tab with OK.
func acceptDialogs(ctx context.Context) {
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v\n%s", err, pageText(ctx))
	}
}

func js(v string) string { b, _ := json.Marshal(v); return string(b) }

// waitJS polls a JavaScript condition, across navigations, until it holds.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; page:\n%s", what, pageText(ctx))
}

// waitH1 waits for the page with heading h1 and checks its accessibility:
// every page a browser test arrives at gets axe-core, not only the walk's.
func waitH1(t *testing.T, ctx context.Context, h1 string) {
	t.Helper()
	waitJS(t, ctx, "page "+h1, `document.readyState === "complete" && document.querySelector("h1") && document.querySelector("h1").textContent === `+js(h1))
	checkAxe(t, ctx, axeBundle(t), "page «"+h1+"»")
}

var axeOnce struct {
	sync.Once
	js string
}

// axeBundle is loadAxe, read once for all the tests of the package.
func axeBundle(t *testing.T) string {
	t.Helper()
	axeOnce.Do(func() { axeOnce.js = loadAxe(t) })
	return axeOnce.js
}

func waitText(t *testing.T, ctx context.Context, sel, text string) {
	t.Helper()
	waitJS(t, ctx, sel+" with "+text, `document.querySelector(`+js(sel)+`) && document.querySelector(`+js(sel)+`).textContent.includes(`+js(text)+`)`)
}

func pageText(ctx context.Context) string {
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + (document.body ? document.body.innerText : "")`))
	return s
}

func value(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("value of %s: %v", sel, err)
	}
	return v
}

func noHorizontalScroll(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	// A mobile browser widens the layout viewport to fit content that does
	// not fit, so both widths are compared with the phone's.
	w, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`))
	if err != nil {
		t.Fatal(err)
	}
	if w[0] > phoneWidth || w[1] > phoneWidth {
		// Name what sticks out, so the failure says what to fix.
		wide, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("body *")]
			.filter(e => e.getBoundingClientRect().right > `+fmt.Sprint(phoneWidth)+` && ![...e.children].some(c => c.getBoundingClientRect().right > `+fmt.Sprint(phoneWidth)+`))
			.slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + String(e.className).trim().replace(/\s+/g, ".") : "") +
				" (" + Math.round(e.getBoundingClientRect().right) + "px): " + e.textContent.trim().slice(0, 80))`))
		t.Errorf("%s is wider than a phone screen: %dpx content, %dpx layout viewport, %dpx screen; sticking out: %q", where, w[0], w[1], phoneWidth, wide)
	}
}

func TestAdminPanelInBrowser(t *testing.T) {
	gc := getcoursetest.New(getcoursetest.WithGroups("Ученики", "Оплатившие"))
	defer gc.Close()
	srv := apptest.Start(t, apptest.Options{})
	bg := context.Background()
	if _, err := srv.Accounts.EnsureSuperAdmin(bg, "owner@example.com", password); err != nil {
		t.Fatal(err)
	}
	ctx := newTab(t)

	// Signed out: the settings page sends to sign-in and back.
	do(t, ctx, chromedp.Navigate(srv.URL+"/admin/settings"))
	waitH1(t, ctx, "Вход")
	noHorizontalScroll(t, ctx, "the sign-in page")
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("email"), "owner@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "wrong password"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`), chromedp.NodeVisible))
	waitText(t, ctx, "#login-error", "Неверный email или пароль")
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`), chromedp.NodeVisible))
	waitH1(t, ctx, "Настройки → GetCourse API")
	waitText(t, ctx, ".banner", "Webhook секрет не задан")
	noHorizontalScroll(t, ctx, "the settings page")

	// Save settings: the account only.
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("getcourse_account"), "school"),
		chromedp.Click(chromedp.CSS(`#gc-form button[type=submit]:not([data-gc-test])`), chromedp.NodeVisible))
	waitText(t, ctx, ".flash", "Настройки сохранены")
	if v, _ := srv.Settings.String(bg, settings.GetCourseAccount); v != "school" {
		t.Fatalf("account saved as %q", v)
	}
	waitText(t, ctx, "#account-help", "сохранено в панели")

	// Generate a webhook secret: shown once, with a working copy button.
	do(t, ctx, chromedp.Click(chromedp.ID("generate-secret"), chromedp.NodeVisible))
	waitText(t, ctx, "#ot-h", "Новый webhook секрет сохранён")
	secret := value(t, ctx, "#onetime-secret")
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(secret) {
		t.Fatalf("generated secret %q", secret)
	}
	if got, _ := srv.Settings.WebhookSecret(bg); got != secret {
		t.Fatal("the secret on the page is not the saved one")
	}
	if strings.Contains(pageText(ctx), "Webhook секрет не задан") {
		t.Fatal("red banner still shown after generating a secret")
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(`button[data-copy="onetime-secret"]`), chromedp.NodeVisible))
	waitJS(t, ctx, "copy feedback", `document.getElementById("live").textContent !== ""`)
	noHorizontalScroll(t, ctx, "the one-time secret page")

	// Reload: the secret is masked, never in the page again.
	do(t, ctx, chromedp.Navigate(srv.URL+"/admin/settings"))
	waitH1(t, ctx, "Настройки → GetCourse API")
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, secret) {
		t.Fatal("the secret is in the settings page after the one-time display")
	}
	waitText(t, ctx, "#secret-current", "••••••••")

	// Connection test with the entered, unsaved URL and key of the fake GetCourse.
	do(t, ctx,
		chromedp.SetValue(chromedp.ID("getcourse_api_url"), gc.URL()),
		chromedp.SendKeys(chromedp.ID("getcourse_api_key"), "wrong-key-000000000000"),
		chromedp.Click(chromedp.CSS(`button[data-gc-test]`), chromedp.NodeVisible))
	waitJS(t, ctx, "wrong-key verdict", `document.querySelector("#gc-test-result .error")`)
	do(t, ctx,
		chromedp.SetValue(chromedp.ID("getcourse_api_key"), gc.Key()),
		chromedp.Click(chromedp.CSS(`button[data-gc-test]`), chromedp.NodeVisible))
	waitText(t, ctx, "#gc-test-result .ok-box", "Подключение к GetCourse работает")
	if v, _ := srv.Settings.String(bg, settings.GetCourseAPIKey); v != "" {
		t.Fatal("the test saved the key")
	}
	// The typed values are still in the form: save them.
	if value(t, ctx, "#getcourse_api_key") != gc.Key() {
		t.Fatal("the test cleared the typed key")
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(`#gc-form button[type=submit]:not([data-gc-test])`), chromedp.NodeVisible))
	waitText(t, ctx, ".flash", "Настройки сохранены")
	if key, _ := srv.Settings.String(bg, settings.GetCourseAPIKey); key != gc.Key() {
		t.Fatalf("the key was not saved with the new address")
	}
	if u, _ := srv.Settings.String(bg, settings.GetCourseAPIURL); u != gc.URL() {
		t.Fatal("key and URL not saved")
	}
	if got, _ := srv.Settings.WebhookSecret(bg); got != secret {
		t.Fatal("saving the key changed the webhook secret")
	}

	// A signed webhook, and one whose body tries to run script.
	send := func(body string) int64 {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/getcourse/webhook", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GetCourse-Signature", webhook.Sign(secret, []byte(body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("webhook answered %d", resp.StatusCode)
		}
		es, err := srv.Store.ListWebhooks(bg, store.WebhookFilter{Limit: 1})
		if err != nil || len(es) == 0 {
			t.Fatal("webhook not in the log", err)
		}
		return es[0].ID
	}
	paid := send(`{"action":"user_payment","user":{"email":"buyer@example.com","first_name":"Анна"},"event_id":"e2e-1"}`)
	evil := send(`{"action":"test","email":"evil@example.com","note":"<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>","event_id":"e2e-2"}`)

	do(t, ctx, chromedp.Click(chromedp.CSS(`nav a[href="/admin/webhooks"]`), chromedp.NodeVisible))
	waitH1(t, ctx, "Журнал webhook")
	noHorizontalScroll(t, ctx, "the webhook log")
	do(t, ctx, chromedp.Click(chromedp.CSS(`a[href="/admin/webhooks/`+itoa(paid)+`"]`), chromedp.NodeVisible))
	waitH1(t, ctx, "Запись журнала webhook #"+itoa(paid))
	waitText(t, ctx, "main", "buyer@example.com")
	waitText(t, ctx, "main", "подпись HMAC-SHA256")
	waitText(t, ctx, "main", "[скрыто]") // the signature header is redacted
	if strings.Contains(pageText(ctx), webhook.Sign(secret, nil)[7:20]) {
		t.Fatal("signature shown")
	}
	noHorizontalScroll(t, ctx, "a webhook log entry")

	do(t, ctx, chromedp.Navigate(srv.URL+"/admin/webhooks/"+itoa(evil)))
	waitH1(t, ctx, "Запись журнала webhook #"+itoa(evil))
	waitText(t, ctx, `pre[aria-label="Тело запроса"]`, "<script>document.title='pwned'</script>")
	time.Sleep(300 * time.Millisecond)
	if title, _ := chromedp.Run(ctx, chromedp.Title()); title == "pwned" {
		t.Fatal("script in a webhook body ran in the admin's browser")
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("main img, main script").length`)); n != 0 {
		t.Fatalf("webhook body became %d elements", n)
	}

	// Sign out.
	do(t, ctx, chromedp.Click(chromedp.CSS(`form[action="/logout"] button`), chromedp.NodeVisible))
	waitText(t, ctx, ".flash", "Вы вышли")
	do(t, ctx, chromedp.Navigate(srv.URL+"/admin"))
	waitH1(t, ctx, "Вход")
}

func TestStudentInBrowser(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	bg := context.Background()
	owner, err := srv.Accounts.EnsureSuperAdmin(bg, "owner@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	ctx := newTab(t)
	// The admin adds a student with an invitation link…
	do(t, ctx, chromedp.Navigate(srv.URL+"/login"))
	waitH1(t, ctx, "Вход")
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("email"), owner.Email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`), chromedp.NodeVisible))
	waitH1(t, ctx, "Панель администратора")
	do(t, ctx, chromedp.Navigate(srv.URL+"/admin/users/new"))
	waitH1(t, ctx, "Новый ученик")
	noHorizontalScroll(t, ctx, "the new-student form")
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("email"), "anna@example.com"),
		chromedp.SendKeys(chromedp.ID("first_name"), "Анна"),
		chromedp.Click(chromedp.CSS(`input[name=paid]`), chromedp.NodeVisible),
		chromedp.Click(chromedp.CSS(`form[action="/admin/users/new"] button[type=submit]`), chromedp.NodeVisible))
	waitText(t, ctx, "#link-h", "Ссылка для установки пароля")
	link := value(t, ctx, "#onetime-link")
	i := strings.Index(link, "/set-password?token=")
	if i < 0 {
		t.Fatalf("link %q", link)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(`form[action="/logout"] button`), chromedp.NodeVisible))
	waitText(t, ctx, ".flash", "Вы вышли")

	// …the student sets a password with it, signs in and sees the account.
	do(t, ctx, chromedp.Navigate(srv.URL+link[i:]))
	waitH1(t, ctx, "Установка пароля")
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("password"), "anna-password-1"),
		chromedp.SendKeys(chromedp.ID("password2"), "anna-password-1"),
		chromedp.Click(chromedp.CSS(`form[action="/set-password"] button`), chromedp.NodeVisible))
	waitH1(t, ctx, "Пароль установлен")
	do(t, ctx, chromedp.Navigate(srv.URL+"/login"))
	waitH1(t, ctx, "Вход")
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("email"), "anna@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "anna-password-1"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`), chromedp.NodeVisible))
	waitH1(t, ctx, "Бронирование сервера")
	waitText(t, ctx, "main", "Осталось бронирований")
	noHorizontalScroll(t, ctx, "the student page")
	do(t, ctx, chromedp.Navigate(srv.URL+"/admin/settings"))
	waitH1(t, ctx, "Доступ запрещён")
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
