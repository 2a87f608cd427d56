package web

import (
	"booksmeta"

	"errors"
	"net/http"
	"strconv"
	"time"

	"booksmeta/internal/accounts"
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
	days := make([]dayView, 7)
	for i := range days {
		days[i].Date = from.AddDate(0, 0, i)
	}
	for _, sl := range slots {
		i := int(sl.StartsAt.In(loc).Sub(from).Hours() / 24)
		if i < 0 || i > 6 {
			continue
		}
		days[i].Slots = append(days[i].Slots, slotView{ID: sl.ID, Start: sl.StartsAt, End: sl.EndsAt, Capacity: sl.Capacity,
			Free: max(sl.Capacity-sl.Booked, 0), Mine: sl.BookedByMe, Past: !sl.StartsAt.After(now)})
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
	d["Upcoming"], d["Left"] = upcoming, max(u.BookingLimit-upcoming, 0)
	d["Notices"], d["Allowance"] = notices, s.allowance(r, u)
	d["Maintenance"] = s.Booking.Maintenance(ctx)
	d["MaintenanceMessage"] = s.Settings.String(ctx, booking.MaintenanceMessage)
	if msg := r.URL.Query().Get("err"); msg != "" {
		d["Error"] = bookingMessage(msg)
	}
	s.render(w, http.StatusOK, "calendar", d)
}

// bookingMessage turns a refusal code from a redirect into its text; only
// known codes are shown, so a link cannot put words on the page.
func bookingMessage(code string) string {
	return map[string]string{
		booking.CodeSlotFull:      "На это время мест больше нет: выберите другое.",
		booking.CodeLimitReached:  "Достигнут лимит предстоящих бронирований. Отмените одно или дождитесь, когда оно пройдёт.",
		booking.CodeAlreadyBooked: "Вы уже забронировали это время: оно есть в разделе «Мои бронирования».",
		booking.CodeSlotInPast:    "Это время уже прошло: выберите другое.",
		booking.CodeNotPaid:       "Бронирование доступно после оплаты курса. Если вы уже оплатили, напишите в школу.",
		booking.CodeInactive:      "Ваш аккаунт отключён, бронировать нельзя. Если это ошибка, напишите в школу.",
		booking.CodeNotFound:      "Такого времени больше нет в расписании: обновите календарь.",
		booking.CodeTooLate:       "Отменить это бронирование уже нельзя: до начала осталось меньше, чем допускают правила школы.",
		booking.CodeNotActive:     "Это бронирование уже отменено или завершено.",
		booking.CodeMaintenance:   "Сейчас идут технические работы: бронирование временно недоступно.",
	}[code]
}

func (s *Server) bookSubmit(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, err := strconv.ParseInt(r.PostFormValue("slot_id"), 10, 64)
	week := r.PostFormValue("week")
	back := "/?week=" + week
	if err != nil {
		http.Redirect(w, r, back+"&err="+booking.CodeNotFound, http.StatusSeeOther)
		return
	}
	_, err = s.Booking.Book(r.Context(), u.ID, id)
	var re *booking.RuleError
	switch {
	case errors.As(err, &re):
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
	cutoff := time.Duration(s.Settings.Int(ctx, booking.CancelCutoffMinutes, 120)) * time.Minute
	var upcoming, past, cancelled []bookingView
	for _, b := range bs {
		v := bookingView{Booking: b}
		switch {
		case b.Status == booksmeta.BookingCancelled:
			cancelled = append(cancelled, v)
		case b.Status == booksmeta.BookingFinished || !b.EndsAt.After(now):
			past = append(past, v)
		default:
			v.OpensAt, _ = s.Booking.Window(ctx, b)
			v.CanCancel = !now.Add(cutoff).After(b.StartsAt)
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
	d["Loc"], d["Zone"], d["Cutoff"] = s.Settings.Location(ctx), s.Settings.Location(ctx).String(), int(cutoff.Minutes())
	d["Notices"] = notices
	d["CalendarURL"] = s.calendarURL(r, u)
	if msg := r.URL.Query().Get("err"); msg != "" {
		d["Error"] = bookingMessage(msg)
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
	var re *booking.RuleError
	switch {
	case errors.As(err, &re):
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
	var ae *accounts.Error
	if errors.As(err, &ae) {
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
	var ae *accounts.Error
	if errors.As(err, &ae) {
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
