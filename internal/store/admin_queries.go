package store

import (
	"context"
	"strings"
)

// Read queries of the admin pages.

// BookingCounts counts bookings by status under the filter's date range and
// student text (its Status and Limit are ignored), so the admin page shows
// how many of each there are, not just how many fit on the page.
func (s *Store) BookingCounts(ctx context.Context, f BookingFilter) (map[string]int, error) {
	var c conds
	if !f.From.IsZero() {
		c.add("s.starts_at >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		c.add("s.starts_at < ?", ms(f.To))
	}
	if f.User != "" {
		c.add("u.search LIKE ? ESCAPE '\\'", like(strings.ToLower(f.User)))
	}
	return countBy(s.read().QueryContext(ctx, `SELECT b.status, COUNT(*)
		FROM bookings b JOIN slots s ON s.id = b.slot_id JOIN users u ON u.id = b.user_id
		WHERE `+c.where()+` GROUP BY b.status`, c.args...))
}
