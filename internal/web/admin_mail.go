package web

import (
	"booksmeta"

	"net/http"
	"net/url"
)

// Short addresses of the mail section: the mail settings live on the general
// settings page (section «Почта», with the test mail), the templates on
// their own pages. These keep /admin/mail/… links working.
func (s *Server) mailAliasRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/mail/settings", s.admin(func(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
		http.Redirect(w, r, "/admin/settings/general#mail", http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /admin/mail/templates", s.admin(func(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
		http.Redirect(w, r, "/admin/mail-templates", http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /admin/mail/templates/{kind}", s.admin(func(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
		http.Redirect(w, r, "/admin/mail-templates/"+url.PathEscape(r.PathValue("kind")), http.StatusSeeOther)
	}))
}
