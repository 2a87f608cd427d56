//go:build e2e

package e2e

import (
	"booksmeta"

	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"booksmeta/internal/apptest"
	"booksmeta/internal/getcourse/getcoursetest"
	"booksmeta/internal/mail/mailtest"
	"booksmeta/internal/schedule"
	"booksmeta/internal/store"
)

// pathTimeout bounds the whole walk in the browser; it is generous because
// the machine running it may be slow and shared.
const pathTimeout = 6 * time.Minute

// setPasswordLink finds the one-time link in the welcome mail's text.
var setPasswordLink = regexp.MustCompile(`https?://[^\s"<>]+/set-password\?token=[^\s"<>]+`)

// The whole path of issue 12 in one walk, on a desktop screen: the admin
// copies the process address from «Подключение GetCourse», the fake
// GetCourse calls it for a new student's payment (twice, as a process run
// again would), the page shows the delivery and what arrived, the welcome
// mail reaches a real SMTP server, and the student sets a password with its
// link and books an hour.
func TestGetCoursePathInBrowser(t *testing.T) {
	// The public address (BOOKSMETA_BASE_URL) is a reverse proxy in front of
	// the app, as nginx is in production: the page builds the process
	// address from it, the welcome mail its link, and both are used as
	// they are. Its port is known before the app starts.
	var appURL *url.URL
	public := httptest.NewUnstartedServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(appURL)
		r.Out.Host = r.In.Host
		r.SetXForwarded()
	}})
	base := "http://" + public.Listener.Addr().String()
	smtp := mailtest.Start(t)
	srv := apptest.Start(t, apptest.Options{Env: map[string]string{
		"BOOKSMETA_BASE_URL": base,
		"MAIL_HOST":          smtp.Host(),
		"MAIL_PORT":          strconv.Itoa(smtp.Port()),
		"MAIL_ENCRYPTION":    "none",
		"MAIL_FROM_EMAIL":    "school@example.com",
		"MAIL_FROM_NAME":     "Школа сметного дела",
	}})
	var err error
	if appURL, err = url.Parse(srv.URL); err != nil {
		t.Fatal(err)
	}
	public.Start()
	t.Cleanup(public.Close)

	bg := context.Background()
	if _, err := srv.Accounts.EnsureSuperAdmin(bg, "owner@example.com", password); err != nil {
		t.Fatal(err)
	}
	// A free hour tomorrow at noon, school time: at least twelve hours
	// ahead whatever the hour now, so it is bookable and not yet open.
	loc := srv.Settings.Location(bg)
	now := time.Now().In(loc)
	start := time.Date(now.Year(), now.Month(), now.Day()+1, 12, 0, 0, 0, loc)
	end := start.Add(time.Hour)
	capacity := 1
	slot, err := srv.Schedule.CreateSlot(bg, schedule.SlotInput{Start: &start, End: &end, Capacity: &capacity})
	if err != nil {
		t.Fatal(err)
	}

	// 1. The admin signs in, opens the setup page from the menu, generates
	// the secret and copies the process address with «Копировать».
	admin := newTabFor(t, pathTimeout)
	do(t, admin, chromedp.EmulateViewport(1366, 900))
	do(t, admin, chromedp.Navigate(base+"/login"))
	waitH1(t, admin, "Вход")
	do(t, admin,
		chromedp.SendKeys(chromedp.ID("email"), "owner@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`), chromedp.NodeVisible))
	waitH1(t, admin, "Панель администратора")
	do(t, admin, chromedp.Click(chromedp.CSS(`nav a[href="/admin/getcourse/connect"]`), chromedp.NodeVisible))
	waitH1(t, admin, "Подключение GetCourse")
	do(t, admin, chromedp.Click(chromedp.ID("generate-secret"), chromedp.NodeVisible))
	waitText(t, admin, "#ot-h", "Новый секрет сохранён")
	screenshot(t, admin, "path-1-secret-generated")

	// The real clipboard of the browser, as the admin's Ctrl+V would see it.
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(admin, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted, Origin: base}); err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}
	do(t, admin, chromedp.Click(chromedp.CSS(`button[data-copy="process-url"]`), chromedp.NodeVisible))
	waitText(t, admin, "#live", "Скопировано в буфер обмена")
	copied, err := chromedp.Run(admin, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("read the clipboard: %v", err)
	}
	if shown := value(t, admin, "#process-url"); copied != shown {
		t.Fatalf("copied %q, the page shows %q", copied, shown)
	}
	secret, err := srv.Settings.WebhookSecret(bg)
	if err != nil || secret == "" {
		t.Fatalf("no secret saved: %v", err)
	}
	if !strings.HasPrefix(copied, base+"/api/getcourse/webhook?secret="+secret+"&") ||
		!strings.Contains(copied, "{object.user.email}") || !strings.Contains(copied, "{object.status}") {
		t.Fatalf("copied address %q: want the public intake with the saved secret and GetCourse's variables", copied)
	}

	// Later the admin comes back to the page: nothing has arrived yet.
	do(t, admin, chromedp.Click(chromedp.CSS(`nav a[href="/admin/getcourse/connect"]`), chromedp.NodeVisible))
	waitH1(t, admin, "Подключение GetCourse")
	waitText(t, admin, "#recent-h + .note", "Запросов от GetCourse ещё не было")

	// 2. GetCourse runs the process for a new student's paid order: the
	// copied address with its variables filled in, one GET, no retry.
	const email = "irina.kuznetsova@example.com"
	order := getcoursetest.Order{DealID: 7700123, Number: 4501, Status: "payed", IsPayed: true,
		Cost: 12000, Payed: 12000, OfferIDs: []int64{3301}, Positions: []string{"Доступ к серверу: 10 часов"},
		CreatedAt: time.Now().Add(-time.Hour), PaidAt: time.Now(),
		User: getcoursetest.OrderUser{ID: 880077, Email: email, FirstName: "Ирина", LastName: "Кузнецова", Phone: "+7 900 555-12-34"}}
	gc := getcoursetest.NewDeliverer(30 * time.Second) // GetCourse's is shorter; this machine may be slow
	deliver := func(wantDuplicate bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(bg, time.Minute)
		defer cancel()
		d := gc.SendProcess(ctx, http.MethodGet, copied, order, getcoursetest.ProcessQuirks{StatusLabel: true})
		if d.Error != "" || d.HTTPStatus != http.StatusOK || d.Method != http.MethodGet {
			t.Fatalf("process call: %s answered %d %s, error %q", d.Method, d.HTTPStatus, d.Answer, d.Error)
		}
		u, err := url.Parse(d.URL)
		if err != nil {
			t.Fatal(err)
		}
		if q := u.Query(); u.Host != public.Listener.Addr().String() || q.Get("status") != "Завершен" || q.Get("email") != email {
			t.Fatalf("GetCourse called %s with status %q, email %q", u.Host, q.Get("status"), q.Get("email"))
		}
		var a struct {
			Success   bool   `json:"success"`
			EventID   string `json:"event_id"`
			Duplicate *bool  `json:"duplicate"`
		}
		if err := json.Unmarshal(d.Answer, &a); err != nil || !a.Success || a.Duplicate == nil || *a.Duplicate != wantDuplicate {
			t.Fatalf("process call answered %s (%v), want success and duplicate:%v", d.Answer, err, wantDuplicate)
		}
	}
	deliver(false)
	// The same call again (the process run once more on the order).
	deliver(true)

	// 3. The admin reloads the page: both deliveries, newest first, and the
	// field report of the accepted one.
	do(t, admin, chromedp.Reload())
	waitH1(t, admin, "Подключение GetCourse")
	rows := recentDeliveryRows(t, admin, 2)
	if !strings.Contains(rows[0], email) || !strings.Contains(rows[0], "повтор") ||
		!strings.Contains(rows[1], email) || !strings.Contains(rows[1], "принято") {
		t.Fatalf("recent deliveries:\n%s", strings.Join(rows, "\n"))
	}
	fields := fieldReport(t, admin)
	if f := fields["Email ученика"]; !strings.Contains(f, "пришло") || !strings.Contains(f, email) || strings.Contains(f, "не пришло") {
		t.Fatalf("field report for the email: %q", f)
	}
	for label, want := range map[string]string{"Имя": "Ирина", "ID заказа": "7700123", "Статус заказа": "Завершен", "Стоимость": "12000"} {
		if f := fields[label]; !strings.Contains(f, want) {
			t.Errorf("field report %s: %q, want %q", label, f, want)
		}
	}
	waitText(t, admin, "#fields-h + p", "способ: процесс «Вызвать URL»")
	screenshot(t, admin, "path-2-deliveries")

	// 4. The welcome mail arrives at the SMTP server. Today the outbox's
	// one-minute sweep sends it, so the wait is long.
	t0 := time.Now()
	msgs := smtp.WaitMessages(1, 2*time.Minute)
	t.Logf("welcome mail arrived %s after the payment", time.Since(t0).Round(time.Millisecond))
	if len(msgs) != 1 || len(msgs[0].To) != 1 || !strings.EqualFold(msgs[0].To[0], email) {
		t.Fatalf("mail: %d message(s), first to %v", len(msgs), msgs[0].To)
	}
	mail, err := msgs[0].Parse()
	if err != nil {
		t.Fatal(err)
	}
	if from := mail.Header.Get("From"); !strings.Contains(from, "school@example.com") {
		t.Errorf("welcome mail from %q", from)
	}
	link := setPasswordLink.FindString(mail.Text)
	if !strings.HasPrefix(link, base+"/set-password?token=") {
		t.Fatalf("welcome mail %q without a set-password link on the public address:\n%s", mail.Header.Get("Subject"), mail.Text)
	}
	student, err := srv.Store.UserByEmail(bg, email)
	if err != nil {
		t.Fatal(err)
	}
	if !student.Paid || !student.Active || student.FirstName != "Ирина" || student.Role != booksmeta.RoleStudent {
		t.Fatalf("student after the payment: %+v", student)
	}
	// One welcome mail for the two deliveries; the outbox records it as sent
	// right after the server accepted it.
	var mails []*store.OutboxMail
	apptest.WaitFor(t, 30*time.Second, "the welcome mail recorded as sent", func() bool {
		mails, err = srv.Store.MailByUser(bg, student.ID)
		return err == nil && len(mails) > 0 && mails[0].Status == store.MailSent
	})
	if len(mails) != 1 || mails[0].Kind != "welcome" {
		t.Fatalf("outbox for the student: %d rows, want one welcome mail", len(mails))
	}
	// By now the payment was applied: the page says so.
	do(t, admin, chromedp.Reload())
	waitH1(t, admin, "Подключение GetCourse")
	if rows := recentDeliveryRows(t, admin, 2); !strings.Contains(rows[1], "обработано") {
		t.Fatalf("accepted delivery after the welcome mail: %q", rows[1])
	}

	// 5. The student, in a browser context of her own, follows the link.
	sctx, cancel := chromedp.NewContext(admin, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	do(t, sctx, chromedp.EmulateViewport(1366, 900))
	acceptDialogs(sctx)
	do(t, sctx, chromedp.Navigate(link))
	waitH1(t, sctx, "Установка пароля")
	screenshot(t, sctx, "path-3-set-password")
	const studentPassword = "irina-password-1"
	do(t, sctx,
		chromedp.SendKeys(chromedp.ID("password"), studentPassword),
		chromedp.SendKeys(chromedp.ID("password2"), studentPassword),
		chromedp.Click(chromedp.CSS(`form[action="/set-password"] button`), chromedp.NodeVisible))
	waitH1(t, sctx, "Пароль установлен")
	do(t, sctx, chromedp.Click(chromedp.CSS(`main a[href="/login"]`), chromedp.NodeVisible))
	waitH1(t, sctx, "Вход")
	do(t, sctx,
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), studentPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`), chromedp.NodeVisible))
	waitH1(t, sctx, "Бронирование сервера")
	waitText(t, sctx, "main", "Осталось бронирований")

	// Tomorrow may be in next week's page.
	free := `li.slot.free form:has(input[name=slot_id][value="` + itoa(slot.ID) + `"]) button[type=submit]`
	if n, err := chromedp.Run(sctx, chromedp.Evaluate[int](`document.querySelectorAll(`+js(free)+`).length`)); err != nil {
		t.Fatal(err)
	} else if n == 0 {
		do(t, sctx, chromedp.Click(chromedp.CSS(`nav.pager a[href^="/?week="]:last-child`), chromedp.NodeVisible))
		waitJS(t, sctx, "the slot in next week's calendar", `location.search.includes("week=") && document.querySelector(`+js(free)+`)`)
	}
	screenshot(t, sctx, "path-4-calendar")
	sayYes(t, sctx)
	do(t, sctx, chromedp.Click(chromedp.CSS(free), chromedp.NodeVisible))
	waitH1(t, sctx, "Мои бронирования")
	waitText(t, sctx, ".flash", "Время забронировано")
	waitText(t, sctx, "article.booking h3", start.Format("15:04")+"–"+end.Format("15:04"))
	waitText(t, sctx, "article.booking h3", strconv.Itoa(start.Day())+" ")
	screenshot(t, sctx, "path-5-my-bookings")
	bookings, err := srv.Store.BookingsByUser(bg, student.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(bookings) != 1 || bookings[0].SlotID != slot.ID || bookings[0].Status != booksmeta.BookingActive {
		t.Fatalf("bookings of the student: %+v", bookings)
	}
}

// recentDeliveryRows waits for n rows in «Последние запросы от GetCourse»
// and returns their text, newest first.
func recentDeliveryRows(t *testing.T, ctx context.Context, n int) []string {
	t.Helper()
	const rows = `document.querySelectorAll("#recent-h + .table-wrap tbody tr")`
	waitJS(t, ctx, strconv.Itoa(n)+" recent deliveries", rows+`.length === `+strconv.Itoa(n))
	out, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(`+rows+`, tr => tr.innerText.replace(/\s+/g, " "))`))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fieldReport is «Что пришло в последнем принятом запросе»: each field's
// label with the rest of its row.
func fieldReport(t *testing.T, ctx context.Context) map[string]string {
	t.Helper()
	waitJS(t, ctx, "the field report", `document.querySelector("table.fields tbody tr")`)
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](`Array.from(document.querySelectorAll("table.fields tbody tr"),
		tr => Array.from(tr.cells, td => td.innerText.replace(/\s+/g, " ").trim()))`))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		if len(r) > 0 {
			label := strings.TrimSpace(strings.TrimSuffix(r[0], "(обязательно)"))
			out[label] = strings.Join(r[1:], " | ")
		}
	}
	return out
}
