// Package store is the only package that writes SQL. Every statement is
// written once for both dialects (placeholders $1…, RETURNING, ON CONFLICT,
// times as Unix milliseconds); the few that differ switch on Dialect.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// Store reads through the read pool; writes go through Tx.
type Store struct {
	db  *db.DB
	Now func() time.Time
}

// New returns a Store over d.
func New(d *db.DB) *Store { return &Store{db: d, Now: time.Now} }

// DB exposes the underlying handles (health checks, backups).
func (s *Store) DB() *db.DB { return s.db }

// Tx is a write transaction. Its methods are the write side of the store.
type Tx struct {
	q       querier
	dialect db.Dialect
	now     time.Time
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
	if err := fn(&Tx{q: tx, dialect: s.db.Dialect, now: s.Now()}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
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
