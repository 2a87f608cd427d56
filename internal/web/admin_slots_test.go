package web_test

import (
	"booksmeta"

	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/schedule"
	"booksmeta/internal/store"
)

func TestAdminSlotsAndBookingsPages(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	loc, _ := time.LoadLocation("Europe/Moscow")
	day := time.Now().In(loc).AddDate(0, 0, 3)
	date := day.Format("2006-01-02")
	a := f.as(t, f.admin)
	expect(t, a.get("/admin/slots?week="+date), 200, "Новый слот", "Создать слоты по расписанию", "Закрыть день или диапазон на обслуживание")

	p := a.submit("/admin/slots", "/admin/slots", url.Values{"date": {date}, "from": {"10:00"}, "to": {"11:00"}, "capacity": {"2"},
		"note": {"<b>проверка</b>"}, "server_login": {"slot-login"}, "server_password": {"Slot-Pass-77"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("create slot: %d %s", p.Status, p.Body)
	}
	p = a.get(p.location())
	expect(t, p, 200, "Слот создан", "10:00–11:00", "0 / 2", "доступен", "&lt;b&gt;проверка&lt;/b&gt;", "свой логин сервера: задан")
	expectNot(t, p, "Slot-Pass-77", "slot-login")
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
	if b == nil || b.Status != booksmeta.BookingCancelled {
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

// newSlot creates a future slot through the schedule rules.
func newSlot(t *testing.T, f *fixture, start time.Time, capacity int) int64 {
	t.Helper()
	end := start.Add(time.Hour)
	sl, err := f.srv.Schedule.CreateSlot(context.Background(), schedule.SlotInput{Start: &start, End: &end, Capacity: &capacity})
	if err != nil {
		t.Fatal(err)
	}
	return sl.ID
}

func TestAdminSlotEditAndRefusals(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	loc, _ := time.LoadLocation("Europe/Moscow")
	d := time.Now().In(loc).AddDate(0, 0, 4)
	date := d.Format("2006-01-02")
	at := func(h int) time.Time { return time.Date(d.Year(), d.Month(), d.Day(), h, 0, 0, 0, loc) }
	a := f.as(t, f.admin)

	p := a.submit("/admin/slots", "/admin/slots", url.Values{"date": {date}, "from": {"10:00"}, "to": {"11:00"}, "capacity": {"2"},
		"server_login": {"own-login-42"}, "server_password": {"Own-Pass-42"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", p.Status, p.Body)
	}
	slots, _ := f.srv.Store.AdminSlots(ctx, at(0), at(23))
	if len(slots) != 1 {
		t.Fatalf("slots: %d", len(slots))
	}
	id := itoa(slots[0].ID)
	edit := "/admin/slots/" + id
	p = a.get(edit)
	expect(t, p, 200, "Изменить слот", `value="10:00"`, `value="11:00"`, `value="2"`, "Свой пароль сервера</dt><dd>задан", "Свой логин сервера</dt><dd>задан")
	expectNot(t, p, "Own-Pass-42", "own-login-42")
	expect(t, a.get("/admin/slots/999999"), http.StatusNotFound)

	// Overlap with another slot: refused in Russian, nothing created.
	expect(t, a.submit("/admin/slots", "/admin/slots", url.Values{"date": {date}, "from": {"10:30"}, "to": {"11:30"}, "capacity": {"1"}}),
		http.StatusConflict, "пересекается со слотом")
	// End before start.
	expect(t, a.submit("/admin/slots", "/admin/slots", url.Values{"date": {date}, "from": {"12:00"}, "to": {"11:00"}, "capacity": {"1"}}),
		http.StatusUnprocessableEntity, "Конец слота должен быть позже начала")

	// Two students book it.
	s2 := f.user(t, "second@example.com", booksmeta.RoleStudent, true)
	for _, u := range []*booksmeta.User{f.student, s2} {
		if _, err := f.srv.Booking.Book(ctx, u.ID, slots[0].ID); err != nil {
			t.Fatal(err)
		}
	}
	form := func(from, to, capacity string) url.Values {
		return url.Values{"date": {date}, "from": {from}, "to": {to}, "capacity": {capacity}, "note": {"Новая заметка"}}
	}
	// Moving a booked slot without the checkbox: refused, bookings kept.
	p = a.submit(edit, edit, form("12:00", "13:00", "2"))
	expect(t, p, http.StatusConflict, "его время менять нельзя", "Отменить бронирования и уведомить учеников", `value="12:00"`)
	// Capacity below the places taken: always refused.
	expect(t, a.submit(edit, edit, form("10:00", "11:00", "1")), http.StatusConflict, "Вместимость не может быть меньше")
	expect(t, a.submit(edit, edit, form("10:00", "11:00", "0")), http.StatusUnprocessableEntity, "Мест в слоте")
	expect(t, a.submit(edit, edit, form("10:00", "11:00", "много")), http.StatusUnprocessableEntity, "Число мест записано неверно")
	// Closing or deleting it without the checkbox: refused.
	expect(t, a.submit(edit, edit+"/active", url.Values{"from_page": {"edit"}, "active": {"0"}}), http.StatusConflict,
		"закрыть его можно только вместе с отменой бронирований", "Изменить слот")
	expect(t, a.submit("/admin/slots?week="+date, edit+"/delete", url.Values{"week": {date}}), http.StatusConflict,
		"удалить его можно только вместе с отменой бронирований")
	if bs, _ := f.srv.Store.ListBookings(ctx, store.BookingFilter{Status: booksmeta.BookingActive}); len(bs) != 2 {
		t.Fatalf("bookings after refusals: %d active", len(bs))
	}

	// The same time with a new note and capacity: saved, blank credentials kept.
	p = a.submit(edit, edit, form("10:00", "11:00", "3"))
	if p.Status != http.StatusSeeOther {
		t.Fatalf("save note: %d %s", p.Status, p.Body)
	}
	expect(t, a.get(p.location()), 200, "Слот сохранён; отменено бронирований: 0", "Новая заметка", "2 / 3")
	sl, _ := f.srv.Store.AdminSlotByID(ctx, slots[0].ID)
	if sl.Note != "Новая заметка" || sl.Capacity != 3 || sl.ServerPassword == "" || sl.ServerLogin == "" {
		t.Fatalf("slot after edit: %+v", sl)
	}

	// Moving with the checkbox cancels both bookings and tells each student.
	mv := form("12:00", "13:00", "3")
	mv.Set("cancel_bookings", "1")
	mv.Set("reason", "Сервер занят обновлением")
	p = a.submit(edit, edit, mv)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("move with cancel: %d %s", p.Status, p.Body)
	}
	expect(t, a.get(p.location()), 200, "отменено бронирований: 2", "12:00–13:00")
	for _, u := range []*booksmeta.User{f.student, s2} {
		ns, _ := f.srv.Store.NoticesByUser(ctx, u.ID, 5)
		if len(ns) == 0 || !strings.Contains(ns[0].Body, "Сервер занят обновлением") {
			t.Fatalf("student %s not notified: %+v", u.Email, ns)
		}
	}
	if bs, _ := f.srv.Store.ListBookings(ctx, store.BookingFilter{Status: booksmeta.BookingActive}); len(bs) != 0 {
		t.Fatalf("bookings after move: %d active", len(bs))
	}

	// Removing the slot's own account.
	cl := form("12:00", "13:00", "3")
	cl.Set("clear_credentials", "1")
	if p := a.submit(edit, edit, cl); p.Status != http.StatusSeeOther {
		t.Fatalf("clear credentials: %d %s", p.Status, p.Body)
	}
	sl, _ = f.srv.Store.AdminSlotByID(ctx, slots[0].ID)
	if sl.ServerPassword != "" || sl.ServerLogin != "" {
		t.Fatalf("credentials not cleared: %+v", sl)
	}
	expect(t, a.get(edit), 200, "Свой пароль сервера</dt><dd>не задан")

	// Closing and opening again, now without bookings; then deleting.
	if p := a.submit(edit, edit+"/active", url.Values{"from_page": {"edit"}, "active": {"0"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("close: %d %s", p.Status, p.Body)
	}
	expect(t, a.get(edit), 200, "неактивный", "Открыть слот для бронирования")
	if p := a.submit("/admin/slots?week="+date, edit+"/delete", url.Values{"week": {date}}); p.Status != http.StatusSeeOther {
		t.Fatalf("delete: %d %s", p.Status, p.Body)
	}
	expect(t, a.get(edit), http.StatusNotFound)
	expect(t, a.submit("/admin/slots", edit+"/delete", url.Values{}), http.StatusNotFound, "Такого слота нет")

	// Students cannot reach any of it; forms need the CSRF token.
	st := f.as(t, f.student)
	other := itoa(newSlot(t, f, at(15), 1))
	expect(t, st.get("/admin/slots/"+other), http.StatusForbidden)
	for _, path := range []string{"/admin/slots/" + other, "/admin/slots/" + other + "/delete", "/admin/slots/" + other + "/active", "/admin/slots/close"} {
		if p := st.post(path, url.Values{}); p.Status != http.StatusForbidden {
			t.Fatalf("student POST %s: %d", path, p.Status)
		}
		if p := a.post(path, url.Values{"date": {date}, "from": {"15:00"}, "to": {"16:00"}, "capacity": {"1"}}); p.Status != http.StatusForbidden {
			t.Fatalf("admin POST %s without CSRF: %d", path, p.Status)
		}
	}
	if sl, err := f.srv.Store.AdminSlotByID(ctx, slots[0].ID+1); err != nil || !sl.DeletedAt.IsZero() {
		t.Fatalf("slot touched by refused requests: %+v %v", sl, err)
	}
}

func TestAdminSlotsCloseRangeGenerateAndFilter(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	loc, _ := time.LoadLocation("Europe/Moscow")
	a := f.as(t, f.admin)

	// Generation far beyond the automatic horizon: Mondays and Wednesdays,
	// 10:00–12:00 in one-hour slots = 4 slots a week; once only.
	if err := f.srv.Settings.Put(ctx, map[string]string{"schedule_weekdays": "1,3", "schedule_from": "10:00", "schedule_to": "12:00"}, f.super.ID); err != nil {
		t.Fatal(err)
	}
	monday := weekMonday(time.Now().In(loc).AddDate(0, 0, 70))
	p := a.submit("/admin/slots", "/admin/slots/generate", url.Values{"from": {monday.Format("2006-01-02")}, "weeks": {"1"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("generate: %d %s", p.Status, p.Body)
	}
	expect(t, a.get(p.location()), 200, "По расписанию создано слотов: 4.", "10:00–11:00", "11:00–12:00")
	p = a.submit("/admin/slots", "/admin/slots/generate", url.Values{"from": {monday.Format("2006-01-02")}, "weeks": {"1"}})
	expect(t, a.get(p.location()), 200, "По расписанию создано слотов: 0.")
	expect(t, a.submit("/admin/slots", "/admin/slots/generate", url.Values{"from": {"завтра"}, "weeks": {"1"}}), http.StatusUnprocessableEntity, "ГГГГ-ММ-ДД")
	expect(t, a.submit("/admin/slots", "/admin/slots/generate", url.Values{"from": {monday.Format("2006-01-02")}, "weeks": {"0"}}), http.StatusUnprocessableEntity, "Число недель")

	// The range filter lists them; a bad range says so and shows the week.
	wed := monday.AddDate(0, 0, 2).Format("2006-01-02")
	p = a.get("/admin/slots?from=" + monday.Format("2006-01-02") + "&to=" + wed)
	expect(t, p, 200, "Слоты с "+monday.Format("02.01.2006")+" по "+monday.AddDate(0, 0, 2).Format("02.01.2006"))
	if n := strings.Count(p.Body, "<span class=\"badge ok\">доступен</span>"); n != 4 {
		t.Fatalf("range shows %d free slots, want 4", n)
	}
	expect(t, a.get("/admin/slots?from=вчера&to="+wed), 200, "Даты фильтра записаны неверно")

	// Close a day with a booking: refused without the checkbox, then done
	// with it: the booking is cancelled and the student told why.
	day := time.Now().In(loc).AddDate(0, 0, 2)
	dayStr := day.Format("2006-01-02")
	id := newSlot(t, f, time.Date(day.Year(), day.Month(), day.Day(), 18, 0, 0, 0, loc), 2)
	b, err := f.srv.Booking.Book(ctx, f.student.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	closeForm := url.Values{"from": {dayStr}, "to": {dayStr}, "reason": {"Профилактика сервера"}}
	expect(t, a.submit("/admin/slots", "/admin/slots/close", closeForm), http.StatusConflict, "1 бронирование", "Отменить бронирования и уведомить учеников")
	expect(t, a.submit("/admin/slots", "/admin/slots/close", url.Values{"from": {dayStr}, "to": {dayStr}}), http.StatusUnprocessableEntity, "Укажите причину")
	closeForm.Set("cancel_bookings", "1")
	p = a.submit("/admin/slots", "/admin/slots/close", closeForm)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("close day: %d %s", p.Status, p.Body)
	}
	expect(t, a.get(p.location()), 200, "Закрыто слотов:", "неактивный")
	got, _ := f.srv.Store.BookingByID(ctx, b.ID)
	if got.Status != booksmeta.BookingCancelled {
		t.Fatalf("booking after closing the day: %+v", got)
	}
	ns, _ := f.srv.Store.NoticesByUser(ctx, f.student.ID, 5)
	if len(ns) == 0 || !strings.Contains(ns[0].Body, "Профилактика сервера") {
		t.Fatalf("student not told: %+v", ns)
	}
	mails, _ := f.srv.Store.MailByUser(ctx, f.student.ID)
	if len(mails) == 0 {
		t.Fatal("no mail about the cancelled booking")
	}
}

func weekMonday(t time.Time) time.Time {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}
