package store

import (
	"booksmeta"

	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/db"
)

// SlotView is a slot as one student sees it.
type SlotView struct {
	booksmeta.Slot
	BookedByMe bool
}

const slotCols = `s.id, s.starts_at, s.ends_at, s.capacity, s.booked, s.note, s.active, s.server_login, s.server_password, s.source, s.deleted_at`

func scanSlot(row scanner, extra ...any) (*booksmeta.Slot, error) {
	var s booksmeta.Slot
	var st, en int64
	var del sql.NullInt64
	err := row.Scan(append([]any{&s.ID, &st, &en, &s.Capacity, &s.Booked, &s.Note, &s.Active, &s.ServerLogin,
		&s.ServerPassword, &s.Source, &del}, extra...)...)
	if err != nil {
		return nil, notFound(err)
	}
	s.StartsAt, s.EndsAt, s.DeletedAt = fromMS(st), fromMS(en), nullMS(del)
	return &s, nil
}

// SlotsBetween lists the active slots starting in [from, to) with whether
// userID holds an active booking on each. One indexed range scan.
func (s *Store) SlotsBetween(ctx context.Context, from, to time.Time, userID int64) ([]*SlotView, error) {
	scan := func(r scanner) (*SlotView, error) {
		var v SlotView
		sl, err := scanSlot(r, &v.BookedByMe)
		if sl != nil {
			v.Slot = *sl
		}
		return &v, err
	}
	return collect(scan)(s.read().QueryContext(ctx, `SELECT `+slotCols+`,
		EXISTS (SELECT 1 FROM bookings b WHERE b.slot_id = s.id AND b.user_id = $3 AND b.status IN ('active','finished'))
		FROM slots s WHERE s.starts_at >= $1 AND s.starts_at < $2 AND s.active = TRUE AND s.deleted_at IS NULL
		ORDER BY s.starts_at`, ms(from), ms(to), userID))
}

// LockUser reads a user for update: on PostgreSQL the row lock serialises
// one student's concurrent bookings so the limit holds; SQLite already
// serialises writers.
func (t *Tx) LockUser(ctx context.Context, id int64) (*booksmeta.User, error) {
	lock := ""
	if t.dialect == db.Postgres {
		lock = " FOR UPDATE"
	}
	return scanUser(t.q.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE id = $1"+lock, id))
}

// SlotByID reads a slot (deleted ones included) inside the transaction.
func (t *Tx) SlotByID(ctx context.Context, id int64) (*booksmeta.Slot, error) {
	return scanSlot(t.q.QueryRowContext(ctx, "SELECT "+slotCols+" FROM slots s WHERE s.id = $1", id))
}

// TakePlace takes one place in a slot if one is free, atomically: the
// conditional update is the capacity check, so no concurrency overbooks.
func (t *Tx) TakePlace(ctx context.Context, slotID int64) (bool, error) {
	res, err := t.q.ExecContext(ctx, `UPDATE slots SET booked = booked + 1
		WHERE id = $1 AND booked < capacity AND active = TRUE AND deleted_at IS NULL`, slotID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// HasActiveBooking reports whether the user holds an active booking of the slot.
func (t *Tx) HasActiveBooking(ctx context.Context, userID, slotID int64) (bool, error) {
	var n int
	err := t.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM bookings WHERE user_id = $1 AND slot_id = $2 AND status = 'active'`,
		userID, slotID).Scan(&n)
	return n > 0, err
}

const bookingCols = `b.id, b.slot_id, b.user_id, b.status, b.created_at, b.cancelled_at, b.cancelled_by, b.cancel_reason, b.finished_at,
	s.starts_at, s.ends_at`

func scanBooking(row scanner, extra ...any) (*booksmeta.Booking, error) {
	var b booksmeta.Booking
	var created, st, en int64
	var canc, by, fin sql.NullInt64
	err := row.Scan(append([]any{&b.ID, &b.SlotID, &b.UserID, &b.Status, &created, &canc, &by, &b.CancelReason, &fin, &st, &en}, extra...)...)
	if err != nil {
		return nil, notFound(err)
	}
	b.CreatedAt, b.CancelledAt, b.CancelledBy, b.FinishedAt = fromMS(created), nullMS(canc), by.Int64, nullMS(fin)
	b.StartsAt, b.EndsAt = fromMS(st), fromMS(en)
	return &b, nil
}

// InsertBooking adds an active booking.
func (t *Tx) InsertBooking(ctx context.Context, slotID, userID int64) (*booksmeta.Booking, error) {
	var id int64
	if err := t.q.QueryRowContext(ctx, `INSERT INTO bookings (slot_id, user_id, status, created_at) VALUES ($1,$2,'active',$3) RETURNING id`,
		slotID, userID, ms(t.now)).Scan(&id); err != nil {
		return nil, err
	}
	if err := t.accessChanged(ctx); err != nil {
		return nil, err
	}
	return t.BookingByID(ctx, id)
}

// BookingByID reads a booking inside the transaction.
func (t *Tx) BookingByID(ctx context.Context, id int64) (*booksmeta.Booking, error) {
	return scanBooking(t.q.QueryRowContext(ctx, "SELECT "+bookingCols+" FROM bookings b JOIN slots s ON s.id = b.slot_id WHERE b.id = $1", id))
}

// BookingByID reads a booking.
func (s *Store) BookingByID(ctx context.Context, id int64) (*booksmeta.Booking, error) {
	return scanBooking(s.read().QueryRowContext(ctx, "SELECT "+bookingCols+" FROM bookings b JOIN slots s ON s.id = b.slot_id WHERE b.id = $1", id))
}

// CancelBooking cancels an active booking and frees its place.
func (t *Tx) CancelBooking(ctx context.Context, b *booksmeta.Booking, by int64, reason string) error {
	return t.cancelBooking(ctx, b.ID, b.SlotID, by, reason)
}

// BookingsByUser lists a user's bookings, soonest upcoming first then past.
func (s *Store) BookingsByUser(ctx context.Context, userID int64) ([]*booksmeta.Booking, error) {
	return collect(func(r scanner) (*booksmeta.Booking, error) { return scanBooking(r) })(s.read().QueryContext(ctx,
		"SELECT "+bookingCols+` FROM bookings b JOIN slots s ON s.id = b.slot_id
		WHERE b.user_id = $1 ORDER BY s.starts_at DESC LIMIT 500`, userID))
}

// BookingFilter selects bookings for the admin list.
type BookingFilter struct {
	From, To time.Time // slot start range
	Status   string
	User     string // email or name fragment
	Limit    int
}

// ListBookings lists bookings for admins, by slot start.
func (s *Store) ListBookings(ctx context.Context, f BookingFilter) ([]*booksmeta.Booking, error) {
	var c conds
	if !f.From.IsZero() {
		c.add("s.starts_at >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		c.add("s.starts_at < ?", ms(f.To))
	}
	if f.Status != "" {
		c.add("b.status = ?", f.Status)
	}
	if f.User != "" {
		c.add("u.search LIKE ? ESCAPE '\\'", like(strings.ToLower(f.User)))
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 200
	}
	return collect(scanBookingWithUser)(s.read().QueryContext(ctx, "SELECT "+bookingWithUserCols+`
		FROM bookings b JOIN slots s ON s.id = b.slot_id JOIN users u ON u.id = b.user_id
		WHERE `+c.where()+` ORDER BY s.starts_at DESC, b.id DESC LIMIT `+strconv.Itoa(f.Limit), c.args...))
}

const bookingWithUserCols = bookingCols + `, u.email, u.first_name || ' ' || u.last_name`

// scanBookingWithUser reads bookingWithUserCols (bookings joined with users).
func scanBookingWithUser(row scanner) (*booksmeta.Booking, error) {
	var email, name string
	b, err := scanBooking(row, &email, &name)
	if err != nil {
		return nil, err
	}
	b.UserEmail, b.UserName = email, strings.TrimSpace(name)
	return b, nil
}

// FinishEndedBookings marks active bookings whose slot has ended finished.
// The place stays taken: it was used.
func (t *Tx) FinishEndedBookings(ctx context.Context) (int64, error) {
	res, err := t.q.ExecContext(ctx, `UPDATE bookings SET status = 'finished', finished_at = $1
		WHERE status = 'active' AND slot_id IN (SELECT id FROM slots WHERE ends_at <= $1)`, ms(t.now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
