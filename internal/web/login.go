package web

import (
	"booksmeta"

	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/auth"
	"booksmeta/internal/password"
)

// loginCSRFCookie carries the sign-in form's token before there is a
// session (double submit): a form posted from another site cannot know it,
// so nobody can sign a visitor into an account of the attacker's choosing.
const loginCSRFCookie = "booksmeta_login_csrf"

func (s *Server) loginToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCSRFCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: loginCSRFCookie, Value: tok, Path: "/", HttpOnly: true,
		Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode})
	return tok
}

func validLoginToken(r *http.Request) bool {
	c, err := r.Cookie(loginCSRFCookie)
	sub := r.PostFormValue("csrf_token")
	return err == nil && c.Value != "" && sub != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(sub)) == 1
}

// safeNext accepts only a path on this site, so that a crafted link cannot
// send someone to another site after signing in.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\\\r\n\t") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	if u.Path == "/login" || u.Path == "/logout" {
		return ""
	}
	return next
}

// landing is where a user goes after signing in.
func landing(u *booksmeta.User, next string) string {
	if next = safeNext(next); next != "" {
		if !u.IsAdmin() && (next == "/admin" || strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "/admin?")) {
			return "/"
		}
		return next
	}
	if u.IsAdmin() {
		return "/admin"
	}
	return "/"
}

func (s *Server) loginData(w http.ResponseWriter, r *http.Request, email, next string) map[string]any {
	d := s.data(r, "Вход")
	d["LoginCSRF"], d["Email"], d["Next"] = s.loginToken(w, r), email, safeNext(next)
	return d
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "login", s.loginData(w, r, "", r.URL.Query().Get("next")))
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !validLoginToken(r) {
		d := s.data(r, "Форма входа устарела")
		d["Message"] = "Вход не выполнен: форма входа устарела или cookies для этого сайта отключены. Откройте страницу входа заново и войдите ещё раз; если не помогает, разрешите cookies для этого сайта в браузере."
		d["Link"], d["LinkText"] = "/login", "Открыть страницу входа"
		s.render(w, http.StatusForbidden, "message", d)
		return
	}
	email, pw, next := strings.TrimSpace(r.PostFormValue("email")), r.PostFormValue("password"), r.PostFormValue("next")
	d := s.loginData(w, r, email, next)
	if email == "" || pw == "" {
		d["Error"] = "Введите email и пароль."
		s.render(w, http.StatusUnprocessableEntity, "login", d)
		return
	}
	sess, u, err := s.Auth.Login(r.Context(), s.Auth.AttemptFrom(r, email, pw))
	s.recordSignIn(r, email, u, err)
	var th *auth.ThrottledError
	switch {
	case errors.Is(err, password.ErrBusy):
		w.Header().Set("Retry-After", "5")
		d["Error"] = err.Error()
		s.render(w, http.StatusTooManyRequests, "login", d)
		return
	case errors.As(err, &th):
		w.Header().Set("Retry-After", strconv.Itoa(int(time.Until(th.Until).Seconds())+1))
		d["Error"] = th.Error()
		s.render(w, http.StatusTooManyRequests, "login", d)
		return
	case errors.Is(err, auth.ErrBadCredentials), errors.Is(err, auth.ErrDisabled):
		d["Error"] = err.Error()
		s.render(w, http.StatusUnauthorized, "login", d)
		return
	case err != nil:
		s.internalError(w, r, "sign-in", err)
		return
	}
	// A new session for a new sign-in; the one the browser had before ends.
	if c, err := r.Cookie(auth.CookieName); err == nil && c.Value != "" && c.Value != sess.Token {
		if err := s.Auth.Logout(r.Context(), c.Value); err != nil {
			s.Log.Warn("end previous session at sign-in", "err", err)
		}
	}
	auth.SetCookie(w, sess, s.SecureCookies)
	auth.SetDeviceCookie(w, sess.Device, s.SecureCookies)
	s.Log.Info("signed in", "user_id", u.ID, "role", u.Role)
	http.Redirect(w, r, landing(u, next), http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	_, sess := auth.FromContext(r.Context())
	if err := s.Auth.Logout(r.Context(), sess.Token); err != nil {
		s.internalError(w, r, "sign-out", err)
		return
	}
	auth.ClearCookie(w, s.SecureCookies)
	http.Redirect(w, r, "/login?ok=logout", http.StatusSeeOther)
}
