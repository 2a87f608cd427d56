package web

import (
	"net/http"

	"booksmeta/internal/auth"
)

// home is the student's page: the facts of their account. Admins have the
// panel; visitors who are not signed in get the sign-in form.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.FromContext(r.Context())
	if u == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if u.IsAdmin() {
		http.Redirect(w, r, "/admin", http.StatusSeeOther)
		return
	}
	upcoming, err := s.Store.CountUpcoming(r.Context(), u.ID)
	if err != nil {
		s.internalError(w, r, "count upcoming bookings", err)
		return
	}
	d := s.data(r, "Мой аккаунт")
	d["Me"], d["Upcoming"], d["Left"] = u, upcoming, max(u.BookingLimit-upcoming, 0)
	d["Loc"] = s.Settings.Location(r.Context())
	s.render(w, http.StatusOK, "home", d)
}
