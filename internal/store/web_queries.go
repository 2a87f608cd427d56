package store

import "context"

// CountUpcoming counts a user's active bookings whose slot has not ended,
// on the read pool (pages that only show the number need no transaction).
func (s *Store) CountUpcoming(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM bookings b JOIN slots s ON s.id = b.slot_id
		WHERE b.user_id = $1 AND b.status = 'active' AND s.ends_at > $2`, userID, ms(s.Now())).Scan(&n)
	return n, err
}
