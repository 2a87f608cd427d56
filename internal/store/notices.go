package store

import (
	"booksmeta"

	"context"
	"database/sql"
)

// AddNotice stores a notice for a user.
func (t *Tx) AddNotice(ctx context.Context, n *booksmeta.Notice) error {
	n.CreatedAt = t.now
	return t.q.QueryRowContext(ctx, `INSERT INTO notices (user_id, kind, title, body, created_at) VALUES ($1,$2,$3,$4,$5) RETURNING id`,
		n.UserID, n.Kind, n.Title, n.Body, ms(t.now)).Scan(&n.ID)
}

// NoticesByUser lists a user's notices, newest first.
func (s *Store) NoticesByUser(ctx context.Context, userID int64, limit int) ([]*booksmeta.Notice, error) {
	scan := func(r scanner) (*booksmeta.Notice, error) {
		n := booksmeta.Notice{UserID: userID}
		var c int64
		var read sql.NullInt64
		err := r.Scan(&n.ID, &n.Kind, &n.Title, &n.Body, &c, &read)
		n.CreatedAt, n.ReadAt = fromMS(c), nullMS(read)
		return &n, err
	}
	return collect(scan)(s.read().QueryContext(ctx, `SELECT id, kind, title, body, created_at, read_at FROM notices
		WHERE user_id = $1 ORDER BY id DESC LIMIT $2`, userID, limit))
}

// MarkNoticesRead marks every unread notice of the user read.
func (s *Store) MarkNoticesRead(ctx context.Context, userID int64) error {
	_, err := s.db.Write.ExecContext(ctx, `UPDATE notices SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL`, userID, ms(s.Now()))
	return err
}
