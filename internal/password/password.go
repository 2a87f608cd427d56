// Package password hashes passwords with argon2id and makes one-time tokens.
// bcrypt hashes (from the PHP version's password_hash) still verify, so
// imported students keep their passwords; MD5 hashes never verify.
package password

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Params are argon2id parameters. 64 MiB would be OWASP's first choice, but
// on a 2-core school server under a login burst 19 MiB (OWASP's second
// option) with t=2 keeps sign-in fast without giving up memory hardness.
type Params struct {
	Time    uint32
	Memory  uint32 // KiB
	Threads uint8
}

// Default parameters.
var Default = Params{Time: 2, Memory: 19 * 1024, Threads: 1}

// MinLength is the shortest password accepted.
const MinLength = 8

// ErrTooShort and friends are the validation failures; their text is shown to people.
var (
	ErrTooShort = fmt.Errorf("Пароль слишком короткий: нужно не меньше %d символов.", MinLength)
	ErrTooLong  = errors.New("Пароль слишком длинный: не больше 200 символов.")
)

// Validate checks a new password.
func Validate(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinLength {
		return ErrTooShort
	}
	if n > 200 {
		return ErrTooLong
	}
	return nil
}

// Hash returns an encoded argon2id hash of pw.
func Hash(pw string) string { return HashWith(pw, Default) }

// HashWith hashes with explicit parameters (tests use cheap ones).
func HashWith(pw string, p Params) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// Verify reports whether pw matches the encoded hash. Empty hashes (no
// password set yet) and unknown formats never match.
func Verify(encoded, pw string) bool {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		var v int
		var p Params
		parts := strings.Split(encoded, "$")
		if len(parts) != 6 {
			return false
		}
		if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
			return false
		}
		if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
			return false
		}
		salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
		want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
		if err1 != nil || err2 != nil || len(want) == 0 {
			return false
		}
		got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
		return subtle.ConstantTimeCompare(got, want) == 1
	case strings.HasPrefix(encoded, "$2y$"), strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"):
		// PHP writes $2y$, which is bcrypt's $2b$ in all but name.
		h := "$2a$" + encoded[4:]
		return bcrypt.CompareHashAndPassword([]byte(h), []byte(pw)) == nil
	}
	return false
}

// NeedsRehash reports whether a verified hash should be replaced with a current one.
func NeedsRehash(encoded string) bool { return !strings.HasPrefix(encoded, "$argon2id$") }

// NewToken returns a random URL-safe token and the hash stored in its place.
func NewToken() (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is how tokens are looked up: only their SHA-256 is stored, so a
// database leak does not leak usable links.
func HashToken(token string) string {
	s := sha256.Sum256([]byte(token))
	return hex.EncodeToString(s[:])
}
