package web_test

import (
	"booksmeta"

	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestAdminBookingsFiltersCountsAndCancel(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	loc, _ := time.LoadLocation("Europe/Moscow")
	d1 := time.Now().In(loc).AddDate(0, 0, 2)
	d2 := d1.AddDate(0, 0, 3)
	at := func(d time.Time, h int) time.Time { return time.Date(d.Year(), d.Month(), d.Day(), h, 0, 0, 0, loc) }
	ann := f.user(t, "ann.smirnova@example.com", booksmeta.RoleStudent, true)
	s1, s2, s3 := newSlot(t, f, at(d1, 10), 3), newSlot(t, f, at(d2, 10), 3), newSlot(t, f, at(d2, 12), 3)
	book := func(u *booksmeta.User, slot int64) *booksmeta.Booking {
		t.Helper()
		b, err := f.srv.Booking.Book(ctx, u.ID, slot)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b1 := book(f.student, s1)
	book(f.student, s2)
	b3 := book(ann, s2)
	own := book(ann, s3)
	if _, err := f.srv.Booking.Cancel(ctx, ann.ID, own.ID); err != nil {
		t.Fatal(err)
	}
	a := f.as(t, f.admin)
	p := a.get("/admin/bookings")
	expect(t, p, 200, "Активных: 3, завершённых: 0, отменённых: 1.", "student@example.com", "ann.smirnova@example.com", "Europe/Moscow")

	// Student text, status and date range filters; counts follow the
	// dates and text but not the status, so every card stays meaningful.
	p = a.get("/admin/bookings?user=SMIRNOVA")
	expect(t, p, 200, "Активных: 1, завершённых: 0, отменённых: 1.", "ann.smirnova@example.com")
	expectNot(t, p, "student@example.com</a>")
	p = a.get("/admin/bookings?status=cancelled")
	expect(t, p, 200, "Активных: 3, завершённых: 0, отменённых: 1.", `<option value="cancelled" selected>`)
	if n := strings.Count(p.Body, `action="/admin/bookings/`); n != 0 {
		t.Fatalf("cancelled bookings offer a cancel form: %d", n)
	}
	from, to := d2.Format("2006-01-02"), d2.Format("2006-01-02")
	p = a.get("/admin/bookings?from=" + from + "&to=" + to)
	expect(t, p, 200, "Активных: 2, завершённых: 0, отменённых: 1.")
	expectNot(t, p, `/admin/bookings/`+itoa(b1.ID)+`/cancel`)
	expect(t, a.get("/admin/bookings?from=31.12.2026"), 200, "Дата «с» записана неверно")
	expect(t, a.get("/admin/bookings?user=nobody-here"), 200, "Бронирований не найдено", "Активных: 0")

	// Cancel with a reason: back to the same filter, the student notified
	// in the app and by mail, the place freed.
	back := url.Values{"user": {"smirnova"}}.Encode()
	p = a.submit("/admin/bookings?user=smirnova", "/admin/bookings/"+itoa(b3.ID)+"/cancel", url.Values{"reason": {"Сервер на обслуживании"}, "back": {back}})
	if p.Status != http.StatusSeeOther || p.location() != "/admin/bookings?user=smirnova&ok=cancelled" {
		t.Fatalf("cancel: %d → %q", p.Status, p.location())
	}
	expect(t, a.get(p.location()), 200, "Бронирование отменено", "Сервер на обслуживании", "Активных: 0, завершённых: 0, отменённых: 2.")
	got, _ := f.srv.Store.BookingByID(ctx, b3.ID)
	if got.Status != booksmeta.BookingCancelled || got.CancelReason != "Сервер на обслуживании" || got.CancelledBy != f.admin.ID {
		t.Fatalf("booking after admin cancel: %+v", got)
	}
	ns, _ := f.srv.Store.NoticesByUser(ctx, ann.ID, 5)
	// The same cancel-and-notify as a slot change: the time, the reason, what to do.
	if len(ns) == 0 || ns[0].Kind != "booking_cancelled" || !strings.Contains(ns[0].Body, "Сервер на обслуживании") ||
		!strings.Contains(ns[0].Body, "Администратор отменил ваше бронирование на ") || !strings.Contains(ns[0].Body, "Выберите другое время") {
		t.Fatalf("notice: %+v", ns)
	}
	mails, _ := f.srv.Store.MailByUser(ctx, ann.ID)
	found := false
	for _, m := range mails {
		found = found || (m.Kind == "booking_cancelled" && m.DedupeKey == "booking_cancelled:"+itoa(b3.ID))
	}
	if !found {
		t.Fatalf("no cancellation mail: %+v", mails)
	}
	sl, _ := f.srv.Store.AdminSlotByID(ctx, s2)
	if sl.Booked != 1 {
		t.Fatalf("place not freed: booked %d", sl.Booked)
	}

	// Cancelling again, or a booking that does not exist: a clear message.
	p = a.submit("/admin/bookings", "/admin/bookings/"+itoa(b3.ID)+"/cancel", url.Values{"reason": {"ещё раз"}})
	expect(t, a.get(p.location()), 200, "уже отменено или завершено")
	p = a.submit("/admin/bookings", "/admin/bookings/999999/cancel", url.Values{})
	expect(t, a.get(p.location()), 200, "Бронирование не найдено")
	p = a.submit("/admin/bookings", "/admin/bookings/"+itoa(b1.ID)+"/cancel", url.Values{"reason": {strings.Repeat("я", 201)}})
	expect(t, a.get(p.location()), 200, "Причина слишком длинная")
	// A foreign back value cannot redirect elsewhere.
	p = a.submit("/admin/bookings", "/admin/bookings/999999/cancel", url.Values{"back": {"//evil.example/"}})
	if !strings.HasPrefix(p.location(), "/admin/bookings?") {
		t.Fatalf("redirect: %q", p.location())
	}

	// Students: no list, no cancel. Admins without the token: refused.
	st := f.as(t, f.student)
	expect(t, st.get("/admin/bookings"), http.StatusForbidden)
	if p := st.post("/admin/bookings/"+itoa(b1.ID)+"/cancel", url.Values{}); p.Status != http.StatusForbidden {
		t.Fatalf("student cancel: %d", p.Status)
	}
	if p := a.post("/admin/bookings/"+itoa(b1.ID)+"/cancel", url.Values{"reason": {"x"}}); p.Status != http.StatusForbidden {
		t.Fatalf("cancel without CSRF: %d", p.Status)
	}
	if got, _ := f.srv.Store.BookingByID(ctx, b1.ID); got.Status != booksmeta.BookingActive {
		t.Fatalf("booking changed by refused requests: %+v", got)
	}
}
