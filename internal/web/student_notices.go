package web

import (
	"booksmeta"

	"context"
	"net/http"
	"time"
)

// soonWindow is how long before access opens the student is reminded on
// their pages that it opens soon.
const soonWindow = 60 * time.Minute

// soonNotice is a notice computed on each page view, never stored: access
// to an active booking opens soon (or is open now).
type soonNotice struct {
	Open             bool
	OpensAt          time.Time
	StartsAt, EndsAt time.Time
}

// unreadNotices is the number shown next to "Мои бронирования" in the menu.
// A failure is logged and shows no number: the menu must not break a page.
func (s *Server) unreadNotices(r *http.Request, u *booksmeta.User) int {
	n, err := s.Store.UnreadNotices(r.Context(), u.ID)
	if err != nil {
		s.Log.Error("count unread notices", "user_id", u.ID, "err", err)
	}
	return n
}

// soonNotices lists the student's active bookings whose access opens within
// the next hour or is open now, soonest first.
func (s *Server) soonNotices(ctx context.Context, bs []*booksmeta.Booking) []soonNotice {
	now := s.Store.Now()
	var out []soonNotice
	for i := len(bs) - 1; i >= 0; i-- { // the store lists newest first
		b := bs[i]
		if b.Status != booksmeta.BookingActive || !b.EndsAt.After(now) {
			continue
		}
		// A reminder box is left out rather than the page refused: the
		// booking itself is listed, and opening access asks again.
		opens, _, err := s.Booking.Window(ctx, b)
		if err != nil || opens.Sub(now) > soonWindow {
			continue
		}
		out = append(out, soonNotice{Open: !now.Before(opens), OpensAt: opens, StartsAt: b.StartsAt, EndsAt: b.EndsAt})
	}
	return out
}
