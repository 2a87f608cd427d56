package api

import (
	"booksmeta"

	"context"
	"net/http"
	"strconv"

	"booksmeta/internal/audit"
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
