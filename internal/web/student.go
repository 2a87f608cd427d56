package web

import (
	"booksmeta"

	"errors"
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
	mux.HandleFunc("GET /notices", s.signedIn(s.noticesPage))
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

// calendar is "/" for a signed-in student: the week's (or one day's) slots,
// free / full / booked by me / past, with a booking button on free ones,
// filtered by part of day, with the next free time and two weeks of free
// hours per day above.
func (s *Server) calendar(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	ctx := r.Context()
	loc := s.Settings.Location(ctx)
	now := s.Store.Now()
	f := parseCalFilter(r.URL.Query(), now, loc)
	from, to := f.Week, f.Week.AddDate(0, 0, 7)
	n := 7
	if !f.Date.IsZero() {
		from, to, n = f.Date, f.Date.AddDate(0, 0, 1), 1
	}
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
	days := make([]dayView, n)
	index := map[string]int{}
	for i := range days {
		days[i].Date = from.AddDate(0, 0, i)
		index[days[i].Date.Format("2006-01-02")] = i
	}
	for _, sl := range slots {
		i, ok := index[sl.StartsAt.In(loc).Format("2006-01-02")]
		if !ok || !f.Part.has(sl.StartsAt, loc) {
			continue
		}
		if !sl.BookedByMe && !sl.StartsAt.Before(until) {
			continue
		}
		days[i].Slots = append(days[i].Slots, slotView{ID: sl.ID, Start: sl.StartsAt, End: sl.EndsAt, Capacity: sl.Capacity,
			Free: sl.Free(), Mine: sl.BookedByMe, Past: sl.Started(now)})
	}
	// In the current week the days already gone are left out: on a phone
	// they would push today below the first screen. A past week, asked for
	// on purpose, is shown whole.
	if t := now.In(loc); f.Date.IsZero() && f.Week.Equal(weekStart(now, loc)) {
		today := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
		for len(days) > 1 && days[0].Date.Before(today) {
			days = days[1:]
		}
	}
	upcoming, err := s.Store.CountUpcoming(ctx, u.ID)
	if err != nil {
		s.internalError(w, r, "count upcoming", err)
		return
	}
	latest, err := s.latestUnread(ctx, u.ID)
	if err != nil {
		s.internalError(w, r, "list notices", err)
		return
	}
	mine, err := s.Store.BookingsByUser(ctx, u.ID)
	if err != nil {
		s.internalError(w, r, "list bookings", err)
		return
	}
	next, err := s.nextFree(ctx, u.ID, now, loc, f)
	if err != nil {
		s.internalError(w, r, "find next free slot", err)
		return
	}
	strip, err := s.freeDays(ctx, u.ID, now, loc, f)
	if err != nil {
		s.internalError(w, r, "count free hours per day", err)
		return
	}
	d := s.data(r, "Бронирование сервера")
	d["Nav"], d["Here"], d["Soon"] = "calendar", f.url(f.Week, f.Date), s.soonNotices(ctx, mine, nil)
	d["Me"], d["Days"], d["Loc"], d["Zone"] = u, days, loc, loc.String()
	d["Upcoming"], d["Left"] = upcoming, u.BookingsLeft(upcoming)
	d["Notices"], d["Allowance"] = latest, s.allowance(r, u)
	d["NextFree"], d["FreeDays"], d["Parts"], d["Part"] = next, strip, dayParts, f.Part
	d["PartValue"], d["WeekValue"] = f.partValue(), f.Week.Format("2006-01-02")
	d["Filtered"] = f.Part != nil || !f.Date.IsZero()
	d["FreeAny"] = false
	for _, day := range strip {
		d["FreeAny"] = d["FreeAny"].(bool) || day.Minutes > 0
	}
	if f.Date.IsZero() {
		d["Prev"], d["Next"] = f.url(f.Week.AddDate(0, 0, -7), time.Time{}), f.url(to, time.Time{})
		d["PrevText"], d["NextText"] = "← Предыдущая неделя", "Следующая неделя →"
		d["Middle"], d["MiddleText"] = f.url(weekStart(now, loc), time.Time{}), "Эта неделя"
	} else {
		d["DateValue"] = f.Date.Format("2006-01-02")
		d["Prev"], d["Next"] = f.url(time.Time{}, f.Date.AddDate(0, 0, -1)), f.url(time.Time{}, to)
		d["PrevText"], d["NextText"] = "← Предыдущий день", "Следующий день →"
		d["Middle"], d["MiddleText"] = f.url(f.Week, time.Time{}), "Вся неделя"
	}
	if to.After(until) {
		d["AdvanceNote"] = advanceNote
	}
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
	back := func(code string) string {
		return calendarBack(r.PostFormValue("week"), r.PostFormValue("date"), r.PostFormValue("part"), code)
	}
	if err != nil {
		http.Redirect(w, r, back(booksmeta.CodeNotFound), http.StatusSeeOther)
		return
	}
	_, err = s.Booking.Book(r.Context(), u.ID, id)
	switch re := booksmeta.AsError(err); {
	case re != nil:
		http.Redirect(w, r, back(re.Code), http.StatusSeeOther)
	case err != nil:
		s.internalError(w, r, "book", err)
	default:
		s.Jobs.Notify()
		http.Redirect(w, r, "/bookings?ok=booked", http.StatusSeeOther)
	}
}

type bookingView struct {
	*booksmeta.Booking
	OpensAt time.Time
	Access  *booking.Access
	// Pending is the rules' "access is being prepared" while a provider's
	// grant has not succeeded; Closed says why access in an open window was
	// taken back (a refund). Both are Russian for the student.
	Pending, Closed string
	CanCancel       bool
	CutoffPast      bool
	// Loc is the school's zone, for the access panel's block.
	Loc *time.Location
	// IDs ends the access panel's element ids: "" for the first booking
	// with access open (the page's #access-panel), "-<id>" for any other,
	// so ids stay unique when two windows overlap.
	IDs string
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
	pending := map[int64]bool{} // what the access panel learnt, for the reminder box
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
			a, err := s.Booking.Access(ctx, u.ID, b.ID)
			var refusal *booksmeta.Error
			switch {
			case err == nil:
				v.Access = a
			case errors.As(err, &refusal) && refusal.Code == booksmeta.CodeAccessPending:
				v.Pending = refusal.Message
			case errors.As(err, &refusal) && refusal.Code == booksmeta.CodeNotOpen && !now.Before(v.OpensAt):
				v.Closed = refusal.Message
			}
			pending[b.ID] = v.Pending != ""
			upcoming = append(upcoming, v)
		}
	}
	// Upcoming soonest first; the store lists newest first.
	for i, j := 0, len(upcoming)-1; i < j; i, j = i+1, j-1 {
		upcoming[i], upcoming[j] = upcoming[j], upcoming[i]
	}
	loc := s.Settings.Location(ctx)
	panels := 0
	for i := range upcoming {
		upcoming[i].Loc = loc
		if upcoming[i].Access != nil {
			if panels > 0 {
				upcoming[i].IDs = "-" + strconv.FormatInt(upcoming[i].ID, 10)
			}
			panels++
		}
	}
	d := s.data(r, "Мои бронирования")
	d["Nav"], d["Here"], d["Soon"] = "bookings", "/bookings", s.soonNotices(ctx, bs, pending)
	d["Upcoming"], d["Past"], d["Cancelled"] = upcoming, past, cancelled
	cutoff, err := s.Booking.CancelCutoff(ctx)
	if err != nil {
		s.internalError(w, r, "read cancel cut-off", err)
		return
	}
	d["Loc"], d["Zone"], d["Cutoff"] = loc, loc.String(), cutoff
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
		d["Flash"] = bookedFlash(upcoming, loc)
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

// profileFields is what the name-and-phone form shows: the saved values, or
// after a refusal the ones just typed, so nothing typed is lost.
type profileFields struct {
	FirstName, LastName, Phone string
}

func (s *Server) profileData(r *http.Request, u *booksmeta.User) map[string]any {
	d := s.data(r, "Профиль")
	d["Nav"], d["Me"], d["Loc"] = "profile", u, s.Settings.Location(r.Context())
	d["Allowance"] = s.allowance(r, u)
	d["F"] = profileFields{u.FirstName, u.LastName, u.Phone}
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
	typed := profileFields{r.PostFormValue("first_name"), r.PostFormValue("last_name"), r.PostFormValue("phone")}
	_, err := s.Accounts.UpdateProfile(r.Context(), u.ID, typed.FirstName, typed.LastName, typed.Phone)
	if ae := booksmeta.AsError(err); ae != nil {
		d := s.profileData(r, u)
		d["F"], d["Error"], d["ErrField"] = typed, ae.Message, ae.Field
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

// deadLink answers a set-password link that is used up, expired or cut
// short: not a dead end, but the two ways on — sign in with the password
// already set, or have a new link mailed.
func (s *Server) deadLink(w http.ResponseWriter, r *http.Request, err error) {
	d := s.data(r, "Ссылка недействительна")
	d["Invalid"] = err.Error()
	s.render(w, http.StatusForbidden, "set_password", d)
}

// bookedFlash confirms a booking just made. A booking made inside its
// access window already has its access (or is getting it), so "access
// will appear shortly before the start" would be wrong for it.
func bookedFlash(upcoming []bookingView, loc *time.Location) string {
	var newest *bookingView
	for i := range upcoming {
		if newest == nil || upcoming[i].CreatedAt.After(newest.CreatedAt) {
			newest = &upcoming[i]
		}
	}
	switch {
	case newest != nil && newest.Access != nil:
		return "Время забронировано. Доступ к серверу уже открыт: данные для входа — в карточке бронирования ниже."
	case newest != nil && newest.Pending != "":
		return "Время забронировано. Доступ к серверу готовится: данные для входа появятся в карточке бронирования ниже."
	case newest != nil:
		opens := newest.OpensAt.In(loc)
		return "Время забронировано. Доступ к серверу откроется " + strconv.Itoa(opens.Day()) + " " + months[opens.Month()] + " в " + opens.Format("15:04") +
			": данные для входа появятся здесь, в карточке бронирования."
	default:
		return "Время забронировано."
	}
}
