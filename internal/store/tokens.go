package store

import (
	"context"
	"database/sql"
	"time"
)

// Token purposes.
const (
	TokenSetPassword = "set_password"
	TokenReset       = "reset_password"
)

// PasswordToken is a one-time link's record; only the hash of the token is kept.
type PasswordToken struct {
	ID        int64
	UserID    int64
	Purpose   string
	ExpiresAt time.Time
	UsedAt    time.Time
}

// InsertPasswordToken stores the hash of a one-time token.
func (t *Tx) InsertPasswordToken(ctx context.Context, tokenHash string, userID int64, purpose string, expires time.Time) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO password_tokens (token_hash, user_id, purpose, expires_at, created_at)
		VALUES ($1,$2,$3,$4,$5)`, tokenHash, userID, purpose, ms(expires), ms(t.now))
	return err
}

// PasswordTokenByHash finds a token by its hash.
func (t *Tx) PasswordTokenByHash(ctx context.Context, tokenHash string) (*PasswordToken, error) {
	var p PasswordToken
	var exp int64
	var used sql.NullInt64
	err := t.q.QueryRowContext(ctx, `SELECT id, user_id, purpose, expires_at, used_at FROM password_tokens WHERE token_hash = $1`,
		tokenHash).Scan(&p.ID, &p.UserID, &p.Purpose, &exp, &used)
	if err != nil {
		return nil, notFound(err)
	}
	p.ExpiresAt, p.UsedAt = fromMS(exp), nullMS(used)
	return &p, nil
}

// PasswordTokenValid reports whether a token hash is usable now, without using it.
func (s *Store) PasswordTokenValid(ctx context.Context, tokenHash string) (bool, error) {
	var n int
	err := s.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM password_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2`,
		tokenHash, ms(s.Now())).Scan(&n)
	return n > 0, err
}

// UsePasswordTokens marks every open token of the user as used: an older
// link stops working once a newer one (or this one) is used, and every open
// link dies when the account's email, password or active state changes.
func (t *Tx) UsePasswordTokens(ctx context.Context, userID int64) error {
	_, err := t.q.ExecContext(ctx, `UPDATE password_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL`, userID, ms(t.now))
	return err
}
