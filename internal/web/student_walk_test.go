package web_test

import (
	"booksmeta"

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

// What the UI walk of issue 17 found on the student's side: filters by day
// and part of day, the next free time, free hours per day, the access panel
// on a phone, notices in their own place, refusals in view, the profile
// keeping what was typed, and a used set-password link that is not a dead end.

// schoolDay is midnight of today+days in the school's zone (Europe/Moscow
// by default), so slots can be put at given hours of the school's day.
func schoolDay(days int) time.Time {
	loc, _ := time.LoadLocation("Europe/Moscow")
	t := time.Now().In(loc).AddDate(0, 0, days)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// slotAt adds a slot of the given length; inactive ones are hidden from
// students (the admin switched them off).
func slotAt(t *testing.T, f *fixture, start time.Time, length time.Duration, capacity int, active bool) int64 {
	t.Helper()
	var id int64
	err := f.srv.DB.Write.QueryRow(`INSERT INTO slots (starts_at, ends_at, capacity, active, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$5) RETURNING id`,
		start.UnixMilli(), start.Add(length).UnixMilli(), capacity, active, time.Now().UnixMilli()).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

var slotIDRe = regexp.MustCompile(`<li id="slot-(\d+)"`)

// shownSlots is the set of slot ids the calendar page lists.
func shownSlots(p page) map[string]bool {
	out := map[string]bool{}
	for _, m := range slotIDRe.FindAllStringSubmatch(p.Body, -1) {
		out[m[1]] = true
	}
	return out
}

func expectSlots(t *testing.T, p page, want ...int64) {
	t.Helper()
	if p.Status != http.StatusOK {
		t.Fatalf("calendar: %d\n%s", p.Status, p.Body)
	}
	got := shownSlots(p)
	wantSet := map[string]bool{}
	for _, id := range want {
		wantSet[itoa(id)] = true
	}
	for id := range wantSet {
		if !got[id] {
			t.Errorf("slot %s not shown; shown: %v", id, got)
		}
	}
	for id := range got {
		if !wantSet[id] {
			t.Errorf("slot %s shown but filtered out; want %v", id, wantSet)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

func TestCalendarFiltersByDateAndPartOfDay(t *testing.T) {
	f := start(t, nil)
	d := schoolDay(3)
	day := d.Format("2006-01-02")
	// One slot at each boundary: a slot belongs to the part its start is in.
	night, morning, lateMorning := slotAt(t, f, d, time.Hour, 2, true), slotAt(t, f, d.Add(6*time.Hour), time.Hour, 2, true), slotAt(t, f, d.Add(11*time.Hour), time.Hour, 2, true)
	noon, evening, late := slotAt(t, f, d.Add(12*time.Hour), time.Hour, 2, true), slotAt(t, f, d.Add(18*time.Hour), time.Hour, 2, true), slotAt(t, f, d.Add(23*time.Hour), time.Hour, 2, true)
	nextDay := slotAt(t, f, d.AddDate(0, 0, 1).Add(10*time.Hour), time.Hour, 2, true)
	b := f.as(t, f.student)

	p := b.get("/?date=" + day)
	expectSlots(t, p, night, morning, lateMorning, noon, evening, late)
	expect(t, p, 200, `id="calendar-filters"`, `<legend>Показать время</legend>`, `<label for="f-date">День <span class="muted">(пусто — неделя)</span></label>`, `<label for="f-part">Часть дня</label>`,
		`value="`+day+`"`, "утро 06–12, день 12–18, вечер 18–24, ночь 00–06", "Утро, 06:00–12:00", "Ночь, 00:00–06:00", "Вся неделя", "Следующий день")
	expectSlots(t, b.get("/?date="+day+"&part=morning"), morning, lateMorning)
	expectSlots(t, b.get("/?date="+day+"&part=day"), noon)
	expectSlots(t, b.get("/?date="+day+"&part=evening"), evening, late)
	expectSlots(t, b.get("/?date="+day+"&part=night"), night)
	expectSlots(t, b.get("/?date="+d.AddDate(0, 0, 1).Format("2006-01-02")), nextDay)
	// An unknown part is the whole day; a nonsense date is the current week.
	expectSlots(t, b.get("/?date="+day+"&part=brunch"), night, morning, lateMorning, noon, evening, late)
	expect(t, b.get("/?date=31.12.2026"), 200, "Эта неделя")

	// A part of day applies to the whole week too, and is kept in the
	// pager's links, the filter form and the booking forms.
	p = b.get("/?week=" + day + "&part=evening")
	if got := shownSlots(p); !got[itoa(evening)] || !got[itoa(late)] || got[itoa(noon)] || got[itoa(night)] || got[itoa(nextDay)] {
		t.Fatalf("week filtered by evening shows %v", got)
	}
	expect(t, p, 200, `<option value="evening" selected>`, "part=evening&amp;week=", `<input type="hidden" name="part" value="evening">`,
		"Вечер, 18:00–24:00: времени нет.")

	// Booking from a filtered day comes back to it when refused, with the
	// refusal first on the page, before the filters and the strip.
	if _, err := f.srv.DB.Write.Exec(`UPDATE slots SET booked = capacity WHERE id = $1`, evening); err != nil {
		t.Fatal(err)
	}
	p = b.submit("/?date="+day+"&part=evening", "/book", url.Values{"slot_id": {itoa(evening)}, "week": {day}, "date": {day}, "part": {"evening"}})
	loc := p.location()
	for _, want := range []string{"date=" + day, "part=evening", "err=slot_full", "#booking-error"} {
		if !strings.Contains(loc, want) {
			t.Fatalf("refused booking goes to %q, want %q in it", loc, want)
		}
	}
	p = b.get(loc)
	expect(t, p, 200, `<p class="error" id="booking-error" role="alert" tabindex="-1" data-focus>`, "мест больше нет")
	errAt := strings.Index(p.Body, `id="booking-error"`)
	for _, after := range []string{`id="free-days"`, `id="calendar-filters"`, `class="week`, "Осталось бронирований"} {
		if i := strings.Index(p.Body, after); i < errAt {
			t.Fatalf("the refusal comes after %q on the page", after)
		}
	}
	expectSlots(t, p, evening, late)
}

// nextFreeLink is the "next free time" link's address, "" when none is shown.
func nextFreeLink(t *testing.T, p page) string {
	t.Helper()
	m := regexp.MustCompile(`<a id="next-free" href="([^"]+)">([^<]+)</a>`).FindStringSubmatch(p.Body)
	if m == nil {
		if !strings.Contains(p.Body, `id="next-free-none"`) {
			t.Fatalf("neither a next free link nor its absence:\n%s", p.Body)
		}
		return ""
	}
	return strings.ReplaceAll(m[1], "&amp;", "&") + " " + m[2]
}

func TestCalendarNextFreeTime(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	d := schoolDay(3)
	day := d.Format("2006-01-02")
	f.srv.Clock.Set(d.Add(8*time.Hour + 30*time.Minute)) // 08:30 at the school
	defer f.srv.Clock.Real()
	started := slotAt(t, f, d.Add(8*time.Hour), time.Hour, 3, true) // started at 08:00
	full := slotAt(t, f, d.Add(9*time.Hour), time.Hour, 1, true)
	mine := slotAt(t, f, d.Add(10*time.Hour), time.Hour, 3, true)
	slotAt(t, f, d.Add(11*time.Hour), time.Hour, 3, false) // switched off
	afternoon := slotAt(t, f, d.Add(13*time.Hour), time.Hour, 3, true)
	evening := slotAt(t, f, d.Add(19*time.Hour), time.Hour, 3, true)
	tomorrow := slotAt(t, f, d.AddDate(0, 0, 1).Add(7*time.Hour), time.Hour, 3, true)
	other := f.user(t, "other@example.com", booksmeta.RoleStudent, true)
	if _, err := f.srv.Booking.Book(ctx, other.ID, full); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.Booking.Book(ctx, f.student.ID, mine); err != nil {
		t.Fatal(err)
	}
	b := f.as(t, f.student)

	p := b.get("/")
	wantDate := d.Format("02.01.2006")
	if got, want := nextFreeLink(t, p), "/?date="+day+"#slot-"+itoa(afternoon)+" "; !strings.HasPrefix(got, want) || !strings.Contains(got, wantDate+", 13:00–14:00") {
		t.Fatalf("next free: %q, want %q… %s, 13:00–14:00", got, want, wantDate)
	}
	// The link lands on that day, with the slot in it.
	expectSlots(t, b.get("/?date="+day), started, full, mine, afternoon, evening)
	// Within a part of day: the first free one in it.
	if got := nextFreeLink(t, b.get("/?part=evening")); !strings.HasPrefix(got, "/?date="+day+"&part=evening#slot-"+itoa(evening)+" ") {
		t.Fatalf("next free evening: %q", got)
	}
	if got := nextFreeLink(t, b.get("/?part=morning")); !strings.HasPrefix(got, "/?date="+d.AddDate(0, 0, 1).Format("2006-01-02")+"&part=morning#slot-"+itoa(tomorrow)+" ") {
		t.Fatalf("next free morning (today's are past, full, mine or off): %q", got)
	}
	p = b.get("/?part=night")
	if got := nextFreeLink(t, p); got != "" {
		t.Fatalf("next free night with no night slots: %q", got)
	}
	expect(t, p, 200, "Свободного времени (Ночь) в расписании пока нет")

	// Once booked, the next one is offered.
	bookVia(t, b, day, itoa(afternoon))
	if got := nextFreeLink(t, b.get("/")); !strings.HasPrefix(got, "/?date="+day+"#slot-"+itoa(evening)+" ") {
		t.Fatalf("next free after booking it: %q", got)
	}
	// Far ahead, behind more free slots than one look-up reads.
	base := d.AddDate(0, 0, 2).Add(12 * time.Hour)
	for i := range 205 {
		slotAt(t, f, base.Add(time.Duration(i)*24*time.Hour), time.Hour, 1, true)
	}
	far := d.AddDate(0, 0, 300).Add(2 * time.Hour)
	nightSlot := slotAt(t, f, far, time.Hour, 1, true)
	if got := nextFreeLink(t, b.get("/?part=night")); !strings.HasPrefix(got, "/?date="+far.Format("2006-01-02")+"&part=night#slot-"+itoa(nightSlot)+" ") {
		t.Fatalf("next free night far ahead: %q", got)
	}
}

var freeDayRe = regexp.MustCompile(`<li( class="today")?>(?:<a href="([^"]+)">)?<span class="(?:d|none)">(?:<span class="d">)?[^,<]+, (\d\d\.\d\d\.\d{4})</span> <span class="h">(?:<span class="sr-only">свободно </span>)?([^<]+)</span>`)

type stripDay struct {
	Today     bool
	URL, Free string
}

// freeStrip reads the two-week strip: date (DD.MM.YYYY) → what it says.
func freeStrip(t *testing.T, p page) ([]string, map[string]stripDay) {
	t.Helper()
	i := strings.Index(p.Body, `id="free-days"`)
	j := strings.Index(p.Body[max(i, 0):], "</ol>")
	if i < 0 || j < 0 {
		t.Fatalf("no #free-days strip:\n%s", p.Body)
	}
	var order []string
	out := map[string]stripDay{}
	for _, m := range freeDayRe.FindAllStringSubmatch(p.Body[i:i+j], -1) {
		order = append(order, m[3])
		out[m[3]] = stripDay{Today: m[1] != "", URL: strings.ReplaceAll(m[2], "&amp;", "&"), Free: m[4]}
	}
	return order, out
}

func TestCalendarFreeHoursPerDay(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	d := schoolDay(3)
	f.srv.Clock.Set(d.Add(8*time.Hour + 30*time.Minute))
	defer f.srv.Clock.Real()
	slotAt(t, f, d.Add(8*time.Hour), time.Hour, 3, true)          // started
	full := slotAt(t, f, d.Add(16*time.Hour), time.Hour, 1, true) // past the cancel cut-off, so it can free up
	mine := slotAt(t, f, d.Add(10*time.Hour), time.Hour, 3, true)
	slotAt(t, f, d.Add(11*time.Hour), time.Hour, 3, false) // switched off
	slotAt(t, f, d.Add(13*time.Hour), time.Hour, 3, true)
	slotAt(t, f, d.Add(14*time.Hour), 30*time.Minute, 3, true)
	slotAt(t, f, d.Add(19*time.Hour), time.Hour, 3, true)
	slotAt(t, f, d.AddDate(0, 0, 1).Add(10*time.Hour), time.Hour, 3, true)
	slotAt(t, f, d.AddDate(0, 0, 1).Add(11*time.Hour), time.Hour, 3, true)
	slotAt(t, f, d.AddDate(0, 0, 13).Add(10*time.Hour), time.Hour, 3, true)
	slotAt(t, f, d.AddDate(0, 0, 14).Add(10*time.Hour), time.Hour, 3, true) // a day past the strip
	other := f.user(t, "other@example.com", booksmeta.RoleStudent, true)
	if _, err := f.srv.Booking.Book(ctx, other.ID, full); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.Booking.Book(ctx, f.student.ID, mine); err != nil {
		t.Fatal(err)
	}
	b := f.as(t, f.student)
	dd := func(n int) string { return d.AddDate(0, 0, n).Format("02.01.2006") }
	iso := func(n int) string { return d.AddDate(0, 0, n).Format("2006-01-02") }

	order, days := freeStrip(t, b.get("/"))
	if len(order) != 14 || order[0] != dd(0) || order[13] != dd(13) {
		t.Fatalf("strip days: %v, want 14 from %s", order, dd(0))
	}
	// Today: 13:00 (1 h), 14:00 (30 min) and 19:00 (1 h); not the started,
	// full, booked-by-me or switched-off ones.
	want := map[string]stripDay{
		dd(0):  {Today: true, URL: "/?date=" + iso(0), Free: "2 ч 30 мин"},
		dd(1):  {URL: "/?date=" + iso(1), Free: "2 ч"},
		dd(2):  {Free: "нет мест"},
		dd(13): {URL: "/?date=" + iso(13), Free: "1 ч"},
	}
	for k, w := range want {
		if days[k] != w {
			t.Errorf("%s: %+v, want %+v", k, days[k], w)
		}
	}
	// With a part of day the strip counts only that part, and its links keep it.
	_, days = freeStrip(t, b.get("/?part=evening"))
	if got := days[dd(0)]; got.Free != "1 ч" || got.URL != "/?date="+iso(0)+"&part=evening" {
		t.Errorf("evening today: %+v", got)
	}
	if got := days[dd(1)]; got.Free != "нет мест" {
		t.Errorf("evening tomorrow: %+v", got)
	}
	// A full slot that frees up counts again.
	bs, _ := f.srv.Store.BookingsByUser(ctx, other.ID)
	if _, err := f.srv.Booking.Cancel(ctx, other.ID, bs[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, days = freeStrip(t, b.get("/")); days[dd(0)].Free != "3 ч 30 мин" {
		t.Errorf("today after a place freed: %+v", days[dd(0)])
	}
	if t.Failed() {
		t.FailNow()
	}
}

func TestStudentAccessPanelRows(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	f.srv.Settings.Put(ctx, map[string]string{booking.ServerHost: "rdp.school.example:3389", booking.ServerLogin: "smeta-user",
		booking.ServerPassword: "Rdp-Long-Password-42"}, 0)
	st := time.Now().Add(3 * time.Hour).Truncate(time.Minute)
	first := addSlot(t, f, st, 1)
	second := addSlot(t, f, st.Add(time.Hour), 1)
	for _, id := range []int64{first, second} {
		if _, err := f.srv.Booking.Book(ctx, f.student.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	f.srv.Clock.Set(st.Add(50 * time.Minute)) // both windows open
	defer f.srv.Clock.Real()
	b := f.as(t, f.student)
	p := b.get("/bookings")
	// Each value a row of its own: label, a full-width field, its buttons.
	expect(t, p, 200, `<section class="access access-panel" id="access-panel" aria-labelledby="access-h">`,
		`<label for="access-host">`, `<input id="access-host" value="rdp.school.example:3389" readonly`,
		`<label for="access-login">Логин</label>`, `<input id="access-login" value="smeta-user" readonly`,
		`<label for="access-password">Пароль</label>`, `<input id="access-password" type="text" value="Rdp-Long-Password-42" readonly data-mask`,
		`data-reveal="access-password" aria-controls="access-password"`,
		`data-copy="access-host"`, `data-copy="access-login"`, `data-copy="access-password"`)
	// The second open panel has its own ids: none repeats on the page.
	bs, _ := f.srv.Store.BookingsByUser(ctx, f.student.ID)
	var secondBooking int64
	for _, bk := range bs {
		if bk.SlotID == second {
			secondBooking = bk.ID
		}
	}
	sfx := "-" + itoa(secondBooking)
	expect(t, p, 200, `id="access-panel`+sfx+`"`, `id="access-password`+sfx+`"`, `data-copy="access-login`+sfx+`"`)
	for _, id := range regexp.MustCompile(`id="([^"]+)"`).FindAllStringSubmatch(p.Body, -1) {
		if n := strings.Count(p.Body, `id="`+id[1]+`"`); n != 1 {
			t.Fatalf("id %q appears %d times", id[1], n)
		}
	}
	// The stylesheet makes the rows full-width on a phone.
	css := b.get("/static/student.css")
	expect(t, css, 200, ".access-field { display:grid;", ".access-field input { width:100%;")
}

func TestStudentNoticesCollapsedOnCalendar(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	for _, title := range []string{"Первое старое", "Второе", "Третье новое"} {
		f.srv.Store.InTx(ctx, func(tx *store.Tx) error {
			return tx.AddNotice(ctx, &booksmeta.Notice{UserID: f.student.ID, Kind: "booking_cancelled", Title: title, Body: strings.Repeat("Длинный текст. ", 30)})
		})
		f.srv.Clock.Advance(time.Second)
	}
	defer f.srv.Clock.Real()
	b := f.as(t, f.student)
	p := b.get("/")
	expect(t, p, 200, "Третье новое", "Второе", `<a href="/notices">Все уведомления (непрочитанных: 3)</a>`)
	expectNot(t, p, "Первое старое")
	// The list above the week stays short: two notices.
	if n := strings.Count(p.Body[:strings.Index(p.Body, `class="week`)], `<li class="unread">`); n != 2 {
		t.Fatalf("%d notices above the calendar, want 2", n)
	}
	expect(t, b.get("/notices"), 200, "Первое старое", "Второе", "Третье новое")
	b.submit("/", "/notices/read", url.Values{"next": {"/"}})
	p = b.get("/")
	expectNot(t, p, "Третье новое", "Все уведомления")
	expect(t, p, 200, `href="/notices" id="nav-notices">Уведомления</a>`)
}

func TestProfileKeepsTypedValues(t *testing.T) {
	f := start(t, nil)
	b := f.as(t, f.student)
	p := b.submit("/profile", "/profile", url.Values{"first_name": {"Анна"}, "last_name": {"Петрова"}, "phone": {"позвоните мне"}})
	expect(t, p, http.StatusUnprocessableEntity, `id="first_name" name="first_name" value="Анна"`, `id="last_name" name="last_name" value="Петрова"`,
		`id="phone" name="phone" type="tel" value="позвоните мне"`, `aria-invalid="true" aria-describedby="err-phone"`,
		`<p class="field-error" id="err-phone" role="alert">Телефон записан с ошибкой`)
	expectNot(t, p, `aria-describedby="err-name"`)
	// The error sits next to its field, after the phone input.
	if i, j := strings.Index(p.Body, `id="phone"`), strings.Index(p.Body, `id="err-phone"`); i < 0 || j < i {
		t.Fatal("the phone error is not next to the phone field")
	}
	long := strings.Repeat("я", 101)
	p = b.submit("/profile", "/profile", url.Values{"first_name": {long}, "last_name": {"Петрова"}, "phone": {"+7 900 111-22-33"}})
	expect(t, p, http.StatusUnprocessableEntity, `value="`+long+`"`, `value="&#43;7 900 111-22-33"`, `id="err-name"`, "не длиннее 100 символов")
	// Nothing was saved by the refused forms.
	expect(t, b.get("/profile"), 200, `id="first_name" name="first_name" value=""`, `id="phone" name="phone" type="tel" value=""`)
}

func TestUsedSetPasswordLinkOffersWaysOn(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.super)
	tok := issueLink(t, a, f.student)
	b := newBrowser(t, f.srv)
	expect(t, b.get("/set-password?token="+tok), 200, "Придумайте пароль")
	p := b.post("/set-password", url.Values{"token": {tok}, "password": {"brand new pass 7"}, "password2": {"brand new pass 7"}})
	expect(t, p, 200, "Пароль сохранён")
	ways := []string{`<a class="button" href="/login" id="link-login">Войти</a>`, `<a class="button secondary" href="/forgot-password" id="link-forgot">Забыли пароль?</a>`, "уже использована"}
	// Opened again, or its form sent again: the two ways on.
	expect(t, b.get("/set-password?token="+tok), http.StatusForbidden, ways...)
	expect(t, b.post("/set-password", url.Values{"token": {tok}, "password": {"x-another-pass"}, "password2": {"x-another-pass"}}), http.StatusForbidden, ways...)
	expectNot(t, b.get("/set-password?token="+tok), `action="/set-password"`)
	// An expired link too.
	late := issueLink(t, a, f.student)
	f.srv.Clock.Set(time.Now().Add(8 * 24 * time.Hour))
	defer f.srv.Clock.Real()
	expect(t, b.get("/set-password?token="+late), http.StatusForbidden, ways...)
	// Both lead somewhere that works.
	f.srv.Clock.Real()
	expect(t, b.get("/login"), 200, `action="/login"`)
	expect(t, b.get("/forgot-password"), 200, `action="/forgot-password"`)
}
