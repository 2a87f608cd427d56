package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"booksmeta"
	"booksmeta/internal/db"
)

// AccessSyncJob is the job kind that brings server access in line with the
// bookings (package grants handles it). The store enqueues it in every
// transaction that changes what access should be open — a booking made or
// cancelled, a student's paid or active flag changed, a user deleted — so
// access opens and closes within seconds of the change and never depends on
// a caller remembering to ask. The periodic run is the safety net.
const AccessSyncJob = "access_sync"

// accessChanged queues one access sync for this transaction's commit.
func (t *Tx) accessChanged(ctx context.Context) error {
	if t.accessQueued {
		return nil
	}
	if _, err := t.EnqueueJob(ctx, &Job{Kind: AccessSyncJob, MaxAttempts: 3}); err != nil {
		return err
	}
	t.accessQueued = true
	return nil
}

// grantColsPlain names the columns without a table, as RETURNING needs
// on SQLite; grantCols qualifies them for joins.
const grantColsPlain = `id, booking_id, seq, user_id, slot_id, provider, login, state, credentials, starts_at, ends_at,
	attempts, next_at, lease_until, last_error, alerted_at, revoke_reason, granted_at, revoked_at, created_at, updated_at`

var grantCols = "g." + strings.ReplaceAll(strings.ReplaceAll(grantColsPlain, "\n\t", " "), ", ", ", g.")

func scanGrant(r scanner, extra ...any) (*booksmeta.AccessGrant, error) {
	var g booksmeta.AccessGrant
	var st, en, next, lease, created, updated int64
	var alerted, granted, revoked sql.NullInt64
	err := r.Scan(append([]any{&g.ID, &g.BookingID, &g.Seq, &g.UserID, &g.SlotID, &g.Provider, &g.Login, &g.State, &g.Credentials,
		&st, &en, &g.Attempts, &next, &lease, &g.LastError, &alerted, &g.RevokeReason, &granted, &revoked, &created, &updated}, extra...)...)
	if err != nil {
		return nil, notFound(err)
	}
	g.StartsAt, g.EndsAt, g.NextAt, g.LeaseUntil = fromMS(st), fromMS(en), fromMS(next), fromMS(lease)
	g.AlertedAt, g.GrantedAt, g.RevokedAt = nullMS(alerted), nullMS(granted), nullMS(revoked)
	g.CreatedAt, g.UpdatedAt = fromMS(created), fromMS(updated)
	return &g, nil
}

// GrantCandidate is a booking whose access window is open and which has no
// open grant: the reconciler grants it.
type GrantCandidate struct {
	Booking   *booksmeta.Booking
	UserEmail string
	UserName  string
}

// BookingsToGrant lists active bookings of active, paid students whose
// window opened by now (starts_at - before <= now < ends_at) and that hold
// no grant that is not revoked. Whether such a booking is current is
// decided by package grants; this query only narrows the rows.
func (t *Tx) BookingsToGrant(ctx context.Context, now time.Time, before time.Duration) ([]GrantCandidate, error) {
	rows, err := t.q.QueryContext(ctx, "SELECT "+bookingCols+`, u.email, u.first_name, u.last_name
		FROM bookings b JOIN slots s ON s.id = b.slot_id JOIN users u ON u.id = b.user_id
		WHERE b.status = 'active' AND s.starts_at <= $1 AND s.ends_at > $2 AND u.active = TRUE AND u.paid = TRUE
		AND NOT EXISTS (SELECT 1 FROM access_grants g WHERE g.booking_id = b.id AND g.state <> 'revoked')
		ORDER BY s.starts_at, b.id LIMIT 500`, ms(now.Add(before)), ms(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []GrantCandidate
	for rows.Next() {
		var c GrantCandidate
		var first, last string
		b, err := scanBooking(rows, &c.UserEmail, &first, &last)
		if err != nil {
			return nil, err
		}
		c.Booking = b
		c.UserName = (&booksmeta.User{FirstName: first, LastName: last, Email: c.UserEmail}).Name()
		out = append(out, c)
	}
	return out, rows.Err()
}

// OpenGrant is a grant that is not revoked, with what decides whether its
// booking is still current. BookingStatus is empty when the booking is gone
// (deleted with its user, or by an admin).
type OpenGrant struct {
	Grant         *booksmeta.AccessGrant
	BookingStatus string
	UserActive    bool
	UserPaid      bool
}

// OpenGrants lists the pending and granted rows with their booking's and
// student's state now.
func (t *Tx) OpenGrants(ctx context.Context) ([]OpenGrant, error) {
	rows, err := t.q.QueryContext(ctx, "SELECT "+grantCols+`, COALESCE(b.status, ''), COALESCE(u.active, FALSE), COALESCE(u.paid, FALSE)
		FROM access_grants g LEFT JOIN bookings b ON b.id = g.booking_id LEFT JOIN users u ON u.id = b.user_id
		WHERE g.state IN ('pending', 'granted') ORDER BY g.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OpenGrant
	for rows.Next() {
		var o OpenGrant
		g, err := scanGrant(rows, &o.BookingStatus, &o.UserActive, &o.UserPaid)
		if err != nil {
			return nil, err
		}
		o.Grant = g
		out = append(out, o)
	}
	return out, rows.Err()
}

// HeldLogins lists the pool accounts held by grants that are not revoked: an
// account is given to one booking at a time, and stays held while its
// revoke has not been confirmed.
func (t *Tx) HeldLogins(ctx context.Context) ([]string, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT login FROM access_grants WHERE state <> 'revoked' AND login <> ''`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// InsertGrant adds a pending grant for g.BookingID with the next seq.
func (t *Tx) InsertGrant(ctx context.Context, g *booksmeta.AccessGrant) error {
	g.State, g.CreatedAt, g.UpdatedAt = booksmeta.GrantPending, t.now, t.now
	if g.NextAt.IsZero() {
		g.NextAt = t.now
	}
	return t.q.QueryRowContext(ctx, `INSERT INTO access_grants (booking_id, seq, user_id, slot_id, provider, login, state, starts_at, ends_at,
		next_at, created_at, updated_at)
		VALUES ($1, (SELECT COALESCE(MAX(seq) + 1, 0) FROM access_grants WHERE booking_id = $1), $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
		RETURNING id, seq`, g.BookingID, g.UserID, g.SlotID, g.Provider, g.Login, g.State, ms(g.StartsAt), ms(g.EndsAt),
		ms(g.NextAt), ms(t.now)).Scan(&g.ID, &g.Seq)
}

// StartRevoke moves an open grant to revoking, due now. A grant already
// revoking or revoked is left as it is.
func (t *Tx) StartRevoke(ctx context.Context, id int64, reason string) error {
	_, err := t.q.ExecContext(ctx, `UPDATE access_grants SET state = 'revoking', revoke_reason = $2, attempts = 0, next_at = $3, updated_at = $3
		WHERE id = $1 AND state IN ('pending', 'granted')`, id, reason, ms(t.now))
	return err
}

// CloseUnstartedGrant marks a pending grant that never reached the
// provider revoked: there is nothing on the server to take back.
func (t *Tx) CloseUnstartedGrant(ctx context.Context, id int64, reason string) (bool, error) {
	res, err := t.q.ExecContext(ctx, `UPDATE access_grants SET state = 'revoked', revoke_reason = $2, revoked_at = $3, updated_at = $3
		WHERE id = $1 AND state = 'pending' AND attempts = 0 AND lease_until <= $3`, id, reason, ms(t.now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DueGrants lists the grants whose next action (grant or revoke) is due and
// not leased by a worker.
func (s *Store) DueGrants(ctx context.Context, limit int) ([]*booksmeta.AccessGrant, error) {
	now := ms(s.Now())
	return collect(func(r scanner) (*booksmeta.AccessGrant, error) { return scanGrant(r) })(s.read().QueryContext(ctx, "SELECT "+grantCols+`
		FROM access_grants g WHERE g.state IN ('pending', 'revoking') AND g.next_at <= $1 AND g.lease_until <= $1
		ORDER BY CASE g.state WHEN 'revoking' THEN 0 ELSE 1 END, g.next_at, g.id LIMIT $2`, now, limit))
}

// ClaimGrant leases a due grant to the caller until until, so that one
// worker of one instance acts on it at a time. It reports false when another
// worker holds it or its state changed.
func (t *Tx) ClaimGrant(ctx context.Context, id int64, until time.Time) (*booksmeta.AccessGrant, error) {
	return scanGrant(t.q.QueryRowContext(ctx, `UPDATE access_grants SET lease_until = $2
		WHERE id = $1 AND state IN ('pending', 'revoking') AND lease_until <= $3
		RETURNING `+grantColsPlain, id, ms(until), ms(t.now)))
}

// SetGrantLogin records the pool account chosen for a pending grant.
func (t *Tx) SetGrantLogin(ctx context.Context, id int64, login string) error {
	_, err := t.q.ExecContext(ctx, `UPDATE access_grants SET login = $2, updated_at = $3 WHERE id = $1`, id, login, ms(t.now))
	return err
}

// GrantSucceeded stores the sealed credentials of a pending grant and opens
// it. It reports false when the grant was moved to revoking meanwhile (the
// booking was cancelled during the call): then the credentials are not kept
// and the revoke goes ahead.
func (t *Tx) GrantSucceeded(ctx context.Context, id int64, sealed string) (bool, error) {
	res, err := t.q.ExecContext(ctx, `UPDATE access_grants SET state = 'granted', credentials = $2, attempts = 0, last_error = '',
		granted_at = $3, lease_until = 0, updated_at = $3 WHERE id = $1 AND state = 'pending'`, id, sealed, ms(t.now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RevokeSucceeded closes a revoking grant and wipes its credentials.
func (t *Tx) RevokeSucceeded(ctx context.Context, id int64) error {
	_, err := t.q.ExecContext(ctx, `UPDATE access_grants SET state = 'revoked', credentials = '', attempts = 0, last_error = '',
		revoked_at = $2, lease_until = 0, updated_at = $2 WHERE id = $1 AND state = 'revoking'`, id, ms(t.now))
	return err
}

// GrantFailed records a failed attempt and when to try again, and releases
// the lease.
func (t *Tx) GrantFailed(ctx context.Context, id int64, msg string, next time.Time) (attempts int, err error) {
	err = t.q.QueryRowContext(ctx, `UPDATE access_grants SET attempts = attempts + 1, last_error = $2, next_at = $3, lease_until = 0, updated_at = $4
		WHERE id = $1 RETURNING attempts`, id, msg, ms(next), ms(t.now)).Scan(&attempts)
	return attempts, err
}

// ReleaseGrant gives up a lease without an attempt (the call was not made).
func (t *Tx) ReleaseGrant(ctx context.Context, id int64) error {
	_, err := t.q.ExecContext(ctx, `UPDATE access_grants SET lease_until = 0 WHERE id = $1`, id)
	return err
}

// MarkGrantAlerted records that the admins were told about a failing grant,
// reporting false when they already were.
func (t *Tx) MarkGrantAlerted(ctx context.Context, id int64) (bool, error) {
	res, err := t.q.ExecContext(ctx, `UPDATE access_grants SET alerted_at = $2 WHERE id = $1 AND alerted_at IS NULL`, id, ms(t.now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// AddGrantAttempt records one call to the provider.
func (t *Tx) AddGrantAttempt(ctx context.Context, a *booksmeta.AccessAttempt) error {
	a.At = t.now
	return t.q.QueryRowContext(ctx, `INSERT INTO access_attempts (grant_id, booking_id, action, ok, message, duration_ms, at)
		VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id`, a.GrantID, a.BookingID, a.Action, a.OK, a.Message, a.Duration.Milliseconds(), ms(a.At)).Scan(&a.ID)
}

// LatestGrant is the booking's newest grant (highest seq).
func (s *Store) LatestGrant(ctx context.Context, bookingID int64) (*booksmeta.AccessGrant, error) {
	return scanGrant(s.read().QueryRowContext(ctx, "SELECT "+grantCols+` FROM access_grants g WHERE g.booking_id = $1 ORDER BY g.seq DESC LIMIT 1`, bookingID))
}

// GrantsOfBooking lists a booking's grants, oldest first.
func (s *Store) GrantsOfBooking(ctx context.Context, bookingID int64) ([]*booksmeta.AccessGrant, error) {
	return collect(func(r scanner) (*booksmeta.AccessGrant, error) { return scanGrant(r) })(s.read().QueryContext(ctx,
		"SELECT "+grantCols+` FROM access_grants g WHERE g.booking_id = $1 ORDER BY g.seq`, bookingID))
}

func scanAttempt(r scanner) (*booksmeta.AccessAttempt, error) {
	var a booksmeta.AccessAttempt
	var d, at int64
	if err := r.Scan(&a.ID, &a.GrantID, &a.BookingID, &a.Action, &a.OK, &a.Message, &d, &at); err != nil {
		return nil, notFound(err)
	}
	a.Duration, a.At = time.Duration(d)*time.Millisecond, fromMS(at)
	return &a, nil
}

// GrantAttempts lists a booking's grant and revoke calls, oldest first.
func (s *Store) GrantAttempts(ctx context.Context, bookingID int64) ([]*booksmeta.AccessAttempt, error) {
	return collect(scanAttempt)(s.read().QueryContext(ctx, `SELECT id, grant_id, booking_id, action, ok, message, duration_ms, at
		FROM access_attempts WHERE booking_id = $1 ORDER BY id LIMIT 1000`, bookingID))
}

// RecentGrants lists the newest grants with the student's email, for the
// admin's page; open ones first so that a failing revoke is never buried.
func (s *Store) RecentGrants(ctx context.Context, limit int) ([]*booksmeta.AccessGrant, error) {
	rows, err := s.read().QueryContext(ctx, "SELECT "+grantCols+`, COALESCE(u.email, '')
		FROM access_grants g LEFT JOIN users u ON u.id = g.user_id
		ORDER BY CASE WHEN g.state = 'revoked' THEN 1 ELSE 0 END, g.id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*booksmeta.AccessGrant
	for rows.Next() {
		var email string
		g, err := scanGrant(rows, &email)
		if err != nil {
			return nil, err
		}
		g.UserEmail = email
		out = append(out, g)
	}
	return out, rows.Err()
}

// PruneGrantAttempts deletes attempt history older than before; the grants
// themselves stay, and open grants keep all their attempts.
func (t *Tx) PruneGrantAttempts(ctx context.Context, before time.Time) (int64, error) {
	res, err := t.q.ExecContext(ctx, `DELETE FROM access_attempts WHERE at < $1
		AND grant_id IN (SELECT id FROM access_grants WHERE state = 'revoked')`, ms(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// LargestUpcomingCapacity is the most places any live slot that has not
// ended offers: the pool of accounts must be at least that large.
func (s *Store) LargestUpcomingCapacity(ctx context.Context) (int, error) {
	var n sql.NullInt64
	err := s.read().QueryRowContext(ctx, `SELECT MAX(capacity) FROM slots WHERE active = TRUE AND deleted_at IS NULL AND ends_at > $1`,
		ms(s.Now())).Scan(&n)
	return int(n.Int64), err
}

// NextWindowOpening is when the next access window of an active booking
// opens after now (its start minus before); zero when none is coming.
func (t *Tx) NextWindowOpening(ctx context.Context, now time.Time, before time.Duration) (time.Time, error) {
	var v sql.NullInt64
	err := t.q.QueryRowContext(ctx, `SELECT MIN(s.starts_at) FROM bookings b JOIN slots s ON s.id = b.slot_id
		WHERE b.status = 'active' AND s.starts_at > $1`, ms(now.Add(before))).Scan(&v)
	if err != nil || !v.Valid {
		return time.Time{}, err
	}
	return fromMS(v.Int64).Add(-before), nil
}

// accessLockKey names the PostgreSQL advisory lock of LockAccess.
const accessLockKey = 7_150_015

// LockAccess serialises, until the transaction ends, the decisions that
// must not race between workers and instances: which bookings get a new
// grant and which pool account a grant takes. SQLite has one writer, so
// its transactions are serial already; on PostgreSQL two of them would
// each see no grant (or the same free account) and both act.
func (t *Tx) LockAccess(ctx context.Context) error {
	if t.dialect != db.Postgres {
		return nil
	}
	_, err := t.q.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, accessLockKey)
	return err
}
