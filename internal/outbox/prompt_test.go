package outbox_test

import (
	"booksmeta"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"booksmeta/internal/app"
	"booksmeta/internal/apptest"
	"booksmeta/internal/mail/mailtest"
	"booksmeta/internal/outbox"
	"booksmeta/internal/store"
)

// Issue 13, finding 8: acknowledged work is done promptly. Each test makes
// the safety-net sweep and the runner's poll an hour long, so a mail that
// arrives within seconds was sent by the job its own transaction added and
// by the wake-up after that commit, not by either timer.

const promptSecret = "prompt-webhook-secret-0123456789"

// startPrompt runs an app with jobs whose only timers are an hour long. It
// returns once the sweep of the start has run, and counts later sweeps.
func startPrompt(t *testing.T, srv *mailtest.Server) (*apptest.Server, *atomic.Int32) {
	t.Helper()
	var sweeps atomic.Int32
	env := mailEnv(srv, "")
	env["GETCOURSE_WEBHOOK_SECRET"] = promptSecret
	a := apptest.Start(t, apptest.Options{Env: env, Setup: func(a *app.App) {
		a.Jobs.Poll = time.Hour
		a.Jobs.Every(outbox.JobSweep, time.Hour)
		a.Jobs.Handle(outbox.JobSweep, func(ctx context.Context, j *store.Job) error {
			sweeps.Add(1)
			return a.Outbox.HandleSweep(ctx, j)
		})
	}})
	apptest.WaitFor(t, 10*time.Second, "the sweep of the start", func() bool { return sweeps.Load() == 1 })
	return a, &sweeps
}

// arrives waits for the n-th message far less long than the hour of the
// timers, then checks that no sweep ran meanwhile.
func arrives(t *testing.T, srv *mailtest.Server, sweeps *atomic.Int32, n int) mailtest.Received {
	t.Helper()
	msgs := srv.WaitMessages(n, 20*time.Second)
	if got := sweeps.Load(); got != 1 {
		t.Fatalf("the sweep ran %d times; the mail must not depend on it", got)
	}
	return msgs[n-1]
}

func TestWelcomeMailLeavesRightAfterWebhook(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a, sweeps := startPrompt(t, srv)
	status, body := a.Do(t, http.MethodPost, "/api/getcourse/webhook?secret="+promptSecret,
		http.Header{"Content-Type": {"application/json"}},
		`{"action":"user_payment","event_id":"prompt-1","user":{"email":"olga@example.ru","first_name":"Ольга"}}`)
	if status != http.StatusOK {
		t.Fatalf("webhook: %d %s", status, body)
	}
	r := arrives(t, srv, sweeps, 1)
	if len(r.To) != 1 || r.To[0] != "olga@example.ru" || !strings.Contains(r.Text(), "/set-password?token=") {
		t.Fatalf("to %v:\n%s", r.To, r.Text())
	}
}

func TestBookingConfirmationLeavesRightAfterBooking(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a, sweeps := startPrompt(t, srv)
	ctx := context.Background()
	u := &booksmeta.User{Email: "pavel@example.ru", FirstName: "Павел", Role: booksmeta.RoleStudent, Active: true, Paid: true,
		BookingLimit: 3, PasswordHash: a.Accounts.Hash("password123")}
	if err := a.Store.InTx(ctx, func(tx *store.Tx) error { return tx.InsertUser(ctx, u) }); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	var slotID int64
	if err := a.DB.Write.QueryRow(`INSERT INTO slots (starts_at, ends_at, capacity, created_at, updated_at) VALUES ($1,$2,1,$3,$3) RETURNING id`,
		start.UnixMilli(), start.Add(time.Hour).UnixMilli(), time.Now().UnixMilli()).Scan(&slotID); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Post(a.URL+"/api/v1/auth/login", "application/json", strings.NewReader(`{"email":"pavel@example.ru","password":"password123"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		CSRF string `json:"csrf_token"`
	}
	decode(t, resp, &login)
	req, _ := http.NewRequest(http.MethodPost, a.URL+"/api/v1/bookings", strings.NewReader(`{"slot_id":`+strconv.FormatInt(slotID, 10)+`}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", login.CSRF)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("book: %d", resp.StatusCode)
	}
	r := arrives(t, srv, sweeps, 1)
	if len(r.To) != 1 || r.To[0] != "pavel@example.ru" {
		t.Fatalf("to %v", r.To)
	}
	ms, err := a.Store.MailByUser(ctx, u.ID)
	if err != nil || len(ms) != 1 || ms[0].Kind != "booking_confirmation" {
		t.Fatalf("outbox of the student: %v %v", ms, err)
	}
}

// TestQueuedMailWakesTheRunner queues mail the way any code path does, in a
// transaction of its own and without calling Notify: the commit wakes the
// runner.
func TestQueuedMailWakesTheRunner(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a, sweeps := startPrompt(t, srv)
	for i := 1; i <= 3; i++ {
		u := newStudent(t, a, fmt.Sprintf("wake%d@example.ru", i))
		welcome(t, a, u)
		if r := arrives(t, srv, sweeps, i); r.To[0] != u.Email {
			t.Fatalf("message %d to %v", i, r.To)
		}
	}
}

// TestSweepNeverSendsTwice runs the sweep over and over while mail is queued
// and sent: each mail leaves once, whoever enqueued its job.
func TestSweepNeverSendsTwice(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a := apptest.Start(t, apptest.Options{Env: mailEnv(srv, "")})
	ctx := context.Background()
	const n = 20
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var added atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			k, err := a.Outbox.Sweep(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			added.Add(int64(k))
		}
	}()
	for i := range n {
		welcome(t, a, newStudent(t, a, fmt.Sprintf("once%d@example.ru", i)))
	}
	srv.WaitMessages(n, 20*time.Second)
	apptest.WaitFor(t, 10*time.Second, "every mail sent", func() bool {
		c, err := a.Store.MailCounts(ctx)
		return err == nil && c[store.MailSent] == n
	})
	close(stop)
	wg.Wait()
	if k, err := a.Outbox.Sweep(ctx); err != nil || k != 0 {
		t.Fatalf("sweep after all sent: %d %v", k, err)
	}
	for a.Jobs.RunOne(ctx, "test") {
	}
	if got, tries := len(srv.Messages()), srv.DataAttempts(); got != n || tries != n {
		t.Fatalf("%d messages in %d transfers, want %d", got, tries, n)
	}
	seen := map[string]bool{}
	for _, m := range srv.Messages() {
		if seen[m.MessageID()] {
			t.Fatalf("sent twice: %s", m.MessageID())
		}
		seen[m.MessageID()] = true
	}
	if k := added.Load(); k != 0 {
		t.Fatalf("the sweep added %d jobs for mail that had its own", k)
	}
}

// TestOwnJobCoversMailForTheSweep: a freshly queued mail has its job, so the
// sweep leaves it alone; a mail whose job finished while mail was not
// configured is still the sweep's to pick up.
func TestOwnJobCoversMailForTheSweep(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a := start(t, srv, "")
	ctx := context.Background()
	id := welcome(t, a, newStudent(t, a, "covered@example.ru"))
	if k, err := a.Outbox.Sweep(ctx); err != nil || k != 0 {
		t.Fatalf("sweep of a mail with its own job: %d %v", k, err)
	}
	drain(t, a, id, store.MailSent)
	if n := srv.DataAttempts(); n != 1 {
		t.Fatalf("%d transfers", n)
	}

	off := start(t, nil, "")
	id = welcome(t, off, newStudent(t, off, "later@example.ru"))
	for off.Jobs.RunOne(ctx, "test") {
	}
	if m, _ := off.Store.MailByID(ctx, id); m.Status != store.MailQueued || m.Attempts != 0 {
		t.Fatalf("unconfigured: %+v", m)
	}
	rows, err := off.Store.QueuedMailWithoutJob(ctx, 10)
	if err != nil || len(rows) != 1 || rows[0].ID != id {
		t.Fatalf("the sweep's rows once the job finished: %v %v", rows, err)
	}
}

func TestRolledBackMailIsNeverSent(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	a, sweeps := startPrompt(t, srv)
	ctx := context.Background()
	lost := newStudent(t, a, "lost@example.ru")
	errRollback := errors.New("booking refused after the mail was queued")
	err := a.Store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.QueueMail(ctx, &store.OutboxMail{Kind: "welcome", ToEmail: lost.Email, UserID: lost.ID,
			DedupeKey: fmt.Sprintf("welcome:%d", lost.ID)})
		if err == nil && !ok {
			err = errors.New("not queued")
		}
		return errors.Join(err, errRollback)
	})
	if !errors.Is(err, errRollback) || err.Error() != errRollback.Error() {
		t.Fatal(err)
	}
	// A mail committed afterwards leaves; by then the runner has looked at
	// the queue, and the sweep runs too.
	welcome(t, a, newStudent(t, a, "kept@example.ru"))
	arrives(t, srv, sweeps, 1)
	if _, err := a.Outbox.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	for a.Jobs.RunOne(ctx, "test") {
	}
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].To[0] != "kept@example.ru" {
		t.Fatalf("%d messages, want only the kept mail", len(msgs))
	}
	if ms, err := a.Store.MailByUser(ctx, lost.ID); err != nil || len(ms) != 0 {
		t.Fatalf("rolled-back mail in the outbox: %v %v", ms, err)
	}
	var jobs int
	if err := a.DB.Read.QueryRow(`SELECT COUNT(*) FROM jobs WHERE kind = 'send_mail'`).Scan(&jobs); err != nil || jobs != 1 {
		t.Fatalf("send_mail jobs: %d %v, want only the kept mail's", jobs, err)
	}
}

func decode(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d", resp.Request.URL.Path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestSendOneDuringItsJobSharesTheAttempt: mail leaves as soon as it is
// queued, so a direct SendOne can meet the row's own job mid-send. The row
// is then being sent here, not left by a crash: the call waits for that
// attempt instead of failing the row as possibly delivered, and the
// message goes out once.
func TestSendOneDuringItsJobSharesTheAttempt(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth(mailUser, mailPass))
	arrived, release := srv.HoldData()
	t.Cleanup(release)
	a := start(t, srv, "")
	ctx := context.Background()
	id := welcome(t, a, newStudent(t, a, "shared@example.ru"))
	job := make(chan bool)
	go func() { job <- a.Jobs.RunOne(ctx, "test") }()
	<-arrived // the job's send is at the end of DATA
	var released atomic.Bool
	direct := make(chan error)
	go func() {
		err := a.Outbox.SendOne(ctx, id)
		if !released.Load() {
			err = errors.Join(err, errors.New("returned while the job's send was still in progress"))
		}
		direct <- err
	}()
	// Give a wrong SendOne the time to answer early; a right one waits.
	time.Sleep(100 * time.Millisecond)
	released.Store(true)
	release()
	if err := <-direct; err != nil {
		t.Fatal(err)
	}
	if !<-job {
		t.Fatal("the job did not run")
	}
	m, err := a.Store.MailByID(ctx, id)
	if err != nil || m.Status != store.MailSent || m.Attempts != 1 {
		t.Fatalf("row: %+v %v", m, err)
	}
	if n := srv.DataAttempts(); n != 1 {
		t.Fatalf("%d transfers", n)
	}
}
