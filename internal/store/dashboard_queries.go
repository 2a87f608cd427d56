package store

import (
	"context"
	"time"
)

// SlotLoad is one open slot with its taken places, for the dashboard's
// utilisation by hour of day.
type SlotLoad struct {
	StartsAt, EndsAt time.Time
	Capacity, Booked int
}

// SlotLoads lists the open slots starting in [from, to), earliest first,
// counted the way Utilisation counts them (booked = active and finished
// bookings; a cancelled one has given its place back).
func (s *Store) SlotLoads(ctx context.Context, from, to time.Time) ([]SlotLoad, error) {
	return collect(func(r scanner) (SlotLoad, error) {
		var l SlotLoad
		var st, en int64
		err := r.Scan(&st, &en, &l.Capacity, &l.Booked)
		l.StartsAt, l.EndsAt = fromMS(st), fromMS(en)
		return l, err
	})(s.read().QueryContext(ctx, `SELECT starts_at, ends_at, capacity, booked FROM slots
		WHERE starts_at >= $1 AND starts_at < $2 AND active = TRUE AND deleted_at IS NULL
		ORDER BY starts_at`, ms(from), ms(to)))
}
