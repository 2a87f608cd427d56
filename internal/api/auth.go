package api

import (
	"booksmeta"

	"errors"
	"net/http"
	"time"

	"booksmeta/internal/auth"
	"booksmeta/internal/password"
)

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if !decode(w, r, &in) {
		return
	}
	sess, u, err := s.Auth.Login(r.Context(), s.Auth.AttemptFrom(r, in.Email, in.Password))
	s.recordSignIn(r, in.Email, u, err)
	switch {
	case errors.Is(err, password.ErrBusy):
		w.Header().Set("Retry-After", "5")
		fail(w, http.StatusTooManyRequests, "busy", err.Error())
		return
	case errors.Is(err, auth.ErrBadCredentials), errors.Is(err, auth.ErrDisabled):
		fail(w, http.StatusUnauthorized, "invalid_credentials", err.Error())
		return
	case err != nil:
		s.failErr(w, err)
		return
	}
	auth.SetCookie(w, sess, s.SecureCookies)
	auth.SetDeviceCookie(w, sess.Device, s.SecureCookies)
	writeJSON(w, http.StatusOK, map[string]any{"user": s.userJSON(r, u), "csrf_token": sess.CSRFToken})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	_, sess := auth.FromContext(r.Context())
	if err := s.Auth.Logout(r.Context(), sess.Token); err != nil {
		s.failErr(w, err)
		return
	}
	auth.ClearCookie(w, s.SecureCookies)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	counts, err := s.userWithCounts(r, u)
	if err != nil {
		s.failErr(w, err)
		return
	}
	// SPEC §8: when the student's access ends and the hours left to book
	// (null: no end, no cap).
	out := struct {
		userOut
		AccessUntil *string  `json:"access_until"`
		HoursLeft   *float64 `json:"hours_left"`
	}{userOut: counts}
	if u.Role == booksmeta.RoleStudent {
		a, err := s.Booking.Allowance(r.Context(), u.ID)
		if err != nil {
			s.failErr(w, err)
			return
		}
		if !a.Until.IsZero() {
			t := a.Until.In(s.Settings.Location(r.Context())).Format(time.RFC3339)
			out.AccessUntil = &t
		}
		if a.Capped {
			h := float64(a.LeftMinutes()) / 60
			out.HoursLeft = &h
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": out})
}
