package auth

import (
	"booksmeta"

	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// CookieName is the session cookie.
const CookieName = "booksmeta_session"

type ctxKey struct{}

type identity struct {
	sess *Session
	user *booksmeta.User
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
func FromContext(ctx context.Context) (*booksmeta.User, *Session) {
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

// DeviceCookie marks a browser that signed in to an account before (see
// the package doc on throttling).
const DeviceCookie = "booksmeta_device"

// SetDeviceCookie gives the browser its device cookie; an empty value sets nothing.
func SetDeviceCookie(w http.ResponseWriter, value string, secure bool) {
	if value == "" {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: DeviceCookie, Value: value, Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(DeviceTTL.Seconds())})
}

// DeviceFrom reads the device cookie of a request.
func DeviceFrom(r *http.Request) string {
	if c, err := r.Cookie(DeviceCookie); err == nil {
		return c.Value
	}
	return ""
}

// AttemptFrom collects what throttling needs from a sign-in request.
func (s *Service) AttemptFrom(r *http.Request, email, pw string) Attempt {
	return Attempt{Email: email, Password: pw, IP: s.ClientIP(r), UserAgent: r.UserAgent(), Device: DeviceFrom(r)}
}

// ClientIP is the address throttling keys on: the connection's address, or,
// when the connection comes from a trusted proxy, the X-Forwarded-For entry
// it added. Entries are read from the right, passing over further trusted
// proxies; what a client wrote itself (left of the first untrusted entry)
// is never believed.
func (s *Service) ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	cur := addr.Unmap()
	if !s.trusted(cur) {
		return cur.String()
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		cur = a.Unmap()
		if !s.trusted(cur) {
			break
		}
	}
	return cur.String()
}

func (s *Service) trusted(a netip.Addr) bool {
	if s.TrustedProxies == nil {
		return a.IsLoopback()
	}
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
