package store

import (
	"context"
	"database/sql"
	"errors"
	"os"

	"booksmeta/internal/db"
)

// SystemFacts is what the "about the system" page reads from the database.
type SystemFacts struct {
	SchemaVersion int
	SchemaName    string // file name of the last applied migration
	SchemaApplied int64  // Unix seconds
	// DatabaseBytes is the SQLite file with its WAL, or pg_database_size.
	DatabaseBytes int64
	JobsPending   int // due now or running
	JobsScheduled int // queued for later (the periodic jobs' next runs)
	JobsFailed    int
	MailWaiting   int // queued or being sent
	MailFailed    int
	// LastDelivery is the last accepted GetCourse delivery; LastRequest any
	// request to the webhook address, refused ones included. Unix ms, 0: none.
	LastDelivery, LastRequest int64
}

// SystemFacts gathers the facts in a few reads.
func (s *Store) SystemFacts(ctx context.Context) (SystemFacts, error) {
	var f SystemFacts
	q := s.read()
	var name sql.NullString
	var applied sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT version, name, applied_at FROM schema_migrations ORDER BY version DESC LIMIT 1`).
		Scan(&f.SchemaVersion, &name, &applied)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return f, err
	}
	f.SchemaName, f.SchemaApplied = name.String, applied.Int64
	if f.DatabaseBytes, err = s.databaseBytes(ctx); err != nil {
		return f, err
	}
	// Periodic jobs wait queued for their next time; only what is due now
	// (or running) is work piling up.
	if err := q.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM jobs WHERE (state = 'queued' AND run_at <= $1) OR state = 'running'),
		(SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND run_at > $1),
		(SELECT COUNT(*) FROM jobs WHERE state = 'failed')`, ms(s.Now())).Scan(&f.JobsPending, &f.JobsScheduled, &f.JobsFailed); err != nil {
		return f, err
	}
	mail, err := countBy(q.QueryContext(ctx, `SELECT status, COUNT(*) FROM mail_outbox GROUP BY status`))
	if err != nil {
		return f, err
	}
	f.MailWaiting, f.MailFailed = mail[MailQueued]+mail[MailSending], mail[MailFailed]
	var last, anyReq sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT (SELECT MAX(received_at) FROM webhook_events WHERE outcome = 'accepted'),
		(SELECT MAX(received_at) FROM webhook_events)`).Scan(&last, &anyReq); err != nil {
		return f, err
	}
	f.LastDelivery, f.LastRequest = last.Int64, anyReq.Int64
	return f, nil
}

// databaseBytes is what the database takes on disk: the SQLite file and
// its WAL (pages not yet checkpointed live there), or PostgreSQL's
// pg_database_size of the current database.
func (s *Store) databaseBytes(ctx context.Context) (int64, error) {
	if s.db.Dialect == db.Postgres {
		var n int64
		err := s.read().QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
		return n, err
	}
	var total int64
	for _, p := range []string{s.db.Path, s.db.Path + "-wal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		total += fi.Size()
	}
	return total, nil
}
