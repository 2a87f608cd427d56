package web

import (
	"booksmeta"

	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

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
	d := s.adminData(r, "Бронирования", "bookings")
	d["Bookings"], d["Counts"], d["Loc"], d["Q"], d["Now"] = bs, counts, loc, q, s.Store.Now()
	d["Statuses"], d["Zone"], d["Problems"] = bookingStatuses, loc.String(), problems
	d["Truncated"] = len(bs) == f.Limit
	if q.Get("ok") == "cancelled" {
		d["Flash"] = "Бронирование отменено; ученик получил уведомление и письмо."
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
	if _, err := s.Booking.AdminCancel(r.Context(), u.ID, id, reason); err != nil {
		re := booksmeta.AsError(err)
		if re == nil {
			s.internalError(w, r, "admin cancel booking", err)
			return
		}
		http.Redirect(w, r, back+"err="+url.QueryEscape(re.Code), http.StatusSeeOther)
		return
	}
	s.Log.Info("booking cancelled by admin", "booking_id", id, "by", u.ID)
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
