//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"booksmeta"
	"booksmeta/internal/access"
	"booksmeta/internal/access/accesstest"
	"booksmeta/internal/accounts"
	"booksmeta/internal/apptest"
	"booksmeta/internal/store"
)

// With the http provider and the school's server down at first: the
// student's page says access is being prepared, passes axe, and shows the
// password by itself once the server answers — nobody presses anything.
func TestAccessBeingPreparedInBrowser(t *testing.T) {
	axeJS := loadAxe(t)
	const key = "school-access-key-0123456789"
	rc := &accesstest.Receiver{Key: []byte(key)}
	rc.Answer("/grant", func(w http.ResponseWriter) { http.Error(w, "restarting", http.StatusServiceUnavailable) })
	api := httptest.NewServer(rc)
	defer api.Close()
	srv := apptest.Start(t, apptest.Options{})
	bg := context.Background()
	if err := srv.Settings.Put(bg, map[string]string{access.KeyProvider: access.HTTP, "server_api_url": api.URL, "server_api_key": key}, 0); err != nil {
		t.Fatal(err)
	}
	owner, err := srv.Accounts.EnsureSuperAdmin(bg, "owner@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	email, pw, role, paid, active, limit := "student@example.com", "student-password-1", booksmeta.RoleStudent, true, true, 3
	u, err := srv.Accounts.AdminCreate(bg, owner, accounts.UserInput{Email: &email, Password: &pw, Role: &role, Paid: &paid,
		Active: &active, BookingLimit: &limit}, 3)
	if err != nil {
		t.Fatal(err)
	}
	sl := &booksmeta.Slot{StartsAt: time.Now().Add(5 * time.Minute).Truncate(time.Minute), Capacity: 1, Active: true}
	sl.EndsAt = sl.StartsAt.Add(time.Hour)
	if err := srv.Store.InTx(bg, func(tx *store.Tx) error { _, err := tx.InsertSlot(bg, sl); return err }); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Booking.Book(bg, u.ID, sl.ID); err != nil {
		t.Fatal(err)
	}

	ctx := newTab(t)
	do(t, ctx, chromedp.Navigate(srv.URL+"/login"))
	waitH1(t, ctx, "Вход")
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`), chromedp.NodeVisible))
	waitH1(t, ctx, "Бронирование сервера")
	do(t, ctx, chromedp.Navigate(srv.URL+"/bookings"))
	waitH1(t, ctx, "Мои бронирования")
	waitText(t, ctx, "main", "Доступ к серверу готовится")
	checkAxe(t, ctx, axeJS, "access being prepared")
	noHorizontalScroll(t, ctx, "access being prepared")
	saveScreenshot(t, ctx, screenshotDir(t), "student-390-access-being-prepared")

	// The school's server is back: the page polls and reloads by itself.
	rc.Answer("/grant", nil)
	waitJS(t, ctx, "the password shown without a click", `document.getElementById("access-password") !== null && document.getElementById("access-password").value === `+js("Pw-"+access.WebhookID("grant", 1, 0)))
	checkAxe(t, ctx, axeJS, "access granted")
	saveScreenshot(t, ctx, screenshotDir(t), "student-390-access-granted")
}
