package web

import (
	"booksmeta"

	"errors"
	"net/http"
	"strconv"
	"strings"

	"booksmeta/internal/ical"
	"booksmeta/internal/password"
	"booksmeta/internal/store"
)

// calendarFeed serves a student's bookings as an iCalendar feed at their
// secret link. It needs no sign-in (phone calendars cannot sign in); the
// link is the key, and it never carries server credentials.
func (s *Server) calendarFeed(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
	if !ok || len(tok) < 20 {
		s.notFound(w, r)
		return
	}
	u, err := s.Store.UserByCalendarToken(r.Context(), password.HashToken(tok))
	if errors.Is(err, store.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.internalError(w, r, "calendar feed user", err)
		return
	}
	bs, err := s.Store.BookingsByUser(r.Context(), u.ID)
	if err != nil {
		s.internalError(w, r, "calendar feed bookings", err)
		return
	}
	base := strings.TrimRight(s.BaseURL, "/")
	events := make([]ical.Event, 0, len(bs))
	for _, b := range bs {
		events = append(events, ical.Event{UID: "booking-" + strconv.FormatInt(b.ID, 10) + "@book-smeta", Start: b.StartsAt, End: b.EndsAt,
			Summary: "Сервер Book Smeta", Description: "Данные для входа появятся в разделе «Мои бронирования» незадолго до начала: " + base + "/bookings",
			URL: base + "/bookings", Cancelled: b.Status == booksmeta.BookingCancelled})
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(ical.Write("Book Smeta — бронирования", events, s.Store.Now()))
}

// calendarLink creates (or replaces, so an old shared link stops working)
// the student's feed link.
func (s *Server) calendarLink(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	tok, hash := password.NewToken()
	err := s.Store.InTx(r.Context(), func(tx *store.Tx) error {
		return tx.PutCalendarFeed(r.Context(), u.ID, hash, s.Box.Seal(tok))
	})
	if err != nil {
		s.internalError(w, r, "calendar link", err)
		return
	}
	http.Redirect(w, r, "/bookings?ok=calendar", http.StatusSeeOther)
}

// calendarURL is the student's current feed link, "" when none was made.
func (s *Server) calendarURL(r *http.Request, u *booksmeta.User) string {
	sealed, err := s.Store.CalendarFeed(r.Context(), u.ID)
	if err != nil || sealed == "" {
		return ""
	}
	tok, err := s.Box.Open(sealed)
	if err != nil {
		return ""
	}
	return strings.TrimRight(s.BaseURL, "/") + "/calendar/" + tok + ".ics"
}
