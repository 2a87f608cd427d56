//go:build e2e

package e2e

import (
	"booksmeta"

	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"booksmeta/internal/accounts"
	"booksmeta/internal/apptest"
	"booksmeta/internal/booking"
	"booksmeta/internal/schedule"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
	"booksmeta/internal/webhook"
)

// serverPassword is long on purpose: the access panel must show all of it
// on a phone.
const serverPassword = "Kx7-Rdp-Server-Pass-2026-q9"

// screens are the two widths every page is walked at.
var screens = []struct {
	width, height int64
	mobile        bool
}{{1366, 900, false}, {phoneWidth, 844, true}}

// walk is one person's walk through the pages at one screen size: every
// page it renders is checked by pageDone.
type walk struct {
	t      *testing.T
	ctx    context.Context
	srv    *apptest.Server
	axeJS  string
	shots  string
	prefix string // student-390, admin-1366…
	mobile bool
	pages  int
}

func (w *walk) start(who string, width, height int64, mobile bool) {
	w.t.Helper()
	w.ctx = newTabFor(w.t, 3*time.Minute)
	w.prefix, w.mobile = fmt.Sprintf("%s-%d", who, width), mobile
	var opts []chromedp.EmulateViewportOption
	if mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	do(w.t, w.ctx, chromedp.EmulateViewport(width, height, opts...))
}

// pageDone runs the checks every rendered page gets: no serious or critical
// axe violation, no horizontal scroll on the phone, a full-page screenshot.
func (w *walk) pageDone(name string) {
	w.t.Helper()
	waitJS(w.t, w.ctx, "page loaded", `document.readyState === "complete"`)
	where := w.prefix + " " + name + " (" + pageURL(w.ctx) + ")"
	checkAxe(w.t, w.ctx, w.axeJS, where)
	if w.mobile {
		noHorizontalScroll(w.t, w.ctx, where)
	}
	saveScreenshot(w.t, w.ctx, w.shots, w.prefix+"-"+name)
	w.pages++
}

// open goes to path and checks it is the page asked for: not the sign-in
// page, not "not found" or "access denied", with a heading.
func (w *walk) open(path, name string) {
	w.t.Helper()
	do(w.t, w.ctx, chromedp.Navigate(w.srv.URL+path))
	w.arrived(path, name)
}

func (w *walk) arrived(path, name string) {
	w.t.Helper()
	p := path
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	waitJS(w.t, w.ctx, name+" at "+p, `document.readyState === "complete" && location.pathname === `+js(p)+
		` && document.querySelector("main h1") && document.querySelector("main h1").textContent.trim() !== ""`)
	if h1 := w.h1(); h1 == "Страница не найдена" || h1 == "Доступ запрещён" || h1 == "Вход" && p != "/login" {
		w.t.Fatalf("%s: %s answered «%s»", w.prefix, path, h1)
	}
	w.pageDone(name)
}

// openAny is open for a page that is meant to say no (a bad link, an
// unknown address): it is checked like any other page.
func (w *walk) openAny(path, name string) {
	w.t.Helper()
	do(w.t, w.ctx, chromedp.Navigate(w.srv.URL+path))
	waitJS(w.t, w.ctx, name, `document.readyState === "complete" && document.querySelector("main h1")`)
	w.pageDone(name)
}

func (w *walk) h1() string {
	s, _ := chromedp.Run(w.ctx, chromedp.Evaluate[string](`document.querySelector("main h1").textContent.trim()`))
	return s
}

// status is what GET path answers in the browser's session.
func (w *walk) status(path string) int {
	w.t.Helper()
	n, err := chromedp.Run(w.ctx, chromedp.Evaluate[int](`fetch(`+js(path)+`, {credentials: "same-origin"}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		w.t.Fatalf("GET %s: %v", path, err)
	}
	return n
}

// clickLink follows the first link in main whose address matches re, as a
// person picking the first row of a list.
func (w *walk) clickLink(re, what string) string {
	w.t.Helper()
	href, err := chromedp.Run(w.ctx, chromedp.Evaluate[string](`(() => {
		const re = new RegExp(`+js(re)+`);
		const a = [...document.querySelectorAll("main a[href]")].find(a => re.test(a.getAttribute("href")));
		if (!a) return "";
		a.click();
		return a.getAttribute("href");
	})()`))
	if err != nil || href == "" {
		w.t.Fatalf("%s: no link to %s on %s: %v\n%s", w.prefix, what, pageURL(w.ctx), err, pageText(w.ctx))
	}
	return href
}

// press clicks, with the mouse where it is on the screen, the button the
// expression finds, after checking the whole button is within the screen's
// width (a cut-off button is one a person may miss).
func (w *walk) press(findJS, what string) {
	w.t.Helper()
	box, err := chromedp.Run(w.ctx, chromedp.Evaluate[[]float64](`(() => {
		const b = `+findJS+`;
		if (!b) return [];
		b.scrollIntoView({block: "center"});
		const r = b.getBoundingClientRect();
		return [r.left, r.top, r.right, r.bottom, window.innerWidth];
	})()`))
	if err != nil || len(box) == 0 {
		w.t.Fatalf("%s: no %s on %s: %v", w.prefix, what, pageURL(w.ctx), err)
	}
	if box[0] < 0 || box[2] > box[4] {
		w.t.Errorf("%s: %s is cut off: %.0f–%.0f px of a %.0f px screen", w.prefix, what, box[0], box[2], box[4])
	}
	do(w.t, w.ctx, chromedp.MouseClickXY((box[0]+box[2])/2, (box[1]+box[3])/2))
}

func (w *walk) signIn(email, pw string) {
	w.t.Helper()
	w.open("/login", "login")
	do(w.t, w.ctx,
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`), chromedp.NodeVisible))
	waitJS(w.t, w.ctx, "signed in", `location.pathname !== "/login" && document.readyState === "complete"`)
}

func pageURL(ctx context.Context) string {
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + location.search`))
	return s
}

// walkData is what the walk needs in the database: an admin, a student per
// screen, a filler student who takes the last place of a slot, and slots:
// one whose access is open at once, one for the keyboard booking, and one
// per screen that is full by the time the student clicks it.
type walkData struct {
	owner    *booksmeta.User
	students []*booksmeta.User
	filler   *booksmeta.User
	open     time.Time // starts 30 minutes from now: access already open
	keyboard time.Time
	full     []time.Time
	slots    map[time.Time]int64 // slot IDs by start
}

const studentPassword = "student-password-1"

func seedWalk(t *testing.T, srv *apptest.Server) *walkData {
	t.Helper()
	bg := context.Background()
	owner, err := srv.Accounts.EnsureSuperAdmin(bg, "owner@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	d := &walkData{owner: owner}
	add := func(email, first, last string) *booksmeta.User {
		pw, role, paid, active, limit := studentPassword, booksmeta.RoleStudent, true, true, 5
		u, err := srv.Accounts.AdminCreate(bg, owner, accounts.UserInput{Email: &email, FirstName: &first, LastName: &last,
			Password: &pw, Role: &role, Paid: &paid, Active: &active, BookingLimit: &limit}, 3)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	for _, sc := range screens {
		d.students = append(d.students, add(fmt.Sprintf("anna.%d@example.com", sc.width), "Анна", fmt.Sprintf("Иванова-%d", sc.width)))
	}
	d.filler = add("boris@example.com", "Борис", "Петров")
	// Notices piled up before the walk, as after a week of schedule
	// changes: the calendar must still show what matters on a phone.
	if err := srv.Store.InTx(bg, func(tx *store.Tx) error {
		for _, u := range d.students {
			for day := 1; day <= 4; day++ {
				if err := tx.AddNotice(bg, &booksmeta.Notice{UserID: u.ID, Kind: "booking_cancelled", Title: "Бронирование отменено",
					Body: fmt.Sprintf("Администратор отменил ваше бронирование на %02d.11.2026 10:00–11:00 (Europe/Moscow). Причина: профилактика сервера. Выберите другое время в календаре.", day)}); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Settings.Put(bg, map[string]string{
		booking.ServerHost: "rdp.school.example:3389", booking.ServerLogin: "smeta-user", booking.ServerPassword: serverPassword,
		booking.ServerInstructions: "Подключитесь через «Подключение к удалённому рабочему столу».",
		// Access opens an hour ahead, so the slot 30 minutes away is open
		// as soon as it is booked, on the real clock.
		booking.AccessOpensMinutesBefore: "60",
		settings.GetCourseWebhookSecret:  "walk-webhook-secret",
	}, 0); err != nil {
		t.Fatal(err)
	}
	loc := srv.Settings.Location(bg)
	now := time.Now().In(loc)
	d.open = now.Add(30 * time.Minute).Truncate(time.Minute)
	// Later hours start after the first one ends: nothing overlaps.
	d.keyboard = d.open.Truncate(time.Hour).Add(2 * time.Hour)
	d.slots = map[time.Time]int64{}
	slot := func(at time.Time, capacity int) {
		end := at.Add(time.Hour)
		sl, err := srv.Schedule.CreateSlot(bg, schedule.SlotInput{Start: &at, End: &end, Capacity: &capacity})
		if err != nil {
			t.Fatalf("slot at %s: %v", at, err)
		}
		d.slots[at] = sl.ID
	}
	slot(d.open, len(screens))
	slot(d.keyboard, len(screens))
	for i := range screens {
		at := d.keyboard.Add(time.Duration(i+1) * time.Hour)
		d.full = append(d.full, at)
		slot(at, 1)
	}

	// A booking the admin walk can open whichever walk runs first.
	later := d.keyboard.Add(time.Duration(len(screens)+3) * time.Hour)
	slot(later, 2)
	if _, err := srv.Booking.Book(bg, d.filler.ID, d.slots[later]); err != nil {
		t.Fatalf("seed booking: %v", err)
	}

	// A paid webhook, so the log has an entry to open.
	body := `{"action":"user_payment","user":{"email":"buyer@example.com","first_name":"Вера"},"event_id":"walk-1"}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/getcourse/webhook", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GetCourse-Signature", webhook.Sign("walk-webhook-secret", []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}
	return d
}

// TestWalk walks the student's and the admin's main paths in a real
// browser at 1366×900 and at 390×844 (a phone), checking every page with
// axe-core, for horizontal scroll on the phone, and saving screenshots.
func TestWalk(t *testing.T) {
	axeJS := loadAxe(t)
	shots := screenshotDir(t)
	t.Logf("screenshots in %s", shots)
	srv := apptest.Start(t, apptest.Options{})
	d := seedWalk(t, srv)
	for i, sc := range screens {
		t.Run(fmt.Sprintf("student-%d", sc.width), func(t *testing.T) {
			w := &walk{t: t, srv: srv, axeJS: axeJS, shots: shots}
			w.start("student", sc.width, sc.height, sc.mobile)
			studentWalk(w, d, i)
			t.Logf("%s: %d pages checked", w.prefix, w.pages)
		})
	}
	for _, sc := range screens {
		t.Run(fmt.Sprintf("admin-%d", sc.width), func(t *testing.T) {
			w := &walk{t: t, srv: srv, axeJS: axeJS, shots: shots}
			w.start("admin", sc.width, sc.height, sc.mobile)
			adminWalk(w, d)
			t.Logf("%s: %d pages checked", w.prefix, w.pages)
		})
	}
	if axeJS == "" {
		t.Skip("walk done without the accessibility check: axe-core not found (see above)")
	}
}

func studentWalk(w *walk, d *walkData, i int) {
	t, ctx, srv := w.t, w.ctx, w.srv
	me := d.students[i]
	// Signed out: the pages a newcomer may meet before the first sign-in.
	w.open("/forgot-password", "forgot-password")
	w.openAny("/set-password?token=used-or-wrong", "set-password-bad-link")
	w.openAny("/no-such-page", "not-found")
	w.signIn(me.Email, studentPassword)
	w.arrived("/", "calendar")

	// Book the hour that starts in 30 minutes: its access opens at once.
	week := "/?week=" + d.open.Format("2006-01-02")
	w.open(week, "calendar-week")
	sayYes(t, ctx)
	do(t, ctx, chromedp.Click(chromedp.CSS(bookButton(d.slots[d.open])), chromedp.NodeVisible))
	waitJS(t, ctx, "my bookings after booking", `location.pathname === "/bookings"`)
	// Booked inside its window: the confirmation says access is open now,
	// not "shortly before the start".
	waitText(t, ctx, "main", "Время забронировано. Доступ к серверу уже открыт")
	waitText(t, ctx, "main", "Доступ к серверу открыт")
	w.pageDone("bookings-access")
	checkPasswordReadable(w)
	w.pageDone("bookings-password-shown")

	// A slot taken by someone else while the calendar was open: the
	// refusal must be where the student is looking.
	full := d.full[i]
	w.open("/?week="+full.Format("2006-01-02"), "calendar-before-refusal")
	if _, err := srv.Booking.Book(context.Background(), d.filler.ID, d.slots[full]); err != nil {
		t.Fatalf("filler books the last place: %v", err)
	}
	sayYes(t, ctx)
	do(t, ctx, chromedp.Click(chromedp.CSS(bookButton(d.slots[full])), chromedp.NodeVisible))
	waitJS(t, ctx, "refusal shown", refusalJS+` !== null`)
	rect, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => { const r = `+refusalJS+`.getBoundingClientRect(); return [r.top, r.bottom, window.innerHeight]; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if rect[0] < 0 || rect[1] > rect[2] {
		t.Errorf("%s: the refusal «На это время мест больше нет» is outside the screen: top %.0f, bottom %.0f, screen height %.0f",
			w.prefix, rect[0], rect[1], rect[2])
	}
	w.pageDone("calendar-refused")

	keyboardBooking(w, me, d.keyboard)

	w.open("/profile", "profile")
	w.open("/bookings", "bookings")
	// Notices: a page of their own where there is one, else the section
	// on the student's pages (the booking made one: «Бронирование подтверждено»).
	if w.status("/notices") == http.StatusOK {
		w.open("/notices", "notices")
	} else {
		w.open("/", "calendar-notices")
	}
	waitText(t, ctx, "main", "Бронирование подтверждено")
}

// refusalJS finds the booking refusal: the alert with the reason.
const refusalJS = `([...document.querySelectorAll("#booking-error, [role=alert]")].find(e => e.textContent.includes("мест больше нет")) || null)`

// bookButton is the "Забронировать" button of the slot with the id.
func bookButton(id int64) string {
	return fmt.Sprintf(`form[action="/book"]:has(input[name=slot_id][value="%d"]) button[type=submit]`, id)
}

// checkPasswordReadable reveals the password in the access panel and checks
// that the element shows all of it, and that it is the password the API
// gives for the booking.
func checkPasswordReadable(w *walk) {
	t, ctx := w.t, w.ctx
	type shown struct {
		Found                    bool
		Text                     string
		ScrollWidth, ClientWidth int
		RightEdge, ViewportWidth float64
	}
	find := `(() => {
		// The field labelled «Пароль», else the one the «Скрыть» button controls.
		const label = [...document.querySelectorAll("main label")].find(l => l.textContent.trim() === "Пароль");
		const btn = [...document.querySelectorAll("main button")].find(b => b.textContent.trim() === "Скрыть");
		const el = (label && (label.control || document.getElementById(label.htmlFor))) ||
			(btn && document.getElementById(btn.getAttribute("aria-controls") || btn.getAttribute("data-reveal") || ""));
		if (!el) return {Found: false};
		const r = el.getBoundingClientRect();
		return {Found: true, Text: "value" in el ? el.value : el.textContent.trim(), ScrollWidth: el.scrollWidth, ClientWidth: el.clientWidth,
			RightEdge: r.right, ViewportWidth: window.innerWidth};
	})()`
	// «Показать» next to the password: the nearest one around its label.
	w.press(`(() => {
		const label = [...document.querySelectorAll("main label")].find(l => l.textContent.trim() === "Пароль");
		for (let e = label; e && e !== document.body; e = e.parentElement) {
			const b = [...e.querySelectorAll("button")].find(b => b.textContent.trim() === "Показать");
			if (b) return b;
		}
		return [...document.querySelectorAll("main button")].find(b => b.textContent.trim() === "Показать");
	})()`, "«Показать» for the password")
	waitJS(t, ctx, "password revealed", `[...document.querySelectorAll("main button")].some(b => b.textContent.trim() === "Скрыть")`)
	s, err := chromedp.Run(ctx, chromedp.Evaluate[shown](find))
	if err != nil || !s.Found {
		t.Fatalf("%s: no element labelled «Пароль» in the access panel: %v", w.prefix, err)
	}
	if s.Text != serverPassword {
		t.Errorf("%s: the access panel shows the password %q, want %q", w.prefix, s.Text, serverPassword)
	}
	if s.ScrollWidth > s.ClientWidth {
		t.Errorf("%s: the password field is %d px wide but its text needs %d px: the student cannot read it", w.prefix, s.ClientWidth, s.ScrollWidth)
	}
	if s.RightEdge > s.ViewportWidth {
		t.Errorf("%s: the password field ends at %.0f px, past the screen (%.0f px)", w.prefix, s.RightEdge, s.ViewportWidth)
	}
	copyPassword(w, s.Text)
	// The API, in the same session, gives the same password.
	api, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/api/v1/bookings", {credentials: "same-origin"}).then(r => r.json()).then(async list => {
		const bs = (list.bookings || list.items || list).filter(b => b.status === "active");
		for (const b of bs) {
			const r = await fetch("/api/v1/bookings/" + b.id + "/access", {credentials: "same-origin"});
			if (r.ok) return (await r.json()).password;
		}
		return "no booking with open access in the API: " + JSON.stringify(list);
	})`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("access from the API: %v", err)
	}
	if api != s.Text {
		t.Errorf("%s: the page shows %q, the API gives %q", w.prefix, s.Text, api)
	}
}

// keyboardBooking books the first free hour of at's week with Tab and
// Enter (Space on the phone) only, as a person without a mouse, and sees it confirmed.
func keyboardBooking(w *walk, me *booksmeta.User, at time.Time) {
	t, ctx := w.t, w.ctx
	w.open("/?week="+at.Format("2006-01-02"), "calendar-keyboard")
	// The confirmation dialog is answered by the browser (acceptDialogs),
	// as pressing Enter on its OK would.
	const presses = 150
	focused, onBook := "", false
	for i := 0; i < presses && !onBook; i++ {
		do(t, ctx, chromedp.KeyEvent(kb.Tab))
		focused, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.tagName + ":" + document.activeElement.textContent.trim() : ""`))
		onBook = strings.HasPrefix(focused, "BUTTON:Забронировать")
	}
	if !onBook {
		t.Fatalf("%s: %d presses of Tab never reached a «Забронировать» button (last: %q)", w.prefix, presses, focused)
	}
	// Enter on the wide screen, Space on the phone: both press a button.
	key := kb.Enter
	if w.mobile {
		key = " "
	}
	do(t, ctx, chromedp.KeyEvent(key))
	waitJS(t, ctx, "my bookings after the keyboard booking", `location.pathname === "/bookings" && document.readyState === "complete"`)
	waitText(t, ctx, "main", "Время забронировано")
	waitText(t, ctx, "main", at.Format("15:04"))
	w.pageDone("bookings-keyboard")
	bs, err := w.srv.Store.BookingsByUser(context.Background(), me.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.StartsAt.Equal(at) && b.Status == booksmeta.BookingActive {
			return
		}
	}
	t.Errorf("%s: no booking at %s after the keyboard booking", w.prefix, at)
}

// linkInputJS is the field holding a one-time set-password link.
const linkInputJS = `[...document.querySelectorAll("main input")].find(i => i.value.includes("/set-password?token="))`

// adminPages are walked in order; the optional ones are skipped while they
// answer 404 (being built).
var adminPages = []struct {
	path, name string
	optional   bool
}{
	{"/admin/users", "users", false},
	{"", "user-edit", false},
	{"/admin/users/new", "user-new", false},
	{"", "user-created-link", false},
	{"", "set-password", false},
	{"/admin/slots", "slots", false},
	{"", "slot-edit", false},
	{"/admin/bookings", "bookings", false},
	{"", "booking-detail", false},
	{"", "access-history", false},
	{"/admin/webhooks", "webhooks", false},
	{"", "webhook-entry", false},
	{"/admin/getcourse/connect", "getcourse-connect", false},
	{"/admin/getcourse", "getcourse-calls", false},
	{"/admin/offers", "tariffs", false},
	{"", "tariff-added", false},
	{"", "tariff-edit", false},
	{"/admin/offers/recompute", "tariffs-recompute", false},
	{"/admin/mail", "mail", false},
	{"/admin/mail-templates", "mail-templates", false},
	{"", "mail-template", false},
	{"/admin/backups", "backups", false},
	{"/admin/settings", "settings", false},
	{"/admin/settings/general", "settings-general", false},
	{"/admin/access", "access", false},
	{"/admin/audit", "audit", false},
	{"/admin/system", "system", false},
}

func adminWalk(w *walk, d *walkData) {
	t, ctx := w.t, w.ctx
	w.signIn(d.owner.Email, password)
	w.arrived("/admin", "dashboard")
	if !w.mobile {
		// Thirteen sections in a column beside the page: the header is one
		// line, and every section is on the first screen without scrolling.
		waitJS(t, ctx, "the admin menu beside the page, the header one line",
			`document.querySelector("header.top").offsetHeight < 70 &&
			 [...document.querySelectorAll('nav[aria-label="Разделы панели администратора"] a')].every(a => {
			   const r = a.getBoundingClientRect(), m = document.getElementById("main").getBoundingClientRect();
			   return r.bottom <= innerHeight && r.right <= m.left;
			 }) && document.querySelectorAll('nav[aria-label="Разделы панели администратора"] a').length === 13`)
	}
	var booking string // the booking page's path, once opened
	for _, p := range adminPages {
		switch p.name {
		case "booking-detail":
			booking = w.clickLink(`^/admin/bookings/\d+$`, "a booking")
			w.arrived(booking, p.name)
		case "access-history":
			w.arrived(w.clickLink(`^/admin/access/bookings/`+strings.TrimPrefix(booking, "/admin/bookings/")+`$`, "the booking's access history"), p.name)
		case "user-edit":
			href := w.clickLink(fmt.Sprintf(`^/admin/users/%d$`, d.students[0].ID), "the student's page")
			w.arrived(href, p.name)
			waitJS(t, ctx, "the student's email in the form", `document.getElementById("email") && document.getElementById("email").value === `+js(d.students[0].Email))
		case "webhook-entry":
			w.arrived(w.clickLink(`^/admin/webhooks/\d+$`, "a webhook log entry"), p.name)
			waitText(t, ctx, "main", "buyer@example.com")
		case "user-created-link":
			// A new student with an invitation link, shown once.
			do(t, ctx,
				chromedp.SendKeys(chromedp.ID("email"), fmt.Sprintf("new.%s@example.com", w.prefix)),
				chromedp.SendKeys(chromedp.ID("first_name"), "Ольга"),
				chromedp.Click(chromedp.CSS(`form[action="/admin/users/new"] button[type=submit]`), chromedp.NodeVisible))
			waitJS(t, ctx, "the invitation link", linkInputJS+` !== undefined`)
			w.pageDone(p.name)
		case "set-password":
			link, err := chromedp.Run(ctx, chromedp.Evaluate[string](linkInputJS+`.value`))
			if err != nil {
				t.Fatal(err)
			}
			w.open(link[strings.Index(link, "/set-password?"):], p.name)
		case "slot-edit":
			w.open("/admin/slots?week="+d.open.Format("2006-01-02"), "slots-week")
			w.arrived(w.clickLink(`^/admin/slots/\d+$`, "a slot"), p.name)
		case "tariff-added":
			// A tariff added from the form: 10 hours for 60 days.
			value := strings.TrimPrefix(w.prefix, "admin-") + "77"
			do(t, ctx,
				chromedp.SetValue(chromedp.ID("match_value"), value),
				chromedp.SetValue(chromedp.ID("hours"), "10"),
				chromedp.SetValue(chromedp.ID("access_days"), "60"),
				chromedp.Click(chromedp.CSS(`form:has(#match_value) button[type=submit]`), chromedp.NodeVisible))
			// The list shows the new rule (the page before had another
			// width's rule already, so its value is what tells them apart).
			waitJS(t, ctx, "the tariff in the list", `document.readyState === "complete" && document.querySelector("main table") && document.querySelector("main table").textContent.includes(`+js(value)+`)`)
			w.pageDone(p.name)
		case "tariff-edit":
			w.arrived(w.clickLink(`^/admin/offers/\d+$`, "a tariff"), p.name)
		case "mail-template":
			w.arrived(w.clickLink(`^/admin/mail[-/]templates/[a-z_]+$`, "a mail template"), p.name)
		default:
			if p.optional {
				if st := w.status(p.path); st == http.StatusNotFound {
					t.Logf("%s answers 404 (not built yet): skipped", p.path)
					continue
				} else if st != http.StatusOK {
					t.Errorf("%s answers %d", p.path, st)
					continue
				}
			}
			w.open(p.path, p.name)
		}
	}
}

// copyPassword presses the password's «Копировать» button where it is on
// the screen, and reads the clipboard: the student pastes what is shown.
func copyPassword(w *walk, want string) {
	t, ctx := w.t, w.ctx
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted, Origin: w.srv.URL}); err != nil {
			t.Fatalf("clipboard permission: %v", err)
		}
	}
	// The copy button of the revealed password: the one naming it, else
	// the last button of its row.
	w.press(`(() => {
		const hide = [...document.querySelectorAll("main button")].find(b => b.textContent.trim() === "Скрыть");
		const id = hide.getAttribute("aria-controls") || hide.getAttribute("data-reveal");
		return [...document.querySelectorAll("main button")].find(b => b.textContent.trim().startsWith("Копировать") &&
			(b.getAttribute("data-copy") === id || b.getAttribute("aria-controls") === id)) ||
			[...hide.parentElement.querySelectorAll("button")].pop();
	})()`, "«Копировать» for the password")
	waitJS(t, ctx, "copied", `document.getElementById("live") && document.getElementById("live").textContent !== ""`)
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: read the clipboard: %v", w.prefix, err)
	}
	if got != want {
		t.Errorf("%s: «Копировать» put %q on the clipboard, the panel shows %q", w.prefix, got, want)
	}
}
