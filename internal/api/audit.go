package api

import (
	"booksmeta"

	"context"
	"net/http"
	"strconv"
	"time"

	"booksmeta/internal/audit"
	"booksmeta/internal/store"
)

// record writes one trail entry after an action succeeded; a failed write
// is logged by the recorder and never fails the request.
func (s *Server) record(r *http.Request, e audit.Entry) {
	if s.Audit == nil {
		return
	}
	_ = s.Audit.Record(context.WithoutCancel(r.Context()), e)
}

// settingsSummary words saved settings; secrets as «изменено».
func (s *Server) settingsSummary(values map[string]string) string {
	return audit.SettingsSummary(values, func(k string) bool {
		d, ok := s.Settings.Lookup(k)
		return !ok || d.Secret
	})
}

// recordUser records an account change; before is the account as it was
// (nil when it could not be read, then nothing is recorded).
func (s *Server) recordUser(r *http.Request, actor, before, after *booksmeta.User) {
	if before != nil && after != nil {
		s.record(r, audit.By(actor, audit.UserUpdate, audit.User(after.ID), audit.UserChanges(before, after)))
	}
}

// recordSlot records a slot action with the slot as it is now.
func (s *Server) recordSlot(r *http.Request, u *booksmeta.User, action string, id int64, before *booksmeta.Slot, cancelled int) {
	after, err := s.Store.AdminSlotByID(r.Context(), id)
	if err != nil {
		s.Log.Error("audit: read slot after change", "slot_id", id, "err", err)
		return
	}
	s.record(r, audit.By(u, action, audit.Slot(id), audit.SlotChanges(action, before, &after.Slot, cancelled, s.Settings.Location(r.Context()))))
}

// recordSignIn records admins' sign-ins and failed attempts on admin accounts.
func (s *Server) recordSignIn(r *http.Request, email string, u *booksmeta.User, err error) {
	if e, ok := audit.SignIn(r.Context(), s.Store.UserByEmail, s.Auth.ClientIP(r), email, u, err); ok {
		s.record(r, e)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (s *Server) auditRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/admin/audit", s.admin(s.listAudit))
}

type auditOut struct {
	ID        int64  `json:"id"`
	At        string `json:"at"`
	Actor     int64  `json:"actor"`
	ActorName string `json:"actor_name"`
	Action    string `json:"action"`
	Label     string `json:"label"`
	Target    string `json:"target"`
	Summary   string `json:"summary"`
}

// listAudit is the trail, newest first: ?from=&to= (YYYY-MM-DD, school
// zone, to inclusive), kind= (a prefix such as "booking."), action=,
// actor= (0: the system), q= (text in target or summary), limit= (≤500), offset=.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	q := r.URL.Query()
	loc := s.Settings.Location(r.Context())
	f := store.AuditFilter{Action: q.Get("action"), Kind: q.Get("kind"), Target: q.Get("q")}
	for _, p := range []struct {
		key  string
		into *time.Time
		add  int
	}{{"from", &f.From, 0}, {"to", &f.To, 1}} {
		if v := q.Get(p.key); v != "" {
			d, err := time.ParseInLocation("2006-01-02", v, loc)
			if err != nil {
				fail(w, http.StatusBadRequest, "bad_date", "Дата «"+p.key+"» записывается как ГГГГ-ММ-ДД, например 2026-12-02.")
				return
			}
			*p.into = d.AddDate(0, 0, p.add)
		}
	}
	if v := q.Get("actor"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 0 {
			fail(w, http.StatusBadRequest, "bad_actor", "actor — номер пользователя или 0 для действий системы.")
			return
		}
		f.Actor = &id
	}
	f.Limit, _ = strconv.Atoi(q.Get("limit"))
	f.Offset, _ = strconv.Atoi(q.Get("offset"))
	rows, total, err := s.Store.ListAudit(r.Context(), f)
	if err != nil {
		s.failErr(w, err)
		return
	}
	out := make([]auditOut, len(rows))
	for i, e := range rows {
		out[i] = auditOut{ID: e.ID, At: s.timeJSON(r.Context(), e.At), Actor: e.Actor, ActorName: e.ActorName, Action: e.Action,
			Label: audit.Label(e.Action), Target: e.Target, Summary: e.Summary}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out, "total": total})
}
