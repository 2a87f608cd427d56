package store

import "context"

// CancelFutureBookings cancels the user's active bookings whose slot has not
// started yet, freeing their places, and returns how many it cancelled.
func (t *Tx) CancelFutureBookings(ctx context.Context, userID int64, reason string) (int, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT b.id, b.slot_id FROM bookings b JOIN slots s ON s.id = b.slot_id
		WHERE b.user_id = $1 AND b.status = 'active' AND s.starts_at > $2`, userID, ms(t.now))
	if err != nil {
		return 0, err
	}
	type pair struct{ id, slot int64 }
	var ps []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.id, &p.slot); err != nil {
			rows.Close()
			return 0, err
		}
		ps = append(ps, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, p := range ps {
		if err := t.cancelBooking(ctx, p.id, p.slot, 0, reason); err != nil {
			return 0, err
		}
	}
	return len(ps), nil
}

// cancelBooking flips one active booking to cancelled and gives its place back.
func (t *Tx) cancelBooking(ctx context.Context, id, slotID, by int64, reason string) error {
	var who any
	if by != 0 {
		who = by
	}
	res, err := t.q.ExecContext(ctx, `UPDATE bookings SET status='cancelled', cancelled_at=$2, cancelled_by=$3, cancel_reason=$4
		WHERE id=$1 AND status='active'`, id, ms(t.now), who, reason)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	if err := t.accessChanged(ctx); err != nil {
		return err
	}
	_, err = t.q.ExecContext(ctx, `UPDATE slots SET booked = booked - 1 WHERE id = $1 AND booked > 0`, slotID)
	return err
}
