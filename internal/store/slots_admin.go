package store

import (
	"booksmeta"

	"context"
	"database/sql"
	"errors"
	"time"

	"booksmeta/internal/db"
)

// Slot sources.
const (
	SlotManual   = "manual"
	SlotSchedule = "schedule"
)

// MaxSlotLength bounds a slot's length; overlap look-ups rely on it to scan
// only the slots that start within this distance before a new one.
const MaxSlotLength = 24 * time.Hour

// AdminSlot is a slot with its live booking count, for the admin list.
type AdminSlot struct {
	booksmeta.Slot
	ActiveBookings int
}

// AdminSlots lists the slots starting in [from, to) that are not deleted,
// active or not, with the number of active bookings on each.
func (s *Store) AdminSlots(ctx context.Context, from, to time.Time) ([]*AdminSlot, error) {
	return collect(scanAdminSlot)(s.read().QueryContext(ctx, `SELECT `+slotCols+`,
		(SELECT COUNT(*) FROM bookings b WHERE b.slot_id = s.id AND b.status = 'active')
		FROM slots s WHERE s.starts_at >= $1 AND s.starts_at < $2 AND s.deleted_at IS NULL
		ORDER BY s.starts_at`, ms(from), ms(to)))
}

// scanAdminSlot reads slotCols followed by the active booking count.
func scanAdminSlot(row scanner) (*AdminSlot, error) {
	var a AdminSlot
	sl, err := scanSlot(row, &a.ActiveBookings)
	if err != nil {
		return nil, err
	}
	a.Slot = *sl
	return &a, nil
}

// AdminSlotByID reads one slot (deleted ones included) with its active booking count.
func (s *Store) AdminSlotByID(ctx context.Context, id int64) (*AdminSlot, error) {
	return scanAdminSlot(s.read().QueryRowContext(ctx, `SELECT `+slotCols+`,
		(SELECT COUNT(*) FROM bookings b WHERE b.slot_id = s.id AND b.status = 'active')
		FROM slots s WHERE s.id = $1`, id))
}

// HasScheduleSlots reports whether the weekly schedule ever created a slot.
func (s *Store) HasScheduleSlots(ctx context.Context) (bool, error) {
	var n int
	err := s.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM slots WHERE source = 'schedule' LIMIT 1) x`).Scan(&n)
	return n > 0, err
}

func (t *Tx) forUpdate() string {
	if t.dialect == db.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// SlotForUpdate reads a slot and, on PostgreSQL, locks its row until the
// transaction ends, so that a booking racing an admin change waits for it
// and then sees the result (SQLite already serialises writers).
func (t *Tx) SlotForUpdate(ctx context.Context, id int64) (*booksmeta.Slot, error) {
	return scanSlot(t.q.QueryRowContext(ctx, "SELECT "+slotCols+" FROM slots s WHERE s.id = $1"+t.forUpdate(), id))
}

// OverlappingSlot returns a live (not deleted) slot other than except that
// overlaps [start, end), or nil.
func (t *Tx) OverlappingSlot(ctx context.Context, start, end time.Time, except int64) (*booksmeta.Slot, error) {
	sl, err := scanSlot(t.q.QueryRowContext(ctx, "SELECT "+slotCols+` FROM slots s
		WHERE s.starts_at > $1 AND s.starts_at < $2 AND s.ends_at > $3 AND s.deleted_at IS NULL AND s.id <> $4
		ORDER BY s.starts_at LIMIT 1`, ms(start.Add(-MaxSlotLength)), ms(end), ms(start), except))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return sl, err
}

// SlotAt returns the slot, deleted or not, that starts at start, or nil.
func (t *Tx) SlotAt(ctx context.Context, start time.Time) (*booksmeta.Slot, error) {
	sl, err := scanSlot(t.q.QueryRowContext(ctx, "SELECT "+slotCols+" FROM slots s WHERE s.starts_at = $1", ms(start)))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return sl, err
}

// InsertSlot adds s unless a slot (deleted or not) already starts then, and
// reports whether it inserted. ServerLogin and ServerPassword must already
// be sealed. Whether the slot may be there is package schedule's rule.
func (t *Tx) InsertSlot(ctx context.Context, s *booksmeta.Slot) (bool, error) {
	if s.Source == "" {
		s.Source = SlotManual
	}
	err := t.q.QueryRowContext(ctx, `INSERT INTO slots (starts_at, ends_at, capacity, note, active, server_login, server_password,
		source, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$9) ON CONFLICT (starts_at) DO NOTHING RETURNING id`,
		ms(s.StartsAt), ms(s.EndsAt), s.Capacity, s.Note, s.Active, s.ServerLogin, s.ServerPassword, s.Source, ms(t.now)).Scan(&s.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	s.Booked = 0
	return err == nil, err
}

// ReviveSlot brings the deleted slot tombstone back with the values of s
// (its start is the tombstone's).
func (t *Tx) ReviveSlot(ctx context.Context, tombstone *booksmeta.Slot, s *booksmeta.Slot) error {
	if s.Source == "" {
		s.Source = SlotManual
	}
	_, err := t.q.ExecContext(ctx, `UPDATE slots SET ends_at=$2, capacity=$3, note=$4, active=$5, server_login=$6,
		server_password=$7, source=$8, deleted_at=NULL, updated_at=$9 WHERE id=$1`,
		tombstone.ID, ms(s.EndsAt), s.Capacity, s.Note, s.Active, s.ServerLogin, s.ServerPassword, s.Source, ms(t.now))
	s.ID, s.Booked, s.DeletedAt = tombstone.ID, tombstone.Booked, time.Time{}
	return err
}

// UpdateSlot writes the editable fields of s (times, capacity, note, active,
// sealed credentials) over the stored slot s.ID. Whether the change is
// allowed is package schedule's rule.
func (t *Tx) UpdateSlot(ctx context.Context, s *booksmeta.Slot) error {
	_, err := t.q.ExecContext(ctx, `UPDATE slots SET starts_at=$2, ends_at=$3, capacity=$4, note=$5, active=$6,
		server_login=$7, server_password=$8, updated_at=$9 WHERE id=$1`,
		s.ID, ms(s.StartsAt), ms(s.EndsAt), s.Capacity, s.Note, s.Active, s.ServerLogin, s.ServerPassword, ms(t.now))
	return err
}

// SoftDeleteSlot marks a slot deleted; the row stays as a tombstone so the
// generator never recreates it, and finished bookings keep their history.
func (t *Tx) SoftDeleteSlot(ctx context.Context, id int64) error {
	_, err := t.q.ExecContext(ctx, `UPDATE slots SET deleted_at=$2, updated_at=$2 WHERE id=$1`, id, ms(t.now))
	return err
}

// DeactivateSlots closes the live, active slots overlapping [from, to) that
// have not ended, and returns how many it closed.
func (t *Tx) DeactivateSlots(ctx context.Context, from, to time.Time) (int, error) {
	res, err := t.q.ExecContext(ctx, `UPDATE slots SET active=FALSE, updated_at=$4
		WHERE starts_at > $1 AND starts_at < $2 AND ends_at > $3 AND ends_at > $5 AND active = TRUE AND deleted_at IS NULL`,
		ms(from.Add(-MaxSlotLength)), ms(to), ms(from), ms(t.now), ms(t.now))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (t *Tx) liveBookings(ctx context.Context, where string, args ...any) ([]*booksmeta.Booking, error) {
	return collect(scanBookingWithUser)(t.q.QueryContext(ctx, "SELECT "+bookingWithUserCols+` FROM bookings b JOIN slots s ON s.id = b.slot_id
		JOIN users u ON u.id = b.user_id WHERE b.status = 'active' AND `+where+` ORDER BY s.starts_at, b.id`, args...))
}

// LiveBookingsOfSlot lists the active bookings of a slot that has not
// ended, with the student's email and name. Lock the slot first
// (SlotForUpdate) so that no booking slips in after the list is read.
func (t *Tx) LiveBookingsOfSlot(ctx context.Context, slotID int64) ([]*booksmeta.Booking, error) {
	return t.liveBookings(ctx, `b.slot_id = $1 AND s.ends_at > $2`, slotID, ms(t.now))
}

// LiveBookingsBetween lists the active bookings of the slots (not deleted)
// overlapping [from, to) that have not ended. On PostgreSQL it first locks
// those slots, so no booking slips in before the caller closes them.
func (t *Tx) LiveBookingsBetween(ctx context.Context, from, to time.Time) ([]*booksmeta.Booking, error) {
	const inRange = `s.starts_at > $1 AND s.starts_at < $2 AND s.ends_at > $3 AND s.ends_at > $4 AND s.deleted_at IS NULL`
	args := []any{ms(from.Add(-MaxSlotLength)), ms(to), ms(from), ms(t.now)}
	if t.dialect == db.Postgres {
		rows, err := t.q.QueryContext(ctx, `SELECT s.id FROM slots s WHERE `+inRange+` FOR UPDATE`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() { // read every row: each one read is locked
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return t.liveBookings(ctx, inRange, args...)
}
