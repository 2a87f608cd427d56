package web

import (
	"booksmeta"

	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"booksmeta/internal/audit"
	"booksmeta/internal/booking"
	"booksmeta/internal/store"
)

// bookingStatuses are the statuses the admin filters by, in page order.
var bookingStatuses = []struct{ Value, Label string }{
	{booksmeta.BookingActive, "активные"},
	{booksmeta.BookingFinished, "завершённые"},
	{booksmeta.BookingCancelled, "отменённые"},
}

// bookingList is every booking for admins, filtered by slot date, status
// and student text, with how many of each status the filter matches.
func (s *Server) bookingList(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	ctx := r.Context()
	loc := s.Settings.Location(ctx)
	q := r.URL.Query()
	f := store.BookingFilter{User: strings.TrimSpace(q.Get("user")), Limit: 300}
	for _, st := range bookingStatuses {
		if q.Get("status") == st.Value {
			f.Status = st.Value
		}
	}
	var problems []string
	if v := q.Get("from"); v != "" {
		if d, err := time.ParseInLocation("2006-01-02", v, loc); err == nil {
			f.From = d
		} else {
			problems = append(problems, "Дата «с» записана неверно: нужен формат ГГГГ-ММ-ДД. Фильтр по ней не применён.")
		}
	}
	if v := q.Get("to"); v != "" {
		if d, err := time.ParseInLocation("2006-01-02", v, loc); err == nil {
			f.To = d.AddDate(0, 0, 1)
		} else {
			problems = append(problems, "Дата «по» записана неверно: нужен формат ГГГГ-ММ-ДД. Фильтр по ней не применён.")
		}
	}
	bs, err := s.Store.ListBookings(ctx, f)
	if err != nil {
		s.internalError(w, r, "list bookings", err)
		return
	}
	counts, err := s.Store.BookingCounts(ctx, f)
	if err != nil {
		s.internalError(w, r, "count bookings", err)
		return
	}
	ids := make([]int64, len(bs))
	for i, b := range bs {
		ids[i] = b.ID
	}
	notes, err := s.Store.BookingNotes(ctx, ids)
	if err != nil {
		s.internalError(w, r, "read booking notes", err)
		return
	}
	d := s.adminData(r, "Бронирования", "bookings")
	d["Bookings"], d["Counts"], d["Loc"], d["Q"], d["Now"] = bs, counts, loc, q, s.Store.Now()
	d["Statuses"], d["Zone"], d["Problems"] = bookingStatuses, loc.String(), problems
	d["Truncated"], d["Notes"] = len(bs) == f.Limit, notes
	switch q.Get("ok") {
	case "cancelled":
		d["Flash"] = "Бронирование отменено; ученик получил уведомление и письмо."
	case "booking_deleted":
		d["Flash"] = "Бронирование удалено."
	case "booking_deleted_notified":
		d["Flash"] = "Бронирование отменено и удалено; ученик получил уведомление и письмо."
	}
	if msg := q.Get("err"); msg != "" {
		var err error
		if d["Error"], err = s.bookingCancelMessage(ctx, u, msg); err != nil {
			s.internalError(w, r, "word a refusal", err)
			return
		}
	}
	s.render(w, http.StatusOK, "admin_bookings", d)
}

// bookingCancelMessage is the text of a redirect's code: the rule's own
// words, or the page's for its own check of the reason.
func (s *Server) bookingCancelMessage(ctx context.Context, u *booksmeta.User, code string) (string, error) {
	if code == "reason" {
		return "Причина слишком длинная: не больше 200 символов.", nil
	}
	return s.redirectRefusal(ctx, u, booking.OpAdminCancel, code)
}

// bookingCancel cancels a booking for an admin; the student gets a notice
// and an email with the reason.
func (s *Server) bookingCancel(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	back := bookingsBack(r.PostFormValue("back"))
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if utf8.RuneCountInString(reason) > 200 {
		http.Redirect(w, r, back+"err=reason", http.StatusSeeOther)
		return
	}
	cancelled, err := s.Booking.AdminCancel(r.Context(), u.ID, id, reason)
	if err != nil {
		re := booksmeta.AsError(err)
		if re == nil {
			s.internalError(w, r, "admin cancel booking", err)
			return
		}
		http.Redirect(w, r, back+"err="+url.QueryEscape(re.Code), http.StatusSeeOther)
		return
	}
	s.Log.Info("booking cancelled by admin", "booking_id", id, "by", u.ID)
	s.record(r, audit.By(u, audit.BookingCancel, audit.Booking(id), audit.BookingCancelled(cancelled, s.Settings.Location(r.Context()))))
	s.Jobs.Notify()
	http.Redirect(w, r, back+"ok=cancelled", http.StatusSeeOther)
}

// bookingsBack returns the list URL with the filters the admin came from,
// ready for one more parameter; anything but the list's own query is dropped.
func bookingsBack(filters string) string {
	q, err := url.ParseQuery(filters)
	out := url.Values{}
	if err == nil {
		for _, k := range []string{"from", "to", "status", "user"} {
			if v := q.Get(k); v != "" {
				out.Set(k, v)
			}
		}
	}
	if len(out) == 0 {
		return "/admin/bookings?"
	}
	return "/admin/bookings?" + out.Encode() + "&"
}

// bookingRoutes are the admin's page of one booking: its note and status,
// and deleting it.
func (s *Server) bookingRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/bookings/{id}", s.admin(s.bookingPage))
	mux.HandleFunc("POST /admin/bookings/{id}", s.admin(s.bookingSave))
	mux.HandleFunc("POST /admin/bookings/{id}/delete", s.admin(s.bookingDelete))
}

// adminBookingView is what the booking page shows besides the booking.
type adminBookingView struct {
	Note, Status, Reason string // as entered, after a refusal
	Error, Field         string
	AskDelete            bool
}

func (s *Server) bookingPage(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	s.bookingRender(w, r, http.StatusOK, id, nil)
}

// bookingRender shows one booking; v carries what was entered after a
// refusal (nil: the stored values).
func (s *Server) bookingRender(w http.ResponseWriter, r *http.Request, status int, id int64, v *adminBookingView) {
	ctx := r.Context()
	b, err := s.Store.BookingByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, "Бронирование не найдено",
			"Такого бронирования нет: возможно, его уже удалили. Вернитесь к списку бронирований.")
		return
	}
	if err != nil {
		s.internalError(w, r, "read booking", err)
		return
	}
	stu, err := s.Store.UserByID(ctx, b.UserID)
	if err != nil {
		s.internalError(w, r, "read booking's student", err)
		return
	}
	note, err := s.Store.BookingNote(ctx, id)
	if err != nil {
		s.internalError(w, r, "read booking note", err)
		return
	}
	if v == nil {
		v = &adminBookingView{Note: note, Status: b.Status}
	}
	loc := s.Settings.Location(ctx)
	d := s.adminData(r, "Бронирование №"+strconv.FormatInt(b.ID, 10), "bookings")
	d["B"], d["Student"], d["Loc"], d["V"], d["Now"] = b, stu, loc, v, s.Store.Now()
	d["Statuses"], d["NoteMax"] = bookingStatuses, booking.NoteMaxLen
	d["Started"] = !s.Store.Now().Before(b.StartsAt)
	if b.CancelledBy != 0 {
		if by, err := s.Store.UserByID(ctx, b.CancelledBy); err == nil {
			d["CancelledBy"] = by.Email
		}
	}
	switch r.URL.Query().Get("ok") {
	case "saved":
		d["Flash"] = "Изменения сохранены."
	case "cancelled":
		d["Flash"] = "Бронирование отменено; ученик получил уведомление и письмо."
	}
	s.render(w, status, "admin_booking", d)
}

// bookingSave stores the note and a change of status (cancel or finish).
func (s *Server) bookingSave(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	v := &adminBookingView{Note: r.PostFormValue("notes"), Status: r.PostFormValue("status"), Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	if utf8.RuneCountInString(v.Reason) > 200 {
		v.Error, v.Field = "Причина слишком длинная: не больше 200 символов.", "reason"
		s.bookingRender(w, r, http.StatusUnprocessableEntity, id, v)
		return
	}
	// Read before the change only to say what changed; AdminEdit decides.
	before, _ := s.Store.BookingByID(r.Context(), id)
	oldNote, _ := s.Store.BookingNote(r.Context(), id)
	b, err := s.Booking.AdminEdit(r.Context(), u.ID, id, v.Status, v.Note, v.Reason)
	if err != nil {
		re := booksmeta.AsError(err)
		if re == nil {
			s.internalError(w, r, "admin edit booking", err)
			return
		}
		if re.Code == booksmeta.CodeNotFound {
			s.bookingRender(w, r, http.StatusNotFound, id, v)
			return
		}
		v.Error, v.Field = re.Message, re.Field
		s.bookingRender(w, r, re.HTTPStatus(), id, v)
		return
	}
	s.Log.Info("booking edited by admin", "booking_id", id, "status", b.Status, "by", u.ID)
	s.record(r, audit.By(u, audit.BookingEditAction(before, b), audit.Booking(id), audit.BookingEdited(before, b, oldNote, strings.TrimSpace(v.Note), s.Settings.Location(r.Context()))))
	s.Jobs.Notify()
	code := "saved"
	if before != nil && before.Status == booksmeta.BookingActive && b.Status == booksmeta.BookingCancelled {
		code = "cancelled"
	}
	http.Redirect(w, r, "/admin/bookings/"+strconv.FormatInt(id, 10)+"?ok="+code, http.StatusSeeOther)
}

// bookingDelete removes a booking after an explicit confirmation (the
// browser's dialog sets confirm=yes; without JavaScript the booking page
// asks first). An active booking is cancelled first, with the notice and
// mail of an admin's cancel.
func (s *Server) bookingDelete(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if r.PostFormValue("confirm") != "yes" || utf8.RuneCountInString(reason) > 200 {
		v := &adminBookingView{Reason: reason, AskDelete: true}
		if utf8.RuneCountInString(reason) > 200 {
			v.Error, v.Field = "Причина слишком длинная: не больше 200 символов.", "reason"
		}
		note, _ := s.Store.BookingNote(r.Context(), id)
		v.Note = note
		s.bookingRender(w, r, http.StatusOK, id, v)
		return
	}
	b, notified, err := s.Booking.AdminDelete(r.Context(), u.ID, id, reason)
	if err != nil {
		if re := booksmeta.AsError(err); re != nil && re.Code == booksmeta.CodeNotFound {
			http.Redirect(w, r, "/admin/bookings?err="+url.QueryEscape(re.Code), http.StatusSeeOther)
			return
		}
		s.internalError(w, r, "admin delete booking", err)
		return
	}
	s.Log.Info("booking deleted by admin", "booking_id", id, "notified", notified, "by", u.ID)
	s.record(r, audit.By(u, audit.BookingDelete, audit.Booking(id), audit.BookingDeleted(b, notified, reason, s.Settings.Location(r.Context()))))
	s.Jobs.Notify()
	code := "booking_deleted"
	if notified {
		code = "booking_deleted_notified"
	}
	http.Redirect(w, r, "/admin/bookings?ok="+code, http.StatusSeeOther)
}
