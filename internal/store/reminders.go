package store

import (
	"booksmeta"

	"context"
	"time"
)

// BookingsToRemind lists active bookings starting in (now, until] whose
// reminder has not been queued yet (the dedupe key "reminder:<id>"), with
// the student's email and name.
func (t *Tx) BookingsToRemind(ctx context.Context, until time.Time) ([]*booksmeta.Booking, error) {
	return collect(scanBookingWithUser)(t.q.QueryContext(ctx, "SELECT "+bookingWithUserCols+`
		FROM bookings b JOIN slots s ON s.id = b.slot_id JOIN users u ON u.id = b.user_id
		WHERE b.status = 'active' AND s.starts_at > $1 AND s.starts_at <= $2 AND u.active = TRUE
		AND NOT EXISTS (SELECT 1 FROM mail_outbox m WHERE m.dedupe_key = 'reminder:' || b.id)
		ORDER BY s.starts_at LIMIT 500`, ms(t.now), ms(until)))
}

// ActiveAdmins lists active administrators of either role.
func (t *Tx) ActiveAdmins(ctx context.Context) ([]*booksmeta.User, error) {
	return collect(func(r scanner) (*booksmeta.User, error) { return scanUser(r) })(t.q.QueryContext(ctx,
		"SELECT "+userCols+" FROM users WHERE role IN ('admin','super_admin') AND active = TRUE ORDER BY id"))
}

// BookingStartsBetween lists the slot start times of bookings (active or
// finished) whose slot starts in [from, to): the dashboard groups them by
// school day.
func (s *Store) BookingStartsBetween(ctx context.Context, from, to time.Time) ([]time.Time, error) {
	return collect(func(r scanner) (time.Time, error) {
		var v int64
		err := r.Scan(&v)
		return fromMS(v), err
	})(s.read().QueryContext(ctx, `SELECT s.starts_at FROM bookings b JOIN slots s ON s.id = b.slot_id
		WHERE b.status IN ('active','finished') AND s.starts_at >= $1 AND s.starts_at < $2`, ms(from), ms(to)))
}

// Utilisation sums taken places and capacity of open slots starting in [from, to).
func (s *Store) Utilisation(ctx context.Context, from, to time.Time) (booked, capacity int, err error) {
	err = s.read().QueryRowContext(ctx, `SELECT COALESCE(SUM(booked), 0), COALESCE(SUM(capacity), 0) FROM slots
		WHERE starts_at >= $1 AND starts_at < $2 AND active = TRUE AND deleted_at IS NULL`, ms(from), ms(to)).Scan(&booked, &capacity)
	return
}

// NearLimit lists active students with a limit whose upcoming bookings are
// at most one below it, most booked first.
func (s *Store) NearLimit(ctx context.Context, limit int) ([]*UserRow, error) {
	now := ms(s.Now())
	return collect(func(r scanner) (*UserRow, error) {
		var row UserRow
		u, err := scanUser(r, &row.UpcomingBookings)
		if err != nil {
			return nil, err
		}
		row.User = *u
		return &row, nil
	})(s.read().QueryContext(ctx, `SELECT `+prefixed("u.", userCols)+`, x.n FROM users u JOIN (
		SELECT b.user_id, COUNT(*) AS n FROM bookings b JOIN slots s ON s.id = b.slot_id
		WHERE b.status = 'active' AND s.ends_at > $1 GROUP BY b.user_id) x ON x.user_id = u.id
		WHERE u.role = 'student' AND u.active = TRUE AND u.booking_limit > 0 AND x.n >= u.booking_limit - 1
		ORDER BY x.n DESC, u.id LIMIT $2`, now, limit))
}
