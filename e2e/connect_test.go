//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"booksmeta/internal/apptest"
	"booksmeta/internal/settings"
	"booksmeta/internal/webhook"
)

// screenshot keeps a picture of the page when BOOKSMETA_E2E_ARTIFACTS names
// a folder (CI keeps it as an artefact); otherwise it does nothing.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("BOOKSMETA_E2E_ARTIFACTS")
	if dir == "" {
		return
	}
	// Quality 100 is what makes Chromium encode PNG; below it is JPEG.
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.MkdirAll(dir, 0o755); err == nil {
		os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
}

// The setup page followed as written: the admin copies the process address
// (secret masked on screen, copied in full), GetCourse calls it with its
// variables filled in, and the page shows the delivery and what arrived.
func TestConnectPageProcessRoute(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	bg := context.Background()
	if _, err := srv.Accounts.EnsureSuperAdmin(bg, "owner@example.com", password); err != nil {
		t.Fatal(err)
	}
	ctx := newTab(t)
	do(t, ctx, chromedp.Navigate(srv.URL+"/login"))
	waitH1(t, ctx, "Вход")
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("email"), "owner@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`), chromedp.NodeVisible))
	waitH1(t, ctx, "Панель администратора")

	// The admin finds it from the menu.
	do(t, ctx, chromedp.Click(chromedp.CSS(`nav a[href="/admin/getcourse/connect"]`), chromedp.NodeVisible))
	waitH1(t, ctx, "Подключение GetCourse")
	waitText(t, ctx, "#no-secret", "Секрет не задан")
	noHorizontalScroll(t, ctx, "the GetCourse setup page")

	// First the secret, generated from this page.
	do(t, ctx, chromedp.Click(chromedp.ID("generate-secret"), chromedp.NodeVisible))
	waitText(t, ctx, "#ot-h", "Новый секрет сохранён")
	secret, _ := srv.Settings.WebhookSecret(bg)
	if len(secret) != 64 {
		t.Fatalf("generated secret %q", secret)
	}
	endpoint := strings.TrimRight(srv.Web.BaseURL, "/") + "/api/getcourse/webhook"
	if got := value(t, ctx, "#process-url"); got != webhook.ProcessURL(endpoint, secret) {
		t.Fatalf("address after generating: %q", got)
	}

	// Next visit: masked on screen and in the HTML.
	do(t, ctx, chromedp.Navigate(srv.URL+"/admin/getcourse/connect"))
	waitH1(t, ctx, "Подключение GetCourse")
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, secret) {
		t.Fatal("the secret is in the page before «Показать»")
	}
	masked := value(t, ctx, "#process-url")
	if !strings.Contains(masked, "secret=••••••••&") {
		t.Fatalf("masked address %q", masked)
	}

	// «Копировать» copies the full address without showing it.
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`window.__copied = null;
		navigator.clipboard.writeText = function (t) { window.__copied = t; return Promise.resolve(); };`))
	do(t, ctx, chromedp.Click(chromedp.CSS(`button[data-copy="process-url"]`), chromedp.NodeVisible))
	waitJS(t, ctx, "the copied address", `window.__copied`)
	copied, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.__copied`))
	if err != nil {
		t.Fatal(err)
	}
	if copied != webhook.ProcessURL(endpoint, secret) {
		t.Fatalf("copied %q, want the full process address", copied)
	}
	if value(t, ctx, "#process-url") != masked {
		t.Fatal("copying showed the secret on screen")
	}
	// «Показать» and «Скрыть» toggle it in place.
	do(t, ctx, chromedp.Click(chromedp.CSS(`#reveal-process button`), chromedp.NodeVisible))
	waitJS(t, ctx, "the revealed address", `document.getElementById("process-url").value === `+js(copied))
	waitText(t, ctx, "#reveal-process button", "Скрыть")
	do(t, ctx, chromedp.Click(chromedp.CSS(`#reveal-process button`), chromedp.NodeVisible))
	waitJS(t, ctx, "the masked address again", `document.getElementById("process-url").value === `+js(masked))
	screenshot(t, ctx, "connect-phone-before")

	// GetCourse runs the process: every {object.…} replaced by the order's
	// value, URL-encoded, sent as GET to the public address.
	u, err := url.Parse(copied)
	if err != nil {
		t.Fatal(err)
	}
	order := map[string]string{"deal_id": "5501", "deal_number": "42", "status": "payed", "email": "olga@example.com",
		"first_name": "Ольга", "last_name": "Смирнова", "phone": "+7 900 123-45-67", "user_id": "880011",
		"cost": "12000", "payed": "12 000 руб.", "offers": "3301", "positions": "Курс «Смета за 30 дней»"}
	q := u.Query()
	for _, p := range webhook.ProcessParams {
		if q.Get(p.Name) != p.Variable {
			t.Fatalf("parameter %s is %q in the copied address, want the variable %s", p.Name, q.Get(p.Name), p.Variable)
		}
		q.Set(p.Name, order[p.Name])
	}
	resp, err := http.Get(srv.URL + u.Path + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("process call answered %d", resp.StatusCode)
	}

	// The admin reloads the page after the test order, as it says.
	do(t, ctx, chromedp.Reload())
	waitH1(t, ctx, "Подключение GetCourse")
	waitText(t, ctx, "#recent-h + .table-wrap", "olga@example.com")
	waitText(t, ctx, "#recent-h + .table-wrap", "принято")
	waitText(t, ctx, "table.fields", "Ольга")
	waitText(t, ctx, "table.fields", "olga@example.com")
	waitText(t, ctx, "table.fields", "5501")
	noHorizontalScroll(t, ctx, "the setup page with a delivery")
	screenshot(t, ctx, "connect-phone-delivery")
	if v, _ := srv.Settings.String(bg, settings.GetCourseWebhookSecret); v != secret {
		t.Fatal("the secret changed")
	}

	// The same on a desktop screen.
	do(t, ctx, chromedp.EmulateViewport(1366, 900))
	do(t, ctx, chromedp.Navigate(srv.URL+"/admin/getcourse/connect"))
	waitH1(t, ctx, "Подключение GetCourse")
	screenshot(t, ctx, "connect-desktop")
	// Settings point here instead of describing a GetCourse screen that does not exist.
	do(t, ctx, chromedp.Navigate(srv.URL+"/admin/settings"))
	waitH1(t, ctx, "Настройки → GetCourse API")
	waitText(t, ctx, "#url-h + p", "«Подключение GetCourse»")
	screenshot(t, ctx, "settings-desktop")
}
