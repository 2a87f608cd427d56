package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/booking"
	"booksmeta/internal/store"
)

const maintenanceBanner = "Включён режим обслуживания: ученики не могут бронировать."

// TestMaintenanceBannerOnEveryPage: while maintenance is on, every admin
// page says so and links to the switch; students read the school's message
// on each of their pages (once on the calendar, where it already stands).
func TestMaintenanceBannerOnEveryPage(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	a, s := f.as(t, f.admin), f.as(t, f.student)
	adminPages := []string{"/admin", "/admin/users", "/admin/slots", "/admin/bookings", "/admin/webhooks", "/admin/settings", "/admin/settings/general", "/admin/mail", "/admin/nope"}
	for _, p := range adminPages {
		expectNot(t, a.get(p), maintenanceBanner)
	}
	expectNot(t, s.get("/bookings"), "Меняем диски")

	if err := f.srv.Settings.Put(ctx, map[string]string{booking.MaintenanceMode: "1", booking.MaintenanceMessage: "Меняем диски до 18:00"}, 0); err != nil {
		t.Fatal(err)
	}
	for _, p := range adminPages {
		page := a.get(p)
		expect(t, page, page.Status, `<div class="banner maint" role="status" id="maintenance-banner">`+maintenanceBanner,
			`<a href="/admin/settings/general#f-maintenance_mode">Выключить режим обслуживания</a>`)
		if strings.Contains(visibleText(page.Body), "Меняем диски") {
			t.Errorf("%s shows the students' message to the admin", p)
		}
	}
	for _, p := range []string{"/bookings", "/profile"} {
		expect(t, s.get(p), 200, `id="maintenance-banner">Меняем диски до 18:00</div>`)
	}
	cal := s.get("/")
	expect(t, cal, 200, "Меняем диски до 18:00")
	if n := strings.Count(cal.Body, "Меняем диски"); n != 1 {
		t.Fatalf("calendar shows the message %d times", n)
	}
	expectNot(t, cal, maintenanceBanner)

	if err := f.srv.Settings.Put(ctx, map[string]string{booking.MaintenanceMode: "0"}, 0); err != nil {
		t.Fatal(err)
	}
	expectNot(t, a.get("/admin"), maintenanceBanner)
	expectNot(t, s.get("/bookings"), "Меняем диски")
}

var (
	isoDate    = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b`)
	goDuration = regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|ms|s|m|h)\b`)
	tags       = regexp.MustCompile(`(?s)<[^>]*>`)
	rawContent = regexp.MustCompile(`(?s)<(pre|textarea|script|style)\b.*?</(pre|textarea|script|style)>`)
)

// visibleText is what a person reads on a page: no markup (so no
// <input type=date> values or links), and no raw request bodies or
// editable text, which show what was sent rather than speak to people.
func visibleText(body string) string {
	return tags.ReplaceAllString(rawContent.ReplaceAllString(body, " "), " ")
}

// TestAdminPagesShowDatesForPeople: with slots, bookings, webhook events
// and GetCourse calls in place, no admin page shows a date as 2026-11-18.
func TestAdminPagesShowDatesForPeople(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	loc, _ := time.LoadLocation("Europe/Moscow")
	day := time.Now().In(loc).AddDate(0, 0, 2)
	id := newSlot(t, f, time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, loc), 2)
	if _, err := f.srv.Booking.Book(ctx, f.student.ID, id); err != nil {
		t.Fatal(err)
	}
	ev := sendWebhook(t, f, `{"action":"user_payment","event_id":"p1","email":"paid.student@example.com"}`, nil)
	err := f.srv.Store.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertGetCourseCall(ctx, &store.GetCourseCall{Account: "school", Op: "groups", Method: "GET", URL: "https://school.getcourse.ru/pl/api/account/groups",
			StartedAt: time.Now(), Duration: 2500 * time.Millisecond, OK: true, HTTPStatus: 200})
	})
	if err != nil {
		t.Fatal(err)
	}
	iso := day.Format("2006-01-02")
	a := f.as(t, f.super)
	pages := []string{"/admin", "/admin/users", "/admin/users/" + itoa(f.student.ID), "/admin/slots", "/admin/slots?week=" + iso,
		"/admin/slots?from=" + iso + "&to=" + iso, "/admin/slots/" + itoa(id), "/admin/bookings", "/admin/bookings?from=" + iso + "&to=" + iso,
		"/admin/webhooks", "/admin/webhooks?from=" + iso, "/admin/webhooks/" + itoa(ev), "/admin/getcourse", "/admin/getcourse/connect",
		"/admin/offers", "/admin/mail", "/admin/mail-templates", "/admin/settings", "/admin/settings/general", "/admin/backups"}
	for _, p := range pages {
		page := a.get(p)
		if page.Status != http.StatusOK {
			t.Errorf("%s: status %d", p, page.Status)
			continue
		}
		if m := isoDate.FindString(visibleText(page.Body)); m != "" {
			t.Errorf("%s shows the date %s; people read DD.MM.YYYY", p, m)
		}
		if m := goDuration.FindString(visibleText(page.Body)); m != "" {
			t.Errorf("%s shows the duration %s; people read «2,5 с», «1 мс»", p, m)
		}
	}
	// The ranged slot list names its days as people write them.
	expect(t, a.get("/admin/slots?from="+iso+"&to="+iso), 200, "Слоты с "+day.Format("02.01.2006")+" по "+day.Format("02.01.2006"))
	// A time is day and minute, without seconds.
	expect(t, a.get("/admin/webhooks"), 200, `<td class="when">`+time.Now().In(loc).Format("02.01.2006 "))
}

// TestGetCourseCallDurationsInRussian: the call log reads «2,5 с», «1 мс»,
// «0 с», never Go's «2.5s», «1ms», «0s».
func TestGetCourseCallDurationsInRussian(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	err := f.srv.Store.InTx(ctx, func(tx *store.Tx) error {
		for _, d := range []time.Duration{0, time.Millisecond, 2500 * time.Millisecond, 42 * time.Second} {
			if err := tx.InsertGetCourseCall(ctx, &store.GetCourseCall{Account: "school", Op: "groups", Method: "GET", URL: "https://school.getcourse.ru/pl/api",
				StartedAt: time.Now(), Duration: d, OK: true, HTTPStatus: 200}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p := f.as(t, f.admin).get("/admin/getcourse")
	expect(t, p, 200, `<td class="nowrap">0 с</td>`, `<td class="nowrap">1 мс</td>`, `<td class="nowrap">2,5 с</td>`, `<td class="nowrap">42 с</td>`)
	expectNot(t, p, ">0s<", ">1ms<", ">2.5s<", ">42s<")
}

// TestMailTestVerdictAtTheTop: the answer to «Отправить тестовое письмо»
// is the first thing on the page, before the long settings form, announced
// and focused; a failure reads as one.
func TestMailTestVerdictAtTheTop(t *testing.T) {
	f := start(t, map[string]string{"MAIL_HOST": "127.0.0.1", "MAIL_PORT": "1", "MAIL_ENCRYPTION": "none", "MAIL_FROM_EMAIL": "school@example.com"})
	a := f.as(t, f.admin)
	p := a.submit("/admin/settings/general", "/admin/settings/mail-test", url.Values{"to": {"owner@example.com"}})
	expect(t, p, 200, `<div id="mail-verdict" class="error" role="status" tabindex="-1" autofocus><p>Тестовое письмо не отправлено.`,
		`<a href="#mail-test-h">К форме тестового письма</a>`)
	verdict, form := strings.Index(p.Body, `id="mail-verdict"`), strings.Index(p.Body, `action="/admin/settings/general"`)
	if verdict < 0 || form < 0 || verdict > form {
		t.Fatalf("verdict at %d, settings form at %d: the verdict must come first", verdict, form)
	}
	expectNot(t, a.get("/admin/settings/general"), `id="mail-verdict"`)
}

// TestMailHintsSayEachThingOnce: the presets list names each server once
// and does not repeat «логин — Логин» or punctuation.
func TestMailHintsSayEachThingOnce(t *testing.T) {
	f := start(t, nil)
	p := f.as(t, f.admin).get("/admin/settings/general")
	expect(t, p, 200, "<strong>Яндекс Почта (в том числе Яндекс 360 для домена), порт 465, SSL</strong>: сервер <code>smtp.yandex.ru</code>. Логин — адрес ящика целиком")
	text := visibleText(p.Body)
	for _, bad := range []string{"логин — Логин", "пароль — Пароль", "..", ".;", ". .", "порт 465, ssl"} {
		if strings.Contains(text, bad) {
			t.Errorf("settings page says %q", bad)
		}
	}
}

// TestWebhookLogEmailsBreakAtTheAt: a long address may wrap only at «@» and
// the dots of its domain, keeps its full text as a title, and the log sits
// in a frame that scrolls by itself.
func TestWebhookLogEmailsBreakAtTheAt(t *testing.T) {
	f := start(t, nil)
	long := "very.long.student.name@subdomain.example-school.ru"
	sendWebhook(t, f, fmt.Sprintf(`{"action":"user_payment","event_id":"l1","email":%q}`, long), nil)
	sendWebhook(t, f, `{"eventType":"getcourse/dealStatusChanged","user":{"email":"<b>x</b>@example.com"},"deal":{"id":5}}`, nil)
	p := f.as(t, f.admin).get("/admin/webhooks")
	expect(t, p, 200, `<div class="table-wrap wide" role="region"`,
		`<td class="email" title="`+long+`">very.long.student.name<wbr>@subdomain<wbr>.example-school<wbr>.ru</td>`,
		`<td class="code">getcourse/<wbr>dealStatusChanged</td>`)
	expectNot(t, p, "<b>x</b>")
}
