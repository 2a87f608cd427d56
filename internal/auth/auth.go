// Package auth signs people in and keeps their sessions: database sessions
// (every request re-reads the user, so a demoted or deactivated user loses
// access at once), a CSRF token per session, and sign-in throttling.
//
// # Throttling
//
// Guessing is slowed down without handing an attacker a way to lock anyone
// out. Counting follows OWASP's "device cookie" scheme:
//
//   - A browser that has signed in to an account before holds a device
//     cookie for it (sealed with the instance key, so it cannot be forged).
//     Its attempts count only against that cookie: MaxClientFailures wrong
//     passwords in ThrottleWindow pause that browser, and nothing anyone else
//     does pauses it. The account's owner therefore keeps signing in from
//     their usual browser while the account is under attack.
//   - Any other client counts against three keys at once: the email from
//     this address (MaxClientFailures), the email from all addresses together
//     (MaxEmailFailures, which bounds a guesser spread over many addresses)
//     and the address over all emails (MaxIPFailures, credential stuffing).
//     Hitting one of them pauses only clients without a device cookie; the
//     way out is «Забыли пароль?», because a password set through the emailed
//     link gives that browser a device cookie.
//
// An attempt is counted before its password is checked (one upsert per key,
// inside one transaction; see store.Tx.ReserveLoginAttempt), so parallel
// guesses cannot all slip in under the limit, and an attempt refused by the
// limit is rolled back rather than counted, so hammering one key does not
// push another over. A right password takes its own attempt back.
//
// The address is the connection's, or the X-Forwarded-For entry added by a
// proxy in TrustedProxies (BOOKSMETA_TRUSTED_PROXIES), read right to left
// past the trusted hops: behind nginx or Docker, without it every client
// would share the proxy's address and one guesser would pause them all.
//
// Password hashing (argon2id, 19 MiB each) runs through a password.Gate, so
// a burst of sign-ins waits for a few slots instead of exhausting memory;
// one that waits too long is answered "busy" (429) and its attempt is given
// back. Unknown emails, accounts without a password and deactivated ones
// cost the same single verification as a real one, so timing does not tell
// which emails have accounts.
package auth

import (
	"booksmeta"

	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/password"
	"booksmeta/internal/store"
)

// Limits.
const (
	SessionTTL     = 14 * 24 * time.Hour
	touchEvery     = 10 * time.Minute
	ThrottleWindow = 15 * time.Minute
	// MaxClientFailures is per email from one address, or per device cookie.
	MaxClientFailures = 5
	// MaxEmailFailures is per email from all clients without a device cookie.
	MaxEmailFailures = 30
	// MaxIPFailures is per address over all emails, clients without a device cookie.
	MaxIPFailures = 30
	// DeviceTTL is how long a device cookie is honoured.
	DeviceTTL = 365 * 24 * time.Hour
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
	return fmt.Sprintf("Слишком много неудачных попыток входа. Подождите %d мин. и попробуйте снова или восстановите пароль по ссылке «Забыли пароль?»: после смены пароля по ссылке из письма вход с этого браузера откроется сразу.", mins)
}

// Sealer seals and opens device cookies (secretbox.Box).
type Sealer interface {
	Seal(string) string
	Open(string) (string, error)
}

// Service manages sign-in and sessions.
type Service struct {
	Store *store.Store
	// Hash hashes passwords (for rehashing legacy hashes on sign-in).
	Hash func(string) string
	// Verify checks a password against a hash; password.Verify unless a test counts calls.
	Verify func(encoded, pw string) bool
	// Gate bounds concurrent hashing; nil does not bound.
	Gate *password.Gate
	// Devices seals device cookies; nil treats every client as new.
	Devices Sealer
	// TrustedProxies are the addresses whose X-Forwarded-For is believed;
	// nil means loopback only.
	TrustedProxies []netip.Prefix
	// dummy is verified when there is no real hash to verify, so that
	// timing does not tell which emails have accounts or passwords.
	dummy string
}

// New returns a Service.
func New(s *store.Store, hash func(string) string) *Service {
	return &Service{Store: s, Hash: hash, Verify: password.Verify, dummy: hash("not a real password")}
}

// Session is a signed-in session as the HTTP layer needs it.
type Session struct {
	Token string // the cookie value; never stored
	// Device is the device cookie to give the browser after a sign-in; empty otherwise.
	Device string
	store.Session
}

// Attempt is one sign-in as the HTTP layer received it.
type Attempt struct {
	Email, Password string
	IP, UserAgent   string
	// Device is the device cookie the client sent, if any.
	Device string
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

type limitKey struct {
	key string
	max int
}

// keys are the counters an attempt is charged to (see the package doc).
func (s *Service) keys(email string, a Attempt) []limitKey {
	// No real address is this long; a megabyte "email" must not become three
	// megabyte keys. Merging the counters of such non-addresses is harmless.
	email = truncate(email, 320)
	if dev := s.deviceID(a.Device, email); dev != "" {
		return []limitKey{{"device:" + dev, MaxClientFailures}}
	}
	return []limitKey{{"client:" + a.IP + "|" + email, MaxClientFailures},
		{"email:" + email, MaxEmailFailures}, {"ip:" + a.IP, MaxIPFailures}}
}

// NewDevice returns a device cookie value for email, or "" without a sealer.
func (s *Service) NewDevice(email string) string {
	if s.Devices == nil {
		return ""
	}
	return s.Devices.Seal("device:" + strconv.FormatInt(s.Store.Now().Unix(), 10) + ":" + store.NormalizeEmail(email))
}

// deviceID names a valid device cookie of email in the counters, or is "".
func (s *Service) deviceID(token, email string) string {
	if token == "" || s.Devices == nil || len(token) > 512 {
		return ""
	}
	v, err := s.Devices.Open(token)
	if err != nil {
		return ""
	}
	rest, ok := strings.CutPrefix(v, "device:")
	ts, e, ok2 := strings.Cut(rest, ":")
	issued, err := strconv.ParseInt(ts, 10, 64)
	if !ok || !ok2 || err != nil || e != email || s.Store.Now().Sub(time.Unix(issued, 0)) > DeviceTTL {
		return ""
	}
	return sessionID(token)[:32]
}

// reserve counts the attempt against every key, or counts nothing and
// returns a ThrottledError when one of them is used up.
func (s *Service) reserve(ctx context.Context, keys []limitKey) error {
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		windowStart := tx.Now().Add(-ThrottleWindow)
		for _, k := range keys {
			n, start, err := tx.ReserveLoginAttempt(ctx, k.key, windowStart)
			if err != nil {
				return err
			}
			if n > k.max {
				return &ThrottledError{Until: start.Add(ThrottleWindow)}
			}
		}
		return nil
	})
}

// release gives the attempt back on every key, even when ctx has ended.
func (s *Service) release(ctx context.Context, keys []limitKey) error {
	return s.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		for _, k := range keys {
			if err := tx.ReleaseLoginAttempt(ctx, k.key); err != nil {
				return err
			}
		}
		return nil
	})
}

// verifiable reports whether a stored hash is one Verify actually computes.
func verifiable(h string) bool {
	return strings.HasPrefix(h, "$argon2id$") || strings.HasPrefix(h, "$2y$") || strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$")
}

// Login checks the credentials and opens a new session.
func (s *Service) Login(ctx context.Context, a Attempt) (*Session, *booksmeta.User, error) {
	email := store.NormalizeEmail(a.Email)
	keys := s.keys(email, a)
	if err := s.reserve(ctx, keys); err != nil {
		return nil, nil, err
	}
	u, err := s.Store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, nil, errors.Join(err, s.release(ctx, keys))
	}
	hash, known := s.dummy, false
	if u != nil && verifiable(u.PasswordHash) {
		hash, known = u.PasswordHash, true
	}
	var match bool
	if err := s.Gate.Do(ctx, func() { match = s.Verify(hash, a.Password) }); err != nil {
		// Not checked, so not a failure.
		return nil, nil, errors.Join(err, s.release(ctx, keys))
	}
	if !known || !match {
		// The reserved attempt stays counted: that is the failure.
		return nil, nil, ErrBadCredentials
	}
	if !u.Active {
		return nil, nil, ErrDisabled
	}
	rehash := ""
	if password.NeedsRehash(u.PasswordHash) {
		// A busy gate only postpones the upgrade to the next sign-in.
		_ = s.Gate.Do(ctx, func() { rehash = s.Hash(a.Password) })
	}
	sess := &Session{Token: randomToken(), Device: s.NewDevice(email)}
	sess.ID, sess.UserID, sess.CSRFToken = sessionID(sess.Token), u.ID, randomToken()
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		sess.ExpiresAt = tx.Now().Add(SessionTTL)
		if err := tx.InsertSession(ctx, &sess.Session, a.IP, truncate(a.UserAgent, 300)); err != nil {
			return err
		}
		// This client's own counter starts afresh; the shared ones only
		// lose this attempt, not the failures others made.
		if err := tx.ClearLoginFailures(ctx, keys[0].key); err != nil {
			return err
		}
		for _, k := range keys[1:] {
			if err := tx.ReleaseLoginAttempt(ctx, k.key); err != nil {
				return err
			}
		}
		if rehash != "" {
			u.PasswordHash = rehash
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
func (s *Service) Authenticate(ctx context.Context, token string) (*Session, *booksmeta.User, error) {
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
