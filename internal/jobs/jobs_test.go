package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"booksmeta/internal/clocktest"
	"booksmeta/internal/db"
	"booksmeta/internal/dbtest"
	"booksmeta/internal/jobs"
	"booksmeta/internal/store"
)

// newClock is a stopped clock for a Store and the test to share.
func newClock() *clocktest.Clock { return clocktest.At(time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)) }

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newRunner returns a Runner over a fresh database with test timings.
func newRunner(t *testing.T, st *store.Store) *jobs.Runner {
	t.Helper()
	r := jobs.New(st, quiet())
	r.Workers = 2
	r.Poll = 10 * time.Millisecond
	r.Lease = 5 * time.Second
	r.BackoffBase = 10 * time.Millisecond
	r.BackoffMax = 40 * time.Millisecond
	r.PeriodicTick = 10 * time.Millisecond
	return r
}

func enqueue(t *testing.T, st *store.Store, j *store.Job) int64 {
	t.Helper()
	err := st.InTx(context.Background(), func(tx *store.Tx) error {
		ok, err := tx.EnqueueJob(context.Background(), j)
		if err == nil && !ok {
			err = fmt.Errorf("job %q not inserted", j.UniqueKey)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return j.ID
}

type jobRow struct {
	State     string
	Attempts  int
	LastError string
	RunAt     time.Time
	LockedBy  string
}

func row(t *testing.T, st *store.Store, id int64) jobRow {
	t.Helper()
	var r jobRow
	var runAt int64
	err := st.DB().Read.QueryRowContext(context.Background(),
		`SELECT state, attempts, last_error, run_at, locked_by FROM jobs WHERE id = $1`, id).
		Scan(&r.State, &r.Attempts, &r.LastError, &runAt, &r.LockedBy)
	if err != nil {
		t.Fatal(err)
	}
	r.RunAt = time.UnixMilli(runAt).UTC()
	return r
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// run starts r.Run and returns a stop function that cancels it and waits.
func run(t *testing.T, r *jobs.Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

type outcomes struct {
	mu  sync.Mutex
	got []string
}

func (o *outcomes) observe(kind, outcome string, _ time.Duration) {
	o.mu.Lock()
	o.got = append(o.got, kind+":"+outcome)
	o.mu.Unlock()
}

func (o *outcomes) list() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.got...)
}

func TestJobRuns(t *testing.T) {
	t.Parallel()
	st := store.New(dbtest.Open(t))
	r := newRunner(t, st)
	var obs outcomes
	r.Observe(obs.observe)
	var got atomic.Value
	r.Handle("greet", func(ctx context.Context, j *store.Job) error {
		got.Store(j.Payload)
		return nil
	})
	stop := run(t, r)
	id := enqueue(t, st, &store.Job{Kind: "greet", Payload: `{"name":"Анна"}`})
	r.Notify()
	waitFor(t, "the job to finish", func() bool { return row(t, st, id).State == store.JobDone })
	stop()
	if got.Load() != `{"name":"Анна"}` {
		t.Fatalf("handler saw payload %v", got.Load())
	}
	if rw := row(t, st, id); rw.Attempts != 1 || rw.LastError != "" {
		t.Fatalf("row %+v", rw)
	}
	if o := obs.list(); len(o) != 1 || o[0] != "greet:done" {
		t.Fatalf("observed %v", o)
	}
}

func TestFailingJobRetriesWithBackoffThenFails(t *testing.T) {
	t.Parallel()
	clk := newClock()
	st := store.New(dbtest.Open(t), store.WithClock(clk.Now))
	r := newRunner(t, st)
	r.BackoffBase = time.Minute
	r.BackoffMax = 3 * time.Minute
	var obs outcomes
	r.Observe(obs.observe)
	calls := 0
	r.Handle("flaky", func(ctx context.Context, j *store.Job) error {
		calls++
		if j.Attempts != calls {
			t.Errorf("attempt %d reported as %d", calls, j.Attempts)
		}
		return fmt.Errorf("smtp down (try %d)", calls)
	})
	ctx := context.Background()
	id := enqueue(t, st, &store.Job{Kind: "flaky", MaxAttempts: 4})

	// Backoff doubles per attempt, with jitter in [d/2, d], capped at BackoffMax.
	wantMax := []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute}
	for attempt, max := range wantMax {
		start := clk.Now()
		if !r.RunOne(ctx, "w1") {
			t.Fatalf("attempt %d: no job claimed", attempt+1)
		}
		rw := row(t, st, id)
		if rw.State != store.JobQueued || rw.Attempts != attempt+1 || !strings.Contains(rw.LastError, fmt.Sprintf("try %d", attempt+1)) {
			t.Fatalf("after attempt %d: %+v", attempt+1, rw)
		}
		delay := rw.RunAt.Sub(start)
		if delay < max/2-time.Millisecond || delay > max+time.Millisecond {
			t.Fatalf("attempt %d: retry after %v, want between %v and %v", attempt+1, delay, max/2, max)
		}
		// Not due before its time, even when a worker looks.
		clk.Advance(delay - time.Second)
		if r.RunOne(ctx, "w1") {
			t.Fatalf("attempt %d: retried before its backoff passed", attempt+1)
		}
		clk.Advance(time.Second)
	}
	// The fourth attempt is the last: the job is failed for good.
	if !r.RunOne(ctx, "w1") {
		t.Fatal("last attempt not claimed")
	}
	rw := row(t, st, id)
	if rw.State != store.JobFailed || rw.Attempts != 4 || !strings.Contains(rw.LastError, "try 4") {
		t.Fatalf("final row %+v", rw)
	}
	clk.Advance(24 * time.Hour)
	if r.RunOne(ctx, "w1") {
		t.Fatal("a failed job ran again")
	}
	if calls != 4 {
		t.Fatalf("handler called %d times, want 4", calls)
	}
	want := []string{"flaky:retry", "flaky:retry", "flaky:retry", "flaky:failed"}
	if o := obs.list(); fmt.Sprint(o) != fmt.Sprint(want) {
		t.Fatalf("observed %v, want %v", o, want)
	}
}

func TestRetryThenSucceedWithRealTime(t *testing.T) {
	t.Parallel()
	st := store.New(dbtest.Open(t))
	r := newRunner(t, st)
	var calls atomic.Int32
	r.Handle("eventually", func(ctx context.Context, j *store.Job) error {
		if calls.Add(1) < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	id := enqueue(t, st, &store.Job{Kind: "eventually"})
	run(t, r)
	r.Notify()
	waitFor(t, "the job to succeed on its third attempt", func() bool { return row(t, st, id).State == store.JobDone })
	if rw := row(t, st, id); rw.Attempts != 3 || rw.LastError != "" || calls.Load() != 3 {
		t.Fatalf("row %+v, calls %d", rw, calls.Load())
	}
}

func TestPermanentErrorStopsRetries(t *testing.T) {
	t.Parallel()
	st := store.New(dbtest.Open(t))
	r := newRunner(t, st)
	var obs outcomes
	r.Observe(obs.observe)
	calls := 0
	r.Handle("bad_input", func(ctx context.Context, j *store.Job) error {
		calls++
		return fmt.Errorf("apply event: %w", jobs.Permanent(errors.New("no email in the event")))
	})
	id := enqueue(t, st, &store.Job{Kind: "bad_input", MaxAttempts: 10})
	if !jobs.IsPermanent(fmt.Errorf("x: %w", jobs.Permanent(errors.New("y")))) || jobs.IsPermanent(errors.New("y")) {
		t.Fatal("IsPermanent")
	}
	ctx := context.Background()
	r.RunOne(ctx, "w")
	rw := row(t, st, id)
	if rw.State != store.JobFailed || rw.Attempts != 1 || !strings.Contains(rw.LastError, "no email in the event") {
		t.Fatalf("row %+v", rw)
	}
	if r.RunOne(ctx, "w") || calls != 1 {
		t.Fatalf("ran again: calls %d", calls)
	}
	if o := obs.list(); len(o) != 1 || o[0] != "bad_input:failed" {
		t.Fatalf("observed %v", o)
	}

	// A kind nobody handles fails at once too, instead of looping.
	id = enqueue(t, st, &store.Job{Kind: "nobody_handles_this"})
	r.RunOne(ctx, "w")
	if rw := row(t, st, id); rw.State != store.JobFailed || !strings.Contains(rw.LastError, "nobody_handles_this") {
		t.Fatalf("unknown kind: %+v", rw)
	}
}

func TestPanicIsAFailureNotACrash(t *testing.T) {
	t.Parallel()
	st := store.New(dbtest.Open(t))
	r := newRunner(t, st)
	var calls atomic.Int32
	r.Handle("boom", func(ctx context.Context, j *store.Job) error {
		calls.Add(1)
		var m map[string]int
		//lint:ignore SA5000 the handler must fail as a buggy one would, with a runtime error
		m["x"] = 1
		return nil
	})
	r.Handle("fine", func(ctx context.Context, j *store.Job) error { return nil })
	boom := enqueue(t, st, &store.Job{Kind: "boom", MaxAttempts: 2})
	fine := enqueue(t, st, &store.Job{Kind: "fine"})
	run(t, r)
	r.Notify()
	waitFor(t, "the panicking job to fail for good", func() bool { return row(t, st, boom).State == store.JobFailed })
	waitFor(t, "the other job to run", func() bool { return row(t, st, fine).State == store.JobDone })
	rw := row(t, st, boom)
	if rw.Attempts != 2 || calls.Load() != 2 || !strings.Contains(rw.LastError, "panic") || !strings.Contains(rw.LastError, "boom") {
		t.Fatalf("row %+v calls %d", rw, calls.Load())
	}
}

func TestExpiredLeaseIsClaimedAgain(t *testing.T) {
	t.Parallel()
	// A stopped clock: with the real one, a loaded machine (-race, other
	// builds) let the 50 ms lease run out before the "still valid" check.
	clk := newClock()
	st := store.New(dbtest.Open(t), store.WithClock(clk.Now))
	r := newRunner(t, st)
	var ran atomic.Int32
	r.Handle("sync", func(ctx context.Context, j *store.Job) error { ran.Add(1); return nil })
	id := enqueue(t, st, &store.Job{Kind: "sync"})
	ctx := context.Background()

	// A worker claims the job with a short lease and dies without finishing.
	dead, err := st.ClaimJob(ctx, "dead-worker", 50*time.Millisecond)
	if err != nil || dead.ID != id {
		t.Fatalf("claim: %v %+v", err, dead)
	}
	if rw := row(t, st, id); rw.State != store.JobRunning || rw.LockedBy != "dead-worker" {
		t.Fatalf("claimed row %+v", rw)
	}
	// While the lease holds nobody else takes it.
	if r.RunOne(ctx, "live") {
		t.Fatal("job taken while its lease was still valid")
	}
	clk.Advance(51 * time.Millisecond) // just past the lease
	if !r.RunOne(ctx, "live") {
		t.Fatal("the expired lease was not claimed again")
	}
	rw := row(t, st, id)
	if rw.State != store.JobDone || rw.Attempts != 2 || ran.Load() != 1 {
		t.Fatalf("row %+v ran %d", rw, ran.Load())
	}
	// The dead worker waking up late cannot undo the result.
	if err := st.RetryJob(ctx, id, "dead-worker", "late failure", st.Now(), true); err != nil {
		t.Fatal(err)
	}
	if rw := row(t, st, id); rw.State != store.JobDone {
		t.Fatalf("late report from the dead worker changed the job: %+v", rw)
	}
}

func TestJobAbandonedByDeadWorkersEventuallyFails(t *testing.T) {
	t.Parallel()
	// A job that kills its worker every time (out of memory, say) must not
	// be retried forever: after MaxAttempts claims it is failed.
	clk := newClock()
	st := store.New(dbtest.Open(t), store.WithClock(clk.Now))
	r := newRunner(t, st)
	var ran atomic.Int32
	r.Handle("poison", func(ctx context.Context, j *store.Job) error { ran.Add(1); return nil })
	id := enqueue(t, st, &store.Job{Kind: "poison", MaxAttempts: 2})
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, err := st.ClaimJob(ctx, fmt.Sprintf("dead-%d", i), time.Second); err != nil {
			t.Fatalf("claim %d: %v", i, err)
		}
		clk.Advance(2 * time.Second)
	}
	if !r.RunOne(ctx, "live") {
		t.Fatal("abandoned job not claimed")
	}
	rw := row(t, st, id)
	if rw.State != store.JobFailed || ran.Load() != 0 || !strings.Contains(rw.LastError, "lease") {
		t.Fatalf("row %+v ran %d", rw, ran.Load())
	}
}

func TestPeriodicJobRunsOncePerPeriodAcrossRunners(t *testing.T) {
	t.Parallel()
	// Two instances share one database (two connections, as two processes would).
	url := dbtest.URL(t)
	ctx := context.Background()
	clk := newClock()
	open := func() *store.Store {
		d, err := db.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		if _, err := d.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return store.New(d, store.WithClock(clk.Now))
	}
	var runs sync.Map // period start -> count
	var total atomic.Int32
	var runners []*jobs.Runner
	var stores []*store.Store
	for i := 0; i < 2; i++ {
		st := open()
		stores = append(stores, st)
		r := newRunner(t, st)
		r.Every("cleanup", time.Hour)
		r.Handle("cleanup", func(ctx context.Context, j *store.Job) error {
			n, _ := runs.LoadOrStore(j.UniqueKey, new(atomic.Int32))
			n.(*atomic.Int32).Add(1)
			total.Add(1)
			return nil
		})
		runners = append(runners, r)
	}

	// Both instances try to enqueue the period's job many times at once.
	enqueueAll := func() {
		var wg sync.WaitGroup
		for _, r := range runners {
			for k := 0; k < 5; k++ {
				wg.Add(1)
				go func() { defer wg.Done(); r.EnqueuePeriodic(ctx) }()
			}
		}
		wg.Wait()
	}
	enqueueAll()
	for _, r := range runners {
		run(t, r)
	}
	waitFor(t, "the first period's job to run", func() bool { return total.Load() >= 1 })
	// Keep the schedulers ticking for a while within the same period.
	enqueueAll()
	waitFor(t, "the queue to drain", func() bool { return pending(t, stores[0]) == 0 })

	clk.Advance(time.Hour)
	enqueueAll()
	waitFor(t, "the second period's job to run", func() bool { return total.Load() >= 2 })
	enqueueAll()
	waitFor(t, "the queue to drain", func() bool { return pending(t, stores[0]) == 0 })

	if total.Load() != 2 {
		t.Fatalf("periodic job ran %d times over two periods, want 2", total.Load())
	}
	runs.Range(func(k, v any) bool {
		if n := v.(*atomic.Int32).Load(); n != 1 {
			t.Errorf("period %v ran %d times", k, n)
		}
		return true
	})
}

// pending counts jobs not yet finished.
func pending(t *testing.T, st *store.Store) int {
	t.Helper()
	c, err := st.JobCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c[store.JobQueued] + c[store.JobRunning]
}

func TestNotifyWakesAnIdleWorker(t *testing.T) {
	t.Parallel()
	st := store.New(dbtest.Open(t))
	r := newRunner(t, st)
	r.Workers = 1
	r.Poll = time.Hour // only Notify can wake the worker once it is idle
	var obs outcomes
	r.Observe(obs.observe)
	r.Handle("mail", func(ctx context.Context, j *store.Job) error { return nil })
	first := enqueue(t, st, &store.Job{Kind: "mail"})
	run(t, r)
	// The worker's first look finds the first job; then it goes idle.
	waitFor(t, "the first job", func() bool { return len(obs.list()) == 1 })
	time.Sleep(30 * time.Millisecond)
	if row(t, st, first).State != store.JobDone {
		t.Fatal("first job not done")
	}

	second := enqueue(t, st, &store.Job{Kind: "mail"})
	time.Sleep(50 * time.Millisecond)
	if s := row(t, st, second).State; s != store.JobQueued {
		t.Fatalf("an idle worker with an hour's poll ran the job without Notify (state %s)", s)
	}
	start := time.Now()
	r.Notify()
	waitFor(t, "Notify to wake the worker", func() bool { return row(t, st, second).State == store.JobDone })
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("woke after %v", d)
	}
	// Notify never blocks, even when nobody listens.
	for i := 0; i < 100; i++ {
		r.Notify()
	}
}

func TestRunReturnsAfterCancelAndLetsRunningJobFinish(t *testing.T) {
	t.Parallel()
	st := store.New(dbtest.Open(t))
	r := newRunner(t, st)
	started := make(chan struct{})
	release := make(chan struct{})
	var ctxErrInJob atomic.Value
	r.Handle("slow", func(ctx context.Context, j *store.Job) error {
		close(started)
		<-release
		ctxErrInJob.Store(fmt.Sprint(ctx.Err()))
		return nil
	})
	id := enqueue(t, st, &store.Job{Kind: "slow"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); close(release); <-done })
	r.Notify()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("job did not start")
	}
	cancel()
	select {
	case <-done:
		t.Fatal("Run returned while a job was still running")
	case <-time.After(50 * time.Millisecond):
	}
	// A job enqueued now is not started by a stopping runner.
	late := enqueue(t, st, &store.Job{Kind: "slow"})
	release <- struct{}{}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the running job finished")
	}
	if rw := row(t, st, id); rw.State != store.JobDone {
		t.Fatalf("running job was not finished cleanly: %+v", rw)
	}
	if e := ctxErrInJob.Load(); e != "<nil>" {
		t.Fatalf("the job's context was cancelled by shutdown: %v", e)
	}
	if rw := row(t, st, late); rw.State != store.JobQueued || rw.Attempts != 0 {
		t.Fatalf("job enqueued during shutdown was touched: %+v", rw)
	}
}

// TestBusyDelaysButNeverStarves: while a more urgent writer is busy, a
// worker waits before each job — but a busy signal that never clears does
// not stop background work.
func TestBusyDelaysButNeverStarves(t *testing.T) {
	st := store.New(dbtest.Open(t))
	r := newRunner(t, st)
	r.Workers = 1
	var calls atomic.Int64
	r.Busy = func() bool { calls.Add(1); return true }
	ran := make(chan struct{}, 3)
	r.Handle("bg", func(context.Context, *store.Job) error { ran <- struct{}{}; return nil })
	for range 3 {
		enqueue(t, st, &store.Job{Kind: "bg"})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	start := time.Now()
	for i := range 3 {
		select {
		case <-ran:
		case <-time.After(5 * time.Second):
			t.Fatalf("job %d never ran while Busy stayed true", i)
		}
	}
	if took := time.Since(start); took < 100*time.Millisecond || calls.Load() < 3 {
		t.Fatalf("three jobs ran in %s with %d busy checks: the worker did not yield", took, calls.Load())
	}
}

func TestEveryAgainChangesThePeriod(t *testing.T) {
	t.Parallel()
	clk := newClock()
	clk.Advance(30 * time.Minute)
	st := store.New(dbtest.Open(t), store.WithClock(clk.Now))
	r := newRunner(t, st)
	r.Every("sweep", time.Minute)
	r.Every("sweep", time.Hour)
	r.EnqueuePeriodic(context.Background())
	var keys []string
	rows, err := st.DB().Read.Query(`SELECT unique_key FROM jobs`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		rows.Scan(&k)
		keys = append(keys, k)
	}
	hour := clk.Now().Truncate(time.Hour).Unix()
	if len(keys) != 1 || keys[0] != "sweep@"+strconv.FormatInt(hour, 10) {
		t.Fatalf("periodic jobs %v, want one for the hour starting at %d", keys, hour)
	}
}
