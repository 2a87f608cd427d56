package store

import (
	"booksmeta"

	"context"
	"strings"
	"time"
)

// Session is a signed-in browser or API client.
type Session struct {
	ID         string // SHA-256 of the cookie token
	UserID     int64
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// InsertSession stores a new session.
func (t *Tx) InsertSession(ctx context.Context, s *Session, ip, ua string) error {
	s.CreatedAt, s.LastSeenAt = t.now, t.now
	_, err := t.q.ExecContext(ctx, `INSERT INTO sessions (id, user_id, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent)
		VALUES ($1,$2,$3,$4,$4,$5,$6,$7)`, s.ID, s.UserID, s.CSRFToken, ms(t.now), ms(s.ExpiresAt), ip, ua)
	return err
}

// SessionWithUser reads an unexpired session and its user in one query.
func (s *Store) SessionWithUser(ctx context.Context, id string) (*Session, *booksmeta.User, error) {
	var sess Session
	var created, seen, exp int64
	row := s.read().QueryRowContext(ctx, `SELECT `+prefixed("u.", userCols)+`, s.id, s.user_id, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1 AND s.expires_at > $2`, id, ms(s.Now()))
	u, err := scanUser(row, &sess.ID, &sess.UserID, &sess.CSRFToken, &created, &seen, &exp)
	if err != nil {
		return nil, nil, err
	}
	sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt = fromMS(created), fromMS(seen), fromMS(exp)
	return &sess, u, nil
}

// TouchSession extends a session's expiry (sliding expiration).
func (s *Store) TouchSession(ctx context.Context, id string, expires time.Time) error {
	_, err := s.db.Write.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id = $1`, id, ms(s.Now()), ms(expires))
	return err
}

// DeleteSession ends one session.
func (t *Tx) DeleteSession(ctx context.Context, id string) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM sessions WHERE id = $1`, id)
	return err
}

// DeleteUserSessions ends every session of a user (password change, deactivation).
func (t *Tx) DeleteUserSessions(ctx context.Context, userID int64, except string) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2`, userID, except)
	return err
}

// PruneSessions deletes expired sessions and says how many.
func (t *Tx) PruneSessions(ctx context.Context) (int64, error) {
	res, err := t.q.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, ms(t.now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ReserveLoginAttempt counts one sign-in attempt for key before the
// password is checked and returns the count in the current window and when
// that window began. Counting first, in one statement, is what makes the
// limit hold under parallel guesses: the row is locked from the upsert to
// the end of the transaction, so of many concurrent attempts each sees its
// own number. A caller that refuses the attempt rolls the transaction back,
// so refused attempts do not count.
func (t *Tx) ReserveLoginAttempt(ctx context.Context, key string, windowStart time.Time) (int, time.Time, error) {
	var n int
	var start int64
	err := t.q.QueryRowContext(ctx, `INSERT INTO login_failures (key, failures, window_start) VALUES ($1, 1, $2)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN login_failures.window_start > $3 THEN login_failures.failures + 1 ELSE 1 END,
			window_start = CASE WHEN login_failures.window_start > $3 THEN login_failures.window_start ELSE $2 END
		RETURNING failures, window_start`,
		key, ms(t.now), ms(windowStart)).Scan(&n, &start)
	return n, fromMS(start), err
}

// ReleaseLoginAttempt takes back one reserved attempt of key (the password
// was right, or it was never checked).
func (t *Tx) ReleaseLoginAttempt(ctx context.Context, key string) error {
	_, err := t.q.ExecContext(ctx, `UPDATE login_failures SET failures = failures - 1 WHERE key = $1 AND failures > 0`, key)
	return err
}

// ClearLoginFailures forgets failures for key after a successful sign-in.
func (t *Tx) ClearLoginFailures(ctx context.Context, key string) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM login_failures WHERE key = $1`, key)
	return err
}

// PruneLoginFailures deletes counters whose window began before windowStart.
func (t *Tx) PruneLoginFailures(ctx context.Context, windowStart time.Time) (int64, error) {
	res, err := t.q.ExecContext(ctx, `DELETE FROM login_failures WHERE window_start <= $1`, ms(windowStart))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// prefixed qualifies every column of a column list with p (a table alias).
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
