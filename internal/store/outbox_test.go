package store_test

import (
	"context"
	"errors"
	"testing"

	"booksmeta/internal/dbtest"
	"booksmeta/internal/store"
)

// TestQueueMailAddsItsJobAndWakesAfterCommit: a queued mail has its send job
// in the same transaction, and the commit, only the commit, of a
// transaction that added jobs calls OnJobsCommitted.
func TestQueueMailAddsItsJobAndWakesAfterCommit(t *testing.T) {
	s := store.New(dbtest.Open(t))
	ctx := context.Background()
	wakes := 0
	s.OnJobsCommitted = func() { wakes++ }
	queue := func(key string, fail error) (*store.OutboxMail, bool, error) {
		m := &store.OutboxMail{Kind: "welcome", ToEmail: "nina@example.ru", DedupeKey: key}
		var ok bool
		err := s.InTx(ctx, func(tx *store.Tx) error {
			var err error
			ok, err = tx.QueueMail(ctx, m)
			return errors.Join(err, fail)
		})
		return m, ok, err
	}
	jobState := func(key string) string {
		var st string
		if err := s.DB().Read.QueryRowContext(ctx, `SELECT state FROM jobs WHERE unique_key = $1`, key).Scan(&st); err != nil {
			return err.Error()
		}
		return st
	}

	m, ok, err := queue("welcome:1", nil)
	if err != nil || !ok || wakes != 1 {
		t.Fatalf("queue: %v %v, wakes %d", ok, err, wakes)
	}
	key := store.MailJobKey(m.ID, 0)
	if st := jobState(key); st != store.JobQueued {
		t.Fatalf("job %s: %s", key, st)
	}
	if rows, err := s.QueuedMailWithoutJob(ctx, 10); err != nil || len(rows) != 0 {
		t.Fatalf("rows for the sweep: %v %v", rows, err)
	}

	// The same dedupe key queues nothing and adds no job.
	if _, ok, err := queue("welcome:1", nil); err != nil || ok || wakes != 1 {
		t.Fatalf("duplicate: %v %v, wakes %d", ok, err, wakes)
	}

	// Rolled back: no mail, no job, no wake-up.
	boom := errors.New("refused")
	if _, _, err := queue("welcome:2", boom); !errors.Is(err, boom) || wakes != 1 {
		t.Fatalf("rollback: %v, wakes %d", err, wakes)
	}
	var n int
	if err := s.DB().Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM mail_outbox`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("outbox rows %d %v", n, err)
	}
	if err := s.DB().Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("jobs %d %v", n, err)
	}

	// A transaction without jobs does not wake; one with a job does.
	if err := s.InTx(ctx, func(tx *store.Tx) error {
		return tx.PutSetting(ctx, store.Setting{Key: "x", Value: "y"}, 0)
	}); err != nil || wakes != 1 {
		t.Fatalf("no jobs: %v, wakes %d", err, wakes)
	}
	if err := s.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.EnqueueJob(ctx, &store.Job{Kind: "noop"})
		return err
	}); err != nil || wakes != 2 {
		t.Fatalf("a job: %v, wakes %d", err, wakes)
	}

	// The sweep's enqueue leaves the pending job alone and revives it once
	// it finished with the mail still queued (mail was not configured).
	if ok, err := s.EnqueueMailJob(ctx, m.ID, key, store.MailJobMaxAttempts); err != nil || ok {
		t.Fatalf("enqueue over a pending job: %v %v", ok, err)
	}
	if _, err := s.DB().Write.ExecContext(ctx, `UPDATE jobs SET state = 'done', finished_at = 1 WHERE unique_key = $1`, key); err != nil {
		t.Fatal(err)
	}
	if rows, err := s.QueuedMailWithoutJob(ctx, 10); err != nil || len(rows) != 1 {
		t.Fatalf("rows for the sweep after the job finished: %v %v", rows, err)
	}
	if ok, err := s.EnqueueMailJob(ctx, m.ID, key, store.MailJobMaxAttempts); err != nil || !ok || jobState(key) != store.JobQueued {
		t.Fatalf("revive: %v %v %s", ok, err, jobState(key))
	}
}
