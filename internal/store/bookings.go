package store

import (
	"context"
	"errors"
	"strings"
)

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

// BookingNotes reads the admins' notes of the given bookings (those with a
// note only), for the admin list.
func (s *Store) BookingNotes(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var c conds
	ph := make([]string, len(ids))
	for i, id := range ids {
		ph[i] = c.arg(id)
	}
	rows, err := s.read().QueryContext(ctx, `SELECT id, notes FROM bookings WHERE notes <> '' AND id IN (`+strings.Join(ph, ",")+`)`, c.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n string
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

// SetBookingNote replaces a booking's note.
func (t *Tx) SetBookingNote(ctx context.Context, id int64, note string) error {
	res, err := t.q.ExecContext(ctx, `UPDATE bookings SET notes = $2 WHERE id = $1`, id, note)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// FinishBooking marks an active booking finished now; the place stays
// taken, as when its slot ends.
func (t *Tx) FinishBooking(ctx context.Context, id int64) error {
	res, err := t.q.ExecContext(ctx, `UPDATE bookings SET status = 'finished', finished_at = $2 WHERE id = $1 AND status = 'active'`, id, ms(t.now))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return t.accessChanged(ctx)
}

// DeleteBooking removes a booking that is no longer active. A finished one
// still held its place in the slot's count, which is given back.
func (t *Tx) DeleteBooking(ctx context.Context, id int64) error {
	var slot int64
	var status string
	if err := t.q.QueryRowContext(ctx, `SELECT slot_id, status FROM bookings WHERE id = $1`, id).Scan(&slot, &status); err != nil {
		return notFound(err)
	}
	if status == "active" {
		return errors.New("store: delete of an active booking; cancel it first")
	}
	if _, err := t.q.ExecContext(ctx, `DELETE FROM bookings WHERE id = $1`, id); err != nil {
		return err
	}
	if err := t.accessChanged(ctx); err != nil {
		return err
	}
	if status == "finished" {
		_, err := t.q.ExecContext(ctx, `UPDATE slots SET booked = booked - 1 WHERE id = $1 AND booked > 0`, slot)
		return err
	}
	return nil
}

// BookingNote reads one booking's note.
func (s *Store) BookingNote(ctx context.Context, id int64) (string, error) {
	var n string
	err := s.read().QueryRowContext(ctx, `SELECT notes FROM bookings WHERE id = $1`, id).Scan(&n)
	return n, notFound(err)
}
