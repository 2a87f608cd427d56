package web

import (
	"booksmeta"

	"net/http"
	"strconv"
	"time"

	"booksmeta/internal/auth"
	"booksmeta/internal/booking"
)

// The student's side: a week calendar to book from, their bookings with the
// access panel, their profile, and "forgot password". Every rule lives in
// package booking or accounts; these handlers only show and submit.

func (s *Server) studentRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /book", s.signedIn(s.bookSubmit))
	mux.HandleFunc("GET /bookings", s.signedIn(s.myBookings))
	mux.HandleFunc("POST /bookings/{id}/cancel", s.signedIn(s.cancelSubmit))
	mux.HandleFunc("GET /profile", s.signedIn(s.profileForm))
	mux.HandleFunc("POST /profile", s.signedIn(s.profileSave))
	mux.HandleFunc("POST /profile/password", s.signedIn(s.passwordSave))
	mux.HandleFunc("POST /notices/read", s.signedIn(s.noticesRead))
	mux.HandleFunc("GET /calendar/{file}", s.calendarFeed)
	mux.HandleFunc("POST /bookings/calendar-link", s.signedIn(s.calendarLink))
	mux.HandleFunc("GET /forgot-password", s.forgotForm)
	mux.HandleFunc("POST /forgot-password", s.forgotSubmit)
}

type dayView struct {
	Date  time.Time
	Slots []slotView
}

type slotView struct {
	ID         int64
	Start, End time.Time
	Free       int
	Capacity   int
	Mine       bool
	Past       bool
}

// weekStart is Monday 00:00 of the week holding t, in loc.
func weekStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}

// calendar is "/" for a signed-in student: the week's slots, free / full /
// booked by me / past, with a booking button on free ones.
func (s *Server) calendar(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	ctx := r.Context()
	loc := s.Settings.Location(ctx)
	now := s.Store.Now()
	from := weekStart(now, loc)
	if v := r.URL.Query().Get("week"); v != "" {
		if d, err := time.ParseInLocation("2006-01-02", v, loc); err == nil {
			from = weekStart(d, loc)
		}
	}
	to := from.AddDate(0, 0, 7)
	slots, err := s.Store.SlotsBetween(ctx, from, to, u.ID)
	if err != nil {
		s.internalError(w, r, "list slots", err)
		return
	}
	// Slots beyond max_advance_days are not offered; one the student
	// already booked stays in view.
	until, advanceNote, err := s.Booking.AdvanceLimit(ctx, now)
	if err != nil {
		s.internalError(w, r, "read max advance days", err)
		return
	}
	days := make([]dayView, 7)
	for i := range days {
		days[i].Date = from.AddDate(0, 0, i)
	}
	for _, sl := range slots {
		i := int(sl.StartsAt.In(loc).Sub(from).Hours() / 24)
		if i < 0 || i > 6 {
			continue
		}
		if !sl.BookedByMe && !sl.StartsAt.Before(until) {
			continue
		}
		days[i].Slots = append(days[i].Slots, slotView{ID: sl.ID, Start: sl.StartsAt, End: sl.EndsAt, Capacity: sl.Capacity,
			Free: sl.Free(), Mine: sl.BookedByMe, Past: sl.Started(now)})
	}
	upcoming, err := s.Store.CountUpcoming(ctx, u.ID)
	if err != nil {
		s.internalError(w, r, "count upcoming", err)
		return
	}
	notices, err := s.Store.NoticesByUser(ctx, u.ID, 5)
	if err != nil {
		s.internalError(w, r, "list notices", err)
		return
	}
	mine, err := s.Store.BookingsByUser(ctx, u.ID)
	if err != nil {
		s.internalError(w, r, "list bookings", err)
		return
	}
	d := s.data(r, "Бронирование сервера")
	d["Nav"], d["Here"], d["Soon"] = "calendar", "/", s.soonNotices(ctx, mine)
	d["Me"], d["Days"], d["Loc"], d["Zone"] = u, days, loc, loc.String()
	d["Prev"], d["Next"] = from.AddDate(0, 0, -7).Format("2006-01-02"), to.Format("2006-01-02")
	d["Upcoming"], d["Left"] = upcoming, u.BookingsLeft(upcoming)
	if to.After(until) {
		d["AdvanceNote"] = advanceNote
	}
	d["Notices"], d["Allowance"] = notices, s.allowance(r, u)
	maintenance, err := s.Booking.Maintenance(ctx)
	if err != nil {
		s.internalError(w, r, "read maintenance mode", err)
		return
	}
	d["Maintenance"] = maintenance
	if d["MaintenanceMessage"], err = s.Booking.Message(ctx, u, booking.OpBook, booksmeta.CodeMaintenance); err != nil {
		s.internalError(w, r, "read maintenance message", err)
		return
	}
	// During maintenance its box already says why the booking was refused.
	if code := r.URL.Query().Get("err"); code != "" && !(code == booksmeta.CodeMaintenance && maintenance) {
		if d["Error"], err = s.redirectRefusal(ctx, u, booking.OpBook, code); err != nil {
			s.internalError(w, r, "word a refusal", err)
			return
		}
	}
	s.render(w, http.StatusOK, "calendar", d)
}

func (s *Server) bookSubmit(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, err := strconv.ParseInt(r.PostFormValue("slot_id"), 10, 64)
	week := r.PostFormValue("week")
	back := "/?week=" + week
	if err != nil {
		http.Redirect(w, r, back+"&err="+booksmeta.CodeNotFound, http.StatusSeeOther)
		return
	}
	_, err = s.Booking.Book(r.Context(), u.ID, id)
	switch re := booksmeta.AsError(err); {
	case re != nil:
		http.Redirect(w, r, back+"&err="+re.Code, http.StatusSeeOther)
	case err != nil:
		s.internalError(w, r, "book", err)
	default:
		s.Jobs.Notify()
		http.Redirect(w, r, "/bookings?ok=booked", http.StatusSeeOther)
	}
}

type bookingView struct {
	*booksmeta.Booking
	OpensAt    time.Time
	Access     *booking.Access
	CanCancel  bool
	CutoffPast bool
}

func (s *Server) myBookings(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	ctx := r.Context()
	bs, err := s.Store.BookingsByUser(ctx, u.ID)
	if err != nil {
		s.internalError(w, r, "list bookings", err)
		return
	}
	now := s.Store.Now()
	var upcoming, past, cancelled []bookingView
	for _, b := range bs {
		v := bookingView{Booking: b}
		switch {
		case b.Status == booksmeta.BookingCancelled:
			cancelled = append(cancelled, v)
		case b.Status == booksmeta.BookingFinished || !b.EndsAt.After(now):
			past = append(past, v)
		default:
			if v.OpensAt, _, err = s.Booking.Window(ctx, b); err != nil {
				s.internalError(w, r, "read access window", err)
				return
			}
			if v.CanCancel, err = s.Booking.CanCancel(ctx, b, now); err != nil {
				s.internalError(w, r, "read cancel cut-off", err)
				return
			}
			v.CutoffPast = !v.CanCancel
			// Access is asked for, not computed here: the rules decide
			// whether the window is open.
			if a, err := s.Booking.Access(ctx, u.ID, b.ID); err == nil {
				v.Access = a
			}
			upcoming = append(upcoming, v)
		}
	}
	// Upcoming soonest first; the store lists newest first.
	for i, j := 0, len(upcoming)-1; i < j; i, j = i+1, j-1 {
		upcoming[i], upcoming[j] = upcoming[j], upcoming[i]
	}
	notices, err := s.Store.NoticesByUser(ctx, u.ID, 20)
	if err != nil {
		s.internalError(w, r, "list notices", err)
		return
	}
	d := s.data(r, "Мои бронирования")
	d["Nav"], d["Here"], d["Soon"] = "bookings", "/bookings", s.soonNotices(ctx, bs)
	d["Upcoming"], d["Past"], d["Cancelled"] = upcoming, past, cancelled
	cutoff, err := s.Booking.CancelCutoff(ctx)
	if err != nil {
		s.internalError(w, r, "read cancel cut-off", err)
		return
	}
	d["Loc"], d["Zone"], d["Cutoff"] = s.Settings.Location(ctx), s.Settings.Location(ctx).String(), int(cutoff.Minutes())
	d["Notices"] = notices
	d["CalendarURL"] = s.calendarURL(r, u)
	if code := r.URL.Query().Get("err"); code != "" {
		if d["Error"], err = s.redirectRefusal(ctx, u, booking.OpCancel, code); err != nil {
			s.internalError(w, r, "word a refusal", err)
			return
		}
	}
	if r.URL.Query().Get("ok") == "calendar" {
		d["Flash"] = "Ссылка на календарь создана. Прежняя ссылка, если была, больше не работает."
	}
	if r.URL.Query().Get("ok") == "booked" {
		d["Flash"] = "Время забронировано. Доступ к серверу появится здесь незадолго до начала."
	}
	if r.URL.Query().Get("ok") == "cancelled" {
		d["Flash"] = "Бронирование отменено, место в лимите освободилось."
	}
	s.render(w, http.StatusOK, "bookings", d)
}

func (s *Server) cancelSubmit(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	_, err := s.Booking.Cancel(r.Context(), u.ID, id)
	switch re := booksmeta.AsError(err); {
	case re != nil:
		http.Redirect(w, r, "/bookings?err="+re.Code, http.StatusSeeOther)
	case err != nil:
		s.internalError(w, r, "cancel booking", err)
	default:
		s.Jobs.Notify()
		http.Redirect(w, r, "/bookings?ok=cancelled", http.StatusSeeOther)
	}
}

func (s *Server) noticesRead(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	if err := s.Store.MarkNoticesRead(r.Context(), u.ID); err != nil {
		s.internalError(w, r, "mark notices read", err)
		return
	}
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (s *Server) profileData(r *http.Request, u *booksmeta.User) map[string]any {
	d := s.data(r, "Профиль")
	d["Nav"], d["Me"], d["Loc"] = "profile", u, s.Settings.Location(r.Context())
	d["Allowance"] = s.allowance(r, u)
	return d
}

func (s *Server) profileForm(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	d := s.profileData(r, u)
	switch r.URL.Query().Get("ok") {
	case "profile":
		d["Flash"] = "Профиль сохранён."
	case "password":
		d["Flash"] = "Пароль изменён. На других устройствах нужно войти заново."
	}
	s.render(w, http.StatusOK, "profile", d)
}

func (s *Server) profileSave(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	_, err := s.Accounts.UpdateProfile(r.Context(), u.ID, r.PostFormValue("first_name"), r.PostFormValue("last_name"), r.PostFormValue("phone"))
	if ae := booksmeta.AsError(err); ae != nil {
		d := s.profileData(r, u)
		d["Error"] = ae.Message
		s.render(w, http.StatusUnprocessableEntity, "profile", d)
		return
	}
	if err != nil {
		s.internalError(w, r, "update profile", err)
		return
	}
	http.Redirect(w, r, "/profile?ok=profile", http.StatusSeeOther)
}

func (s *Server) passwordSave(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	d := s.profileData(r, u)
	if r.PostFormValue("password") != r.PostFormValue("password2") {
		d["PasswordError"] = "Новые пароли не совпадают: введите один и тот же пароль дважды."
		s.render(w, http.StatusUnprocessableEntity, "profile", d)
		return
	}
	_, sess := auth.FromContext(r.Context())
	err := s.Accounts.ChangePassword(r.Context(), u.ID, r.PostFormValue("current_password"), r.PostFormValue("password"), sess.ID)
	if ae := booksmeta.AsError(err); ae != nil {
		d["PasswordError"] = ae.Message
		s.render(w, http.StatusUnprocessableEntity, "profile", d)
		return
	}
	if err != nil {
		s.internalError(w, r, "change password", err)
		return
	}
	http.Redirect(w, r, "/profile?ok=password", http.StatusSeeOther)
}

// The forgot-password page answers the same whether or not the email has an
// account, so it cannot be used to find out who studies at the school.
func (s *Server) forgotForm(w http.ResponseWriter, r *http.Request) {
	d := s.data(r, "Восстановление пароля")
	d["Token"] = s.loginToken(w, r)
	s.render(w, http.StatusOK, "forgot", d)
}

func (s *Server) forgotSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	parseForm(r)
	if !validLoginToken(r) {
		s.csrfRefused(w, r)
		return
	}
	if err := s.Accounts.RequestPasswordReset(r.Context(), r.PostFormValue("email")); err != nil {
		s.internalError(w, r, "request password reset", err)
		return
	}
	s.Jobs.Notify()
	d := s.data(r, "Восстановление пароля")
	d["Message"] = "Если в Book Smeta есть аккаунт с этим адресом, на него придёт письмо со ссылкой для нового пароля (ссылка действует 2 часа). Письма нет через 10 минут — проверьте «Спам» или напишите в школу."
	d["Link"], d["LinkText"] = "/login", "Ко входу"
	s.render(w, http.StatusOK, "message", d)
}
