package gcsync_test

import (
	"booksmeta"

	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"booksmeta/internal/clocktest"
	"booksmeta/internal/config"
	"booksmeta/internal/db"
	"booksmeta/internal/dbtest"
	"booksmeta/internal/enrol"
	"booksmeta/internal/gcsync"
	"booksmeta/internal/getcourse"
	"booksmeta/internal/getcourse/getcoursetest"
	"booksmeta/internal/jobs"
	"booksmeta/internal/metrics"
	"booksmeta/internal/secretbox"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
	"booksmeta/internal/webhook"
)

// A key whose URL-escaped spelling differs, so both are checked for leaks.
const testKey = "gc+Key/SECRET=0042abc"

// env is one Book Smeta process over a shared database: store, settings,
// webhook processor and the GetCourse service, wired as app does.
type env struct {
	t    *testing.T
	ctx  context.Context
	st   *store.Store
	clk  *clocktest.Clock
	set  *settings.Service
	proc *webhook.Processor
	svc  *gcsync.Service
}

func logger() *slog.Logger {
	var w io.Writer = io.Discard
	if os.Getenv("BOOKSMETA_TEST_LOG") != "" {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

func newEnv(t *testing.T, d *db.DB, fake *getcoursetest.Server) *env {
	t.Helper()
	clk := clocktest.New()
	st := store.New(d, store.WithClock(clk.Now))
	box, err := secretbox.New("test-secret-key")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{Timezone: "Europe/Moscow", DefaultBookingLimit: 3}
	if fake != nil {
		cfg.GetCourseAPIURL, cfg.GetCourseAPIKey = fake.URL(), testKey
	}
	set := settings.New(st, box, cfg)
	gcsync.DefineSettings(set)
	log := logger()
	proc := &webhook.Processor{Store: st, Enrol: &enrol.Service{Defaults: set}, Metrics: metrics.New(), Log: log}
	svc := gcsync.New(st, set, log)
	svc.Processor = proc
	svc.PollInterval = 5 * time.Millisecond
	return &env{t: t, ctx: context.Background(), st: st, clk: clk, set: set, proc: proc, svc: svc}
}

func newFake(t *testing.T, opts ...getcoursetest.Option) *getcoursetest.Server {
	t.Helper()
	f := getcoursetest.New(append([]getcoursetest.Option{getcoursetest.WithKey(testKey)}, opts...)...)
	t.Cleanup(f.Close)
	return f
}

func setup(t *testing.T, opts ...getcoursetest.Option) (*env, *getcoursetest.Server) {
	t.Helper()
	fake := newFake(t, opts...)
	return newEnv(t, dbtest.Open(t), fake), fake
}

func ago(d time.Duration) time.Time { return time.Now().Add(-d) }

const day = 24 * time.Hour

func paid(email, title string) getcoursetest.Deal {
	return getcoursetest.Deal{UserEmail: email, Title: title, Status: "payed", Cost: 1200000, CreatedAt: ago(2 * day), PaidAt: ago(day)}
}

func (e *env) sync(opts gcsync.SyncOptions) (gcsync.Report, error) {
	e.t.Helper()
	return e.svc.Sync(e.ctx, opts)
}

func (e *env) mustSync(processNow bool) (gcsync.Report, []gcsync.Progress) {
	e.t.Helper()
	var ps []gcsync.Progress
	rep, err := e.sync(gcsync.SyncOptions{ProcessNow: processNow, Progress: func(p gcsync.Progress) { ps = append(ps, p) }})
	if err != nil {
		e.t.Fatalf("sync: %v (%s)", err, gcsync.Russian(err))
	}
	return rep, ps
}

func (e *env) user(email string) *booksmeta.User {
	e.t.Helper()
	u, err := e.st.UserByEmail(e.ctx, email)
	if err != nil {
		e.t.Fatalf("user %s: %v", email, err)
	}
	return u
}

func (e *env) noUser(email string) {
	e.t.Helper()
	if _, err := e.st.UserByEmail(e.ctx, email); !errors.Is(err, store.ErrNotFound) {
		e.t.Fatalf("user %s exists (err %v)", email, err)
	}
}

func (e *env) syncEvents() []*booksmeta.WebhookEvent {
	e.t.Helper()
	all, err := e.st.ListWebhooks(e.ctx, store.WebhookFilter{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*booksmeta.WebhookEvent
	for _, ev := range all {
		if ev.Auth == booksmeta.AuthSync {
			out = append(out, ev)
		}
	}
	return out
}

func (e *env) calls() []*store.GetCourseCall {
	e.t.Helper()
	cs, err := e.svc.ListCalls(e.ctx, store.GetCourseCallFilter{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return cs
}

func (e *env) state() *store.GetCourseSync {
	e.t.Helper()
	s, err := e.svc.Status(e.ctx)
	if err != nil || s.State == nil {
		e.t.Fatalf("status: %v %+v", err, s)
	}
	return s.State
}

func (e *env) pendingExport() *store.GetCourseExport {
	e.t.Helper()
	s, err := e.svc.Status(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return s.Export
}

func stages(ps []gcsync.Progress, stage string) int {
	n := 0
	for _, p := range ps {
		if p.Stage == stage {
			n++
		}
	}
	return n
}

func TestFirstSyncCreatesPaidStudents(t *testing.T) {
	e, fake := setup(t,
		getcoursetest.WithUsers(getcoursetest.User{Email: "anna@example.ru", FirstName: "Анна", LastName: "Иванова", Phone: "+79001234567"}),
		getcoursetest.WithDeals(
			paid("anna@example.ru", "Доступ к серверу: 10 часов"),
			paid("Petr@Example.ru", "Доступ к серверу: 5 часов"),
			getcoursetest.Deal{UserEmail: "unpaid@example.ru", Title: "Не оплачен", Status: "new", CreatedAt: ago(day)},
			getcoursetest.Deal{UserEmail: "old@example.ru", Title: "Давно", Status: "payed", CreatedAt: ago(100 * day), PaidAt: ago(90 * day)},
		))
	rep, ps := e.mustSync(true)

	if rep.Rows != 2 || rep.New != 2 || rep.Known != 0 || rep.Applied != 2 || rep.Failed != 0 {
		t.Fatalf("report %+v", rep)
	}
	anna := e.user("anna@example.ru")
	if !anna.Paid || !anna.Active || anna.Role != booksmeta.RoleStudent || anna.FirstName != "Анна" || anna.LastName != "Иванова" ||
		anna.Phone != "+79001234567" || anna.GetCourseUserID == "" || anna.BookingLimit != 3 {
		t.Fatalf("anna: %+v", anna)
	}
	if p := e.user("petr@example.ru"); !p.Paid || !p.Active {
		t.Fatalf("petr: %+v", p)
	}
	e.noUser("unpaid@example.ru")
	e.noUser("old@example.ru") // paid before the first sync's window

	// Same path as a user_payment webhook: the welcome mail and the deal.
	if mails, _ := e.st.MailByUser(e.ctx, anna.ID); len(mails) != 1 || mails[0].Kind != "welcome" {
		t.Fatalf("mails: %+v", mails)
	}
	deals, _ := e.st.DealsByUser(e.ctx, anna.ID)
	var annaDeal getcoursetest.Deal
	for _, d := range fake.Deals() {
		if d.UserEmail == "anna@example.ru" {
			annaDeal = d
		}
	}
	if len(deals) != 1 || deals[0].Key != "id:"+itoa(annaDeal.ID) || !deals[0].Paid || deals[0].Cost != "12000.00" || deals[0].DealNumber != annaDeal.Number {
		t.Fatalf("deals: %+v", deals)
	}

	evs := e.syncEvents()
	if len(evs) != 2 {
		t.Fatalf("%d sync events in the webhook log, want 2", len(evs))
	}
	for _, ev := range evs {
		if ev.Outcome != booksmeta.OutcomeAccepted || ev.Event != enrol.EventUserPayment || ev.State != booksmeta.StateDone ||
			!strings.HasPrefix(ev.IdempotencyKey, "sync:deal:") || !strings.HasSuffix(ev.IdempotencyKey, ":paid") ||
			!strings.Contains(ev.Reason, "синхронизацией") || !strings.Contains(ev.Result, "создан") {
			t.Fatalf("event %+v", ev)
		}
	}

	starts := fake.RequestsFor("export.deals")
	if len(starts) != 1 {
		t.Fatalf("%d exports started, want 1", len(starts))
	}
	q := starts[0].Query
	if q.Get("status") != "payed" || q.Get("payed_at[from]") != ago(30*day).In(moscow).Format("2006-01-02") {
		t.Fatalf("export filters %v", q)
	}
	if n := len(fake.RequestsFor("export.status")); n != 2 {
		t.Fatalf("%d status polls, want 2 (not ready, ready)", n)
	}
	if stages(ps, "waiting") != 1 || stages(ps, "export_started") != 1 || stages(ps, "done") != 1 {
		t.Fatalf("progress %+v", ps)
	}
	st := e.state()
	if st.State != gcsync.StateDone || st.CursorAt.IsZero() || st.RowsFound != 2 || st.EventsNew != 2 || !strings.Contains(st.Message, "завершена") {
		t.Fatalf("state %+v", st)
	}
	if e.pendingExport() != nil {
		t.Fatal("export still pending after it was consumed")
	}
	ops := map[string]int{}
	for _, c := range e.calls() {
		ops[c.Op]++
		if c.Account != "127.0.0.1" || c.URL == "" || c.Method != "GET" {
			t.Fatalf("call %+v", c)
		}
	}
	if ops["export.deals"] != 1 || ops["export.status"] != 2 {
		t.Fatalf("recorded calls %v", ops)
	}
	if s, _ := e.svc.Status(e.ctx); s.BudgetUsed != 3 || s.BudgetLimit != 100 || !s.Configured || s.EveryHours != 24 {
		t.Fatalf("status %+v", s)
	}
}

var moscow = time.FixedZone("MSK", 3*60*60)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestRerunCreatesNothingTwice(t *testing.T) {
	e, fake := setup(t, getcoursetest.WithDeals(paid("a@example.ru", "A"), paid("b@example.ru", "B")))
	// Events queued but not applied yet: the idempotency keys must hold.
	if rep, _ := e.mustSync(false); rep.New != 2 {
		t.Fatalf("first run %+v", rep)
	}
	if rep, _ := e.mustSync(false); rep.New != 0 || rep.Known != 2 {
		t.Fatalf("second run before processing %+v", rep)
	}
	if n := len(e.syncEvents()); n != 2 {
		t.Fatalf("%d events after two runs, want 2", n)
	}
	runJobs(t, e)
	a := e.user("a@example.ru")
	// Applied: the deals table now knows them, still nothing new.
	if rep, _ := e.mustSync(true); rep.New != 0 || rep.Known != 2 {
		t.Fatalf("third run %+v", rep)
	}
	// A new payment since: only it is added.
	fake.AddDeal(paid("c@example.ru", "C"))
	if rep, _ := e.mustSync(true); rep.New != 1 || rep.Known != 2 || rep.Applied != 1 {
		t.Fatalf("fourth run %+v", rep)
	}
	if n := len(e.syncEvents()); n != 3 {
		t.Fatalf("%d events, want 3", n)
	}
	if mails, _ := e.st.MailByUser(e.ctx, a.ID); len(mails) != 1 {
		t.Fatalf("%d welcome mails for a, want 1", len(mails))
	}
	students, paidN, _, _ := e.st.CountUsers(e.ctx)
	if students != 3 || paidN != 3 {
		t.Fatalf("students %d paid %d", students, paidN)
	}
	// Later runs look back from the cursor, with a day of overlap.
	starts := fake.RequestsFor("export.deals")
	if got, want := starts[len(starts)-1].Query.Get("payed_at[from]"), time.Now().Add(-day).In(moscow).Format("2006-01-02"); got != want {
		t.Fatalf("later run filter payed_at[from]=%s, want %s", got, want)
	}
}

// runJobs drives the job queue until nothing is due, as the server would.
func runJobs(t *testing.T, e *env) *jobs.Runner {
	t.Helper()
	r := jobs.New(e.st, logger())
	r.Handle(webhook.JobKind, e.proc.HandleJob)
	e.svc.Register(r)
	for r.RunOne(e.ctx, "test") {
	}
	return r
}

func TestWebhookAndSyncMeet(t *testing.T) {
	e, fake := setup(t, getcoursetest.WithDeals(paid("a@example.ru", "A"), paid("b@example.ru", "B")))
	var dealA getcoursetest.Deal
	for _, d := range fake.Deals() {
		if d.UserEmail == "a@example.ru" {
			dealA = d
		}
	}
	// The webhook for a's payment arrived before the sync.
	err := e.st.InTx(e.ctx, func(tx *store.Tx) error {
		_, err := (&enrol.Service{Defaults: e.set}).Apply(e.ctx, tx, enrol.Event{Name: enrol.EventDealCreated,
			Email: "a@example.ru", DealID: itoa(dealA.ID), Status: "payed"}, 1)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := e.mustSync(true)
	if rep.New != 1 || rep.Known != 1 {
		t.Fatalf("report %+v", rep)
	}
	if evs := e.syncEvents(); len(evs) != 1 || evs[0].Email != "b@example.ru" {
		t.Fatalf("events %+v", evs)
	}
}

func TestDeactivatedStudentStaysOff(t *testing.T) {
	e, fake := setup(t, getcoursetest.WithDeals(paid("a@example.ru", "A")))
	e.mustSync(true)
	u := e.user("a@example.ru")
	u.Active, u.DeactivatedByAdmin = false, true
	if err := e.st.InTx(e.ctx, func(tx *store.Tx) error { return tx.UpdateUser(e.ctx, u) }); err != nil {
		t.Fatal(err)
	}
	fake.AddDeal(paid("a@example.ru", "Ещё 10 часов"))
	if rep, _ := e.mustSync(true); rep.New != 1 || rep.Applied != 1 {
		t.Fatalf("report %+v", rep)
	}
	if u := e.user("a@example.ru"); u.Active || !u.DeactivatedByAdmin {
		t.Fatalf("sync re-activated a student the admin deactivated: %+v", u)
	}
}

func TestExportNotReadyThenReady(t *testing.T) {
	e, fake := setup(t, getcoursetest.WithExportReadyAfter(4), getcoursetest.WithDeals(paid("a@example.ru", "A")))
	rep, ps := e.mustSync(true)
	if rep.New != 1 {
		t.Fatalf("report %+v", rep)
	}
	if n := stages(ps, "waiting"); n != 4 {
		t.Fatalf("%d waiting reports, want 4", n)
	}
	for _, p := range ps {
		if p.Stage == "waiting" && !strings.Contains(p.Message, "ещё готовится") {
			t.Fatalf("waiting message %q", p.Message)
		}
	}
	if n := len(fake.RequestsFor("export.status")); n != 5 {
		t.Fatalf("%d polls, want 5", n)
	}
	notReady := 0
	for _, c := range e.calls() {
		if c.ErrorKind == string(getcourse.KindNotReady) {
			notReady++
			if c.ErrorCode != 909 {
				t.Fatalf("call %+v", c)
			}
		}
	}
	if notReady != 4 {
		t.Fatalf("%d not-ready calls recorded, want 4", notReady)
	}
	e.user("a@example.ru")
}

func TestEmptyExportIsASuccess(t *testing.T) {
	e, fake := setup(t)
	fake.Inject("export.status", getcoursetest.Response{Body: `{"success":false,"error":true,"error_message":"Файл не создан","info":null}`})
	rep, _ := e.mustSync(true)
	if rep.Rows != 0 || rep.New != 0 {
		t.Fatalf("report %+v", rep)
	}
	if st := e.state(); st.State != gcsync.StateDone || st.CursorAt.IsZero() {
		t.Fatalf("state %+v", st)
	}
}

func stopErr(t *testing.T, err error, kind getcourse.Kind) *gcsync.StopError {
	t.Helper()
	var se *gcsync.StopError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a StopError %s", err, kind)
	}
	if se.Kind != kind {
		t.Fatalf("stop kind %s (%s), want %s", se.Kind, se.Message, kind)
	}
	return se
}

func TestRateLimitedMidSync(t *testing.T) {
	e, fake := setup(t, getcoursetest.WithDeals(paid("a@example.ru", "A")))
	// Start and the first poll pass; the second poll meets GetCourse's 903.
	fake.SetRateLimit(2, 2*time.Hour)
	_, err := e.sync(gcsync.SyncOptions{ProcessNow: true})
	se := stopErr(t, err, getcourse.KindRateLimited)
	if se.RetryAt.Before(time.Now().Add(30*time.Minute)) || !strings.Contains(se.Message, "100 запросов") ||
		!strings.Contains(se.Message, "продолжит") {
		t.Fatalf("stop %+v", se)
	}
	st := e.state()
	if st.State != gcsync.StateRateLimited || st.ErrorKind != string(getcourse.KindRateLimited) || st.Message != se.Message || st.RetryAt.IsZero() {
		t.Fatalf("state %+v", st)
	}
	ex := e.pendingExport()
	if ex == nil {
		t.Fatal("the export was forgotten")
	}
	e.noUser("a@example.ru")
	limited := false
	for _, c := range e.calls() {
		limited = limited || (c.ErrorKind == string(getcourse.KindRateLimited) && c.ErrorCode == 903)
	}
	if !limited {
		t.Fatal("the 903 answer is not in the call log")
	}

	// Next run: the limit is over, the same export is picked up.
	fake.SetRateLimit(0, 0)
	rep, _ := e.mustSync(true)
	if rep.New != 1 || rep.ExportID != ex.ExportID {
		t.Fatalf("report %+v (pending export %d)", rep, ex.ExportID)
	}
	if n := len(fake.RequestsFor("export.deals")); n != 1 {
		t.Fatalf("%d exports started, want 1", n)
	}
	e.user("a@example.ru")
	if st := e.state(); st.State != gcsync.StateDone || !st.RetryAt.IsZero() || st.ErrorKind != "" {
		t.Fatalf("state after resume %+v", st)
	}
}

func TestOwnBudgetStopsBeforeGetCourseDoes(t *testing.T) {
	e, fake := setup(t, getcoursetest.WithExportReadyAfter(3), getcoursetest.WithDeals(paid("a@example.ru", "A")))
	e.svc.Budget.Limit = 2
	_, err := e.sync(gcsync.SyncOptions{})
	se := stopErr(t, err, getcourse.KindBudgetExhausted)
	if !strings.Contains(se.Message, "Следующий запрос можно будет сделать после") || se.RetryAt.IsZero() {
		t.Fatalf("stop %+v", se)
	}
	if n := len(fake.Requests()); n != 2 {
		t.Fatalf("fake saw %d requests; the refused one must not be sent", n)
	}
	e.svc.Budget.Limit = 100
	if rep, _ := e.mustSync(true); rep.New != 1 {
		t.Fatalf("report %+v", rep)
	}
	if n := len(fake.RequestsFor("export.deals")); n != 1 {
		t.Fatalf("%d exports started, want 1", n)
	}
}

func TestExportBusyAndOutages(t *testing.T) {
	e, fake := setup(t, getcoursetest.WithDeals(paid("a@example.ru", "A")))
	fake.Inject("export.deals", getcoursetest.Response{Body: `{"success":false,"error":true,"error_code":905,"error_message":"Уже запущен экспорт"}`})
	_, err := e.sync(gcsync.SyncOptions{})
	se := stopErr(t, err, getcourse.KindExportBusy)
	if se.RetryAt.IsZero() || e.state().State != gcsync.StateWaiting || e.pendingExport() != nil {
		t.Fatalf("busy: %+v %+v", se, e.state())
	}
	fake.Inject("export.status", getcoursetest.Response{Status: 502, Body: "Bad Gateway", ContentType: "text/html"})
	_, err = e.sync(gcsync.SyncOptions{})
	stopErr(t, err, getcourse.KindServer)
	if e.pendingExport() == nil || e.state().State != gcsync.StateError {
		t.Fatalf("outage lost the export: %+v", e.state())
	}
	// An export GetCourse no longer knows is dropped, and the next run starts anew.
	fake.Inject("export.status", getcoursetest.Response{Body: `{"success":false,"error":true,"error_message":"Экспорт не найден","info":null}`})
	_, err = e.sync(gcsync.SyncOptions{})
	se = stopErr(t, err, getcourse.KindAPI)
	if e.pendingExport() != nil || !strings.Contains(se.Message, "отброшена") {
		t.Fatalf("unknown export kept: %+v", se)
	}
	// GetCourse finishes its orphan meanwhile; until then a new start would get 905.
	fake.FinishExports()
	if rep, _ := e.mustSync(true); rep.New != 1 {
		t.Fatalf("report %+v", rep)
	}
	if n := len(fake.RequestsFor("export.deals")); n != 3 {
		t.Fatalf("%d export starts, want 3 (busy, first, after the drop)", n)
	}
}

func TestSettingsProblems(t *testing.T) {
	e := newEnv(t, dbtest.Open(t), nil)
	_, err := e.sync(gcsync.SyncOptions{})
	se := stopErr(t, err, getcourse.KindNotConfigured)
	if !strings.Contains(se.Message, "Не указан аккаунт") {
		t.Fatalf("message %q", se.Message)
	}
	fake := newFake(t)
	if err := e.set.Put(e.ctx, map[string]string{settings.GetCourseAPIURL: fake.URL(), settings.GetCourseAPIKey: "wrong-key"}, 0); err != nil {
		t.Fatal(err)
	}
	_, err = e.sync(gcsync.SyncOptions{})
	se = stopErr(t, err, getcourse.KindWrongKey)
	if !se.RetryAt.IsZero() || e.state().State != gcsync.StateFailed || !strings.Contains(e.state().Message, "API-ключ") {
		t.Fatalf("wrong key: %+v %+v", se, e.state())
	}
}

// TestRestartMidExport stops a sync while GetCourse builds the export, then
// starts a second process on the same database: it must poll the recorded
// export, not start another.
func TestRestartMidExport(t *testing.T) {
	fake := newFake(t, getcoursetest.WithExportReadyAfter(1000), getcoursetest.WithDeals(paid("a@example.ru", "A")))
	url := dbtest.URL(t)
	open := func() *db.DB {
		d, err := db.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return d
	}
	d1 := open()
	e1 := newEnv(t, d1, fake)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := e1.svc.Sync(ctx, gcsync.SyncOptions{Progress: func(p gcsync.Progress) {
		if p.Stage == "waiting" {
			cancel() // the process is stopped while it waits
		}
	}})
	se := stopErr(t, err, getcourse.KindCanceled)
	if !strings.Contains(se.Message, "не потеряется") {
		t.Fatalf("message %q", se.Message)
	}
	ex := e1.pendingExport()
	if ex == nil || ex.Polls != 1 {
		t.Fatalf("pending export %+v", ex)
	}
	d1.Close()

	d2 := open()
	defer d2.Close()
	e2 := newEnv(t, d2, fake)
	fake.FinishExports()
	rep, _ := e2.mustSync(true)
	if rep.ExportID != ex.ExportID || rep.New != 1 {
		t.Fatalf("report %+v, pending was %d", rep, ex.ExportID)
	}
	if n := len(fake.RequestsFor("export.deals")); n != 1 {
		t.Fatalf("%d exports started, want 1", n)
	}
	e2.user("a@example.ru")
}

// TestScheduledSyncThroughJobs runs the server's path: the hourly tick starts
// the export, poll jobs follow it, process_webhook jobs apply the events.
func TestScheduledSyncThroughJobs(t *testing.T) {
	e, fake := setup(t, getcoursetest.WithExportReadyAfter(2), getcoursetest.WithDeals(paid("a@example.ru", "A")))
	notified := 0
	e.svc.Notify = func() { notified++ }
	r := jobs.New(e.st, logger())
	r.Handle(webhook.JobKind, e.proc.HandleJob)
	e.svc.Register(r)
	r.EnqueuePeriodic(e.ctx)
	drain := func() {
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if !r.RunOne(e.ctx, "w") {
				if s, _ := e.svc.Status(e.ctx); s.Export == nil {
					for r.RunOne(e.ctx, "w") {
					}
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
		t.Fatal("the sync did not finish through jobs")
	}
	drain()
	if u := e.user("a@example.ru"); !u.Paid || !u.Active {
		t.Fatalf("user %+v", u)
	}
	if notified == 0 {
		t.Fatal("the job runner was not woken for the new events")
	}
	if n := len(fake.RequestsFor("export.status")); n != 3 {
		t.Fatalf("%d polls, want 3", n)
	}
	// The next tick within the period does nothing: the sync is not due.
	if err := e.svc.HandleSyncJob(e.ctx, &store.Job{Kind: gcsync.JobSync, Payload: "{}"}); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.RequestsFor("export.deals")); n != 1 {
		t.Fatalf("%d exports, want 1", n)
	}
	// Off: nothing, even when due.
	if err := e.set.Put(e.ctx, map[string]string{gcsync.SettingSyncHours: "0"}, 0); err != nil {
		t.Fatal(err)
	}
	e.clk.Set(time.Now().Add(48 * time.Hour))
	if err := e.svc.HandleSyncJob(e.ctx, &store.Job{Kind: gcsync.JobSync, Payload: "{}"}); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.RequestsFor("export.deals")); n != 1 {
		t.Fatalf("sync ran while switched off")
	}
	// On again and due: a tick starts a new export.
	if err := e.set.Put(e.ctx, map[string]string{gcsync.SettingSyncHours: "24"}, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.HandleSyncJob(e.ctx, &store.Job{Kind: gcsync.JobSync, Payload: "{}"}); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.RequestsFor("export.deals")); n != 2 {
		t.Fatalf("%d exports after a due tick, want 2", n)
	}
}

// TestJobsScheduleResumeAfterRateLimit checks the server does not hammer
// GetCourse after a 903: the stop schedules one poll for later.
func TestJobsScheduleResumeAfterRateLimit(t *testing.T) {
	e, fake := setup(t, getcoursetest.WithDeals(paid("a@example.ru", "A")))
	fake.SetRateLimit(1, 2*time.Hour)
	r := jobs.New(e.st, logger())
	r.Handle(webhook.JobKind, e.proc.HandleJob)
	e.svc.Register(r)
	r.EnqueuePeriodic(e.ctx)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		r.RunOne(e.ctx, "w")
		if e.state().State == gcsync.StateRateLimited {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if e.state().State != gcsync.StateRateLimited {
		t.Fatalf("state %+v", e.state())
	}
	time.Sleep(20 * time.Millisecond)
	for r.RunOne(e.ctx, "w") {
	}
	if n := len(fake.RequestsFor("export.status")); n != 1 {
		t.Fatalf("%d polls after the 903; the retry must wait", n)
	}
	// The tick does not step in while a retry is scheduled.
	if err := e.svc.HandleSyncJob(e.ctx, &store.Job{Kind: gcsync.JobSync, Payload: "{}"}); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Requests()); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
	// When the retry is due, the poll job resumes the same export.
	fake.SetRateLimit(0, 0)
	e.clk.Advance(time.Until(e.state().RetryAt) + time.Second)
	for deadline := time.Now().Add(5 * time.Second); e.pendingExport() != nil && time.Now().Before(deadline); {
		if !r.RunOne(e.ctx, "w") {
			time.Sleep(2 * time.Millisecond)
		}
	}
	for r.RunOne(e.ctx, "w") {
	}
	e.user("a@example.ru")
	if n := len(fake.RequestsFor("export.deals")); n != 1 {
		t.Fatalf("%d exports, want 1", n)
	}
}

func TestRequestSync(t *testing.T) {
	e, fake := setup(t, getcoursetest.WithDeals(paid("a@example.ru", "A")))
	if err := e.set.Put(e.ctx, map[string]string{gcsync.SettingSyncHours: "0"}, 0); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RequestSync(e.ctx); err != nil {
		t.Fatal(err)
	}
	r := jobs.New(e.st, logger())
	r.Handle(webhook.JobKind, e.proc.HandleJob)
	e.svc.Register(r)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if !r.RunOne(e.ctx, "w") {
			if _, err := e.st.UserByEmail(e.ctx, "a@example.ru"); err == nil {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	if u := e.user("a@example.ru"); !u.Paid {
		t.Fatalf("user %+v", u)
	}
	if n := len(fake.RequestsFor("export.deals")); n != 1 {
		t.Fatalf("%d exports, want 1", n)
	}
}

func TestSyncsDoNotOverlap(t *testing.T) {
	e, fake := setup(t, getcoursetest.WithExportReadyAfter(3), getcoursetest.WithDeals(paid("a@example.ru", "A"), paid("b@example.ru", "B")))
	other := gcsync.New(e.st, e.set, logger())
	other.Processor, other.PollInterval = e.proc, 5*time.Millisecond
	var wg sync.WaitGroup
	reps := make([]gcsync.Report, 2)
	errs := make([]error, 2)
	for i, s := range []*gcsync.Service{e.svc, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = s.Sync(e.ctx, gcsync.SyncOptions{ProcessNow: true})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(fake.RequestsFor("export.deals")); n != 1 {
		t.Fatalf("%d exports started by two concurrent syncs, want 1", n)
	}
	if n := len(e.syncEvents()); n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
	if reps[0].New+reps[1].New != 2 && reps[0].New != 2 && reps[1].New != 2 {
		t.Fatalf("reports %+v", reps)
	}
}

func TestConnectionTestAndCallLog(t *testing.T) {
	e, fake := setup(t, getcoursetest.WithGroups("Ученики", "PRO"))
	v := e.svc.TestConnection(e.ctx, nil)
	if !v.OK || v.Groups != 2 || !strings.Contains(v.Message, "работает") {
		t.Fatalf("verdict %+v", v)
	}
	v = e.svc.TestConnection(e.ctx, &getcourse.Config{APIURL: fake.URL(), Key: "not-the-key"})
	if v.OK || v.Kind != getcourse.KindWrongKey || !strings.Contains(v.Message, "API-ключ") {
		t.Fatalf("wrong key verdict %+v", v)
	}
	// A masked key from the panel means the saved one.
	v = e.svc.TestConnection(e.ctx, &getcourse.Config{APIURL: fake.URL(), Key: "••••••••abcd"})
	if !v.OK {
		t.Fatalf("masked key verdict %+v", v)
	}
	cs := e.calls()
	if len(cs) != 3 || cs[1].OK || cs[1].ErrorKind != string(getcourse.KindWrongKey) || cs[1].ErrorCode != 901 || !strings.Contains(cs[1].Message, "API-ключ") {
		t.Fatalf("calls %+v", cs)
	}
	if failed, _ := e.svc.ListCalls(e.ctx, store.GetCourseCallFilter{OnlyFailed: true}); len(failed) != 1 {
		t.Fatalf("failed calls %+v", failed)
	}
}

// TestKeyNeverStored makes GetCourse echo the key in every way it can and
// checks no stored record holds it.
func TestKeyNeverStored(t *testing.T) {
	e, fake := setup(t, getcoursetest.WithDeals(paid("a@example.ru", "A")))
	esc := url.QueryEscape(testKey)
	fake.Inject("groups", getcoursetest.Response{Body: `{"success":false,"error":true,"error_message":"Неверный ключ ` + testKey + ` (` + esc + `)"}`})
	fake.Inject("groups", getcoursetest.Response{Status: 301, Header: http.Header{"Location": {"https://school.example.ru/pl/api/account/groups?key=" + esc}}})
	e.svc.TestConnection(e.ctx, nil)
	e.svc.TestConnection(e.ctx, nil)
	fake.Inject("export.status", getcoursetest.Response{Status: 500, Body: "internal error for key=" + testKey})
	_, _ = e.sync(gcsync.SyncOptions{})
	e.mustSync(true)
	e.svc.PushUser(e.ctx, e.user("a@example.ru"))

	if len(fake.Requests()) < 6 {
		t.Fatalf("only %d requests reached the fake", len(fake.Requests()))
	}
	for _, r := range fake.Requests() {
		if r.Query.Get("key") != testKey && r.Form.Get("key") != testKey {
			t.Fatalf("request %s did not carry the key; the test would prove nothing", r.Op)
		}
	}
	leak := func(where, s string) {
		if strings.Contains(s, testKey) || strings.Contains(s, esc) || strings.Contains(s, url.PathEscape(testKey)) {
			t.Fatalf("the key is stored in %s: %q", where, s)
		}
	}
	cs := e.calls()
	if len(cs) < 6 {
		t.Fatalf("%d calls recorded", len(cs))
	}
	for _, c := range cs {
		leak("getcourse_calls.url", c.URL)
		leak("getcourse_calls.message", c.Message)
		leak("getcourse_calls.detail", c.Detail)
		if strings.Contains(c.URL, "key=") {
			t.Fatalf("URL keeps a key parameter: %s", c.URL)
		}
	}
	evs, _ := e.st.ListWebhooks(e.ctx, store.WebhookFilter{Limit: 1000})
	for _, ev := range evs {
		leak("webhook_events", ev.Body+ev.Payload+ev.Headers+ev.Query+ev.Reason+ev.Result+ev.LastError)
	}
	st := e.state()
	leak("getcourse_sync", st.Message)
	stored, _, _ := e.st.Setting(e.ctx, settings.GetCourseAPIKey)
	leak("settings", stored.Value)
}

func TestPushUser(t *testing.T) {
	e, fake := setup(t, getcoursetest.WithReadOnlyKey("read-only-key-123"))
	u := &booksmeta.User{Email: "new@example.ru", FirstName: "Олег", LastName: "Новиков", Phone: "+79990001122", Role: booksmeta.RoleStudent, Active: true, BookingLimit: 3}
	if err := e.st.InTx(e.ctx, func(tx *store.Tx) error { return tx.InsertUser(e.ctx, u) }); err != nil {
		t.Fatal(err)
	}
	res := e.svc.PushUser(e.ctx, u)
	if !res.OK || res.GetCourseUserID == "" || !strings.Contains(res.Message, "добавлен") {
		t.Fatalf("push %+v", res)
	}
	gu, ok := fake.UserByEmail("new@example.ru")
	if !ok || gu.FirstName != "Олег" || gu.Phone != "+79990001122" {
		t.Fatalf("fake user %+v", gu)
	}
	reqs := fake.RequestsFor("import.users")
	sys, _ := reqs[0].Params["system"].(map[string]any)
	if len(reqs) != 1 || sys == nil || sys["refresh_if_exists"] != float64(1) {
		t.Fatalf("import params %+v", reqs[0].Params)
	}
	if got := e.user("new@example.ru"); got.GetCourseUserID != res.GetCourseUserID {
		t.Fatalf("GetCourse id not stored: %+v", got)
	}
	// Again: GetCourse updates the existing user.
	if res := e.svc.PushUser(e.ctx, u); !res.OK || !strings.Contains(res.Message, "обновлены") {
		t.Fatalf("second push %+v", res)
	}

	// A read-only key: refused once, not retried.
	if err := e.set.Put(e.ctx, map[string]string{settings.GetCourseAPIKey: "read-only-key-123"}, 0); err != nil {
		t.Fatal(err)
	}
	before := len(fake.RequestsFor("import.users"))
	res = e.svc.PushUser(e.ctx, u)
	if res.OK || res.Kind != getcourse.KindReadOnly || res.Uncertain || !strings.Contains(res.Message, "Для чтения и записи") {
		t.Fatalf("read-only push %+v", res)
	}
	if n := len(fake.RequestsFor("import.users")) - before; n != 1 {
		t.Fatalf("%d import requests for one push", n)
	}

	// A timeout: the student may exist in GetCourse now; say so, do not retry.
	if err := e.set.Put(e.ctx, map[string]string{settings.GetCourseAPIKey: testKey}, 0); err != nil {
		t.Fatal(err)
	}
	e.svc.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond}
	fake.Inject("import.users", getcoursetest.Response{Delay: 2 * time.Second, Body: `{"success":true,"result":{"success":true,"user_id":1}}`})
	before = len(fake.RequestsFor("import.users"))
	res = e.svc.PushUser(e.ctx, u)
	if res.OK || res.Kind != getcourse.KindTimeout || !res.Uncertain || !strings.Contains(res.Message, "Прежде чем повторять") {
		t.Fatalf("timeout push %+v", res)
	}
	if n := len(fake.RequestsFor("import.users")) - before; n != 1 {
		t.Fatalf("%d import requests for one push", n)
	}
	var imports int
	for _, c := range e.calls() {
		if c.Op == "import.users" {
			imports++
			if c.Method != "POST" {
				t.Fatalf("call %+v", c)
			}
		}
	}
	if imports != 4 {
		t.Fatalf("%d import calls recorded, want 4", imports)
	}
}
