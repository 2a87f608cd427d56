package web

import (
	"net/http"
	"strings"

	"booksmeta/internal/auth"
)

// The first-admin page: reachable only with the token serve printed, and
// only while no administrator exists. The token in the form doubles as the
// CSRF defence: a cross-site form cannot know it.
func (s *Server) setupForm(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if !s.Accounts.SetupTokenValid(r.Context(), tok) {
		s.render(w, http.StatusForbidden, "message", map[string]any{"Title": "Ссылка недействительна",
			"Message": "Эта ссылка для создания администратора недействительна: администратор уже создан, ссылка устарела или скопирована не полностью. Перезапустите booksmeta serve — он напечатает новую ссылку, пока администратора нет, — или выполните на сервере: booksmeta admin create --email ВАШ_EMAIL."})
		return
	}
	s.render(w, http.StatusOK, "setup", map[string]any{"Title": "Создание администратора", "Token": tok})
}

func (s *Server) setupSubmit(w http.ResponseWriter, r *http.Request) {
	tok, email := r.PostFormValue("token"), strings.TrimSpace(r.PostFormValue("email"))
	pw, pw2 := r.PostFormValue("password"), r.PostFormValue("password2")
	data := map[string]any{"Title": "Создание администратора", "Token": tok, "Email": email}
	if pw != pw2 {
		data["Error"] = msgPasswordsDiffer
		s.render(w, http.StatusUnprocessableEntity, "setup", data)
		return
	}
	u, err := s.Accounts.CreateFirstAdmin(r.Context(), tok, email, pw)
	if err != nil {
		data["Error"] = err.Error()
		s.render(w, http.StatusUnprocessableEntity, "setup", data)
		return
	}
	s.Log.Info("first administrator created", "user_id", u.ID)
	s.render(w, http.StatusOK, "message", map[string]any{"Title": "Администратор создан",
		"Message": "Готово: администратор " + u.Email + " создан. Теперь войдите с этим email и паролем.", "Link": "/login", "LinkText": "Войти"})
}

func (s *Server) setPasswordForm(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	u, err := s.Accounts.LinkUser(r.Context(), tok)
	if err != nil {
		s.deadLink(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "set_password", map[string]any{"Title": "Установка пароля", "Token": tok, "Email": u.Email})
}

func (s *Server) setPasswordSubmit(w http.ResponseWriter, r *http.Request) {
	tok := r.PostFormValue("token")
	pw, pw2 := r.PostFormValue("password"), r.PostFormValue("password2")
	u, err := s.Accounts.LinkUser(r.Context(), tok)
	if err != nil {
		s.deadLink(w, r, err)
		return
	}
	data := map[string]any{"Title": "Установка пароля", "Token": tok, "Email": u.Email}
	if pw != pw2 {
		data["Error"] = msgPasswordsDiffer
		s.render(w, http.StatusUnprocessableEntity, "set_password", data)
		return
	}
	if _, err := s.Accounts.SetPasswordWithLink(r.Context(), tok, pw); err != nil {
		data["Error"] = err.Error()
		s.render(w, http.StatusUnprocessableEntity, "set_password", data)
		return
	}
	// Whoever used the emailed link owns the address: this browser signs
	// in even while strangers' guesses pause new clients (package auth).
	auth.SetDeviceCookie(w, s.Auth.NewDevice(u.Email), s.SecureCookies)
	s.render(w, http.StatusOK, "message", map[string]any{"Title": "Пароль установлен",
		"Message": "Пароль сохранён. Теперь войдите с email " + u.Email + " и новым паролем.", "Link": "/login", "LinkText": "Войти"})
}
