package api

import (
	"net/http"

	"booksmeta"
	"booksmeta/internal/access"
)

// The admin's side of server access (SPEC §7): the connection check and a
// booking's grants with every attempt.

func (s *Server) accessRoutes(mux *http.ServeMux) {
	mux.Handle("POST /api/v1/admin/access/check", s.admin(s.accessCheck))
	mux.Handle("GET /api/v1/admin/bookings/{id}/access-history", s.admin(s.accessHistory))
}

func (s *Server) accessCheck(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	ctx := r.Context()
	cfg, err := s.Grants.Config(ctx)
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "message": access.Message(err), "details": []string{}})
		return
	}
	largest, err := s.Store.LargestUpcomingCapacity(ctx)
	if err != nil {
		s.failErr(w, err)
		return
	}
	v := access.CheckConfig(ctx, cfg, largest)
	if v.Details == nil {
		v.Details = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": v.OK, "message": v.Message, "details": v.Details, "provider": cfg.Provider})
}

func (s *Server) accessHistory(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	gs, err := s.Store.GrantsOfBooking(ctx, id)
	if err != nil {
		s.failErr(w, err)
		return
	}
	as, err := s.Store.GrantAttempts(ctx, id)
	if err != nil {
		s.failErr(w, err)
		return
	}
	grants := make([]map[string]any, 0, len(gs))
	for _, g := range gs {
		// Credentials are never part of the history.
		grants = append(grants, map[string]any{"seq": g.Seq, "state": g.State, "provider": g.Provider, "login": g.Login,
			"attempts": g.Attempts, "last_error": g.LastError, "revoke_reason": g.RevokeReason,
			"granted_at": s.timeJSON(ctx, g.GrantedAt), "revoked_at": s.timeJSON(ctx, g.RevokedAt)})
	}
	attempts := make([]map[string]any, 0, len(as))
	for _, a := range as {
		attempts = append(attempts, map[string]any{"action": a.Action, "ok": a.OK, "message": a.Message,
			"duration_ms": a.Duration.Milliseconds(), "at": s.timeJSON(ctx, a.At)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"booking_id": id, "grants": grants, "attempts": attempts})
}
