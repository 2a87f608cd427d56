//go:build e2e

package e2e

import (
	"booksmeta"

	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"booksmeta/internal/accounts"
	"booksmeta/internal/apptest"
	"booksmeta/internal/booking"
)

// TestBookingInBrowser: a paid student signs in, books a free hour from the
// calendar, sees it in "Мои бронирования" with no credentials yet, then (the
// app clock moved into the access window) sees the server access with the
// password revealed by "Показать", and cancels another booking.
func TestBookingInBrowser(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	bg := context.Background()
	owner, err := srv.Accounts.EnsureSuperAdmin(bg, "owner@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	email, pw, role, paid, active, limit := "student@example.com", "student-password-1", booksmeta.RoleStudent, true, true, 3
	if _, err := srv.Accounts.AdminCreate(bg, owner, accounts.UserInput{Email: &email, Password: &pw, Role: &role, Paid: &paid,
		Active: &active, BookingLimit: &limit}, 3); err != nil {
		t.Fatal(err)
	}
	srv.Settings.Put(bg, map[string]string{booking.ServerHost: "rdp.school.example", booking.ServerLogin: "smeta-user",
		booking.ServerPassword: "Server-Pass-42"}, 0)
	loc, _ := time.LoadLocation("Europe/Moscow")
	soon := time.Now().In(loc).Add(3 * time.Hour).Truncate(time.Minute)
	later := time.Now().In(loc).Add(50 * time.Hour).Truncate(time.Hour)
	for _, st := range []time.Time{soon, later} {
		if _, err := srv.DB.Write.Exec(`INSERT INTO slots (starts_at, ends_at, capacity, created_at, updated_at) VALUES ($1,$2,1,$3,$3)`,
			st.UnixMilli(), st.Add(time.Hour).UnixMilli(), time.Now().UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	ctx := newTab(t)
	do(t, ctx, chromedp.Navigate(srv.URL+"/login"))
	waitH1(t, ctx, "Вход")
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`), chromedp.NodeVisible))
	waitH1(t, ctx, "Бронирование сервера")

	book := func(at time.Time) {
		t.Helper()
		do(t, ctx, chromedp.Navigate(srv.URL+"/?week="+at.Format("2006-01-02")))
		waitH1(t, ctx, "Бронирование сервера")
		noHorizontalScroll(t, ctx, "the calendar")
		// The booking form asks for confirmation; the test says yes.
		sayYes(t, ctx)
		do(t, ctx, chromedp.Click(chromedp.CSS(`li.slot.free form button[type=submit]`), chromedp.NodeVisible))
		waitH1(t, ctx, "Мои бронирования")
		waitText(t, ctx, ".flash", "Время забронировано")
	}
	book(soon)
	waitText(t, ctx, "main", "Данные для входа на сервер появятся здесь")
	if html := outerHTML(t, ctx); strings.Contains(html, "Server-Pass-42") || strings.Contains(html, "smeta-user") {
		t.Fatal("credentials on the page before the access window opens")
	}
	// Move the app's clock to 10 minutes before the start: inside the window.
	srv.Clock.Set(soon.Add(-10 * time.Minute))
	defer srv.Clock.Real()
	do(t, ctx, chromedp.Navigate(srv.URL+"/bookings"))
	waitH1(t, ctx, "Мои бронирования")
	waitText(t, ctx, "main", "Доступ к серверу открыт")
	if v := value(t, ctx, `#access-login`); v != "smeta-user" {
		t.Fatalf("login shown: %q", v)
	}
	typ, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#access-password').type`))
	if err != nil || typ != "password" {
		t.Fatalf("password must start hidden: %q %v", typ, err)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(`button[data-reveal]`), chromedp.NodeVisible))
	waitJS(t, ctx, "password revealed", `document.querySelector('#access-password').type === "text" && document.querySelector('#access-password').value === "Server-Pass-42"`)
	noHorizontalScroll(t, ctx, "my bookings")

	book(later)
	sayYes(t, ctx)
	do(t, ctx, chromedp.Click(chromedp.CSS(`form[action$="/cancel"] button`), chromedp.NodeVisible))
	waitText(t, ctx, ".flash", "Бронирование отменено")
	waitText(t, ctx, "main", "Отменено учеником")
}

// sayYes answers every confirmation dialog with yes, as a student clicking OK.
func sayYes(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.confirm = () => true; true`)); err != nil {
		t.Fatal(err)
	}
}

// outerHTML is the whole page as the browser has it now.
func outerHTML(t *testing.T, ctx context.Context) string {
	t.Helper()
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatal(err)
	}
	return html
}
