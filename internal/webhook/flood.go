package webhook

import (
	"booksmeta"

	"context"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"time"

	"booksmeta/internal/store"
)

// Limits of the refused-request log. An anonymous sender must not be able
// to slow the intake down or fill the disk (issue 13): each source gets a
// few rows of its own per minute, everything gets a few dozen, and the rest
// is counted in memory and written as one summary row per source.
const (
	rejectWindow       = time.Minute
	rejectRowsBySource = 10
	rejectRowsInAll    = 60
	// rejectSources bounds the memory of one window; further sources are
	// counted together.
	rejectSources = 1000
	otherSources  = "другие адреса"
	// rejectTarpit is how long a refused request waits for its answer once
	// its source is over its rows: a flooding connection then sends a few
	// requests a second instead of thousands, and the CPU stays with the
	// intake. A sleeping request costs a goroutine, not CPU; a genuine
	// sender is never refused, so never waits.
	rejectTarpit = 250 * time.Millisecond
)

// RejectLog writes refused requests (401, 405, 413) to the webhook log
// within the limits above. Refused requests are not events: losing the
// count of a minute in a crash costs nothing, so the counts live in memory
// and only the rows a person will read are written.
type RejectLog struct {
	store *store.Store
	now   func() time.Time
	log   *slog.Logger

	mu      sync.Mutex
	start   time.Time // of the current window
	rows    int
	sources map[string]*rejectCount

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

type rejectCount struct {
	rows         int // written on their own this window
	dropped      int // counted only
	first, last  time.Time
	reason, path string
	status       int
}

// NewRejectLog starts the log; Close writes the last summaries.
func NewRejectLog(s *store.Store, now func() time.Time, log *slog.Logger) *RejectLog {
	l := &RejectLog{store: s, now: now, log: log, sources: map[string]*rejectCount{}, stop: make(chan struct{}), done: make(chan struct{})}
	go l.loop()
	return l
}

func (l *RejectLog) loop() {
	defer close(l.done)
	t := time.NewTicker(rejectWindow / 4)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.flush(false)
		case <-l.stop:
			l.flush(true)
			return
		}
	}
}

// Close stops the log, writing the summaries it holds.
func (l *RejectLog) Close() {
	l.once.Do(func() { close(l.stop) })
	<-l.done
}

// Record logs rec now when the limits allow it, else counts it; fill, when
// set, completes the row (body, parsed name) only when it is written. It
// never fails the request: a refused request stays refused. It returns how
// long the answer should wait (rejectTarpit for a counted one).
func (l *RejectLog) Record(ctx context.Context, rec *booksmeta.WebhookEvent, fill func()) time.Duration {
	src := sourceOf(rec.RemoteAddr)
	l.mu.Lock()
	now := l.now()
	if l.start.IsZero() {
		l.start = now
	}
	c := l.sources[src]
	if c == nil {
		if len(l.sources) >= rejectSources {
			src = otherSources
			c = l.sources[src]
		}
		if c == nil {
			c = &rejectCount{first: now}
			l.sources[src] = c
		}
	}
	write := c.rows < rejectRowsBySource && l.rows < rejectRowsInAll && src != otherSources
	if write {
		c.rows++
		l.rows++
	} else {
		c.dropped++
		c.last, c.reason, c.path, c.status = now, rec.Reason, rec.Path, rec.HTTPStatus
	}
	l.mu.Unlock()
	if !write {
		return rejectTarpit
	}
	if fill != nil {
		fill()
	}
	err := l.store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error { return tx.InsertWebhookLog(ctx, rec) })
	if err != nil {
		l.log.Error("webhook: record refused request", "err", err, "outcome", rec.Outcome)
	}
	return 0
}

// flush writes a summary row per source that had requests only counted, once
// their window is over (or at once, when closing), and starts a new window.
func (l *RejectLog) flush(all bool) {
	l.mu.Lock()
	now := l.now()
	if l.start.IsZero() || (!all && now.Sub(l.start) < rejectWindow) {
		l.mu.Unlock()
		return
	}
	sources := l.sources
	l.sources, l.rows, l.start = map[string]*rejectCount{}, 0, time.Time{}
	l.mu.Unlock()

	var rows []*booksmeta.WebhookEvent
	for src, c := range sources {
		if c.dropped == 0 {
			continue
		}
		rows = append(rows, &booksmeta.WebhookEvent{
			ReceivedAt: c.last, Method: "*", Path: c.path, RemoteAddr: src, Auth: booksmeta.AuthFailed,
			Outcome: booksmeta.OutcomeRejected, HTTPStatus: c.status, Headers: "{}",
			Reason: fmt.Sprintf("Поток отклонённых запросов: ещё %d с адреса %s с %s по %s UTC не записаны по отдельности, чтобы не переполнять журнал. Последняя причина: %s",
				c.dropped, src, c.first.UTC().Format("15:04:05"), c.last.UTC().Format("15:04:05"), c.reason),
		})
	}
	if len(rows) == 0 {
		return
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].RemoteAddr < rows[j].RemoteAddr })
	err := l.store.InTx(context.Background(), func(tx *store.Tx) error {
		for _, r := range rows {
			if err := tx.InsertWebhookLog(context.Background(), r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		l.log.Error("webhook: record refused-request summary", "err", err)
	}
}

// sourceOf is the address a request came from, without its port.
func sourceOf(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}

// PruneLog applies the retention of the webhook log: entries older than
// keepDays go, except accepted events younger than store.AcceptedKept and
// events still to be processed. It runs hourly, so a flood's rows do not
// wait a day to be cleared.
func PruneLog(ctx context.Context, s *store.Store, keepDays int) (int64, error) {
	if keepDays < 1 {
		keepDays = 90
	}
	var n int64
	err := s.InTx(ctx, func(tx *store.Tx) error {
		var err error
		n, err = tx.PruneWebhooks(ctx, tx.Now().AddDate(0, 0, -keepDays))
		return err
	})
	return n, err
}

// Flush writes the summaries of the current window now (tests, shutdown).
func (l *RejectLog) Flush() { l.flush(true) }
