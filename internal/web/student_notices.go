package web

import (
	"booksmeta"
	"errors"

	"context"
	"net/http"
	"time"
)

// soonWindow is how long before access opens the student is reminded on
// their pages that it opens soon.
const soonWindow = 60 * time.Minute

// soonNotice is a notice computed on each page view, never stored: access
// to an active booking opens soon (or is open now).
// soonWhere is what the "soon-where" template needs: the page the box is
// on and the booking it speaks of.
type soonWhere struct {
	Nav string
	ID  int64
}

type soonNotice struct {
	ID   int64 // the booking, for a link to its card on /bookings
	Open bool
	// Pending: the window is open but a provider's grant is not done yet,
	// so the box must not say access is open.
	Pending          bool
	OpensAt          time.Time
	StartsAt, EndsAt time.Time
}

// unreadNotices is the number on the menu's «Уведомления» item.
// A failure is logged and shows no number: the menu must not break a page.
func (s *Server) unreadNotices(r *http.Request, u *booksmeta.User) int {
	n, err := s.Store.UnreadNotices(r.Context(), u.ID)
	if err != nil {
		s.Log.Error("count unread notices", "user_id", u.ID, "err", err)
	}
	return n
}

// soonNotices lists the student's active bookings whose access opens within
// the next hour or is open now, soonest first. pending holds what the
// caller already asked the rules (booking id → access still being
// prepared), so a page that shows the access panel too asks once; nil asks
// for each open booking here.
func (s *Server) soonNotices(ctx context.Context, bs []*booksmeta.Booking, pending map[int64]bool) []soonNotice {
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
		n := soonNotice{ID: b.ID, Open: !now.Before(opens), OpensAt: opens, StartsAt: b.StartsAt, EndsAt: b.EndsAt}
		if p, known := pending[b.ID]; n.Open && known {
			n.Pending = p
		} else if n.Open {
			var refusal *booksmeta.Error
			_, err := s.Booking.Access(ctx, b.UserID, b.ID)
			n.Pending = errors.As(err, &refusal) && refusal.Code == booksmeta.CodeAccessPending
		}
		out = append(out, n)
	}
	return out
}

// latestNoticesShown is how many unread notices the calendar shows above the
// week: the rest are one link away, so the calendar stays on the first
// screen of a phone.
const latestNoticesShown = 2

// latestUnread is the newest unread notices, at most latestNoticesShown.
func (s *Server) latestUnread(ctx context.Context, userID int64) ([]*booksmeta.Notice, error) {
	ns, err := s.Store.NoticesByUser(ctx, userID, 20)
	if err != nil {
		return nil, err
	}
	var out []*booksmeta.Notice
	for _, n := range ns {
		if n.ReadAt.IsZero() && len(out) < latestNoticesShown {
			out = append(out, n)
		}
	}
	return out, nil
}

// noticesShown is how many notices the notices page lists, newest first.
const noticesShown = 100

// noticesPage lists the student's notices: cancelled bookings, access taken
// away, and the like.
func (s *Server) noticesPage(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	ctx := r.Context()
	ns, err := s.Store.NoticesByUser(ctx, u.ID, noticesShown)
	if err != nil {
		s.internalError(w, r, "list notices", err)
		return
	}
	d := s.data(r, "Уведомления")
	d["Nav"], d["Here"], d["Loc"], d["Notices"] = "notices", "/notices", s.Settings.Location(ctx), ns
	d["Max"] = noticesShown
	s.render(w, http.StatusOK, "notices", d)
}
