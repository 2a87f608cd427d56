package store

import (
	"context"
	"time"
)

// BookingsToRemind lists active bookings starting in (now, until] whose
// reminder has not been queued yet (the dedupe key "reminder:<id>"), with
// the student's email and name.
func (t *Tx) BookingsToRemind(ctx context.Context, until time.Time) ([]*Booking, error) {
	return collect(scanBookingWithUser)(t.q.QueryContext(ctx, "SELECT "+bookingWithUserCols+`
		FROM bookings b JOIN slots s ON s.id = b.slot_id JOIN users u ON u.id = b.user_id
		WHERE b.status = 'active' AND s.starts_at > $1 AND s.starts_at <= $2 AND u.active = TRUE
		AND NOT EXISTS (SELECT 1 FROM mail_outbox m WHERE m.dedupe_key = 'reminder:' || b.id)
		ORDER BY s.starts_at LIMIT 500`, ms(t.now), ms(until)))
}

// ActiveAdmins lists active administrators of either role.
func (t *Tx) ActiveAdmins(ctx context.Context) ([]*User, error) {
	return collect(func(r scanner) (*User, error) { return scanUser(r) })(t.q.QueryContext(ctx,
		"SELECT "+userCols+" FROM users WHERE role IN ('admin','super_admin') AND active = TRUE ORDER BY id"))
}
