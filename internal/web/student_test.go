package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/booking"
	"booksmeta/internal/store"
)

func addSlot(t *testing.T, f *fixture, start time.Time, capacity int) int64 {
	t.Helper()
	var id int64
	err := f.srv.DB.Write.QueryRow(`INSERT INTO slots (starts_at, ends_at, capacity, created_at, updated_at) VALUES ($1,$2,$3,$4,$4) RETURNING id`,
		start.UnixMilli(), start.Add(time.Hour).UnixMilli(), capacity, time.Now().UnixMilli()).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestStudentCalendarBookAndCancel(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	loc, _ := time.LoadLocation("Europe/Moscow")
	start := time.Now().In(loc).AddDate(0, 0, 2).Truncate(time.Hour)
	if start.Hour() < 1 {
		start = start.Add(2 * time.Hour)
	}
	free := addSlot(t, f, start, 2)
	full := addSlot(t, f, start.Add(time.Hour), 1)
	other := f.user(t, "other@example.com", store.RoleStudent, true)
	if _, err := f.srv.Booking.Book(ctx, other.ID, full); err != nil {
		t.Fatal(err)
	}
	b := f.as(t, f.student)
	week := start.Format("2006-01-02")
	p := b.get("/?week=" + week)
	expect(t, p, 200, "Забронировать", "мест нет", "Europe/Moscow", start.Format("15:04")+"–"+start.Add(time.Hour).Format("15:04"))

	// Booking without the CSRF token is refused.
	if p := b.post("/book", url.Values{"slot_id": {itoa(free)}}); p.Status != http.StatusForbidden {
		t.Fatalf("book without CSRF: %d", p.Status)
	}
	p = b.submit("/?week="+week, "/book", url.Values{"slot_id": {itoa(free)}, "week": {week}})
	if p.Status != http.StatusSeeOther || p.location() != "/bookings?ok=booked" {
		t.Fatalf("book: %d → %q", p.Status, p.location())
	}
	p = b.get("/bookings?ok=booked")
	expect(t, p, 200, "Время забронировано", "Данные для входа на сервер появятся здесь", "Отменить бронирование")
	expectNot(t, p, "Доступ к серверу открыт")
	expect(t, b.get("/?week="+week), 200, "забронировано вами", "Осталось бронирований: <strong>2 из 3</strong>")

	// Refusals come back as plain messages.
	p = b.submit("/?week="+week, "/book", url.Values{"slot_id": {itoa(full)}, "week": {week}})
	if loc := p.location(); !strings.Contains(loc, "err=slot_full") {
		t.Fatalf("full slot: %q", loc)
	}
	expect(t, b.get(p.location()), 200, "мест больше нет")
	expect(t, b.get("/?week="+week+"&err=<script>"), 200)
	expectNot(t, b.get("/?week="+week+"&err=<script>"), "<script>")

	bs, _ := f.srv.Store.BookingsByUser(ctx, f.student.ID)
	p = b.submit("/bookings", "/bookings/"+itoa(bs[0].ID)+"/cancel", nil)
	if p.Status != http.StatusSeeOther || p.location() != "/bookings?ok=cancelled" {
		t.Fatalf("cancel: %d → %q", p.Status, p.location())
	}
	expect(t, b.get("/bookings?ok=cancelled"), 200, "Бронирование отменено", "Отменено учеником")
	// Someone else's booking cannot be cancelled.
	ob, _ := f.srv.Store.BookingsByUser(ctx, other.ID)
	p = b.submit("/bookings", "/bookings/"+itoa(ob[0].ID)+"/cancel", nil)
	if !strings.Contains(p.location(), "err=not_found") {
		t.Fatalf("cancelling another student's booking: %d → %q", p.Status, p.location())
	}
}

func TestStudentAccessPanelOnlyInsideWindow(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	f.srv.Settings.Put(ctx, map[string]string{booking.ServerHost: "rdp.school.example", booking.ServerLogin: "student-login",
		booking.ServerPassword: "Very-Secret-Server-Pass"}, 0)
	start := time.Now().Add(3 * time.Hour).Truncate(time.Minute)
	id := addSlot(t, f, start, 1)
	if _, err := f.srv.Booking.Book(ctx, f.student.ID, id); err != nil {
		t.Fatal(err)
	}
	b := f.as(t, f.student)
	p := b.get("/bookings")
	expect(t, p, 200, "Данные для входа на сервер появятся здесь")
	expectNot(t, p, "Very-Secret-Server-Pass", "student-login")
	f.srv.Store.Now = func() time.Time { return start.Add(-10 * time.Minute) }
	defer func() { f.srv.Store.Now = time.Now }()
	p = b.get("/bookings")
	expect(t, p, 200, "Доступ к серверу открыт", "rdp.school.example", "student-login", "Very-Secret-Server-Pass", `data-reveal=`, "Отменить уже нельзя")
	// Another student never sees it.
	other := f.user(t, "other@example.com", store.RoleStudent, true)
	expectNot(t, f.as(t, other).get("/bookings"), "Very-Secret-Server-Pass")
	f.srv.Store.Now = func() time.Time { return start.Add(61 * time.Minute) }
	expectNot(t, b.get("/bookings"), "Very-Secret-Server-Pass")
}

func TestStudentProfileAndPassword(t *testing.T) {
	f := start(t, nil)
	b := f.as(t, f.student)
	p := b.submit("/profile", "/profile", url.Values{"first_name": {"Анна"}, "last_name": {"Иванова"}, "phone": {"+7 900 111-22-33"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("profile save: %d %s", p.Status, p.Body)
	}
	expect(t, b.get("/profile?ok=profile"), 200, "Профиль сохранён", `value="Анна"`, "900 111-22-33")
	expect(t, b.submit("/profile", "/profile", url.Values{"phone": {"позвоните мне"}}), http.StatusUnprocessableEntity, "Телефон записан с ошибкой")
	expect(t, b.submit("/profile", "/profile/password", url.Values{"current_password": {"wrong"}, "password": {"new-password-1"}, "password2": {"new-password-1"}}),
		http.StatusUnprocessableEntity, "Текущий пароль введён неверно")
	other := f.as(t, f.student) // a second session of the same student
	p = b.submit("/profile", "/profile/password", url.Values{"current_password": {testPassword}, "password": {"new-password-1"}, "password2": {"new-password-1"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("password change: %d %s", p.Status, p.Body)
	}
	expect(t, b.get("/profile?ok=password"), 200, "Пароль изменён")
	if p := other.get("/profile"); p.Status != http.StatusSeeOther {
		t.Fatalf("the other session survived the password change: %d", p.Status)
	}
	if p := newBrowser(t, f.srv).login("student@example.com", "new-password-1"); p.Status != http.StatusSeeOther {
		t.Fatalf("new password does not sign in: %d", p.Status)
	}
}

func TestForgotPassword(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	b := newBrowser(t, f.srv)
	expect(t, b.get("/login"), 200, `href="/forgot-password"`)
	answer := "Если в Book Smeta есть аккаунт с этим адресом"
	expect(t, b.submit("/forgot-password", "/forgot-password", url.Values{"email": {"student@example.com"}}), 200, answer)
	expect(t, b.submit("/forgot-password", "/forgot-password", url.Values{"email": {"nobody@example.com"}}), 200, answer)
	expect(t, b.submit("/forgot-password", "/forgot-password", url.Values{"email": {"student@example.com"}}), 200, answer)
	mails, _ := f.srv.Store.MailByUser(ctx, f.student.ID)
	resets := 0
	for _, m := range mails {
		if m.Kind == "password_reset" {
			resets++
		}
	}
	if resets != 1 {
		t.Fatalf("%d reset mails queued, want 1 (throttled)", resets)
	}
	if p := b.post("/forgot-password", url.Values{"email": {"student@example.com"}}); p.Status != http.StatusForbidden {
		t.Fatalf("without the form token: %d", p.Status)
	}
}

func TestNoticesShownAndRead(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	f.srv.Store.InTx(ctx, func(tx *store.Tx) error {
		return tx.AddNotice(ctx, &store.Notice{UserID: f.student.ID, Kind: "booking_cancelled", Title: "Бронирование отменено", Body: "Причина: <b>ремонт</b>"})
	})
	b := f.as(t, f.student)
	p := b.get("/")
	expect(t, p, 200, "Бронирование отменено", `class="unread"`, "&lt;b&gt;ремонт&lt;/b&gt;")
	if p := b.submit("/", "/notices/read", url.Values{"next": {"/bookings"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("mark read: %d", p.Status)
	}
	expectNot(t, b.get("/"), `class="unread"`)
}

func TestCalendarFeed(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	st := time.Now().Add(48 * time.Hour).Truncate(time.Hour)
	id := addSlot(t, f, st, 1)
	if _, err := f.srv.Booking.Book(ctx, f.student.ID, id); err != nil {
		t.Fatal(err)
	}
	f.srv.Settings.Put(ctx, map[string]string{booking.ServerPassword: "Feed-Secret-Pass"}, 0)
	b := f.as(t, f.student)
	expect(t, b.get("/bookings"), 200, "Получить ссылку для календаря")
	if p := b.submit("/bookings", "/bookings/calendar-link", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("create link: %d", p.Status)
	}
	p := b.get("/bookings?ok=calendar")
	m := regexp.MustCompile(`id="ics-url" type="text" readonly value="[^"]*(/calendar/[^"]+\.ics)"`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no feed link:\n%s", p.Body)
	}
	anon := newBrowser(t, f.srv)
	feed := anon.get(m[1])
	expect(t, feed, 200, "BEGIN:VCALENDAR", "DTSTART:"+st.UTC().Format("20060102T150405Z"), "STATUS:CONFIRMED")
	if ct := feed.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/calendar") {
		t.Fatalf("content type %q", ct)
	}
	expectNot(t, feed, "Feed-Secret-Pass")
	// A new link replaces the old one.
	b.submit("/bookings", "/bookings/calendar-link", nil)
	if p := anon.get(m[1]); p.Status != http.StatusNotFound {
		t.Fatalf("old link still works: %d", p.Status)
	}
	if p := anon.get("/calendar/not-a-real-token-000000000.ics"); p.Status != http.StatusNotFound {
		t.Fatalf("unknown token: %d", p.Status)
	}
}
