package store

import (
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
func (s *Store) SessionWithUser(ctx context.Context, id string) (*Session, *User, error) {
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

// PruneSessions deletes expired sessions.
func (t *Tx) PruneSessions(ctx context.Context) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, ms(t.now))
	return err
}

// LoginFailures returns the failures recorded for key since windowStart.
func (s *Store) LoginFailures(ctx context.Context, key string, windowStart time.Time) (int, time.Time, error) {
	var n int
	var start int64
	err := s.read().QueryRowContext(ctx, `SELECT failures, window_start FROM login_failures WHERE key = $1 AND window_start > $2`,
		key, ms(windowStart)).Scan(&n, &start)
	if err != nil {
		if notFound(err) == ErrNotFound {
			return 0, time.Time{}, nil
		}
		return 0, time.Time{}, err
	}
	return n, fromMS(start), nil
}

// AddLoginFailure counts one failure for key, starting a new window when the
// old one is older than windowStart.
func (t *Tx) AddLoginFailure(ctx context.Context, key string, windowStart time.Time) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO login_failures (key, failures, window_start) VALUES ($1, 1, $2)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN login_failures.window_start > $3 THEN login_failures.failures + 1 ELSE 1 END,
			window_start = CASE WHEN login_failures.window_start > $3 THEN login_failures.window_start ELSE $2 END`,
		key, ms(t.now), ms(windowStart))
	return err
}

// ClearLoginFailures forgets failures for key after a successful sign-in.
func (t *Tx) ClearLoginFailures(ctx context.Context, key string) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM login_failures WHERE key = $1`, key)
	return err
}

// prefixed qualifies every column of a column list with p (a table alias).
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
