package web

import (
	"booksmeta"

	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/audit"
	"booksmeta/internal/store"
)

// Pages of issue 17 that read the trail and the system's state, and the
// admin's own booking page.
func (s *Server) auditSystemRoutes(mux *http.ServeMux) {
	s.started = s.Store.Now()
	mux.HandleFunc("GET /admin/audit", s.admin(s.auditPage))
	mux.HandleFunc("GET /admin/system", s.admin(s.systemPage))
	s.bookingRoutes(mux)
}

// record writes one trail entry after an action succeeded. A failed write
// is logged by the recorder and never undoes or refuses the action; the
// entry is written even when the admin's browser has gone away meanwhile.
func (s *Server) record(r *http.Request, e audit.Entry) {
	if s.Audit == nil {
		return
	}
	_ = s.Audit.Record(context.WithoutCancel(r.Context()), e)
}

// settingsSummary words saved settings; secrets (by their definition) as «изменено».
func (s *Server) settingsSummary(values map[string]string) string {
	return audit.SettingsSummary(values, func(k string) bool {
		d, ok := s.Settings.Lookup(k)
		return !ok || d.Secret
	})
}

// recordUser records what an admin changed in an account: target is the
// account as it was before, re-read now to compare.
func (s *Server) recordUser(r *http.Request, actor, before *booksmeta.User, action string) {
	after, err := s.Store.UserByID(r.Context(), before.ID)
	if err != nil {
		s.Log.Error("audit: read user after change", "user_id", before.ID, "err", err)
		return
	}
	s.record(r, audit.By(actor, action, audit.User(before.ID), audit.UserChanges(before, after)))
}

const auditPageSize = 50

// auditPage is the trail, newest first, filtered by period, kind, actor and
// text, 50 to a page.
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	ctx := r.Context()
	loc := s.Settings.Location(ctx)
	q := r.URL.Query()
	f := store.AuditFilter{Target: strings.TrimSpace(q.Get("q")), Limit: auditPageSize}
	var problems []string
	if v := strings.TrimSpace(q.Get("from")); v != "" {
		if d, ok := parseDay(v, loc); ok {
			f.From = d
		} else {
			problems = append(problems, "Дата «с» записана неверно: нужен формат ДД.ММ.ГГГГ. Фильтр по ней не применён.")
		}
	}
	if v := strings.TrimSpace(q.Get("to")); v != "" {
		if d, ok := parseDay(v, loc); ok {
			f.To = d.AddDate(0, 0, 1)
		} else {
			problems = append(problems, "Дата «по» записана неверно: нужен формат ДД.ММ.ГГГГ. Фильтр по ней не применён.")
		}
	}
	for _, k := range audit.Kinds {
		if q.Get("kind") == k.Prefix {
			f.Kind = k.Prefix
		}
	}
	if v := q.Get("who"); v != "" {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id >= 0 {
			f.Actor = &id
		}
	}
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	f.Offset = (page - 1) * auditPageSize
	entries, total, err := s.Store.ListAudit(ctx, f)
	if err != nil {
		s.internalError(w, r, "list audit log", err)
		return
	}
	actors, err := s.Store.AuditActors(ctx)
	if err != nil {
		s.internalError(w, r, "list audit actors", err)
		return
	}
	type row struct {
		When, Who, What, Target, Summary string
		System                           bool
	}
	rows := make([]row, len(entries))
	for i, e := range entries {
		rows[i] = row{When: e.At.In(loc).Format("02.01.2006 15:04"), Who: e.ActorName, What: audit.Label(e.Action),
			Target: e.Target, Summary: e.Summary, System: e.Actor == 0}
	}
	type actor struct {
		ID   string
		Name string
	}
	who := make([]actor, 0, len(actors))
	for _, a := range actors {
		name := a.Name
		if a.ID == 0 {
			name = "система"
		}
		who = append(who, actor{strconv.FormatInt(a.ID, 10), name})
	}
	d := s.adminData(r, "Журнал действий", "audit")
	d["Rows"], d["Total"], d["Kinds"], d["Actors"], d["Q"], d["Problems"] = rows, total, audit.Kinds, who, q, problems
	d["Zone"] = loc.String()
	if page > 1 {
		d["PrevPage"] = auditPageURL(q, page-1)
	}
	if page*auditPageSize < total {
		d["NextPage"] = auditPageURL(q, page+1)
	}
	d["Page"], d["Pages"] = page, (total+auditPageSize-1)/auditPageSize
	s.render(w, http.StatusOK, "admin_audit", d)
}

func auditPageURL(q url.Values, page int) string {
	out := url.Values{}
	for _, k := range []string{"from", "to", "kind", "who", "q"} {
		if v := q.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	out.Set("page", strconv.Itoa(page))
	return "/admin/audit?" + out.Encode()
}

// parseDay reads a date as people type it (ДД.ММ.ГГГГ) or as a date field
// sends it (ГГГГ-ММ-ДД), in the school's zone.
func parseDay(v string, loc *time.Location) (time.Time, bool) {
	for _, layout := range []string{"02.01.2006", "2006-01-02", "2.1.2006"} {
		if d, err := time.ParseInLocation(layout, v, loc); err == nil {
			return d, true
		}
	}
	return time.Time{}, false
}

// recordSlot records a slot action, reading the slot as it is now; before
// is the slot as it was (nil when the action itself says what changed).
// cancelled is how many bookings the action cancelled.
func (s *Server) recordSlot(r *http.Request, u *booksmeta.User, action string, id int64, before *booksmeta.Slot, cancelled int) {
	after, err := s.Store.AdminSlotByID(r.Context(), id)
	if err != nil {
		s.Log.Error("audit: read slot after change", "slot_id", id, "err", err)
		return
	}
	s.record(r, audit.By(u, action, audit.Slot(id), audit.SlotChanges(action, before, &after.Slot, cancelled, s.Settings.Location(r.Context()))))
}

// reasonText is « Причина: …» for a summary, or nothing.
func reasonText(reason string) string {
	if reason == "" {
		return ""
	}
	return " Причина: " + reason
}

// recordSignIn records admins' sign-ins and failed attempts on admin accounts.
func (s *Server) recordSignIn(r *http.Request, email string, u *booksmeta.User, err error) {
	if e, ok := audit.SignIn(r.Context(), s.Store.UserByEmail, s.Auth.ClientIP(r), email, u, err); ok {
		s.record(r, e)
	}
}
