package web

import (
	"booksmeta"

	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/audit"
	"booksmeta/internal/schedule"
	"booksmeta/internal/store"
)

// Slots and bookings for admins. The rules (refusing to move or shrink a
// booked slot, cancelling with notices) live in package schedule and
// booking; these pages only collect input and show the verdict.

func (s *Server) slotRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/slots", s.admin(s.slotList))
	mux.HandleFunc("POST /admin/slots", s.admin(s.slotCreate))
	mux.HandleFunc("GET /admin/slots/{id}", s.admin(s.slotEdit))
	mux.HandleFunc("POST /admin/slots/{id}", s.admin(s.slotUpdate))
	mux.HandleFunc("POST /admin/slots/{id}/active", s.admin(s.slotActive))
	mux.HandleFunc("POST /admin/slots/{id}/delete", s.admin(s.slotDelete))
	mux.HandleFunc("POST /admin/slots/generate", s.admin(s.slotGenerate))
	mux.HandleFunc("POST /admin/slots/close", s.admin(s.slotClose))
	mux.HandleFunc("GET /admin/bookings", s.admin(s.bookingList))
	mux.HandleFunc("POST /admin/bookings/{id}/cancel", s.admin(s.bookingCancel))
}

// slotRow is a slot of the list with its date in the school zone.
type slotRow struct {
	*store.AdminSlot
	Date string
}

// maxSlotRange bounds the from/to filter of the list.
const maxSlotRange = 93

func (s *Server) slotPage(w http.ResponseWriter, r *http.Request, status int, msg, errMsg string) {
	ctx := r.Context()
	loc := s.Settings.Location(ctx)
	q := r.URL.Query()
	from := weekStart(s.Store.Now(), loc)
	if d, err := time.ParseInLocation("2006-01-02", q.Get("week"), loc); err == nil {
		from = weekStart(d, loc)
	}
	to := from.AddDate(0, 0, 7)
	d := s.adminData(r, "Слоты", "slots")
	// An explicit range replaces the week view.
	rf, err1 := time.ParseInLocation("2006-01-02", q.Get("from"), loc)
	rt, err2 := time.ParseInLocation("2006-01-02", q.Get("to"), loc)
	ranged := false
	switch {
	case q.Get("from") == "" && q.Get("to") == "":
	case err1 != nil || err2 != nil:
		errMsg = strings.TrimSpace(errMsg + " Даты фильтра записаны неверно: нужен формат ГГГГ-ММ-ДД. Показана неделя.")
	case rt.Before(rf):
		errMsg = strings.TrimSpace(errMsg + " В фильтре дата «по» раньше даты «с». Показана неделя.")
	case rt.Sub(rf) > maxSlotRange*24*time.Hour:
		errMsg = strings.TrimSpace(errMsg + fmt.Sprintf(" Фильтр охватывает больше %d дней: сузьте его. Показана неделя.", maxSlotRange))
	default:
		from, to, ranged = rf, rt.AddDate(0, 0, 1), true
		d["From"], d["To"] = rf.Format("2006-01-02"), rt.Format("2006-01-02")
	}
	slots, err := s.Store.AdminSlots(ctx, from, to)
	if err != nil {
		s.internalError(w, r, "list slots", err)
		return
	}
	rows := make([]slotRow, len(slots))
	for i, sl := range slots {
		rows[i] = slotRow{sl, sl.StartsAt.In(loc).Format("2006-01-02")}
	}
	d["Slots"], d["Loc"], d["Week"], d["Ranged"] = rows, loc, from.Format("2006-01-02"), ranged
	d["Prev"], d["Next"], d["Now"] = from.AddDate(0, 0, -7).Format("2006-01-02"), from.AddDate(0, 0, 7).Format("2006-01-02"), s.Store.Now()
	d["WeekEnd"] = to.AddDate(0, 0, -1).Format("2006-01-02")
	d["Zone"] = loc.String()
	if msg != "" {
		d["Flash"] = msg
	}
	if errMsg != "" {
		d["Error"] = errMsg
	}
	s.render(w, status, "admin_slots", d)
}

func (s *Server) slotList(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	s.slotPage(w, r, http.StatusOK, slotFlash(r.URL.Query().Get("done")), "")
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
	case "saved":
		return fmt.Sprintf("Слот сохранён; отменено бронирований: %d.", num)
	}
	return ""
}

// scheduleError shows a slot rule's refusal on the list, or reports an
// internal error.
func (s *Server) scheduleError(w http.ResponseWriter, r *http.Request, err error) {
	if se := booksmeta.AsError(err); se != nil {
		s.slotPage(w, r, se.HTTPStatus(), "", pageMessage(se))
		return
	}
	s.internalError(w, r, "slot operation", err)
}

// slotTimes reads the date and the start and end clock times of a form.
func slotTimes(r *http.Request, loc *time.Location) (start, end time.Time, err error) {
	date := strings.TrimSpace(r.PostFormValue("date"))
	start, err1 := schedule.ParseTime(date+"T"+r.PostFormValue("from"), loc)
	end, err2 := schedule.ParseTime(date+"T"+r.PostFormValue("to"), loc)
	if err := errors.Join(err1, err2); err != nil {
		return start, end, errors.New("Дата и время записаны неверно: укажите дату и время начала и конца, например 01.12 с 09:00 до 10:00.")
	}
	return start, end, nil
}

func (s *Server) slotCreate(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	loc, err := s.Settings.Zone(r.Context())
	if err != nil {
		s.internalError(w, r, "read time zone", err)
		return
	}
	start, end, err := slotTimes(r, loc)
	if err != nil {
		s.slotPage(w, r, http.StatusUnprocessableEntity, "", err.Error())
		return
	}
	capacity, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("capacity")))
	if err != nil {
		s.slotPage(w, r, http.StatusUnprocessableEntity, "", msgBadCapacity)
		return
	}
	note, login, pass := r.PostFormValue("note"), r.PostFormValue("server_login"), r.PostFormValue("server_password")
	in := schedule.SlotInput{Start: &start, End: &end, Capacity: &capacity, Note: &note}
	if login != "" || pass != "" {
		in.ServerLogin, in.ServerPassword = &login, &pass
	}
	sl, err := s.Schedule.CreateSlot(r.Context(), in)
	if err != nil {
		s.scheduleError(w, r, err)
		return
	}
	s.recordSlot(r, u, audit.SlotCreate, sl.ID, nil, 0)
	http.Redirect(w, r, "/admin/slots?week="+start.In(loc).Format("2006-01-02")+"&done=created", http.StatusSeeOther)
}

// slotEditPage shows one slot's form; status and errMsg carry a refusal.
func (s *Server) slotEditPage(w http.ResponseWriter, r *http.Request, id int64, status int, errMsg string) {
	ctx := r.Context()
	sl, err := s.Store.AdminSlotByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !sl.DeletedAt.IsZero()) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.internalError(w, r, "load slot", err)
		return
	}
	loc := s.Settings.Location(ctx)
	d := s.adminData(r, "Слот "+sl.StartsAt.In(loc).Format("02.01.2006 15:04"), "slots")
	d["S"], d["Loc"], d["Zone"], d["Now"] = sl, loc, loc.String(), s.Store.Now()
	d["Date"], d["From"], d["To"] = sl.StartsAt.In(loc).Format("2006-01-02"), sl.StartsAt.In(loc).Format("15:04"), sl.EndsAt.In(loc).Format("15:04")
	d["Week"] = weekStart(sl.StartsAt, loc).Format("2006-01-02")
	d["HasLogin"], d["HasPassword"] = sl.ServerLogin != "", sl.ServerPassword != ""
	if r.Method == http.MethodPost && r.PostFormValue("date") != "" {
		// Keep what the admin typed (never the credentials).
		d["Date"], d["From"], d["To"] = r.PostFormValue("date"), r.PostFormValue("from"), r.PostFormValue("to")
		d["Capacity"], d["Note"] = r.PostFormValue("capacity"), r.PostFormValue("note")
	} else {
		d["Capacity"], d["Note"] = strconv.Itoa(sl.Capacity), sl.Note
	}
	if errMsg != "" {
		d["Error"] = errMsg
	}
	s.render(w, status, "admin_slot_edit", d)
}

func (s *Server) slotEdit(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	s.slotEditPage(w, r, id, http.StatusOK, "")
}

// slotUpdate saves a slot's time, capacity, note and own server account.
// Moving a booked slot needs the cancel checkbox; shrinking below the
// places taken is always refused.
func (s *Server) slotUpdate(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	loc, err := s.Settings.Zone(r.Context())
	if err != nil {
		s.internalError(w, r, "read time zone", err)
		return
	}
	start, end, err := slotTimes(r, loc)
	if err != nil {
		s.slotEditPage(w, r, id, http.StatusUnprocessableEntity, err.Error())
		return
	}
	capacity, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("capacity")))
	if err != nil {
		s.slotEditPage(w, r, id, http.StatusUnprocessableEntity, msgBadCapacity)
		return
	}
	note := r.PostFormValue("note")
	in := schedule.SlotInput{Capacity: &capacity, Note: &note}
	cur, err := s.Store.AdminSlotByID(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.notFound(w, r)
		return
	} else if err != nil {
		s.internalError(w, r, "load slot", err)
		return
	}
	// Only a changed time counts as a move: an unchanged form is no move.
	if !start.Equal(cur.StartsAt) || !end.Equal(cur.EndsAt) {
		in.Start, in.End = &start, &end
	}
	empty := ""
	if r.PostFormValue("clear_credentials") == "1" {
		in.ServerLogin, in.ServerPassword = &empty, &empty
	} else {
		// Blank fields keep what is stored: it is never shown back.
		if v := r.PostFormValue("server_login"); v != "" {
			in.ServerLogin = &v
		}
		if v := r.PostFormValue("server_password"); v != "" {
			in.ServerPassword = &v
		}
	}
	cancel := r.PostFormValue("cancel_bookings") == "1"
	_, n, err := s.Schedule.UpdateSlot(r.Context(), id, in, cancel, strings.TrimSpace(r.PostFormValue("reason")), u.ID)
	if err != nil {
		if se := booksmeta.AsError(err); se != nil {
			s.slotEditPage(w, r, id, se.HTTPStatus(), pageMessage(se))
			return
		}
		s.internalError(w, r, "update slot", err)
		return
	}
	s.recordSlot(r, u, audit.SlotUpdate, id, &cur.Slot, n)
	if n > 0 {
		s.Jobs.Notify()
	}
	http.Redirect(w, r, "/admin/slots?week="+weekStart(start, loc).Format("2006-01-02")+"&done=saved:"+strconv.Itoa(n), http.StatusSeeOther)
}

// slotReturn is where an action goes back to: the slot's page when the
// form came from there, else the list's week.
func slotReturn(r *http.Request, id int64) string {
	if r.PostFormValue("from_page") == "edit" {
		return "/admin/slots/" + strconv.FormatInt(id, 10) + "?"
	}
	week := r.PostFormValue("week")
	if _, err := time.Parse("2006-01-02", week); err != nil {
		week = ""
	}
	return "/admin/slots?week=" + week + "&"
}

func (s *Server) slotActionError(w http.ResponseWriter, r *http.Request, id int64, err error) {
	if se := booksmeta.AsError(err); r.PostFormValue("from_page") == "edit" && se != nil && se.Code != booksmeta.CodeNotFound {
		s.slotEditPage(w, r, id, se.HTTPStatus(), pageMessage(se))
		return
	}
	s.scheduleError(w, r, err)
}

func (s *Server) slotActive(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	active := r.PostFormValue("active") == "1"
	cancel := r.PostFormValue("cancel_bookings") == "1"
	_, n, err := s.Schedule.UpdateSlot(r.Context(), id, schedule.SlotInput{Active: &active}, cancel, strings.TrimSpace(r.PostFormValue("reason")), u.ID)
	if err != nil {
		s.slotActionError(w, r, id, err)
		return
	}
	s.recordSlot(r, u, audit.SlotUpdate, id, nil, n)
	if n > 0 {
		s.Jobs.Notify()
	}
	http.Redirect(w, r, slotReturn(r, id)+"done=toggled", http.StatusSeeOther)
}

func (s *Server) slotDelete(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	n, err := s.Schedule.DeleteSlot(r.Context(), id, r.PostFormValue("cancel_bookings") == "1", strings.TrimSpace(r.PostFormValue("reason")), u.ID)
	if err != nil {
		s.slotActionError(w, r, id, err)
		return
	}
	s.recordSlot(r, u, audit.SlotDelete, id, nil, n)
	if n > 0 {
		s.Jobs.Notify()
	}
	week := r.PostFormValue("week")
	if _, err := time.Parse("2006-01-02", week); err != nil {
		week = ""
	}
	http.Redirect(w, r, "/admin/slots?week="+week+"&done=deleted:"+strconv.Itoa(n), http.StatusSeeOther)
}

func (s *Server) slotGenerate(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	loc, err := s.Settings.Zone(r.Context())
	if err != nil {
		s.internalError(w, r, "read time zone", err)
		return
	}
	from, err := schedule.ParseDate(r.PostFormValue("from"), loc)
	if err != nil {
		s.slotPage(w, r, http.StatusUnprocessableEntity, "", "Дата начала записана неверно: нужен формат ГГГГ-ММ-ДД.")
		return
	}
	weeks, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("weeks")))
	if err != nil || weeks < 1 || weeks > 52 {
		s.slotPage(w, r, http.StatusUnprocessableEntity, "", "Число недель — от 1 до 52.")
		return
	}
	n, err := s.Schedule.Generate(r.Context(), from, weeks)
	if err != nil {
		s.scheduleError(w, r, err)
		return
	}
	s.record(r, audit.By(u, audit.SlotGenerate, "slots", "Созданы слоты по расписанию: "+strconv.Itoa(n)+", с "+from.Format("02.01.2006")+" на недель: "+strconv.Itoa(weeks)+"."))
	http.Redirect(w, r, "/admin/slots?week="+from.Format("2006-01-02")+"&done=generated:"+strconv.Itoa(n), http.StatusSeeOther)
}

// slotClose closes a day or a range, e.g. for server maintenance; booked
// slots there need the cancel checkbox, and their students are notified.
func (s *Server) slotClose(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	loc, err := s.Settings.Zone(r.Context())
	if err != nil {
		s.internalError(w, r, "read time zone", err)
		return
	}
	from, err1 := schedule.ParseDate(r.PostFormValue("from"), loc)
	to, err2 := schedule.ParseDate(r.PostFormValue("to"), loc)
	if err := errors.Join(err1, err2); err != nil {
		s.slotPage(w, r, http.StatusUnprocessableEntity, "", "Даты записаны неверно: нужен формат ГГГГ-ММ-ДД.")
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		s.slotPage(w, r, http.StatusUnprocessableEntity, "", "Укажите причину: её увидят ученики, чьи бронирования будут отменены.")
		return
	}
	cancel := r.PostFormValue("cancel_bookings") == "1"
	res, err := s.Schedule.Deactivate(r.Context(), from, to.AddDate(0, 0, 1), reason, cancel, u.ID)
	if err != nil {
		s.scheduleError(w, r, err)
		return
	}
	if res.Cancelled > 0 {
		s.Jobs.Notify()
	}
	s.Log.Info("slots closed by admin", "from", from, "to", to, "slots", res.Deactivated, "bookings_cancelled", res.Cancelled, "by", u.ID)
	s.record(r, audit.By(u, audit.SlotClose, "slots", "Закрыты слоты с "+from.Format("02.01.2006")+" по "+to.Format("02.01.2006")+": "+strconv.Itoa(res.Deactivated)+"; отменено бронирований: "+strconv.Itoa(res.Cancelled)+"."+reasonText(reason)))
	http.Redirect(w, r, "/admin/slots?week="+from.Format("2006-01-02")+"&done=closed:"+strconv.Itoa(res.Deactivated), http.StatusSeeOther)
}
