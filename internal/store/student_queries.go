package store

import "context"

// UnreadNotices counts a user's notices not yet marked read (the number in
// the student's menu).
func (s *Store) UnreadNotices(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM notices WHERE user_id = $1 AND read_at IS NULL`, userID).Scan(&n)
	return n, err
}
