package store

import (
	"booksmeta"

	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"
)

// Legacy map kinds: what `booksmeta import-legacy` recorded.
const (
	LegacyUser        = "user"
	LegacySlot        = "slot"
	LegacyBookingKind = "booking"
	LegacyLog         = "getcourse_log"
)

// LegacyMapped returns the new id a legacy row was imported as.
func (t *Tx) LegacyMapped(ctx context.Context, kind string, legacyID int64) (int64, bool, error) {
	var id int64
	err := t.q.QueryRowContext(ctx, "SELECT new_id FROM legacy_map WHERE kind = $1 AND legacy_id = $2",
		kind, strconv.FormatInt(legacyID, 10)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

// PutLegacyMap records that a legacy row became newID.
func (t *Tx) PutLegacyMap(ctx context.Context, kind string, legacyID, newID int64) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO legacy_map (kind, legacy_id, new_id, imported_at) VALUES ($1,$2,$3,$4)
		ON CONFLICT (kind, legacy_id) DO NOTHING`, kind, strconv.FormatInt(legacyID, 10), newID, ms(t.now))
	return err
}

// CountLegacyMap counts imported rows by kind.
func (s *Store) CountLegacyMap(ctx context.Context) (map[string]int, error) {
	return countBy(s.read().QueryContext(ctx, "SELECT kind, COUNT(*) FROM legacy_map GROUP BY kind"))
}

// InsertLegacyUser creates u keeping its CreatedAt and LastLoginAt.
func (t *Tx) InsertLegacyUser(ctx context.Context, u *booksmeta.User) error {
	u.Email = NormalizeEmail(u.Email)
	if u.CreatedAt.IsZero() {
		u.CreatedAt = t.now
	}
	u.UpdatedAt = t.now
	return t.q.QueryRowContext(ctx, `INSERT INTO users (email, first_name, last_name, phone, role, password_hash,
		paid, active, deactivated_by_admin, booking_limit, getcourse_user_id, paid_at, last_login_at, created_at, updated_at, search)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16) RETURNING id`,
		u.Email, u.FirstName, u.LastName, u.Phone, u.Role, u.PasswordHash, u.Paid, u.Active,
		u.DeactivatedByAdmin, u.BookingLimit, u.GetCourseUserID, msOrNull(u.PaidAt), msOrNull(u.LastLoginAt),
		ms(u.CreatedAt), ms(u.UpdatedAt), searchText(u)).Scan(&u.ID)
}

// SlotIDAt returns the slot (deleted or not) that starts at start.
func (t *Tx) SlotIDAt(ctx context.Context, start time.Time) (int64, bool, error) {
	var id int64
	err := t.q.QueryRowContext(ctx, "SELECT id FROM slots WHERE starts_at = $1", ms(start)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

// InsertLegacySlot creates s with no bookings (source "legacy"); the server
// password must already be sealed.
func (t *Tx) InsertLegacySlot(ctx context.Context, s *booksmeta.Slot) error {
	return t.q.QueryRowContext(ctx, `INSERT INTO slots (starts_at, ends_at, capacity, booked, note, active,
		server_login, server_password, source, created_at, updated_at)
		VALUES ($1,$2,$3,0,$4,$5,$6,$7,'legacy',$8,$8) RETURNING id`,
		ms(s.StartsAt), ms(s.EndsAt), s.Capacity, s.Note, s.Active, s.ServerLogin, s.ServerPassword, ms(t.now)).Scan(&s.ID)
}

// LegacyBooking is a booking as the importer writes it.
type LegacyBooking struct {
	SlotID, UserID int64
	Status         string // active, cancelled, finished
	CreatedAt      time.Time
	ClosedAt       time.Time // cancelled_at or finished_at
	Reason         string
}

// InsertLegacyBooking inserts b; it reports false when the student already
// holds an active booking of that slot (nothing is inserted then).
func (t *Tx) InsertLegacyBooking(ctx context.Context, b *LegacyBooking) (int64, bool, error) {
	var cancelled, finished any
	switch b.Status {
	case "cancelled":
		cancelled = ms(b.ClosedAt)
	case "finished":
		finished = ms(b.ClosedAt)
	}
	var id int64
	err := t.q.QueryRowContext(ctx, `INSERT INTO bookings (slot_id, user_id, status, created_at, cancelled_at, cancel_reason, finished_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING RETURNING id`,
		b.SlotID, b.UserID, b.Status, ms(b.CreatedAt), cancelled, b.Reason, finished).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

// RecountSlotBooked sets a slot's booked counter to its active bookings,
// raising the capacity when the old data held more than it allowed.
func (t *Tx) RecountSlotBooked(ctx context.Context, slotID int64) error {
	_, err := t.q.ExecContext(ctx, `UPDATE slots SET
		capacity = CASE WHEN capacity < (SELECT COUNT(*) FROM bookings WHERE slot_id = $1 AND status = 'active')
			THEN (SELECT COUNT(*) FROM bookings WHERE slot_id = $1 AND status = 'active') ELSE capacity END,
		booked = (SELECT COUNT(*) FROM bookings WHERE slot_id = $1 AND status = 'active'),
		updated_at = $2 WHERE id = $1`, slotID, ms(t.now))
	return err
}

// InsertLegacyWebhook records an old GetCourse log row as webhook history:
// accepted, done, auth "legacy", never processed again.
func (t *Tx) InsertLegacyWebhook(ctx context.Context, e *booksmeta.WebhookEvent) error {
	return t.q.QueryRowContext(ctx, `INSERT INTO webhook_events (received_at, method, path, remote_addr, content_type,
		headers, query, body, body_size, auth, outcome, http_status, reason, event, email, payload, state, result, processed_at)
		VALUES ($1,$2,$3,'','application/json','{}','',$4,$5,'legacy','accepted',$6,$7,$8,$9,'','done',$10,$1) RETURNING id`,
		ms(e.ReceivedAt), e.Method, e.Path, e.Body, e.BodySize, e.HTTPStatus, e.Reason, e.Event, e.Email, e.Result).Scan(&e.ID)
}
