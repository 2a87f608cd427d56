// Package store is the only package that writes SQL. Every statement is
// written once for both dialects (placeholders $1…, RETURNING, ON CONFLICT,
// times as Unix milliseconds); the few that differ switch on Dialect.
//
// It decides no rule: whether a booking, a slot change or an account
// change is allowed is for booking, schedule and accounts, which call the
// queries here inside one transaction (Tx) and refuse in their own words.
// A query that must be atomic carries out a rule's check in SQL (TakePlace
// takes a place only while one is free), and reports; it does not refuse.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"booksmeta/internal/db"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Store's methods read through the read pool, except the writes that stand
// alone: state changes of the job queue and the mail outbox, session
// touches, notice read marks, the GetCourse budget, sync lock and user ids,
// and the health heartbeat. Each is one statement or its own InTx, because
// it belongs to no caller's transaction. Every other write is a method of Tx.
type Store struct {
	db *db.DB
	// now is the app's one clock, fixed at New: workers and handlers read
	// it without a lock, and tests move a clocktest.Clock instead.
	now func() time.Time
	// OnJobsCommitted, when set, is called after a transaction that added
	// jobs has committed (the job runner's Notify): work a request or a job
	// acknowledged starts now instead of at the next poll, and never before
	// the rows it reads are visible.
	OnJobsCommitted func()
	// stmts caches prepared write statements of the hot paths: SQLite
	// otherwise parses the SQL text again for every row (a profile of the
	// webhook intake showed parsing as the largest cost after fsync).
	stmts sync.Map // query → *sql.Stmt
}

// Option adjusts a Store at New.
type Option func(*Store)

// WithClock replaces time.Now as the clock of the store and of every part
// that asks it for the time (Store.Now, each Tx's Now).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns a Store over d.
func New(d *db.DB, opts ...Option) *Store {
	s := &Store{db: d, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Now reads the app's clock: time.Now unless New was given WithClock.
func (s *Store) Now() time.Time { return s.now() }

// DB exposes the underlying handles (health checks, backups).
func (s *Store) DB() *db.DB { return s.db }

// Tx is a write transaction. Its methods are the write side of the store.
type Tx struct {
	q       querier
	tx      *sql.Tx
	s       *Store
	dialect db.Dialect
	now     time.Time
	// addedJobs is set when the transaction added or revived a job, so
	// that its commit wakes the runner.
	addedJobs bool
	// accessQueued is set once the transaction queued an access sync.
	accessQueued bool
}

// prepared returns the statement prepared by Prepare for query, bound to
// this transaction, or the plain transaction when there is none.
func (t *Tx) prepared(ctx context.Context, query string) querier {
	if st, ok := t.s.stmts.Load(query); ok && t.tx != nil {
		return stmtQuerier{t.tx.StmtContext(ctx, st.(*sql.Stmt))}
	}
	return t.q
}

// Prepare prepares the hot write statements once, after migrations. It must
// run while no transaction is open: SQLite's single write connection would
// otherwise be busy, and preparing lazily inside a transaction would wait
// for it forever.
func (s *Store) Prepare(ctx context.Context) error {
	insert := insertAcceptedReturningSQL
	if s.db.Dialect == db.SQLite {
		insert = insertAcceptedSQL
	}
	for _, q := range []string{insert, enqueueJobSQL, enqueueMailJobSQL} {
		st, err := s.db.Write.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		s.stmts.Store(q, st)
	}
	return nil
}

// stmtQuerier lets a prepared statement stand where a querier is expected;
// the query argument is ignored because the statement already holds it.
type stmtQuerier struct{ st *sql.Stmt }

func (q stmtQuerier) ExecContext(ctx context.Context, _ string, args ...any) (sql.Result, error) {
	return q.st.ExecContext(ctx, args...)
}

func (q stmtQuerier) QueryContext(ctx context.Context, _ string, args ...any) (*sql.Rows, error) {
	return q.st.QueryContext(ctx, args...)
}

func (q stmtQuerier) QueryRowContext(ctx context.Context, _ string, args ...any) *sql.Row {
	return q.st.QueryRowContext(ctx, args...)
}

// Now is the transaction's clock reading, fixed at BEGIN so that every row a
// transaction writes carries the same time.
func (t *Tx) Now() time.Time { return t.now }

// InTx runs fn in one write transaction, committing when fn returns nil.
// A failed COMMIT is returned as an error: callers that promise durability
// (the webhook's 200) rely on that.
func (s *Store) InTx(ctx context.Context, fn func(*Tx) error) (err error) {
	tx, err := s.db.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
	}()
	t := &Tx{q: tx, tx: tx, s: s, dialect: s.db.Dialect, now: s.Now()}
	if err := fn(t); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if t.addedJobs && s.OnJobsCommitted != nil {
		s.OnJobsCommitted()
	}
	return nil
}

func (s *Store) read() querier { return s.db.Read }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func nullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

func msOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ms(t)
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// like escapes a user-provided search string for a LIKE pattern.
func like(s string) string {
	out := make([]rune, 0, len(s)+2)
	out = append(out, '%')
	for _, r := range s {
		if r == '%' || r == '_' || r == '\\' {
			out = append(out, '\\')
		}
		out = append(out, r)
	}
	return string(append(out, '%'))
}

// scanner is what a scan function reads from: a *sql.Row or *sql.Rows.
type scanner = interface{ Scan(...any) error }

// collect turns a row scan function into one that reads every row of a
// query and closes it: collect(scanX)(q.QueryContext(…)).
func collect[T any](scan func(scanner) (T, error)) func(*sql.Rows, error) ([]T, error) {
	return func(rows *sql.Rows, err error) ([]T, error) {
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []T
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, rows.Err()
	}
}

// countBy reads the rows of a "SELECT key, COUNT(*) … GROUP BY key" query.
func countBy(rows *sql.Rows, err error) (map[string]int, error) {
	type kv struct {
		k string
		n int
	}
	pairs, err := collect(func(r scanner) (kv, error) {
		var p kv
		return p, r.Scan(&p.k, &p.n)
	})(rows, err)
	out := make(map[string]int, len(pairs))
	for _, p := range pairs {
		out[p.k] = p.n
	}
	return out, err
}

// conds builds a WHERE clause whose filters are optional: each added
// condition's "?" becomes the next numbered placeholder.
type conds struct {
	list []string
	args []any
}

func (c *conds) add(cond string, v any) {
	c.list = append(c.list, strings.ReplaceAll(cond, "?", c.arg(v)))
}

// arg appends an argument and returns its placeholder, for values used
// outside the WHERE list (LIMIT, subqueries).
func (c *conds) arg(v any) string {
	c.args = append(c.args, v)
	return "$" + strconv.Itoa(len(c.args))
}

func (c *conds) where() string {
	if len(c.list) == 0 {
		return "1=1"
	}
	return strings.Join(c.list, " AND ")
}

// DatabaseSize is the space the database takes, in bytes: on SQLite the
// pages of the file (those still in the WAL included), on PostgreSQL the
// tables of the current schema with their indexes and TOAST.
func (s *Store) DatabaseSize(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	q := `SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`
	if s.db.Dialect == db.Postgres {
		q = `SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
			WHERE ns.nspname = current_schema() AND c.relkind = 'r'`
	}
	err := s.read().QueryRowContext(ctx, q).Scan(&n)
	return n.Int64, err
}
