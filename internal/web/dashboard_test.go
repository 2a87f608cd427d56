package web_test

import (
	"booksmeta"

	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/accounts"
	"booksmeta/internal/store"
)

func TestDashboardNumbers(t *testing.T) {
	f := start(t, map[string]string{"GETCOURSE_WEBHOOK_SECRET": "env-webhook-secret-123456"})
	f.user(t, "unpaid@example.com", booksmeta.RoleStudent, false)
	sendWebhook(t, f, `{"action":"test","event_id":"d1"}`, http.Header{"X-Signature": {"sha256=00"}})
	sendWebhook(t, f, `{"action":"test","event_id":"d2"}`, http.Header{"X-Signature": {"sha256=00"}})
	a := f.as(t, f.admin)
	p := a.get("/admin")
	expect(t, p, 200,
		`<span class="num">2</span> <a href="/admin/users?role=student">всего учеников</a>`,
		`<span class="num">1</span> <a href="/admin/users?role=student&amp;paid=true&amp;active=true">оплатили и активны</a>`,
		`<span class="num">2</span> <span class="label">администраторов, включая главных</span>`,
		"Всего запросов от GetCourse сегодня: <strong>2</strong>",
		`<span class="num">2</span> <a href="/admin/webhooks?outcome=rejected">отклонено: подпись или секрет</a>`,
		`<span class="num">0</span> <a href="/admin/webhooks?outcome=accepted">принято</a>`,
		"Необработанных ошибок нет")
	expectNot(t, p, "Webhook секрет не задан", "env-webhook-secret-123456")
}

func TestDashboardBookingNumbers(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	loc, _ := time.LoadLocation("Europe/Moscow")
	base := time.Now().In(loc).AddDate(0, 0, 1)
	at := func(h int) time.Time { return time.Date(base.Year(), base.Month(), base.Day(), h, 0, 0, 0, loc) }
	id := newSlot(t, f, at(10), 2)
	if _, err := f.srv.Booking.Book(ctx, f.student.ID, id); err != nil {
		t.Fatal(err)
	}
	// The student's limit is 3; one more booking puts them within one of it.
	id2 := newSlot(t, f, at(12), 2)
	if _, err := f.srv.Booking.Book(ctx, f.student.ID, id2); err != nil {
		t.Fatal(err)
	}
	// Another student with one booking out of three is not near the limit,
	// nor is one whose limit is 0.
	calm := f.user(t, "calm@example.com", booksmeta.RoleStudent, true)
	if _, err := f.srv.Booking.Book(ctx, calm.ID, id2); err != nil {
		t.Fatal(err)
	}
	zero := f.user(t, "zero@example.com", booksmeta.RoleStudent, true)
	lim := 0
	if _, err := f.srv.Accounts.AdminUpdate(ctx, f.super, zero.ID, accounts.UserInput{BookingLimit: &lim}); err != nil {
		t.Fatal(err)
	}
	p := f.as(t, f.admin).get("/admin")
	// 3 places of 4 taken in the next 14 days: 75 %.
	expect(t, p, 200, "Бронирований по дням", "<span class=\"num\">75%</span>", "Ученики у предела лимита",
		"student@example.com", "предстоящих 2 из 3")
	expectNot(t, p, "calm@example.com", "zero@example.com", "<progress")
	// The chart: an SVG image named by its title and description, one bar per
	// day, tomorrow's named with its 3 bookings; the table behind it holds the same.
	expect(t, p, 200, `<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" id="chart-days" viewBox="0 0 480 200" role="img" aria-labelledby="chart-days-title chart-days-desc"`,
		`<title>`+base.Format("02.01.2006")+`: 3 бронирования</title>`, "<summary>Таблица</summary>",
		`<td class="nowrap">`+base.Format("02.01.2006")+`</td><td>3</td>`, `id="chart-hours"`)
	if n := strings.Count(p.Body, `<rect class="bar`); n != 28+24 {
		t.Fatalf("%d bars, want 28 days and 24 hours", n)
	}
	expect(t, f.as(t, f.student).get("/admin"), http.StatusForbidden)
}

// TestDashboardUtilisationByHour: yesterday's 09:00–10:00 slot with 2 places,
// 1 taken, shows as 50 % for that hour in the chart and in its table; an
// hour without slots says so.
func TestDashboardUtilisationByHour(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	loc, _ := time.LoadLocation("Europe/Moscow")
	y := time.Now().In(loc).AddDate(0, 0, -1)
	start := time.Date(y.Year(), y.Month(), y.Day(), 9, 0, 0, 0, loc)
	// A past slot cannot be created through the rules; the store can.
	err := f.srv.Store.InTx(ctx, func(tx *store.Tx) error {
		sl := &booksmeta.Slot{StartsAt: start, EndsAt: start.Add(time.Hour), Capacity: 2, Active: true}
		if _, err := tx.InsertSlot(ctx, sl); err != nil {
			return err
		}
		if ok, err := tx.TakePlace(ctx, sl.ID); err != nil || !ok {
			t.Fatalf("take a place: %v %v", ok, err)
		}
		_, err := tx.InsertBooking(ctx, sl.ID, f.student.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	p := f.as(t, f.admin).get("/admin")
	expect(t, p, 200, `<tr><td class="nowrap">09:00–10:00</td><td>2</td><td>1</td><td>50 %</td></tr>`,
		`<tr><td class="nowrap">14:00–15:00</td><td colspan="3">слотов не было</td></tr>`,
		`<title>09:00–10:00: 50 % (занято 1 из 2 место-часов)</title>`,
		`<title id="chart-hours-title">Загрузка сервера по часам суток за 30 дней</title>`,
		"<span class=\"num\">50%</span> <span class=\"label\">загрузка сервера за 30 дней")
}

// The dashboard shows the newest entries of the audit trail with a link to
// the whole log (the PHP version's "recent activities", real this time).
func TestDashboardRecentActions(t *testing.T) {
	f := start(t, nil)
	b := f.as(t, f.admin)
	expect(t, b.get("/admin"), http.StatusOK, "Последние действия")
	p := b.submit("/admin/settings/general", "/admin/settings/general", url.Values{"reminder_minutes_before": {"30"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", p.Status, p.Body)
	}
	expect(t, b.get("/admin"), http.StatusOK, `id="recent-actions"`, "admin@example.com", `href="/admin/audit"`)
}
