// Package auth signs people in and keeps their sessions: database sessions
// (every request re-reads the user, so a demoted or deactivated user loses
// access at once), a CSRF token per session, and sign-in throttling.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"booksmeta/internal/password"
	"booksmeta/internal/store"
)

// Limits.
const (
	SessionTTL       = 14 * 24 * time.Hour
	touchEvery       = 10 * time.Minute
	ThrottleWindow   = 15 * time.Minute
	MaxEmailFailures = 5
	MaxIPFailures    = 30
)

// Errors shown to people.
var (
	ErrBadCredentials = errors.New("Неверный email или пароль. Проверьте раскладку и Caps Lock; если забыли пароль, воспользуйтесь ссылкой «Забыли пароль?».")
	ErrDisabled       = errors.New("Ваш аккаунт отключён. Если это ошибка, напишите в школу.")
	ErrNoSession      = errors.New("no session")
)

// ThrottledError means too many failed sign-ins.
type ThrottledError struct{ Until time.Time }

func (e *ThrottledError) Error() string {
	mins := int(time.Until(e.Until).Minutes()) + 1
	return fmt.Sprintf("Слишком много неудачных попыток входа. Подождите %d мин. и попробуйте снова или восстановите пароль.", mins)
}

// Service manages sign-in and sessions.
type Service struct {
	Store *store.Store
	// Hash hashes passwords (for rehashing legacy hashes on sign-in).
	Hash func(string) string
	// dummy is verified when the email is unknown, so that timing does not
	// tell which emails have accounts.
	dummy string
}

// New returns a Service.
func New(s *store.Store, hash func(string) string) *Service {
	return &Service{Store: s, Hash: hash, dummy: hash("not a real password")}
}

// Session is a signed-in session as the HTTP layer needs it.
type Session struct {
	Token string // the cookie value; never stored
	store.Session
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sessionID(token string) string {
	s := sha256.Sum256([]byte(token))
	return hex.EncodeToString(s[:])
}

// Login checks the credentials and opens a new session. ip keys throttling.
func (s *Service) Login(ctx context.Context, email, pw, ip, ua string) (*Session, *store.User, error) {
	email = store.NormalizeEmail(email)
	windowStart := s.Store.Now().Add(-ThrottleWindow)
	keys := []struct {
		key string
		max int
	}{{"email:" + email, MaxEmailFailures}, {"ip:" + ip, MaxIPFailures}}
	for _, k := range keys {
		n, start, err := s.Store.LoginFailures(ctx, k.key, windowStart)
		if err != nil {
			return nil, nil, err
		}
		if n >= k.max {
			return nil, nil, &ThrottledError{Until: start.Add(ThrottleWindow)}
		}
	}
	u, err := s.Store.UserByEmail(ctx, email)
	ok := false
	switch {
	case err == nil:
		ok = password.Verify(u.PasswordHash, pw) && u.Active
	case errors.Is(err, store.ErrNotFound):
		password.Verify(s.dummy, pw)
	default:
		return nil, nil, err
	}
	if !ok {
		werr := s.Store.InTx(ctx, func(tx *store.Tx) error {
			for _, k := range keys {
				if err := tx.AddLoginFailure(ctx, k.key, windowStart); err != nil {
					return err
				}
			}
			return nil
		})
		if werr != nil {
			return nil, nil, werr
		}
		if u != nil && !u.Active && password.Verify(u.PasswordHash, pw) {
			return nil, nil, ErrDisabled
		}
		return nil, nil, ErrBadCredentials
	}
	sess := &Session{Token: randomToken()}
	sess.ID, sess.UserID, sess.CSRFToken = sessionID(sess.Token), u.ID, randomToken()
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		sess.ExpiresAt = tx.Now().Add(SessionTTL)
		if err := tx.InsertSession(ctx, &sess.Session, ip, truncate(ua, 300)); err != nil {
			return err
		}
		if err := tx.ClearLoginFailures(ctx, keys[0].key); err != nil {
			return err
		}
		if password.NeedsRehash(u.PasswordHash) {
			u.PasswordHash = s.Hash(pw)
			if err := tx.UpdateUser(ctx, u); err != nil {
				return err
			}
		}
		return tx.TouchLogin(ctx, u.ID)
	})
	if err != nil {
		return nil, nil, err
	}
	return sess, u, nil
}

// Authenticate resolves a cookie token to its session and current user.
// An inactive user has no valid session.
func (s *Service) Authenticate(ctx context.Context, token string) (*Session, *store.User, error) {
	if token == "" {
		return nil, nil, ErrNoSession
	}
	st, u, err := s.Store.SessionWithUser(ctx, sessionID(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, ErrNoSession
	}
	if err != nil {
		return nil, nil, err
	}
	if !u.Active {
		return nil, nil, ErrNoSession
	}
	if now := s.Store.Now(); now.Sub(st.LastSeenAt) > touchEvery {
		exp := now.Add(SessionTTL)
		if err := s.Store.TouchSession(ctx, st.ID, exp); err == nil {
			st.ExpiresAt = exp
		}
	}
	return &Session{Token: token, Session: *st}, u, nil
}

// Logout ends the session of token.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteSession(ctx, sessionID(token)) })
}

// ValidCSRF compares a submitted token with the session's in constant time.
func ValidCSRF(sess *Session, submitted string) bool {
	return sess != nil && submitted != "" && subtle.ConstantTimeCompare([]byte(sess.CSRFToken), []byte(submitted)) == 1
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
