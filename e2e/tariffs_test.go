//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"booksmeta/internal/accounts"
	"booksmeta/internal/apptest"
	"booksmeta/internal/getcourse/getcoursetest"
	"booksmeta/internal/webhook"
)

// TestTariffsInBrowser: a payment arrives for an offer while every payment
// still gives access; the admin finds that offer among the seen ones on
// «Тарифы», makes it a 10-hour, 60-day tariff, looks at the dry run and
// applies it; the student then sees their hours and access end.
func TestTariffsInBrowser(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{})
	bg := context.Background()
	owner, err := srv.Accounts.EnsureSuperAdmin(bg, "owner@example.com", password)
	if err != nil {
		t.Fatal(err)
	}

	// GetCourse's process calls the address from the connect page; with no
	// secret set it is accepted unverified.
	const email = "pavel.orlov@example.com"
	order := getcoursetest.Order{DealID: 8800321, Number: 5102, Status: "payed", IsPayed: true,
		Cost: 9000, Payed: 9000, OfferIDs: []int64{4417}, Positions: []string{"Базовый: сервер"},
		CreatedAt: time.Now().Add(-time.Hour), PaidAt: time.Now(),
		User: getcoursetest.OrderUser{ID: 990011, Email: email, FirstName: "Павел", LastName: "Орлов"}}
	dctx, cancel := context.WithTimeout(bg, time.Minute)
	d := getcoursetest.NewDeliverer(30*time.Second).SendProcess(dctx, http.MethodGet,
		webhook.ProcessURL(srv.URL+"/api/getcourse/webhook", ""), order, getcoursetest.ProcessQuirks{})
	cancel()
	if d.Error != "" || d.HTTPStatus != http.StatusOK {
		t.Fatalf("process call answered %d %s, error %q", d.HTTPStatus, d.Answer, d.Error)
	}
	apptest.WaitFor(t, 20*time.Second, "the payment applied", func() bool {
		u, err := srv.Store.UserByEmail(bg, email)
		return err == nil && u.Paid
	})
	student, _ := srv.Store.UserByEmail(bg, email)
	pw := "pavel-password-1"
	if _, err := srv.Accounts.AdminUpdate(bg, owner, student.ID, accounts.UserInput{Password: &pw}); err != nil {
		t.Fatal(err)
	}

	ctx := newTab(t)
	do(t, ctx, chromedp.Navigate(srv.URL+"/login"))
	waitH1(t, ctx, "Вход")
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("email"), owner.Email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`), chromedp.NodeVisible))
	waitH1(t, ctx, "Панель администратора")

	// «Тарифы» from the menu: no rules yet, the seen offer listed.
	do(t, ctx, chromedp.Navigate(srv.URL+"/admin/offers"))
	waitH1(t, ctx, "Тарифы")
	waitText(t, ctx, "main", "сейчас каждая оплата на GetCourse даёт доступ к серверу")
	waitText(t, ctx, "main", "ID предложения: 4417")
	noHorizontalScroll(t, ctx, "the tariffs page")
	screenshot(t, ctx, "tariffs-empty")

	create := `a[href^="/admin/offers?kind=offer_id&value=4417"]`
	do(t, ctx, chromedp.Click(chromedp.CSS(create), chromedp.NodeVisible))
	waitText(t, ctx, "#new", "Форма заполнена по предложению из GetCourse")
	if v := value(t, ctx, "#match_value"); v != "4417" {
		t.Fatalf("prefilled offer %q", v)
	}
	do(t, ctx,
		chromedp.SetValue(chromedp.ID("hours"), "10"),
		chromedp.SetValue(chromedp.ID("access_days"), "60"),
		chromedp.SetValue(chromedp.ID("note"), "Базовый"),
		chromedp.Click(chromedp.CSS(`form[action="/admin/offers#new"] button[type=submit]`), chromedp.NodeVisible))
	waitText(t, ctx, ".flash", "Тариф добавлен")
	waitText(t, ctx, "main", "тариф есть — изменить")
	screenshot(t, ctx, "tariffs-rule")
	// The same page on a desktop screen: the tables as tables.
	do(t, ctx, chromedp.EmulateViewport(1366, 900))
	waitJS(t, ctx, "the desktop layout", `window.innerWidth === 1366`)
	if w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); err != nil || w > 1366 {
		t.Errorf("the tariffs page is %dpx wide on a 1366px screen (%v)", w, err)
	}
	screenshot(t, ctx, "tariffs-desktop")
	do(t, ctx, chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile))

	// The dry run shows the change and changes nothing…
	do(t, ctx, chromedp.Click(chromedp.CSS(`a[href="/admin/offers/recompute"]`), chromedp.NodeVisible))
	waitH1(t, ctx, "Пересчёт тарифов")
	waitText(t, ctx, "main", email)
	waitText(t, ctx, "main", "без ограничения → 10 ч")
	waitText(t, ctx, "main", "будущие бронирования будут отменены")
	noHorizontalScroll(t, ctx, "the recompute dry run")
	screenshot(t, ctx, "tariffs-dry-run")
	if a, err := srv.Booking.Allowance(bg, student.ID); err != nil || a.Capped {
		t.Fatalf("the dry run changed the allowance: %+v %v", a, err)
	}
	// …«Применить» does (its confirm dialog is accepted).
	do(t, ctx, chromedp.Click(chromedp.CSS(`form[action="/admin/offers/recompute"] button[type=submit]`), chromedp.NodeVisible))
	waitText(t, ctx, ".flash", "Тарифы применены")
	a, err := srv.Booking.Allowance(bg, student.ID)
	if err != nil || !a.Capped || a.Hours != 10 || a.Until.IsZero() {
		t.Fatalf("applied allowance %+v %v", a, err)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(`form[action="/logout"] button`), chromedp.NodeVisible))
	waitText(t, ctx, ".flash", "Вы вышли")

	// The student signs in and sees the hours and the end of access in the
	// school's zone.
	do(t, ctx, chromedp.Navigate(srv.URL+"/login"))
	waitH1(t, ctx, "Вход")
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`), chromedp.NodeVisible))
	waitH1(t, ctx, "Бронирование сервера")
	until := a.Until.In(srv.Settings.Location(bg))
	waitText(t, ctx, ".allowance", "осталось 10 ч")
	waitText(t, ctx, ".allowance", fmt.Sprintf("Доступ к серверу до %d ", until.Day()))
	waitText(t, ctx, ".allowance", fmt.Sprintf("%d, %s", until.Year(), until.Format("15:04")))
	noHorizontalScroll(t, ctx, "the calendar with the allowance")
	screenshot(t, ctx, "tariffs-student")
	if text := pageText(ctx); !strings.Contains(text, "Часы на сервере: использовано 0 мин из 10 ч") {
		t.Fatalf("calendar:\n%s", text)
	}
}
