package api

import (
	"booksmeta"

	"net/http"
	"strings"
	"time"

	"booksmeta/internal/audit"
	"booksmeta/internal/store"
)

func (s *Server) bookingRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/slots", s.user(s.listSlots))
	mux.Handle("GET /api/v1/bookings", s.user(s.myBookings))
	mux.Handle("POST /api/v1/bookings", s.user(s.book))
	mux.Handle("DELETE /api/v1/bookings/{id}", s.user(s.cancelBooking))
	mux.Handle("GET /api/v1/bookings/{id}/access", s.user(s.access))
	mux.Handle("GET /api/v1/admin/bookings", s.admin(s.adminBookings))
	mux.Handle("POST /api/v1/admin/bookings/{id}/cancel", s.admin(s.adminCancel))
	mux.Handle("PATCH /api/v1/admin/bookings/{id}", s.admin(s.adminPatchBooking))
	mux.Handle("DELETE /api/v1/admin/bookings/{id}", s.admin(s.adminDeleteBooking))
}

type bookingOut struct {
	ID           int64  `json:"id"`
	SlotID       int64  `json:"slot_id"`
	Start        string `json:"start"`
	End          string `json:"end"`
	Status       string `json:"status"`
	CreatedAt    string `json:"created_at"`
	CancelReason string `json:"cancel_reason,omitempty"`
	AccessOpens  string `json:"access_opens_at,omitempty"`
	UserID       int64  `json:"user_id,omitempty"`
	UserEmail    string `json:"user_email,omitempty"`
	UserName     string `json:"user_name,omitempty"`
	Notes        string `json:"notes,omitempty"`
}

func (s *Server) bookingJSON(r *http.Request, b *booksmeta.Booking) bookingOut {
	ctx := r.Context()
	o := bookingOut{ID: b.ID, SlotID: b.SlotID, Start: s.timeJSON(ctx, b.StartsAt), End: s.timeJSON(ctx, b.EndsAt), Status: b.Status,
		CreatedAt: s.timeJSON(ctx, b.CreatedAt), CancelReason: b.CancelReason, UserEmail: b.UserEmail, UserName: b.UserName}
	if b.Status == booksmeta.BookingActive {
		// A list of bookings is not refused for the time access opens:
		// the field is left out, and opening access itself asks again.
		if opens, _, err := s.Booking.Window(ctx, b); err == nil {
			o.AccessOpens = s.timeJSON(ctx, opens)
		}
	}
	return o
}

// dateRange reads from/to (YYYY-MM-DD, school zone; to inclusive), defaulting
// to the current week; ranges are capped at 62 days.
func (s *Server) dateRange(w http.ResponseWriter, r *http.Request) (time.Time, time.Time, bool) {
	loc := s.Settings.Location(r.Context())
	now := s.Store.Now().In(loc)
	from := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	from = from.AddDate(0, 0, -((int(from.Weekday()) + 6) % 7))
	to := from.AddDate(0, 0, 7)
	q := r.URL.Query()
	if v := q.Get("from"); v != "" {
		d, err := time.ParseInLocation("2006-01-02", v, loc)
		if err != nil {
			fail(w, http.StatusBadRequest, "bad_request", "Дата from должна быть в формате ГГГГ-ММ-ДД.")
			return from, to, false
		}
		from, to = d, d.AddDate(0, 0, 7)
	}
	if v := q.Get("to"); v != "" {
		d, err := time.ParseInLocation("2006-01-02", v, loc)
		if err != nil || d.Before(from) {
			fail(w, http.StatusBadRequest, "bad_request", "Дата to должна быть в формате ГГГГ-ММ-ДД и не раньше from.")
			return from, to, false
		}
		to = d.AddDate(0, 0, 1)
	}
	if to.Sub(from) > 62*24*time.Hour {
		fail(w, http.StatusBadRequest, "bad_request", "Запрашивайте не больше двух месяцев за раз.")
		return from, to, false
	}
	return from, to, true
}

func (s *Server) listSlots(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	from, to, ok := s.dateRange(w, r)
	if !ok {
		return
	}
	slots, err := s.Store.SlotsBetween(r.Context(), from, to, u.ID)
	if err != nil {
		s.failErr(w, err)
		return
	}
	type slotOut struct {
		ID         int64  `json:"id"`
		Start      string `json:"start"`
		End        string `json:"end"`
		Capacity   int    `json:"capacity"`
		Free       int    `json:"free"`
		BookedByMe bool   `json:"booked_by_me"`
		Past       bool   `json:"past"`
	}
	now := s.Store.Now()
	// As on the calendar page: slots beyond max_advance_days are not
	// offered, one already booked stays listed.
	until, _, err := s.Booking.AdvanceLimit(r.Context(), now)
	if err != nil {
		s.failErr(w, err)
		return
	}
	out := make([]slotOut, 0, len(slots))
	for _, sl := range slots {
		if !sl.BookedByMe && !sl.StartsAt.Before(until) {
			continue
		}
		out = append(out, slotOut{ID: sl.ID, Start: s.timeJSON(r.Context(), sl.StartsAt), End: s.timeJSON(r.Context(), sl.EndsAt),
			Capacity: sl.Capacity, Free: sl.Free(), BookedByMe: sl.BookedByMe, Past: sl.Started(now)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"slots": out, "timezone": s.Settings.Location(r.Context()).String()})
}

func (s *Server) myBookings(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	bs, err := s.Store.BookingsByUser(r.Context(), u.ID)
	if err != nil {
		s.failErr(w, err)
		return
	}
	out := make([]bookingOut, 0, len(bs))
	for _, b := range bs {
		out = append(out, s.bookingJSON(r, b))
	}
	writeJSON(w, http.StatusOK, map[string]any{"bookings": out})
}

func (s *Server) book(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	var in struct {
		SlotID int64 `json:"slot_id"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.SlotID <= 0 {
		fail(w, http.StatusBadRequest, "bad_request", "Укажите slot_id — номер выбранного времени.")
		return
	}
	b, err := s.Booking.Book(r.Context(), u.ID, in.SlotID)
	if err != nil {
		s.failErr(w, err)
		return
	}
	s.Jobs.Notify()
	writeJSON(w, http.StatusCreated, s.bookingJSON(r, b))
}

func (s *Server) cancelBooking(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	b, err := s.Booking.Cancel(r.Context(), u.ID, id)
	if err != nil {
		s.failErr(w, err)
		return
	}
	s.Jobs.Notify()
	writeJSON(w, http.StatusOK, s.bookingJSON(r, b))
}

func (s *Server) access(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	a, err := s.Booking.Access(r.Context(), u.ID, id)
	if err != nil {
		s.failErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"host": a.Host, "login": a.Login, "password": a.Password,
		"instructions": a.Instructions, "opens_at": s.timeJSON(r.Context(), a.OpensAt), "closes_at": s.timeJSON(r.Context(), a.ClosesAt)})
}

func (s *Server) adminBookings(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	f := store.BookingFilter{Status: r.URL.Query().Get("status"), User: r.URL.Query().Get("user")}
	if r.URL.Query().Get("from") != "" || r.URL.Query().Get("to") != "" {
		from, to, ok := s.dateRange(w, r)
		if !ok {
			return
		}
		f.From, f.To = from, to
	}
	bs, err := s.Store.ListBookings(r.Context(), f)
	if err != nil {
		s.failErr(w, err)
		return
	}
	ids := make([]int64, len(bs))
	for i, b := range bs {
		ids[i] = b.ID
	}
	notes, err := s.Store.BookingNotes(r.Context(), ids)
	if err != nil {
		s.failErr(w, err)
		return
	}
	out := make([]bookingOut, 0, len(bs))
	for _, b := range bs {
		o := s.bookingJSON(r, b)
		o.UserID, o.Notes = b.UserID, notes[b.ID]
		out = append(out, o)
	}
	writeJSON(w, http.StatusOK, map[string]any{"bookings": out})
}

func (s *Server) adminCancel(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 && !decode(w, r, &in) {
		return
	}
	b, err := s.Booking.AdminCancel(r.Context(), u.ID, id, strings.TrimSpace(in.Reason))
	if err != nil {
		s.failErr(w, err)
		return
	}
	s.Log.Info("booking cancelled by admin", "booking_id", id, "by", u.ID)
	s.record(r, audit.By(u, audit.BookingCancel, audit.Booking(id), audit.BookingCancelled(b, s.Settings.Location(r.Context()))))
	writeJSON(w, http.StatusOK, s.bookingJSON(r, b))
}

// adminPatchBooking sets an admin's note and may change the status:
// {"notes"?, "status"? ("cancelled" or "finished"), "reason"?}.
func (s *Server) adminPatchBooking(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in struct {
		Notes  *string `json:"notes"`
		Status string  `json:"status"`
		Reason string  `json:"reason"`
	}
	if !decode(w, r, &in) {
		return
	}
	before, _ := s.Store.BookingByID(r.Context(), id)
	oldNote, _ := s.Store.BookingNote(r.Context(), id)
	note := oldNote
	if in.Notes != nil {
		note = *in.Notes
	}
	b, err := s.Booking.AdminEdit(r.Context(), u.ID, id, in.Status, note, strings.TrimSpace(in.Reason))
	if err != nil {
		s.failErr(w, err)
		return
	}
	s.Log.Info("booking edited by admin", "booking_id", id, "status", b.Status, "by", u.ID)
	s.record(r, audit.By(u, audit.BookingEditAction(before, b), audit.Booking(id), audit.BookingEdited(before, b, oldNote, strings.TrimSpace(note), s.Settings.Location(r.Context()))))
	s.Jobs.Notify()
	o := s.bookingJSON(r, b)
	o.UserID, o.Notes = b.UserID, strings.TrimSpace(note)
	writeJSON(w, http.StatusOK, o)
}

// adminDeleteBooking removes a booking; an active one is cancelled first
// with the student told, as by POST …/cancel. {"reason"} is optional.
func (s *Server) adminDeleteBooking(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 && !decode(w, r, &in) {
		return
	}
	reason := strings.TrimSpace(in.Reason)
	if reason == "" {
		reason = strings.TrimSpace(r.URL.Query().Get("reason"))
	}
	b, notified, err := s.Booking.AdminDelete(r.Context(), u.ID, id, reason)
	if err != nil {
		s.failErr(w, err)
		return
	}
	s.Log.Info("booking deleted by admin", "booking_id", id, "notified", notified, "by", u.ID)
	s.record(r, audit.By(u, audit.BookingDelete, audit.Booking(id), audit.BookingDeleted(b, notified, reason, s.Settings.Location(r.Context()))))
	s.Jobs.Notify()
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "deleted": true, "student_notified": notified})
}
