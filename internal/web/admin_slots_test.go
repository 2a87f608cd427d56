package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/store"
)

func TestAdminSlotsAndBookingsPages(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	loc, _ := time.LoadLocation("Europe/Moscow")
	day := time.Now().In(loc).AddDate(0, 0, 3)
	date := day.Format("2006-01-02")
	a := f.as(t, f.admin)
	expect(t, a.get("/admin/slots?week="+date), 200, "Новый слот", "По недельному расписанию")

	p := a.submit("/admin/slots", "/admin/slots", url.Values{"date": {date}, "from": {"10:00"}, "to": {"11:00"}, "capacity": {"2"},
		"note": {"<b>проверка</b>"}, "server_login": {"slot-login"}, "server_password": {"Slot-Pass-77"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("create slot: %d %s", p.Status, p.Body)
	}
	p = a.get(p.location())
	expect(t, p, 200, "Слот создан", "10:00–11:00", "0 / 2", "доступен", "&lt;b&gt;проверка&lt;/b&gt;")
	expectNot(t, p, "Slot-Pass-77")
	expect(t, a.submit("/admin/slots", "/admin/slots", url.Values{"date": {"вчера"}, "from": {"10:00"}, "to": {"11:00"}}), http.StatusUnprocessableEntity, "записаны неверно")

	slots, _ := f.srv.Store.AdminSlots(ctx, day.AddDate(0, 0, -1), day.AddDate(0, 0, 2))
	if len(slots) != 1 {
		t.Fatalf("slots: %d", len(slots))
	}
	if _, err := f.srv.Booking.Book(ctx, f.student.ID, slots[0].ID); err != nil {
		t.Fatal(err)
	}
	bp := a.get("/admin/bookings?status=active")
	expect(t, bp, 200, "student@example.com", "Активных: 1")
	bs, _ := f.srv.Store.BookingsByUser(ctx, f.student.ID)
	if p := a.submit("/admin/bookings", "/admin/bookings/"+itoa(bs[0].ID)+"/cancel", url.Values{"reason": {"Профилактика"}}); p.Status != http.StatusSeeOther || !strings.Contains(p.location(), "ok=cancelled") {
		t.Fatalf("admin cancel: %d → %q", p.Status, p.location())
	}
	expect(t, a.get("/admin/bookings"), 200, "отменено", "Профилактика")
	notices, _ := f.srv.Store.NoticesByUser(ctx, f.student.ID, 5)
	if len(notices) == 0 || notices[0].Kind != "booking_cancelled" {
		t.Fatalf("student not notified: %+v", notices)
	}

	// Deleting a booked slot cancels the booking and tells the student.
	if _, err := f.srv.Booking.Book(ctx, f.student.ID, slots[0].ID); err != nil {
		t.Fatal(err)
	}
	p = a.submit("/admin/slots?week="+date, "/admin/slots/"+itoa(slots[0].ID)+"/delete", url.Values{"week": {date}, "cancel_bookings": {"1"}, "reason": {"Удалён"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("delete: %d %s", p.Status, p.Body)
	}
	expect(t, a.get(p.location()), 200, "отменено бронирований: 1")
	b, _ := f.srv.Store.BookingByID(ctx, bs[0].ID+1)
	if b == nil || b.Status != store.BookingCancelled {
		t.Fatalf("booking after slot delete: %+v", b)
	}

	// Generation from the weekly schedule.
	p = a.submit("/admin/slots", "/admin/slots/generate", url.Values{"from": {date}, "weeks": {"1"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("generate: %d %s", p.Status, p.Body)
	}
	expect(t, a.get(p.location()), 200, "По расписанию создано слотов:")

	expect(t, f.as(t, f.student).get("/admin/slots"), http.StatusForbidden)
	if p := a.post("/admin/slots/generate", url.Values{"from": {date}, "weeks": {"1"}}); p.Status != http.StatusForbidden {
		t.Fatalf("without CSRF: %d", p.Status)
	}
}

func TestDashboardBookingNumbers(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	id := addSlot(t, f, time.Now().Add(24*time.Hour).Truncate(time.Hour), 2)
	if _, err := f.srv.Booking.Book(ctx, f.student.ID, id); err != nil {
		t.Fatal(err)
	}
	// The student's limit is 3; one more booking puts them within one of it.
	id2 := addSlot(t, f, time.Now().Add(26*time.Hour).Truncate(time.Hour), 2)
	if _, err := f.srv.Booking.Book(ctx, f.student.ID, id2); err != nil {
		t.Fatal(err)
	}
	p := f.as(t, f.admin).get("/admin")
	expect(t, p, 200, "Бронирований по дням", "<progress", "50%", "Ученики у предела лимита", "предстоящих 2 из 3")
}
