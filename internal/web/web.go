// Package web serves Book Smeta's pages: server-rendered html/template,
// Russian, embedded templates and assets.
package web

import (
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"

	"booksmeta/internal/accounts"
	"booksmeta/internal/auth"
	"booksmeta/internal/jobs"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

//go:embed templates/*.html
var templatesFS embed.FS

//go:embed static
var staticFS embed.FS

// Server holds what the pages need.
type Server struct {
	Store    *store.Store
	Settings *settings.Service
	Accounts *accounts.Service
	Auth     *auth.Service
	Jobs     *jobs.Runner
	Log      *slog.Logger
	BaseURL  string
	Version  string
	// SecureCookies marks the session cookie Secure (public URL is https).
	SecureCookies bool

	pages map[string]*template.Template
}

// Routes registers the pages on mux.
func (s *Server) Routes(mux *http.ServeMux) {
	s.parse()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	mux.HandleFunc("GET /setup", s.setupForm)
	mux.HandleFunc("POST /setup", s.setupSubmit)
	mux.HandleFunc("GET /set-password", s.setPasswordForm)
	mux.HandleFunc("POST /set-password", s.setPasswordSubmit)
	mux.HandleFunc("/", s.notFound)
}

func (s *Server) parse() {
	s.pages = map[string]*template.Template{}
	names, _ := fs.Glob(templatesFS, "templates/*.html")
	for _, n := range names {
		if n == "templates/layout.html" {
			continue
		}
		s.pages[n[len("templates/"):len(n)-len(".html")]] = template.Must(template.ParseFS(templatesFS, "templates/layout.html", n))
	}
}

// render writes a page; data fields are escaped by html/template.
func (s *Server) render(w http.ResponseWriter, status int, page string, data map[string]any) {
	t, ok := s.pages[page]
	if !ok {
		s.Log.Error("unknown page template", "page", page)
		http.Error(w, "Внутренняя ошибка: страница не найдена.", http.StatusInternalServerError)
		return
	}
	if data == nil {
		data = map[string]any{}
	}
	data["Version"] = s.Version
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	securityHeaders(w)
	w.WriteHeader(status)
	if err := t.ExecuteTemplate(w, "layout", data); err != nil {
		s.Log.Error("render page", "page", page, "err", err)
	}
}

func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusNotFound, "notfound", map[string]any{"Title": "Страница не найдена"})
}

// WriteJSON writes v as a JSON answer.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
