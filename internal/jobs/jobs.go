// Package jobs runs durable background work stored in the jobs table:
// webhook processing, mail, expiry and periodic tasks. Work is enqueued in
// the same transaction as the data it concerns (store.Tx.EnqueueJob), claimed
// with a lease, retried with backoff, and, when several instances share a
// PostgreSQL database, claimed by exactly one of them.
//
// Why a table and this runner rather than River: docs/decisions.md,
// "Durable jobs: a small table and runner, not River".
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"time"

	"booksmeta/internal/store"
)

// Handler does one job. A returned error schedules a retry unless it is
// Permanent or the attempts are used up.
type Handler func(ctx context.Context, j *store.Job) error

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as one that retrying cannot fix.
func Permanent(err error) error { return permanent{err} }

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool { var p permanent; return errors.As(err, &p) }

// Periodic is a job enqueued once per Every, across all instances.
type Periodic struct {
	Kind  string
	Every time.Duration
}

// Observer receives job outcomes (metrics).
type Observer func(kind, outcome string, d time.Duration)

// Runner claims and runs jobs.
type Runner struct {
	store    *store.Store
	log      *slog.Logger
	handlers map[string]Handler
	periodic []Periodic
	observe  Observer

	Workers int
	Poll    time.Duration
	// Lease is how long a claim holds without a heartbeat: a running job's
	// worker renews it every Lease/3, so a job whose process died is taken
	// up again within about one Lease (a crash test kills servers mid-job).
	Lease time.Duration
	// Busy, when set, reports that a more urgent writer (the webhook
	// committer, whose senders are waiting for their 200) has work queued.
	Busy func() bool
	// MaxRun bounds one run of a handler.
	MaxRun       time.Duration
	BackoffBase  time.Duration
	BackoffMax   time.Duration
	PeriodicTick time.Duration

	id   string
	wake chan struct{}
}

// New returns a Runner with production defaults.
func New(s *store.Store, log *slog.Logger) *Runner {
	b := make([]byte, 6)
	rand.Read(b)
	return &Runner{
		store: s, log: log, handlers: map[string]Handler{},
		Workers: 4, Poll: time.Second, Lease: 30 * time.Second, MaxRun: 10 * time.Minute,
		BackoffBase: 10 * time.Second, BackoffMax: time.Hour, PeriodicTick: 30 * time.Second,
		id: "w-" + hex.EncodeToString(b), wake: make(chan struct{}, 1),
	}
}

// Handle registers the handler of a job kind.
func (r *Runner) Handle(kind string, h Handler) { r.handlers[kind] = h }

// Every registers a periodic job; its kind needs a handler too. Registering
// a kind again changes its period (tests lengthen a safety-net sweep to show
// that work does not depend on it). Call it before Run.
func (r *Runner) Every(kind string, every time.Duration) {
	for i := range r.periodic {
		if r.periodic[i].Kind == kind {
			r.periodic[i].Every = every
			return
		}
	}
	r.periodic = append(r.periodic, Periodic{Kind: kind, Every: every})
}

// Observe sets the outcome observer.
func (r *Runner) Observe(o Observer) { r.observe = o }

// Notify wakes an idle worker so that new jobs run now rather than at the
// next poll. The app wires it to store.Store.OnJobsCommitted, so every commit
// that added jobs calls it; an explicit call after such a commit is harmless.
func (r *Runner) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx is cancelled, then lets running jobs finish (they get
// a context that is not cancelled by ctx, bounded by the lease) and returns.
func (r *Runner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i := 0; i < r.Workers; i++ {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			r.work(ctx, r.id+"-"+strconv.Itoa(n))
		}(i)
	}
	if len(r.periodic) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.schedule(ctx)
		}()
	}
	wg.Wait()
	return nil
}

func (r *Runner) work(ctx context.Context, worker string) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.wake:
		}
		for ctx.Err() == nil {
			r.Yield(ctx)
			if !r.RunOne(ctx, worker) {
				break
			}
		}
		t.Reset(r.Poll + time.Duration(mrand.Int64N(int64(r.Poll/4)+1)))
	}
}

// Yield lets more urgent writers go first: while Busy reports true, the
// caller waits, but never longer than maxYield, so background work still
// advances under a sustained burst. Workers call it before each job; a job
// that works through many items calls it between them.
func (r *Runner) Yield(ctx context.Context) {
	const step, maxYield = 2 * time.Millisecond, 50 * time.Millisecond
	if r.Busy == nil {
		return
	}
	for waited := time.Duration(0); waited < maxYield && r.Busy() && ctx.Err() == nil; waited += step {
		time.Sleep(step)
	}
}

// RunOne claims and runs one due job; it reports whether there was one.
// Tests call it to drive the queue deterministically.
func (r *Runner) RunOne(ctx context.Context, worker string) bool {
	j, err := r.store.ClaimJob(ctx, worker, r.Lease)
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("claim job", "err", err)
		}
		return false
	}
	// The job runs to completion even if shutdown starts meanwhile; MaxRun
	// bounds it, and the heartbeat keeps the claim while it runs.
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.maxRun())
	defer cancel()
	go r.heartbeat(jctx, j.ID, worker)
	start := time.Now()
	if j.Attempts > j.MaxAttempts {
		// Every attempt so far ended with its lease expiring: the process
		// running it died (out of memory, killed, crashed). Running it again
		// would crash-loop the service, so it fails here, visibly.
		msg := fmt.Sprintf("gave up after %d attempts: each time the worker running it stopped before finishing (lease expired)", j.MaxAttempts)
		if j.LastError != "" {
			msg += "; last error: " + j.LastError
		}
		r.log.Error("job abandoned", "job", j.ID, "kind", j.Kind, "attempts", j.Attempts-1)
		if ferr := r.store.RetryJob(jctx, j.ID, worker, msg, r.store.Now(), true); ferr != nil {
			r.log.Error("record job failure", "job", j.ID, "err", ferr)
		}
		if r.observe != nil {
			r.observe(j.Kind, "failed", time.Since(start))
		}
		return true
	}
	err = r.run(jctx, j)
	outcome := "done"
	switch {
	case err == nil:
		if ferr := r.store.FinishJob(jctx, j.ID, worker); ferr != nil {
			r.log.Error("finish job", "job", j.ID, "kind", j.Kind, "err", ferr)
		}
	default:
		final := IsPermanent(err) || j.Attempts >= j.MaxAttempts
		outcome = "retry"
		if final {
			outcome = "failed"
		}
		r.log.Warn("job failed", "job", j.ID, "kind", j.Kind, "attempt", j.Attempts, "final", final, "err", err)
		if ferr := r.store.RetryJob(jctx, j.ID, worker, err.Error(), r.store.Now().Add(r.backoff(j.Attempts)), final); ferr != nil {
			r.log.Error("record job failure", "job", j.ID, "err", ferr)
		}
	}
	if r.observe != nil {
		r.observe(j.Kind, outcome, time.Since(start))
	}
	return true
}

func (r *Runner) maxRun() time.Duration {
	if r.MaxRun > 0 {
		return r.MaxRun
	}
	return r.Lease
}

// heartbeat renews the claim of a running job until ctx ends (the job
// finished, or MaxRun passed).
func (r *Runner) heartbeat(ctx context.Context, id int64, worker string) {
	t := time.NewTicker(max(r.Lease/3, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.store.ExtendJob(ctx, id, worker, r.store.Now().Add(r.Lease)); err != nil && ctx.Err() == nil {
				r.log.Warn("renew job lease", "job", id, "err", err)
			}
		}
	}
}

func (r *Runner) run(ctx context.Context, j *store.Job) (err error) {
	h, ok := r.handlers[j.Kind]
	if !ok {
		return Permanent(fmt.Errorf("no handler for job kind %q", j.Kind))
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in job %s: %v", j.Kind, p)
		}
	}()
	return h(ctx, j)
}

// backoff grows exponentially with jitter, so a flapping dependency is not
// hammered and retries of many jobs spread out.
func (r *Runner) backoff(attempt int) time.Duration {
	d := float64(r.BackoffBase) * math.Pow(2, float64(attempt-1))
	if d > float64(r.BackoffMax) {
		d = float64(r.BackoffMax)
	}
	return time.Duration(d/2 + mrand.Float64()*d/2)
}

func (r *Runner) schedule(ctx context.Context) {
	for {
		r.EnqueuePeriodic(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.PeriodicTick):
		}
	}
}

// EnqueuePeriodic adds the current period's job for every periodic kind.
// The unique key (kind + period start) makes every instance's attempt after
// the first a no-op, which is what "runs once, not twice" needs.
func (r *Runner) EnqueuePeriodic(ctx context.Context) {
	now := r.store.Now()
	added := false
	err := r.store.InTx(ctx, func(tx *store.Tx) error {
		for _, p := range r.periodic {
			period := now.Truncate(p.Every)
			ok, err := tx.EnqueueJob(ctx, &store.Job{
				Kind: p.Kind, UniqueKey: p.Kind + "@" + strconv.FormatInt(period.Unix(), 10), MaxAttempts: 3,
			})
			if err != nil {
				return err
			}
			added = added || ok
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		r.log.Error("enqueue periodic jobs", "err", err)
	}
	if added {
		r.Notify()
	}
}
