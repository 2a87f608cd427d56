package store

import (
	"booksmeta"

	"context"
	"database/sql"
	"strconv"
	"time"
)

// PutCalendarFeed sets (or replaces) a student's feed token.
func (t *Tx) PutCalendarFeed(ctx context.Context, userID int64, tokenHash, sealed string) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO calendar_feeds (user_id, token_hash, token_sealed, created_at) VALUES ($1,$2,$3,$4)
		ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, token_sealed = excluded.token_sealed, created_at = excluded.created_at`,
		userID, tokenHash, sealed, ms(t.now))
	return err
}

// CalendarFeed returns the sealed token of a student's feed, "" when none.
func (s *Store) CalendarFeed(ctx context.Context, userID int64) (string, error) {
	var sealed string
	err := s.read().QueryRowContext(ctx, `SELECT token_sealed FROM calendar_feeds WHERE user_id = $1`, userID).Scan(&sealed)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return sealed, err
}

// UserByCalendarToken finds the active student whose feed token hashes to tokenHash.
func (s *Store) UserByCalendarToken(ctx context.Context, tokenHash string) (*booksmeta.User, error) {
	return scanUser(s.read().QueryRowContext(ctx, "SELECT "+prefixed("u.", userCols)+
		` FROM calendar_feeds f JOIN users u ON u.id = f.user_id WHERE f.token_hash = $1 AND u.active = TRUE`, tokenHash))
}

// FreeSlot is a slot a student could book now: one place or more left, not
// started, not held by them.
type FreeSlot struct {
	ID               int64
	StartsAt, EndsAt time.Time
}

// FreeSlots lists the slots userID could book that start after `after` and
// (unless before is zero) before `before`, soonest first; limit 0 is no
// limit. It answers the calendar's "next free time" and free hours per day,
// so it leaves out what the booking rules would refuse for the slot itself:
// full, started, inactive, deleted or already booked by this student.
func (s *Store) FreeSlots(ctx context.Context, userID int64, after, before time.Time, limit int) ([]FreeSlot, error) {
	q := `SELECT s.id, s.starts_at, s.ends_at FROM slots s
		WHERE s.starts_at > $1 AND s.active = TRUE AND s.deleted_at IS NULL AND s.booked < s.capacity
		AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.slot_id = s.id AND b.user_id = $2 AND b.status = 'active')`
	args := []any{ms(after), userID}
	if !before.IsZero() {
		q += ` AND s.starts_at < $3`
		args = append(args, ms(before))
	}
	q += ` ORDER BY s.starts_at, s.id`
	if limit > 0 {
		q += ` LIMIT ` + strconv.Itoa(limit)
	}
	return collect(func(r scanner) (FreeSlot, error) {
		var f FreeSlot
		var st, en int64
		err := r.Scan(&f.ID, &st, &en)
		f.StartsAt, f.EndsAt = fromMS(st), fromMS(en)
		return f, err
	})(s.read().QueryContext(ctx, q, args...))
}
