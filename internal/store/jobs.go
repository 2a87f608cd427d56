package store

import (
	"context"
	"database/sql"
	"time"

	"booksmeta/internal/db"
)

// Job states.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// Job is one unit of background work. A running job whose lease expired
// (its process died) is claimed again, so handlers must be idempotent.
type Job struct {
	ID          int64
	Kind        string
	Payload     string
	UniqueKey   string
	State       string
	Attempts    int
	MaxAttempts int
	RunAt       time.Time
	LastError   string
}

const enqueueJobSQL = `INSERT INTO jobs (kind, payload, unique_key, state, max_attempts, run_at, created_at)
	VALUES ($1,$2,$3,'queued',$4,$5,$6) ON CONFLICT (unique_key) DO NOTHING RETURNING id`

// EnqueueJob adds a job in the caller's transaction, so the work exists
// exactly when the data it works on does. A job whose UniqueKey is already
// present is not added again; inserted says which happened.
func (t *Tx) EnqueueJob(ctx context.Context, j *Job) (inserted bool, err error) {
	var key any
	if j.UniqueKey != "" {
		key = j.UniqueKey
	}
	if j.RunAt.IsZero() {
		j.RunAt = t.now
	}
	if j.MaxAttempts == 0 {
		j.MaxAttempts = 10
	}
	if j.Payload == "" {
		j.Payload = "{}"
	}
	err = t.prepared(ctx, enqueueJobSQL).QueryRowContext(ctx, enqueueJobSQL,
		j.Kind, j.Payload, key, j.MaxAttempts, ms(j.RunAt), ms(t.now)).Scan(&j.ID)
	if err == sql.ErrNoRows {
		return false, nil
	}
	t.addedJobs = t.addedJobs || err == nil
	return err == nil, err
}

// ClaimJob takes the next due job (or one whose lease expired) for worker,
// leasing it until now+lease. It returns ErrNotFound when nothing is due.
func (s *Store) ClaimJob(ctx context.Context, worker string, lease time.Duration) (*Job, error) {
	now := s.Now()
	lock := ""
	if s.db.Dialect == db.Postgres {
		// Several instances claim at once: skip rows another one is taking.
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var j Job
	var runAt int64
	var key sql.NullString
	err := s.db.Write.QueryRowContext(ctx, `UPDATE jobs SET state='running', attempts = attempts + 1, locked_by=$1, locked_until=$2
		WHERE id = (SELECT id FROM jobs WHERE (state='queued' AND run_at <= $3) OR (state='running' AND locked_until < $3)
			ORDER BY run_at, id LIMIT 1`+lock+`)
		RETURNING id, kind, payload, unique_key, state, attempts, max_attempts, run_at, last_error`,
		worker, ms(now.Add(lease)), ms(now)).Scan(&j.ID, &j.Kind, &j.Payload, &key, &j.State, &j.Attempts, &j.MaxAttempts, &runAt, &j.LastError)
	if err != nil {
		return nil, notFound(err)
	}
	j.UniqueKey, j.RunAt = key.String, fromMS(runAt)
	return &j, nil
}

// ExtendJob renews the lease of a job worker still holds.
func (s *Store) ExtendJob(ctx context.Context, id int64, worker string, until time.Time) error {
	_, err := s.db.Write.ExecContext(ctx, `UPDATE jobs SET locked_until = $3 WHERE id = $1 AND locked_by = $2 AND state = 'running'`,
		id, worker, ms(until))
	return err
}

// FinishJob marks a job done, only if worker still holds it.
func (s *Store) FinishJob(ctx context.Context, id int64, worker string) error {
	_, err := s.db.Write.ExecContext(ctx, `UPDATE jobs SET state='done', finished_at=$3, last_error='' WHERE id=$1 AND locked_by=$2`,
		id, worker, ms(s.Now()))
	return err
}

// RetryJob records a failure and schedules the next attempt at runAt, or marks
// the job failed for good when final is set.
func (s *Store) RetryJob(ctx context.Context, id int64, worker, errText string, runAt time.Time, final bool) error {
	if final {
		_, err := s.db.Write.ExecContext(ctx, `UPDATE jobs SET state='failed', last_error=$3, finished_at=$4 WHERE id=$1 AND locked_by=$2`,
			id, worker, errText, ms(s.Now()))
		return err
	}
	_, err := s.db.Write.ExecContext(ctx, `UPDATE jobs SET state='queued', last_error=$3, run_at=$4, locked_until=0 WHERE id=$1 AND locked_by=$2`,
		id, worker, errText, ms(runAt))
	return err
}

// ReleaseJob gives a claimed job back untouched (shutdown before it ran).
func (s *Store) ReleaseJob(ctx context.Context, id int64, worker string) error {
	_, err := s.db.Write.ExecContext(ctx, `UPDATE jobs SET state='queued', attempts = attempts - 1, locked_until=0 WHERE id=$1 AND locked_by=$2`,
		id, worker)
	return err
}

// PruneJobs deletes finished jobs older than before. Unique keys of pruned
// periodic jobs belong to past periods, so nothing runs twice because of it.
func (s *Store) PruneJobs(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.Write.ExecContext(ctx, `DELETE FROM jobs WHERE state IN ('done','failed') AND finished_at < $1`, ms(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// JobCounts counts jobs by state (for metrics and the dashboard).
func (s *Store) JobCounts(ctx context.Context) (map[string]int, error) {
	return countBy(s.read().QueryContext(ctx, `SELECT state, COUNT(*) FROM jobs GROUP BY state`))
}
