package store

import (
	"booksmeta"

	"context"
	"database/sql"
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
