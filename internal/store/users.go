package store

import (
	"booksmeta"

	"context"
	"database/sql"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"booksmeta/internal/db"
)

// NormalizeEmail is how emails are compared and stored: spaces trimmed and
// letters lowercased, except that a character outside ASCII never becomes
// an ASCII one. strings.ToLower turns the Kelvin sign "K" (U+212A) into "k",
// which would merge "\u212Aate@x.ru" with "kate@x.ru"; such an address stays
// apart here, and accounts.ValidEmail refuses it as a look-alike.
func NormalizeEmail(e string) string {
	e = strings.TrimSpace(e)
	return strings.Map(func(r rune) rune {
		l := unicode.ToLower(r)
		if r >= utf8.RuneSelf && l < utf8.RuneSelf {
			return r
		}
		return l
	}, e)
}

const userCols = `id, email, first_name, last_name, phone, role, password_hash, paid, active,
	deactivated_by_admin, booking_limit, getcourse_user_id, paid_at, last_login_at, created_at, updated_at`

// scanUser reads userCols, then extra columns into extra.
func scanUser(row scanner, extra ...any) (*booksmeta.User, error) {
	var u booksmeta.User
	var paidAt, lastLogin sql.NullInt64
	var created, updated int64
	err := row.Scan(append([]any{&u.ID, &u.Email, &u.FirstName, &u.LastName, &u.Phone, &u.Role, &u.PasswordHash,
		&u.Paid, &u.Active, &u.DeactivatedByAdmin, &u.BookingLimit, &u.GetCourseUserID,
		&paidAt, &lastLogin, &created, &updated}, extra...)...)
	if err != nil {
		return nil, notFound(err)
	}
	u.PaidAt, u.LastLoginAt = nullMS(paidAt), nullMS(lastLogin)
	u.CreatedAt, u.UpdatedAt = fromMS(created), fromMS(updated)
	return &u, nil
}

// UserByID reads a user.
func (s *Store) UserByID(ctx context.Context, id int64) (*booksmeta.User, error) {
	return scanUser(s.read().QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE id = $1", id))
}

// UserByEmail reads a user by (normalised) email.
func (s *Store) UserByEmail(ctx context.Context, email string) (*booksmeta.User, error) {
	return scanUser(s.read().QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE email = $1", NormalizeEmail(email)))
}

// CountAdmins counts active administrators of either admin role.
func (s *Store) CountAdmins(ctx context.Context) (int, error) {
	var n int
	err := s.read().QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE role IN ('admin','super_admin') AND active = TRUE").Scan(&n)
	return n, err
}

// UserByEmail reads a user inside the transaction.
func (t *Tx) UserByEmail(ctx context.Context, email string) (*booksmeta.User, error) {
	return scanUser(t.q.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE email = $1", NormalizeEmail(email)))
}

// UserByID reads a user inside the transaction.
func (t *Tx) UserByID(ctx context.Context, id int64) (*booksmeta.User, error) {
	return scanUser(t.q.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE id = $1", id))
}

// UserByGetCourseID finds a user by GetCourse's user id.
func (t *Tx) UserByGetCourseID(ctx context.Context, gcID string) (*booksmeta.User, error) {
	if gcID == "" {
		return nil, ErrNotFound
	}
	return scanUser(t.q.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE getcourse_user_id = $1 ORDER BY id LIMIT 1", gcID))
}

// InsertUser creates u and sets its ID and timestamps.
func (t *Tx) InsertUser(ctx context.Context, u *booksmeta.User) error {
	u.Email = NormalizeEmail(u.Email)
	u.CreatedAt, u.UpdatedAt = t.now, t.now
	return t.q.QueryRowContext(ctx, `INSERT INTO users (email, first_name, last_name, phone, role, password_hash,
		paid, active, deactivated_by_admin, booking_limit, getcourse_user_id, paid_at, created_at, updated_at, search)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$13,$14) RETURNING id`,
		u.Email, u.FirstName, u.LastName, u.Phone, u.Role, u.PasswordHash, u.Paid, u.Active,
		u.DeactivatedByAdmin, u.BookingLimit, u.GetCourseUserID, msOrNull(u.PaidAt), ms(t.now), searchText(u)).Scan(&u.ID)
}

// UpdateUser writes every mutable field of u.
func (t *Tx) UpdateUser(ctx context.Context, u *booksmeta.User) error {
	u.Email = NormalizeEmail(u.Email)
	u.UpdatedAt = t.now
	var wasPaid, wasActive bool
	if err := t.q.QueryRowContext(ctx, `SELECT paid, active FROM users WHERE id = $1`, u.ID).Scan(&wasPaid, &wasActive); err != nil {
		return notFound(err)
	}
	if wasPaid != u.Paid || wasActive != u.Active {
		if err := t.accessChanged(ctx); err != nil {
			return err
		}
	}
	res, err := t.q.ExecContext(ctx, `UPDATE users SET email=$2, first_name=$3, last_name=$4, phone=$5, role=$6,
		password_hash=$7, paid=$8, active=$9, deactivated_by_admin=$10, booking_limit=$11, getcourse_user_id=$12,
		paid_at=$13, updated_at=$14, search=$15 WHERE id=$1`,
		u.ID, u.Email, u.FirstName, u.LastName, u.Phone, u.Role, u.PasswordHash, u.Paid, u.Active,
		u.DeactivatedByAdmin, u.BookingLimit, u.GetCourseUserID, msOrNull(u.PaidAt), ms(t.now), searchText(u))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// UserFilter selects users for the admin list.
type UserFilter struct {
	Query  string // matches email, names, phone
	Role   string
	Paid   *bool
	Active *bool
	Limit  int
	Offset int
}

// UserRow is a user with counts for the admin list.
type UserRow struct {
	booksmeta.User
	UpcomingBookings int
	TotalBookings    int
}

// ListUsers lists users matching f, newest first.
func (s *Store) ListUsers(ctx context.Context, f UserFilter) ([]*UserRow, error) {
	var c conds
	if q := strings.TrimSpace(f.Query); q != "" {
		c.add("u.search LIKE ? ESCAPE '\\'", like(strings.ToLower(q)))
	}
	if f.Role != "" {
		c.add("u.role = ?", f.Role)
	}
	if f.Paid != nil {
		c.add("u.paid = ?", *f.Paid)
	}
	if f.Active != nil {
		c.add("u.active = ?", *f.Active)
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	now := c.arg(ms(s.Now()))
	scan := func(r scanner) (*UserRow, error) {
		var row UserRow
		u, err := scanUser(r, &row.UpcomingBookings, &row.TotalBookings)
		if err != nil {
			return nil, err
		}
		row.User = *u
		return &row, nil
	}
	return collect(scan)(s.read().QueryContext(ctx, "SELECT "+prefixed("u.", userCols)+`,
		(SELECT COUNT(*) FROM bookings b JOIN slots sl ON sl.id = b.slot_id WHERE b.user_id = u.id AND b.status = 'active' AND sl.ends_at > `+now+`),
		(SELECT COUNT(*) FROM bookings b WHERE b.user_id = u.id)
		FROM users u WHERE `+c.where()+` ORDER BY u.id DESC LIMIT `+strconv.Itoa(f.Limit)+` OFFSET `+strconv.Itoa(max(f.Offset, 0)), c.args...))
}

// CountUpcomingBookings counts a user's active bookings whose slot has not ended.
func (t *Tx) CountUpcomingBookings(ctx context.Context, userID int64) (int, error) {
	var n int
	err := t.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM bookings b JOIN slots s ON s.id = b.slot_id
		WHERE b.user_id = $1 AND b.status = 'active' AND s.ends_at > $2`, userID, ms(t.now)).Scan(&n)
	return n, err
}

// CountRole counts active users with a role.
func (t *Tx) CountRole(ctx context.Context, role string) (int, error) {
	var n int
	err := t.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE role = $1 AND active = TRUE`, role).Scan(&n)
	return n, err
}

// CountRoleLocked counts active users with a role and, on PostgreSQL, locks
// their rows until the transaction ends. Two super-admins demoting each other
// at the same moment would otherwise each count two under READ COMMITTED and
// leave none; with the lock the second waits, and its count no longer
// includes the one the first demoted. SQLite needs no lock: its write
// transactions run one at a time.
func (t *Tx) CountRoleLocked(ctx context.Context, role string) (int, error) {
	if t.dialect != db.Postgres {
		return t.CountRole(ctx, role)
	}
	rows, err := t.q.QueryContext(ctx, `SELECT id FROM users WHERE role = $1 AND active = TRUE ORDER BY id FOR UPDATE`, role)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}

// DeleteUser removes a user; their bookings, sessions and notices go with them.
func (t *Tx) DeleteUser(ctx context.Context, id int64) error {
	if _, err := t.q.ExecContext(ctx, `UPDATE slots SET booked = booked - 1 WHERE id IN
		(SELECT slot_id FROM bookings WHERE user_id = $1 AND status = 'active') AND booked > 0`, id); err != nil {
		return err
	}
	res, err := t.q.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if err := t.accessChanged(ctx); err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// TouchLogin records a successful sign-in.
func (t *Tx) TouchLogin(ctx context.Context, id int64) error {
	_, err := t.q.ExecContext(ctx, `UPDATE users SET last_login_at = $2 WHERE id = $1`, id, ms(t.now))
	return err
}

// CountUsers returns dashboard numbers: students, paid students, active students.
func (s *Store) CountUsers(ctx context.Context) (students, paid, admins int, err error) {
	err = s.read().QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN role = 'student' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN role = 'student' AND paid = TRUE AND active = TRUE THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN role <> 'student' THEN 1 ELSE 0 END), 0) FROM users`).Scan(&students, &paid, &admins)
	return
}

func searchText(u *booksmeta.User) string {
	return strings.ToLower(strings.Join([]string{u.Email, u.FirstName, u.LastName, u.FirstName + " " + u.LastName, u.Phone}, "\n"))
}
