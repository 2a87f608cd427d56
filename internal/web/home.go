package web

import (
	"net/http"

	"booksmeta/internal/auth"
)

// home is the student's calendar. Admins have the panel; visitors who are
// not signed in get the sign-in form.
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
	s.calendar(w, r, u)
}
