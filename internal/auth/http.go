package auth

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"booksmeta/internal/store"
)

// CookieName is the session cookie.
const CookieName = "booksmeta_session"

type ctxKey struct{}

type identity struct {
	sess *Session
	user *store.User
}

// Middleware attaches the session and user (if any) to the request context.
func (s *Service) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(CookieName); err == nil {
			if sess, u, err := s.Authenticate(r.Context(), c.Value); err == nil {
				r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, identity{sess, u}))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// FromContext returns the signed-in user and session, or nils.
func FromContext(ctx context.Context) (*store.User, *Session) {
	id, _ := ctx.Value(ctxKey{}).(identity)
	return id.user, id.sess
}

// SetCookie writes the session cookie. Secure follows the public URL's scheme.
func SetCookie(w http.ResponseWriter, sess *Session, secure bool) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: sess.Token, Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteLaxMode, Expires: sess.ExpiresAt, MaxAge: int(time.Until(sess.ExpiresAt).Seconds()),
	})
}

// ClearCookie removes the session cookie.
func ClearCookie(w http.ResponseWriter, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// SubmittedCSRF reads the CSRF token from the X-CSRF-Token header or the csrf_token form field.
func SubmittedCSRF(r *http.Request) string {
	if h := r.Header.Get("X-CSRF-Token"); h != "" {
		return h
	}
	return r.PostFormValue("csrf_token")
}

// ClientIP is the address throttling keys on. X-Forwarded-For is honoured
// only from a loopback proxy (nginx on the same machine, as the README sets up).
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			return strings.TrimSpace(parts[len(parts)-1])
		}
	}
	return host
}
