package web_test

import (
	"booksmeta"
	"fmt"

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
	other := f.user(t, "other@example.com", booksmeta.RoleStudent, true)
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
	opens := start.Add(-15 * time.Minute) // access_opens_minutes_before's default
	expect(t, p, 200, "Время забронировано", "Данные для входа на сервер появятся здесь", "Отменить бронирование",
		fmt.Sprintf("Доступ к серверу откроется %d ", opens.Day()), " в "+opens.Format("15:04")+": данные для входа появятся здесь")
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
	f.srv.Clock.Set(start.Add(-10 * time.Minute))
	defer f.srv.Clock.Real()
	p = b.get("/bookings")
	expect(t, p, 200, "Доступ к серверу открыт", "rdp.school.example", "student-login", "Very-Secret-Server-Pass", `data-reveal=`, "Отменить уже нельзя")
	// Another student never sees it.
	other := f.user(t, "other@example.com", booksmeta.RoleStudent, true)
	expectNot(t, f.as(t, other).get("/bookings"), "Very-Secret-Server-Pass")
	f.srv.Clock.Set(start.Add(61 * time.Minute))
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
		return tx.AddNotice(ctx, &booksmeta.Notice{UserID: f.student.ID, Kind: "booking_cancelled", Title: "Бронирование отменено", Body: "Причина: <b>ремонт</b>"})
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

// futureHour is a whole hour in the school zone, days ahead, away from midnight.
func futureHour(days int) time.Time {
	loc, _ := time.LoadLocation("Europe/Moscow")
	t := time.Now().In(loc).AddDate(0, 0, days).Truncate(time.Hour)
	return time.Date(t.Year(), t.Month(), t.Day(), 10, 0, 0, 0, loc)
}

// bookVia submits the calendar's booking form and follows the redirect.
func bookVia(t *testing.T, b *browser, week string, slot string) page {
	t.Helper()
	p := b.submit("/?week="+week, "/book", url.Values{"slot_id": {slot}, "week": {week}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("book %s: %d %s", slot, p.Status, p.Body)
	}
	return b.get(p.location())
}

func TestStudentEveryRefusalShown(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	st := futureHour(2)
	week := st.Format("2006-01-02")
	a, c, d := addSlot(t, f, st, 5), addSlot(t, f, st.Add(time.Hour), 5), addSlot(t, f, st.Add(2*time.Hour), 5)
	past := addSlot(t, f, time.Now().Add(-3*time.Hour).Truncate(time.Minute), 5)
	if _, err := f.srv.DB.Write.Exec(`UPDATE users SET booking_limit = 1 WHERE id = $1`, f.student.ID); err != nil {
		t.Fatal(err)
	}
	b := f.as(t, f.student)
	expect(t, b.get("/?week="+week), 200, "Осталось бронирований: <strong>1 из 1</strong>", "Время указано по часовому поясу школы: <strong>Europe/Moscow</strong>")

	p := bookVia(t, b, week, itoa(a))
	expect(t, p, 200, "Время забронировано")
	expect(t, bookVia(t, b, week, itoa(a)), 200, "Вы уже забронировали это время")
	expect(t, bookVia(t, b, week, itoa(c)), 200, "У вас уже 1 из 1 предстоящих бронирований")
	expect(t, b.get("/?week="+week), 200, "Осталось бронирований: <strong>0 из 1</strong>")
	expect(t, bookVia(t, b, time.Now().Format("2006-01-02"), itoa(past)), 200, "Это время уже прошло")
	expect(t, bookVia(t, b, week, "999999"), 200, "Такого времени нет в расписании")
	expect(t, bookVia(t, b, week, "not-a-number"), 200, "Такого времени нет в расписании")
	// An inactive student is signed out, so the page can only show the text
	// from a redirect; the known code still has its message.
	expect(t, b.get("/?err=inactive"), 200, "Ваш аккаунт отключён")

	// Maintenance: the message replaces the booking buttons, and a form
	// posted anyway is refused.
	f.srv.Settings.Put(ctx, map[string]string{booking.MaintenanceMode: "1", booking.MaintenanceMessage: "Меняем диски до 18:00"}, 0)
	p = b.get("/?week=" + week)
	expect(t, p, 200, "Меняем диски до 18:00")
	expectNot(t, p, ">Забронировать</button>")
	p = b.submit("/?week="+week, "/book", url.Values{"slot_id": {itoa(d)}, "week": {week}})
	if !strings.Contains(p.location(), "err=maintenance") {
		t.Fatalf("book during maintenance: %d → %q", p.Status, p.location())
	}
	expect(t, b.get(p.location()), 200, "Меняем диски до 18:00")
	f.srv.Settings.Put(ctx, map[string]string{booking.MaintenanceMode: "0"}, 0)

	// A student who has not paid is told what to do instead and has no buttons.
	unpaid := f.user(t, "unpaid@example.com", booksmeta.RoleStudent, false)
	ub := f.as(t, unpaid)
	p = ub.get("/?week=" + week)
	expect(t, p, 200, "доступно после оплаты курса", "unpaid@example.com", "свободно мест: 4")
	expectNot(t, p, ">Забронировать</button>")
	expect(t, bookVia(t, ub, week, itoa(d)), 200, "Бронирование доступно после оплаты курса")
	if bs, _ := f.srv.Store.BookingsByUser(ctx, unpaid.ID); len(bs) != 0 {
		t.Fatalf("unpaid student got %d bookings", len(bs))
	}
}

func TestStudentCancelCutoff(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	st := time.Now().Add(90 * time.Minute).Truncate(time.Minute) // inside the default 2 h cut-off
	id := addSlot(t, f, st, 1)
	bk, err := f.srv.Booking.Book(ctx, f.student.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	b := f.as(t, f.student)
	p := b.get("/bookings")
	expect(t, p, 200, "Отменить бронирование можно не позднее чем за 2 часа до начала", "до начала меньше, чем 2 часа.", "Отменить уже нельзя")
	expectNot(t, p, `action="/bookings/`+itoa(bk.ID)+`/cancel"`)
	// A form posted anyway is refused with the rule explained.
	p = b.submit("/bookings", "/bookings/"+itoa(bk.ID)+"/cancel", nil)
	if !strings.Contains(p.location(), "err=too_late") {
		t.Fatalf("cancel past the cut-off: %d → %q", p.Status, p.location())
	}
	expect(t, b.get(p.location()), 200, "Отменить можно не позднее чем за 2 часа до начала")
	if got, _ := f.srv.Store.BookingsByUser(ctx, f.student.ID); got[0].Status != booksmeta.BookingActive {
		t.Fatalf("booking status %q after a refused cancel", got[0].Status)
	}
	// Without the CSRF token: 403, nothing changes.
	if p := b.post("/bookings/"+itoa(bk.ID)+"/cancel", nil); p.Status != http.StatusForbidden {
		t.Fatalf("cancel without CSRF: %d", p.Status)
	}
}

func TestStudentAccessOpensSoonNotice(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	st := time.Now().Add(70 * time.Minute).Truncate(time.Minute) // access opens in ~55 min
	far := time.Now().Add(30 * time.Hour).Truncate(time.Hour)
	for _, s := range []time.Time{st, far} {
		if _, err := f.srv.Booking.Book(ctx, f.student.ID, addSlot(t, f, s, 1)); err != nil {
			t.Fatal(err)
		}
	}
	loc, _ := time.LoadLocation("Europe/Moscow")
	opens := st.Add(-15 * time.Minute).In(loc).Format("15:04")
	b := f.as(t, f.student)
	for _, path := range []string{"/", "/bookings"} {
		p := b.get(path)
		expect(t, p, 200, "Скоро доступ к серверу", "данные для входа появятся в "+opens)
		expectNot(t, p, "бронирование "+far.In(loc).Format("15:04")+"–")
	}
	// On «Мои бронирования» the box points at the booking's card below,
	// elsewhere at that page.
	bs, _ := f.srv.Store.BookingsByUser(ctx, f.student.ID)
	var soonID int64
	for _, bk := range bs {
		if bk.StartsAt.Equal(st) {
			soonID = bk.ID
		}
	}
	card := fmt.Sprintf(`<a href="#booking-%d">в карточке бронирования ниже</a>`, soonID)
	expect(t, b.get("/bookings"), 200, card, fmt.Sprintf(`id="booking-%d"`, soonID))
	expectNot(t, b.get("/"), card)
	// Inside the window the notice says it is open.
	f.srv.Clock.Set(st.Add(-5 * time.Minute))
	defer f.srv.Clock.Real()
	expect(t, b.get("/"), 200, "Доступ к серверу открыт: бронирование "+st.In(loc).Format("15:04"), `в разделе <a href="/bookings">«Мои бронирования»</a>`)
	expect(t, b.get("/bookings"), 200, "Доступ к серверу открыт: бронирование "+st.In(loc).Format("15:04")+"–"+st.Add(time.Hour).In(loc).Format("15:04")+". Данные для входа — "+card)
	// More than an hour before it opens: nothing.
	f.srv.Clock.Set(st.Add(-2 * time.Hour))
	expectNot(t, b.get("/"), "Скоро доступ к серверу", "Доступ к серверу открыт")
}

func TestStudentUnreadCountInMenu(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	for _, title := range []string{"Первое", "Второе"} {
		f.srv.Store.InTx(ctx, func(tx *store.Tx) error {
			return tx.AddNotice(ctx, &booksmeta.Notice{UserID: f.student.ID, Kind: "payment_revoked", Title: title})
		})
	}
	if n, err := f.srv.Store.UnreadNotices(ctx, f.student.ID); err != nil || n != 2 {
		t.Fatalf("unread: %d %v", n, err)
	}
	b := f.as(t, f.student)
	// The count sits on its own menu item, not on «Мои бронирования»
	// where it read like a number of bookings.
	badge := `href="/notices" id="nav-notices">Уведомления <span class="badge warn"><span class="sr-only">, непрочитанных: </span>2</span></a>`
	p := b.get("/bookings")
	expect(t, p, 200, badge, `href="/bookings" aria-current="page">Мои бронирования</a>`)
	expectNot(t, p, "Первое", "Второе") // the list is on its own page now
	p = b.get("/notices")
	expect(t, p, 200, "<h1>Уведомления</h1>", `href="/notices" id="nav-notices" aria-current="page"`, "Отметить все прочитанными")
	// Newest first.
	if i, j := strings.Index(p.Body, "Второе"), strings.Index(p.Body, "Первое"); i < 0 || j < 0 || i > j {
		t.Fatalf("notices not newest first: %d %d", i, j)
	}
	p = b.submit("/notices", "/notices/read", url.Values{"next": {"/notices"}})
	if p.Status != http.StatusSeeOther || p.location() != "/notices" {
		t.Fatalf("mark read: %d → %q", p.Status, p.location())
	}
	p = b.get("/notices")
	expectNot(t, p, "непрочитанных", "Отметить все прочитанными", ">новое<")
	expect(t, p, 200, "Второе", "Первое")
	// Another student's notices are untouched and never shown.
	other := f.user(t, "other@example.com", booksmeta.RoleStudent, true)
	f.srv.Store.InTx(ctx, func(tx *store.Tx) error {
		return tx.AddNotice(ctx, &booksmeta.Notice{UserID: other.ID, Kind: "x", Title: "Чужое"})
	})
	expectNot(t, b.get("/"), "Чужое")
	// A foreign "next" does not redirect off the site.
	if p := b.submit("/", "/notices/read", url.Values{"next": {"https://evil.example/"}}); strings.Contains(p.location(), "evil") {
		t.Fatalf("open redirect: %q", p.location())
	}
	if n, _ := f.srv.Store.UnreadNotices(ctx, other.ID); n != 1 {
		t.Fatalf("other student's unread: %d", n)
	}
}

func TestForgotPasswordThrottleWindowAndInactive(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	count := func(u *booksmeta.User) int {
		mails, err := f.srv.Store.MailByUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range mails {
			if m.Kind == "password_reset" {
				if m.Data != "{}" {
					t.Fatalf("reset mail data %q", m.Data)
				}
				n++
			}
		}
		return n
	}
	b := newBrowser(t, f.srv)
	expect(t, b.submit("/forgot-password", "/forgot-password", url.Values{"email": {" Student@Example.com "}}), 200, "Если в Book Smeta есть аккаунт")
	if n := count(f.student); n != 1 {
		t.Fatalf("%d mails", n)
	}
	// Ten minutes later another request is allowed.
	later := time.Now().Add(11 * time.Minute)
	f.srv.Clock.Set(later)
	defer f.srv.Clock.Real()
	b.submit("/forgot-password", "/forgot-password", url.Values{"email": {"student@example.com"}})
	if n := count(f.student); n != 2 {
		t.Fatalf("%d mails after 10 minutes, want 2", n)
	}
	// A disabled account gets no mail, and the answer is the same.
	off := f.user(t, "off@example.com", booksmeta.RoleStudent, true)
	if _, err := f.srv.DB.Write.Exec(`UPDATE users SET active = FALSE WHERE id = $1`, off.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, b.submit("/forgot-password", "/forgot-password", url.Values{"email": {"off@example.com"}}), 200, "Если в Book Smeta есть аккаунт")
	if n := count(off); n != 0 {
		t.Fatalf("inactive user got %d reset mails", n)
	}
}

func TestCalendarFeedFormat(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	st := time.Now().Add(48 * time.Hour).Truncate(time.Hour)
	keep, err := f.srv.Booking.Book(ctx, f.student.ID, addSlot(t, f, st, 1))
	if err != nil {
		t.Fatal(err)
	}
	gone, err := f.srv.Booking.Book(ctx, f.student.ID, addSlot(t, f, st.Add(24*time.Hour), 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.Booking.Cancel(ctx, f.student.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	b := f.as(t, f.student)
	b.submit("/bookings", "/bookings/calendar-link", nil)
	m := regexp.MustCompile(`(/calendar/[^"]+\.ics)"`).FindStringSubmatch(b.get("/bookings").Body)
	if m == nil {
		t.Fatal("no feed link on /bookings")
	}
	anon := newBrowser(t, f.srv)
	first, second := anon.get(m[1]), anon.get(m[1])
	if first.Status != 200 {
		t.Fatalf("feed: %d", first.Status)
	}
	body := first.Body
	if !strings.HasSuffix(body, "END:VCALENDAR\r\n") || strings.Contains(strings.ReplaceAll(body, "\r\n", ""), "\n") {
		t.Fatal("feed lines must end in CRLF")
	}
	for _, l := range strings.Split(body, "\r\n") {
		if len(l) > 75 {
			t.Fatalf("line over 75 octets: %q", l)
		}
	}
	unfolded := strings.ReplaceAll(body, "\r\n ", "")
	for _, want := range []string{"UID:booking-" + itoa(keep.ID) + "@book-smeta", "UID:booking-" + itoa(gone.ID) + "@book-smeta",
		"SUMMARY:Сервер Book Smeta", "/bookings", "STATUS:CANCELLED", "DTEND:" + st.Add(time.Hour).UTC().Format("20060102T150405Z")} {
		if !strings.Contains(unfolded, want) {
			t.Errorf("feed lacks %q", want)
		}
	}
	// UIDs stay the same from one fetch to the next (so calendars update, not duplicate).
	uids := regexp.MustCompile(`UID:[^\r]+`)
	if a, z := uids.FindAllString(first.Body, -1), uids.FindAllString(second.Body, -1); strings.Join(a, ",") != strings.Join(z, ",") {
		t.Fatalf("UIDs changed: %v %v", a, z)
	}
	if p := anon.get("/calendar/" + strings.Repeat("x", 40) + ".ics"); p.Status != http.StatusNotFound {
		t.Fatalf("unknown token: %d", p.Status)
	}
	if p := anon.get(strings.TrimSuffix(m[1], ".ics")); p.Status != http.StatusNotFound {
		t.Fatalf("without .ics: %d", p.Status)
	}
}
