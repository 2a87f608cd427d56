package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/schedule"
	"booksmeta/internal/store"
)

// Slots and bookings for admins. The rules (refusing to move or shrink a
// booked slot, cancelling with notices) live in package schedule and
// booking; these pages only collect input and show the verdict.

func (s *Server) slotRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/slots", s.admin(s.slotList))
	mux.HandleFunc("POST /admin/slots", s.admin(s.slotCreate))
	mux.HandleFunc("POST /admin/slots/{id}/active", s.admin(s.slotActive))
	mux.HandleFunc("POST /admin/slots/{id}/delete", s.admin(s.slotDelete))
	mux.HandleFunc("POST /admin/slots/generate", s.admin(s.slotGenerate))
	mux.HandleFunc("POST /admin/slots/close", s.admin(s.slotClose))
	mux.HandleFunc("GET /admin/bookings", s.admin(s.bookingList))
	mux.HandleFunc("POST /admin/bookings/{id}/cancel", s.admin(s.bookingCancel))
}

func (s *Server) slotPage(w http.ResponseWriter, r *http.Request, status int, msg, errMsg string) {
	ctx := r.Context()
	loc := s.Settings.Location(ctx)
	from := weekStart(s.Store.Now(), loc)
	if d, err := time.ParseInLocation("2006-01-02", r.URL.Query().Get("week"), loc); err == nil {
		from = weekStart(d, loc)
	}
	slots, err := s.Store.AdminSlots(ctx, from, from.AddDate(0, 0, 7))
	if err != nil {
		s.internalError(w, r, "list slots", err)
		return
	}
	d := s.adminData(r, "Слоты", "slots")
	d["Slots"], d["Loc"], d["Week"] = slots, loc, from.Format("2006-01-02")
	d["Prev"], d["Next"], d["Now"] = from.AddDate(0, 0, -7).Format("2006-01-02"), from.AddDate(0, 0, 7).Format("2006-01-02"), s.Store.Now()
	d["Zone"] = loc.String()
	if msg != "" {
		d["Flash"] = msg
	}
	if errMsg != "" {
		d["Error"] = errMsg
	}
	s.render(w, status, "admin_slots", d)
}

func (s *Server) slotList(w http.ResponseWriter, r *http.Request, _ *store.User) {
	msg := ""
	if n := r.URL.Query().Get("done"); n != "" {
		msg = n
	}
	s.slotPage(w, r, http.StatusOK, slotFlash(msg), "")
}

// slotFlash maps a redirect code to its text: a link cannot put words on the page.
func slotFlash(code string) string {
	kind, n, _ := strings.Cut(code, ":")
	num, _ := strconv.Atoi(n)
	switch kind {
	case "created":
		return "Слот создан."
	case "generated":
		return fmt.Sprintf("По расписанию создано слотов: %d.", num)
	case "closed":
		return fmt.Sprintf("Закрыто слотов: %d. Ученики отменённых бронирований получили уведомление.", num)
	case "deleted":
		return fmt.Sprintf("Слот удалён; отменено бронирований: %d.", num)
	case "toggled":
		return "Слот изменён."
	}
	return ""
}

// scheduleError shows a slot rule's refusal, or reports an internal error.
func (s *Server) scheduleError(w http.ResponseWriter, r *http.Request, err error) {
	var se *schedule.Error
	if errors.As(err, &se) {
		s.slotPage(w, r, http.StatusUnprocessableEntity, "", se.Message)
		return
	}
	s.internalError(w, r, "slot operation", err)
}

func (s *Server) slotCreate(w http.ResponseWriter, r *http.Request, _ *store.User) {
	loc := s.Settings.Location(r.Context())
	date := r.PostFormValue("date")
	start, err1 := schedule.ParseTime(date+"T"+r.PostFormValue("from"), loc)
	end, err2 := schedule.ParseTime(date+"T"+r.PostFormValue("to"), loc)
	if err := errors.Join(err1, err2); err != nil {
		s.slotPage(w, r, http.StatusUnprocessableEntity, "", "Дата и время записаны неверно: укажите дату и время начала и конца, например 01.12 с 09:00 до 10:00.")
		return
	}
	capacity, err := strconv.Atoi(r.PostFormValue("capacity"))
	if err != nil {
		capacity = 1
	}
	note, login, pass := r.PostFormValue("note"), r.PostFormValue("server_login"), r.PostFormValue("server_password")
	in := schedule.SlotInput{Start: &start, End: &end, Capacity: &capacity, Note: &note}
	if login != "" || pass != "" {
		in.ServerLogin, in.ServerPassword = &login, &pass
	}
	if _, err := s.Schedule.CreateSlot(r.Context(), in); err != nil {
		s.scheduleError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/slots?week="+start.In(loc).Format("2006-01-02")+"&done=created", http.StatusSeeOther)
}

func (s *Server) slotActive(w http.ResponseWriter, r *http.Request, u *store.User) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	active := r.PostFormValue("active") == "1"
	cancel := r.PostFormValue("cancel_bookings") == "1"
	if _, _, err := s.Schedule.UpdateSlot(r.Context(), id, schedule.SlotInput{Active: &active}, cancel, r.PostFormValue("reason"), u.ID); err != nil {
		s.scheduleError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/slots?week="+r.PostFormValue("week")+"&done=toggled", http.StatusSeeOther)
}

func (s *Server) slotDelete(w http.ResponseWriter, r *http.Request, u *store.User) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	n, err := s.Schedule.DeleteSlot(r.Context(), id, r.PostFormValue("cancel_bookings") == "1", r.PostFormValue("reason"), u.ID)
	if err != nil {
		s.scheduleError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/slots?week="+r.PostFormValue("week")+"&done=deleted:"+strconv.Itoa(n), http.StatusSeeOther)
}

func (s *Server) slotGenerate(w http.ResponseWriter, r *http.Request, _ *store.User) {
	loc := s.Settings.Location(r.Context())
	from, err := schedule.ParseDate(r.PostFormValue("from"), loc)
	if err != nil {
		s.slotPage(w, r, http.StatusUnprocessableEntity, "", err.Error())
		return
	}
	weeks, _ := strconv.Atoi(r.PostFormValue("weeks"))
	n, err := s.Schedule.Generate(r.Context(), from, weeks)
	if err != nil {
		s.scheduleError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/slots?week="+from.Format("2006-01-02")+"&done=generated:"+strconv.Itoa(n), http.StatusSeeOther)
}

func (s *Server) slotClose(w http.ResponseWriter, r *http.Request, u *store.User) {
	loc := s.Settings.Location(r.Context())
	from, err1 := schedule.ParseDate(r.PostFormValue("from"), loc)
	to, err2 := schedule.ParseDate(r.PostFormValue("to"), loc)
	if err := errors.Join(err1, err2); err != nil {
		s.slotPage(w, r, http.StatusUnprocessableEntity, "", "Даты записаны неверно: нужен формат ГГГГ-ММ-ДД.")
		return
	}
	res, err := s.Schedule.Deactivate(r.Context(), from, to.AddDate(0, 0, 1), r.PostFormValue("reason"), true, u.ID)
	if err != nil {
		s.scheduleError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/slots?week="+from.Format("2006-01-02")+"&done=closed:"+strconv.Itoa(res.Deactivated), http.StatusSeeOther)
}

func (s *Server) bookingList(w http.ResponseWriter, r *http.Request, _ *store.User) {
	ctx := r.Context()
	loc := s.Settings.Location(ctx)
	q := r.URL.Query()
	f := store.BookingFilter{Status: q.Get("status"), User: strings.TrimSpace(q.Get("user")), Limit: 300}
	if d, err := time.ParseInLocation("2006-01-02", q.Get("from"), loc); err == nil {
		f.From = d
	}
	if d, err := time.ParseInLocation("2006-01-02", q.Get("to"), loc); err == nil {
		f.To = d.AddDate(0, 0, 1)
	}
	bs, err := s.Store.ListBookings(ctx, f)
	if err != nil {
		s.internalError(w, r, "list bookings", err)
		return
	}
	counts := map[string]int{}
	for _, b := range bs {
		counts[b.Status]++
	}
	d := s.adminData(r, "Бронирования", "bookings")
	d["Bookings"], d["Counts"], d["Loc"], d["Q"], d["Now"] = bs, counts, loc, q, s.Store.Now()
	switch q.Get("ok") {
	case "cancelled":
		d["Flash"] = "Бронирование отменено; ученик получил уведомление и письмо."
	}
	if q.Get("err") != "" {
		d["Error"] = "Это бронирование уже отменено или завершено."
	}
	s.render(w, http.StatusOK, "admin_bookings", d)
}

func (s *Server) bookingCancel(w http.ResponseWriter, r *http.Request, u *store.User) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if _, err := s.Booking.AdminCancel(r.Context(), u.ID, id, strings.TrimSpace(r.PostFormValue("reason"))); err != nil {
		http.Redirect(w, r, "/admin/bookings?err=1", http.StatusSeeOther)
		return
	}
	s.Jobs.Notify()
	http.Redirect(w, r, "/admin/bookings?ok=cancelled", http.StatusSeeOther)
}
