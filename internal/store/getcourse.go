package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/db"
)

// GetCourseCall is one outbound GetCourse API request as the admin panel
// shows it. It never holds the API key.
type GetCourseCall struct {
	ID         int64
	Account    string
	Op         string
	Method     string
	URL        string
	StartedAt  time.Time
	Duration   time.Duration
	HTTPStatus int
	OK         bool
	ErrorKind  string
	ErrorCode  int
	Message    string // Russian, for the admin
	Detail     string // English, for debugging
}

const gcCallCols = `id, account, op, method, url, started_at, duration_ms, http_status, ok, error_kind, error_code, message, detail`

// InsertGetCourseCall records a call and sets its ID.
func (t *Tx) InsertGetCourseCall(ctx context.Context, c *GetCourseCall) error {
	return t.q.QueryRowContext(ctx, `INSERT INTO getcourse_calls (account, op, method, url, started_at, duration_ms,
		http_status, ok, error_kind, error_code, message, detail) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING id`,
		c.Account, c.Op, c.Method, c.URL, ms(c.StartedAt), c.Duration.Milliseconds(), c.HTTPStatus, c.OK,
		c.ErrorKind, c.ErrorCode, c.Message, c.Detail).Scan(&c.ID)
}

// GetCourseCallFilter selects calls for the admin panel.
type GetCourseCallFilter struct {
	Op         string // exact ("groups") or a prefix ending in "." ("export.")
	OnlyFailed bool
	From       time.Time
	To         time.Time
	Limit      int
	BeforeID   int64 // keyset pagination: calls with id < BeforeID
}

// ListGetCourseCalls lists calls newest first.
func (s *Store) ListGetCourseCalls(ctx context.Context, f GetCourseCallFilter) ([]*GetCourseCall, error) {
	var c conds
	switch {
	case strings.HasSuffix(f.Op, "."):
		// like() wraps the text in %…%; a prefix match keeps only the trailing one.
		c.add("op LIKE ? ESCAPE '\\'", like(f.Op)[1:])
	case f.Op != "":
		c.add("op = ?", f.Op)
	}
	if f.OnlyFailed {
		c.list = append(c.list, "ok = FALSE")
	}
	if !f.From.IsZero() {
		c.add("started_at >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		c.add("started_at < ?", ms(f.To))
	}
	if f.BeforeID > 0 {
		c.add("id < ?", f.BeforeID)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	scan := func(r scanner) (*GetCourseCall, error) {
		var call GetCourseCall
		var started, dur int64
		err := r.Scan(&call.ID, &call.Account, &call.Op, &call.Method, &call.URL, &started, &dur, &call.HTTPStatus, &call.OK,
			&call.ErrorKind, &call.ErrorCode, &call.Message, &call.Detail)
		call.StartedAt, call.Duration = fromMS(started), time.Duration(dur)*time.Millisecond
		return &call, err
	}
	return collect(scan)(s.read().QueryContext(ctx, "SELECT "+gcCallCols+" FROM getcourse_calls WHERE "+
		c.where()+" ORDER BY id DESC LIMIT "+strconv.Itoa(f.Limit), c.args...))
}

// PruneGetCourse deletes calls started before callsBefore and budget entries
// taken before budgetBefore (they no longer count against any window).
func (t *Tx) PruneGetCourse(ctx context.Context, callsBefore, budgetBefore time.Time) error {
	if _, err := t.q.ExecContext(ctx, `DELETE FROM getcourse_calls WHERE started_at < $1`, ms(callsBefore)); err != nil {
		return err
	}
	_, err := t.q.ExecContext(ctx, `DELETE FROM getcourse_budget_requests WHERE taken_at < $1`, ms(budgetBefore))
	return err
}

// TakeGetCourseBudget reserves one Export API request for account if fewer
// than limit were taken within window before now; otherwise it reports when
// the oldest counted request leaves the window.
//
// Correct across processes: the per-account row is locked before counting
// (SELECT … FOR UPDATE on PostgreSQL, where a concurrent Take waits and then
// counts the committed request; SQLite transactions here take the write lock
// at BEGIN), so two Takes can never both see room for the last request.
func (s *Store) TakeGetCourseBudget(ctx context.Context, account string, limit int, window time.Duration) (ok bool, retryAt time.Time, err error) {
	err = s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.q.ExecContext(ctx, `INSERT INTO getcourse_budget (account) VALUES ($1) ON CONFLICT (account) DO NOTHING`, account); err != nil {
			return err
		}
		lock := ""
		if tx.dialect == db.Postgres {
			lock = " FOR UPDATE"
		}
		var got string
		if err := tx.q.QueryRowContext(ctx, `SELECT account FROM getcourse_budget WHERE account = $1`+lock, account).Scan(&got); err != nil {
			return err
		}
		now := tx.now
		cut := ms(now.Add(-window))
		if _, err := tx.q.ExecContext(ctx, `DELETE FROM getcourse_budget_requests WHERE account = $1 AND taken_at <= $2`, account, cut); err != nil {
			return err
		}
		var n int
		if err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM getcourse_budget_requests WHERE account = $1 AND taken_at > $2`,
			account, cut).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			// The request that frees a place is the (n-limit+1)-th oldest.
			var oldest int64
			err := tx.q.QueryRowContext(ctx, `SELECT taken_at FROM getcourse_budget_requests WHERE account = $1 AND taken_at > $2
				ORDER BY taken_at LIMIT 1 OFFSET `+strconv.Itoa(n-limit), account, cut).Scan(&oldest)
			if err != nil {
				return err
			}
			retryAt = fromMS(oldest).Add(window)
			return nil
		}
		if _, err := tx.q.ExecContext(ctx, `INSERT INTO getcourse_budget_requests (account, taken_at) VALUES ($1, $2)`, account, ms(now)); err != nil {
			return err
		}
		ok = true
		return nil
	})
	return ok, retryAt, err
}

// GetCourseBudgetUsed counts the requests taken for account within window.
func (s *Store) GetCourseBudgetUsed(ctx context.Context, account string, window time.Duration) (int, error) {
	var n int
	err := s.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM getcourse_budget_requests WHERE account = $1 AND taken_at > $2`,
		account, ms(s.Now().Add(-window))).Scan(&n)
	return n, err
}

// GetCourseExport is an export GetCourse is building (or has built) for us
// and that has not been consumed yet.
type GetCourseExport struct {
	Account      string
	Kind         string // "deals", …
	ExportID     int64
	From         time.Time // what the export covers
	To           time.Time // becomes the sync cursor once consumed
	StartedAt    time.Time
	Polls        int
	LastPolledAt time.Time
	NextPollAt   time.Time
}

const gcExportCols = `account, kind, export_id, window_from, window_to, started_at, polls, last_polled_at, next_poll_at`

func scanGetCourseExport(row scanner) (*GetCourseExport, error) {
	var e GetCourseExport
	var from, to, started, next int64
	var polled sql.NullInt64
	if err := row.Scan(&e.Account, &e.Kind, &e.ExportID, &from, &to, &started, &e.Polls, &polled, &next); err != nil {
		return nil, notFound(err)
	}
	e.From, e.To, e.StartedAt, e.NextPollAt, e.LastPolledAt = fromMS(from), fromMS(to), fromMS(started), fromMS(next), nullMS(polled)
	return &e, nil
}

// GetCourseExport reads the pending export of an account and kind.
func (s *Store) GetCourseExport(ctx context.Context, account, kind string) (*GetCourseExport, error) {
	return scanGetCourseExport(s.read().QueryRowContext(ctx, "SELECT "+gcExportCols+
		" FROM getcourse_exports WHERE account = $1 AND kind = $2", account, kind))
}

// PutGetCourseExport stores (or replaces) the pending export of its account and kind.
func (t *Tx) PutGetCourseExport(ctx context.Context, e *GetCourseExport) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO getcourse_exports (`+gcExportCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
		ON CONFLICT (account, kind) DO UPDATE SET export_id = excluded.export_id, window_from = excluded.window_from,
			window_to = excluded.window_to, started_at = excluded.started_at, polls = excluded.polls,
			last_polled_at = excluded.last_polled_at, next_poll_at = excluded.next_poll_at`,
		e.Account, e.Kind, e.ExportID, ms(e.From), ms(e.To), ms(e.StartedAt), e.Polls, msOrNull(e.LastPolledAt), ms(e.NextPollAt))
	return err
}

// DeleteGetCourseExport forgets the pending export, only if it is still exportID.
func (t *Tx) DeleteGetCourseExport(ctx context.Context, account, kind string, exportID int64) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM getcourse_exports WHERE account = $1 AND kind = $2 AND export_id = $3`,
		account, kind, exportID)
	return err
}

// GetCourseSync is the sync progress of one account.
type GetCourseSync struct {
	Account        string
	CursorAt       time.Time // paid deals from here on are still to be looked at; zero before the first success
	LastRunAt      time.Time // the last run started an export
	LastFinishedAt time.Time // the last run ended, well or not
	LastOKAt       time.Time
	State          string // idle, exporting, done, rate_limited, waiting, error, failed, interrupted
	Message        string // Russian, for the admin
	ErrorKind      string
	RetryAt        time.Time
	RowsFound      int
	EventsNew      int
	EventsKnown    int
	RowsSkipped    int
	UpdatedAt      time.Time
}

const gcSyncCols = `account, cursor_at, last_run_at, last_finished_at, last_ok_at, state, message, error_kind, retry_at,
	rows_found, events_new, events_known, rows_skipped, updated_at`

// GetCourseSyncState reads an account's sync progress; ErrNotFound before any run.
func (s *Store) GetCourseSyncState(ctx context.Context, account string) (*GetCourseSync, error) {
	var st GetCourseSync
	var cursor, run, fin, okAt, retry sql.NullInt64
	var upd int64
	err := s.read().QueryRowContext(ctx, "SELECT "+gcSyncCols+" FROM getcourse_sync WHERE account = $1", account).Scan(
		&st.Account, &cursor, &run, &fin, &okAt, &st.State, &st.Message, &st.ErrorKind, &retry,
		&st.RowsFound, &st.EventsNew, &st.EventsKnown, &st.RowsSkipped, &upd)
	if err != nil {
		return nil, notFound(err)
	}
	st.CursorAt, st.LastRunAt, st.LastFinishedAt, st.LastOKAt, st.RetryAt = nullMS(cursor), nullMS(run), nullMS(fin), nullMS(okAt), nullMS(retry)
	st.UpdatedAt = fromMS(upd)
	return &st, nil
}

// PutGetCourseSync stores an account's sync progress; the lease is left alone.
func (t *Tx) PutGetCourseSync(ctx context.Context, st *GetCourseSync) error {
	st.UpdatedAt = t.now
	_, err := t.q.ExecContext(ctx, `INSERT INTO getcourse_sync (`+gcSyncCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)
		ON CONFLICT (account) DO UPDATE SET cursor_at = excluded.cursor_at, last_run_at = excluded.last_run_at,
			last_finished_at = excluded.last_finished_at, last_ok_at = excluded.last_ok_at, state = excluded.state,
			message = excluded.message, error_kind = excluded.error_kind, retry_at = excluded.retry_at,
			rows_found = excluded.rows_found, events_new = excluded.events_new, events_known = excluded.events_known,
			rows_skipped = excluded.rows_skipped, updated_at = excluded.updated_at`,
		st.Account, msOrNull(st.CursorAt), msOrNull(st.LastRunAt), msOrNull(st.LastFinishedAt), msOrNull(st.LastOKAt),
		st.State, st.Message, st.ErrorKind, msOrNull(st.RetryAt), st.RowsFound, st.EventsNew, st.EventsKnown,
		st.RowsSkipped, ms(t.now))
	return err
}

// LockGetCourseSync takes (or renews) the account's sync lease for owner
// until now+lease. It reports false while another owner holds an unexpired
// lease. A crashed holder's lease simply runs out.
func (s *Store) LockGetCourseSync(ctx context.Context, account, owner string, lease time.Duration) (bool, error) {
	var ok bool
	err := s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.q.ExecContext(ctx, `INSERT INTO getcourse_sync (account, updated_at) VALUES ($1, $2)
			ON CONFLICT (account) DO NOTHING`, account, ms(tx.now)); err != nil {
			return err
		}
		res, err := tx.q.ExecContext(ctx, `UPDATE getcourse_sync SET lock_owner = $2, lock_until = $3
			WHERE account = $1 AND (lock_until < $4 OR lock_owner = $2)`, account, owner, ms(tx.now.Add(lease)), ms(tx.now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		ok = n == 1
		return err
	})
	return ok, err
}

// UnlockGetCourseSync releases owner's lease.
func (s *Store) UnlockGetCourseSync(ctx context.Context, account, owner string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.q.ExecContext(ctx, `UPDATE getcourse_sync SET lock_owner = '', lock_until = 0
			WHERE account = $1 AND lock_owner = $2`, account, owner)
		return err
	})
}

// DealKnownPaid reports whether the deal is already recorded as paid, by a
// webhook or an earlier sync.
func (t *Tx) DealKnownPaid(ctx context.Context, dealKey string) (bool, error) {
	var n int
	err := t.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM deals WHERE deal_key = $1 AND paid = TRUE`, dealKey).Scan(&n)
	return n > 0, err
}

// SetUserGetCourseID fills in a user's GetCourse id when it is not known yet;
// an id already set (by a webhook, say) is kept.
func (s *Store) SetUserGetCourseID(ctx context.Context, userID int64, gcID string) error {
	return s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.q.ExecContext(ctx, `UPDATE users SET getcourse_user_id = $2, updated_at = $3
			WHERE id = $1 AND getcourse_user_id = ''`, userID, gcID, ms(tx.now))
		return err
	})
}
