package api

import (
	"booksmeta"

	"net/http"
	"strings"
	"time"

	"booksmeta/internal/audit"
	"booksmeta/internal/schedule"
	"booksmeta/internal/store"
)

func (s *Server) slotAdminRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/admin/slots", s.admin(s.slotAdminList))
	mux.Handle("POST /api/v1/admin/slots", s.admin(s.slotAdminCreate))
	mux.Handle("GET /api/v1/admin/slots/{id}", s.admin(s.slotAdminGet))
	mux.Handle("PATCH /api/v1/admin/slots/{id}", s.admin(s.slotAdminPatch))
	mux.Handle("DELETE /api/v1/admin/slots/{id}", s.admin(s.slotAdminDelete))
	mux.Handle("POST /api/v1/admin/slots/generate", s.admin(s.slotAdminGenerate))
	mux.Handle("POST /api/v1/admin/slots/deactivate", s.admin(s.slotAdminDeactivate))
}

// adminSlotOut is a slot for admins. Server credentials never leave: only
// whether they are set.
type adminSlotOut struct {
	ID                int64  `json:"id"`
	Start             string `json:"start"`
	End               string `json:"end"`
	Capacity          int    `json:"capacity"`
	Booked            int    `json:"booked"`
	Free              int    `json:"free"`
	ActiveBookings    int    `json:"active_bookings"`
	Note              string `json:"note"`
	Active            bool   `json:"active"`
	Source            string `json:"source"`
	Status            string `json:"status"` // past, inactive, full, free
	ServerLoginSet    bool   `json:"server_login_set"`
	ServerPasswordSet bool   `json:"server_password_set"`
}

func (s *Server) adminSlotJSON(r *http.Request, sl *store.AdminSlot) adminSlotOut {
	ctx := r.Context()
	o := adminSlotOut{ID: sl.ID, Start: s.timeJSON(ctx, sl.StartsAt), End: s.timeJSON(ctx, sl.EndsAt), Capacity: sl.Capacity,
		Booked: sl.Booked, Free: sl.Free(), ActiveBookings: sl.ActiveBookings, Note: sl.Note, Active: sl.Active,
		Source: sl.Source, ServerLoginSet: sl.ServerLogin != "", ServerPasswordSet: sl.ServerPassword != ""}
	switch {
	case !sl.EndsAt.After(s.Store.Now()):
		o.Status = "past"
	case !sl.Active:
		o.Status = "inactive"
	case sl.Free() == 0:
		o.Status = "full"
	default:
		o.Status = "free"
	}
	return o
}

func (s *Server) slotAdminList(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	from, to, ok := s.dateRange(w, r)
	if !ok {
		return
	}
	slots, err := s.Store.AdminSlots(r.Context(), from, to)
	if err != nil {
		s.failErr(w, err)
		return
	}
	out := make([]adminSlotOut, 0, len(slots))
	for _, sl := range slots {
		out = append(out, s.adminSlotJSON(r, sl))
	}
	writeJSON(w, http.StatusOK, map[string]any{"slots": out, "timezone": s.Settings.Location(r.Context()).String()})
}

func (s *Server) writeSlot(w http.ResponseWriter, r *http.Request, status int, id int64, extra map[string]any) {
	sl, err := s.Store.AdminSlotByID(r.Context(), id)
	if err != nil {
		s.failErr(w, err)
		return
	}
	if len(extra) == 0 {
		writeJSON(w, status, s.adminSlotJSON(r, sl))
		return
	}
	out := map[string]any{"slot": s.adminSlotJSON(r, sl)}
	for k, v := range extra {
		out[k] = v
	}
	writeJSON(w, status, out)
}

func (s *Server) slotAdminGet(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	sl, err := s.Store.AdminSlotByID(r.Context(), id)
	if err == nil && !sl.DeletedAt.IsZero() {
		err = store.ErrNotFound
	}
	if err != nil {
		s.failErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.adminSlotJSON(r, sl))
}

type slotIn struct {
	Start          *string `json:"start"`
	End            *string `json:"end"`
	Capacity       *int    `json:"capacity"`
	Note           *string `json:"note"`
	Active         *bool   `json:"active"`
	ServerLogin    *string `json:"server_login"`
	ServerPassword *string `json:"server_password"`
	CancelBookings bool    `json:"cancel_bookings"`
	Reason         string  `json:"reason"`
}

// input turns the body into a schedule.SlotInput, answering 422 on a time
// it cannot read. A masked credential sent back unchanged means "keep it".
func (s *Server) slotInput(w http.ResponseWriter, r *http.Request, in slotIn) (schedule.SlotInput, bool) {
	loc, err := s.Settings.Zone(r.Context())
	if err != nil {
		s.failErr(w, err)
		return schedule.SlotInput{}, false
	}
	out := schedule.SlotInput{Capacity: in.Capacity, Note: in.Note, Active: in.Active, ServerLogin: in.ServerLogin, ServerPassword: in.ServerPassword}
	for _, f := range []struct {
		name string
		v    *string
		dst  **time.Time
	}{{"start", in.Start, &out.Start}, {"end", in.End, &out.End}} {
		if f.v == nil {
			continue
		}
		t, err := schedule.ParseTime(*f.v, loc)
		if err != nil {
			s.failErr(w, booksmeta.Refuse(booksmeta.CodeInvalid, f.name, err.Error()))
			return out, false
		}
		*f.dst = &t
	}
	for _, p := range []**string{&out.ServerLogin, &out.ServerPassword} {
		if *p != nil && strings.HasPrefix(**p, "••••") {
			*p = nil
		}
	}
	return out, true
}

func (s *Server) slotAdminCreate(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	var in slotIn
	if !decode(w, r, &in) {
		return
	}
	if in.Start == nil || in.End == nil {
		field := "start"
		if in.Start != nil {
			field = "end"
		}
		s.failErr(w, booksmeta.Refuse(booksmeta.CodeInvalid, field, "Укажите начало и конец слота (start и end), например 2026-12-01T09:00 и 2026-12-01T10:00."))
		return
	}
	si, ok := s.slotInput(w, r, in)
	if !ok {
		return
	}
	sl, err := s.Schedule.CreateSlot(r.Context(), si)
	if err != nil {
		s.failErr(w, err)
		return
	}
	s.Log.Info("slot created by admin", "slot_id", sl.ID, "by", u.ID)
	s.recordSlot(r, u, audit.SlotCreate, sl.ID, nil, 0)
	s.writeSlot(w, r, http.StatusCreated, sl.ID, nil)
}

func (s *Server) slotAdminPatch(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in slotIn
	if !decode(w, r, &in) {
		return
	}
	si, ok := s.slotInput(w, r, in)
	if !ok {
		return
	}
	before, _ := s.Store.AdminSlotByID(r.Context(), id)
	_, cancelled, err := s.Schedule.UpdateSlot(r.Context(), id, si, in.CancelBookings, strings.TrimSpace(in.Reason), u.ID)
	if err != nil {
		s.failErr(w, err)
		return
	}
	if before != nil {
		s.recordSlot(r, u, audit.SlotUpdate, id, &before.Slot, cancelled)
	}
	if cancelled > 0 {
		s.Jobs.Notify()
		s.writeSlot(w, r, http.StatusOK, id, map[string]any{"cancelled_bookings": cancelled})
		return
	}
	s.writeSlot(w, r, http.StatusOK, id, nil)
}

func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func (s *Server) slotAdminDelete(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in struct {
		CancelBookings bool   `json:"cancel_bookings"`
		Reason         string `json:"reason"`
	}
	if r.ContentLength > 0 && !decode(w, r, &in) {
		return
	}
	q := r.URL.Query()
	cancel := in.CancelBookings || truthy(q.Get("cancel_bookings"))
	reason := strings.TrimSpace(in.Reason)
	if reason == "" {
		reason = strings.TrimSpace(q.Get("reason"))
	}
	n, err := s.Schedule.DeleteSlot(r.Context(), id, cancel, reason, u.ID)
	if err != nil {
		s.failErr(w, err)
		return
	}
	s.recordSlot(r, u, audit.SlotDelete, id, nil, n)
	if n > 0 {
		s.Jobs.Notify()
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "deleted": true, "cancelled_bookings": n})
}

func (s *Server) slotAdminGenerate(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	var in struct {
		From  string `json:"from"`
		Weeks *int   `json:"weeks"`
	}
	if r.ContentLength != 0 && !decode(w, r, &in) {
		return
	}
	ctx := r.Context()
	from := s.Schedule.Today(ctx)
	if in.From != "" {
		loc, err := s.Settings.Zone(ctx)
		if err != nil {
			s.failErr(w, err)
			return
		}
		d, err := schedule.ParseDate(in.From, loc)
		if err != nil {
			s.failErr(w, booksmeta.Refuse(booksmeta.CodeInvalid, "from", err.Error()))
			return
		}
		from = d
	}
	weeks := 0
	if in.Weeks != nil {
		weeks = *in.Weeks
	} else {
		c, err := s.Schedule.Config(ctx)
		if err != nil {
			s.failErr(w, err)
			return
		}
		if weeks = c.WeeksAhead; weeks == 0 {
			weeks = 1
		}
	}
	n, err := s.Schedule.Generate(ctx, from, weeks)
	if err != nil {
		s.failErr(w, err)
		return
	}
	s.Log.Info("slots generated by admin", "created", n, "by", u.ID)
	s.record(r, audit.By(u, audit.SlotGenerate, "slots", "Созданы слоты по расписанию: "+itoa(int64(n))+", с "+from.Format("02.01.2006")+" на недель: "+itoa(int64(weeks))+"."))
	writeJSON(w, http.StatusOK, map[string]any{"created": n, "from": from.Format("2006-01-02"), "weeks": weeks})
}

// rangeBound reads a bound of a deactivation range: a date (YYYY-MM-DD; as
// "to" it includes the whole day) or a time.
func rangeBound(v string, end bool, loc *time.Location) (time.Time, error) {
	if len(strings.TrimSpace(v)) == len("2006-01-02") {
		d, err := schedule.ParseDate(v, loc)
		if err != nil {
			return d, err
		}
		if end {
			y, m, dd := d.Date()
			return schedule.ParseDate(time.Date(y, m, dd+1, 0, 0, 0, 0, time.UTC).Format("2006-01-02"), loc)
		}
		return d, nil
	}
	return schedule.ParseTime(v, loc)
}

func (s *Server) slotAdminDeactivate(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	var in struct {
		From           string `json:"from"`
		To             string `json:"to"`
		Reason         string `json:"reason"`
		CancelBookings bool   `json:"cancel_bookings"`
	}
	if !decode(w, r, &in) {
		return
	}
	if strings.TrimSpace(in.From) == "" {
		s.failErr(w, booksmeta.Refuse(booksmeta.CodeInvalid, "from", "Укажите, с какого дня или времени закрыть запись (from), например 2026-12-01 или 2026-12-01T10:00."))
		return
	}
	if strings.TrimSpace(in.To) == "" {
		if len(strings.TrimSpace(in.From)) != len("2006-01-02") {
			s.failErr(w, booksmeta.Refuse(booksmeta.CodeInvalid, "to", "Укажите, до какого времени закрыть запись (to), например 2026-12-01T14:00."))
			return
		}
		in.To = in.From // that one day
	}
	loc, err := s.Settings.Zone(r.Context())
	if err != nil {
		s.failErr(w, err)
		return
	}
	from, err := rangeBound(in.From, false, loc)
	if err != nil {
		s.failErr(w, booksmeta.Refuse(booksmeta.CodeInvalid, "from", err.Error()))
		return
	}
	to, err := rangeBound(in.To, true, loc)
	if err != nil {
		s.failErr(w, booksmeta.Refuse(booksmeta.CodeInvalid, "to", err.Error()))
		return
	}
	res, err := s.Schedule.Deactivate(r.Context(), from, to, strings.TrimSpace(in.Reason), in.CancelBookings, u.ID)
	if err != nil {
		s.failErr(w, err)
		return
	}
	s.record(r, audit.By(u, audit.SlotClose, "slots", "Закрыты слоты с "+audit.Span(from, to, s.Settings.Location(r.Context()))+": "+itoa(int64(res.Deactivated))+"; отменено бронирований: "+itoa(int64(res.Cancelled))+"."))
	if res.Cancelled > 0 {
		s.Jobs.Notify()
	}
	writeJSON(w, http.StatusOK, map[string]any{"deactivated": res.Deactivated, "cancelled_bookings": res.Cancelled,
		"from": s.timeJSON(r.Context(), from), "to": s.timeJSON(r.Context(), to)})
}
