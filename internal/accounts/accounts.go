// Package accounts holds the rules for accounts and password links: the
// first super-admin, who may create, change and delete whom (CanManage:
// only a super-admin manages other administrators; the last super-admin
// stays), what an email, a phone, a name and a password must be, a
// student's own profile and password, one-time set-password links, and
// setting a password through one. Refusals are *booksmeta.Error (invalid
// with the field, forbidden, conflict, not_found, busy). Nothing here knows
// HTTP.
//
// A link is only as good as the account it was made for: changing the
// account's email, deactivating it or setting its password by any route
// uses up every open link, and every password change ends the user's other
// sessions (revoke below). A link minted for a mail is refused when the mail
// was addressed to an email the account no longer has.
package accounts

import (
	"booksmeta"

	"context"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"booksmeta/internal/password"
	"booksmeta/internal/store"
)

// Link lifetimes.
const (
	WelcomeLinkTTL = 7 * 24 * time.Hour
	AdminLinkTTL   = 24 * time.Hour
	SetupTokenTTL  = 24 * time.Hour
)

// Errors shown to people.
var (
	ErrLinkInvalid = errors.New("Ссылка недействительна: она уже использована, устарела или скопирована не полностью. Попросите новую ссылку у администратора школы.")
	ErrBadEmail    = errors.New("Email указан с ошибкой: проверьте адрес.")
	// ErrLookAlikeEmail refuses an address with characters that pass for
	// others, which would let one person's address impersonate another's.
	ErrLookAlikeEmail = errors.New("В email есть буквы, похожие на другие (например, латиница вперемешку с кириллицей или особые символы Unicode): введите адрес обычными буквами.")
	ErrAdminExists    = errors.New("Администратор уже создан. Войдите под ним или создайте нового командой booksmeta admin create.")
	// ErrRecipientChanged refuses a link for a mail addressed to an email the account no longer has.
	ErrRecipientChanged = errors.New("Письмо со ссылкой не отправлено: email пользователя изменили после того, как письмо попало в очередь, и ссылка на старый адрес дала бы чужому человеку доступ к аккаунту. Выдайте новую ссылку на странице пользователя.")
)

// Service manages accounts.
type Service struct {
	Store *store.Store
	// Hash hashes passwords; tests swap in a cheap one.
	Hash func(string) string
	// Gate bounds concurrent hashing (shared with sign-in); nil does not bound.
	Gate *password.Gate
}

// hash hashes pw through the gate; call it outside a transaction, so that a
// wait for a slot never holds the database's write lock.
func (s *Service) hash(ctx context.Context, pw string) (string, error) {
	var h string
	return h, busy(s.Gate.Do(ctx, func() { h = s.Hash(pw) }))
}

// verify checks pw through the gate.
func (s *Service) verify(ctx context.Context, encoded, pw string) (bool, error) {
	var ok bool
	return ok, busy(s.Gate.Do(ctx, func() { ok = password.Verify(encoded, pw) }))
}

// busy turns a full gate into a refusal the HTTP layers answer with 429.
func busy(err error) error {
	if errors.Is(err, password.ErrBusy) {
		return refuse("busy", "password", err.Error())
	}
	return err
}

// revoke uses up the user's open links and ends their sessions except keep
// (empty ends all): what follows a password change or a deactivation.
func revoke(ctx context.Context, tx *store.Tx, userID int64, keep string) error {
	if err := tx.UsePasswordTokens(ctx, userID); err != nil {
		return err
	}
	return tx.DeleteUserSessions(ctx, userID, keep)
}

// New returns a Service with production hashing.
func New(s *store.Store) *Service { return &Service{Store: s, Hash: password.Hash} }

// ValidEmail normalises and checks an email: a plain address with a dot in
// its domain, and no look-alike characters (lookAlike).
func ValidEmail(e string) (string, error) {
	e = store.NormalizeEmail(e)
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || !strings.Contains(e[strings.IndexByte(e, '@'):], ".") {
		return "", ErrBadEmail
	}
	if lookAlike(e) {
		return "", ErrLookAlikeEmail
	}
	return e, nil
}

// lookAlike reports whether an address holds characters made to pass for
// others: compatibility forms that Unicode itself maps to ordinary letters
// (the Kelvin sign, fullwidth letters, ligatures, "ſ"), or a part of the
// address that mixes Latin with Cyrillic or Greek letters ("аnna" with a
// Cyrillic "а"). Wholly Cyrillic addresses (иван@почта.рф) are fine.
func lookAlike(e string) bool {
	if norm.NFKC.String(e) != e {
		return true
	}
	for _, part := range strings.FieldsFunc(e, func(r rune) bool { return r == '@' || r == '.' }) {
		latin, other := false, false
		for _, r := range part {
			switch {
			case unicode.Is(unicode.Latin, r):
				latin = true
			case unicode.Is(unicode.Cyrillic, r) || unicode.Is(unicode.Greek, r):
				other = true
			}
		}
		if latin && other {
			return true
		}
	}
	return false
}

// EnsureSuperAdmin creates the account as super_admin or, when the email
// exists, promotes and re-activates it. A non-empty pw is set as the
// password (validated); otherwise the current password is left alone.
func (s *Service) EnsureSuperAdmin(ctx context.Context, email, pw string) (*booksmeta.User, error) {
	email, err := ValidEmail(email)
	if err != nil {
		return nil, err
	}
	if pw != "" {
		if err := password.Validate(pw); err != nil {
			return nil, err
		}
	}
	hash := ""
	if pw != "" {
		if hash, err = s.hash(ctx, pw); err != nil {
			return nil, err
		}
	}
	var u *booksmeta.User
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		u, err = tx.UserByEmail(ctx, email)
		isNew := errors.Is(err, store.ErrNotFound)
		if isNew {
			u = &booksmeta.User{Email: email, BookingLimit: 0}
		} else if err != nil {
			return err
		}
		u.Role, u.Active, u.DeactivatedByAdmin = booksmeta.RoleSuperAdmin, true, false
		if hash != "" {
			u.PasswordHash = hash
		}
		if isNew {
			return tx.InsertUser(ctx, u)
		}
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if hash != "" {
			return revoke(ctx, tx, u.ID, "")
		}
		return nil
	})
	return u, err
}

// IssueLink creates a one-time set-password token for the user, returning
// the token to put in the link; only its hash is stored.
func (s *Service) IssueLink(ctx context.Context, userID int64, purpose string, ttl time.Duration) (string, error) {
	tok, hash := password.NewToken()
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertPasswordToken(ctx, hash, userID, purpose, tx.Now().Add(ttl))
	})
	return tok, err
}

// IssueLinkTo is IssueLink for a mail addressed to toEmail: refused with
// ErrRecipientChanged when the account's email is no longer toEmail (an
// admin corrected a mistyped address while the mail waited in the queue),
// and with ErrLinkInvalid when the account is deactivated.
func (s *Service) IssueLinkTo(ctx context.Context, userID int64, toEmail, purpose string, ttl time.Duration) (string, error) {
	tok, hash := password.NewToken()
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		if u.Email != store.NormalizeEmail(toEmail) {
			return ErrRecipientChanged
		}
		if !u.Active {
			return ErrLinkInvalid
		}
		return tx.InsertPasswordToken(ctx, hash, userID, purpose, tx.Now().Add(ttl))
	})
	return tok, err
}

// LinkUser returns the user a still-valid token belongs to.
func (s *Service) LinkUser(ctx context.Context, token string) (*booksmeta.User, error) {
	var u *booksmeta.User
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		t, err := tx.PasswordTokenByHash(ctx, password.HashToken(token))
		if errors.Is(err, store.ErrNotFound) {
			return ErrLinkInvalid
		}
		if err != nil {
			return err
		}
		if !t.UsedAt.IsZero() || !tx.Now().Before(t.ExpiresAt) {
			return ErrLinkInvalid
		}
		u, err = tx.UserByID(ctx, t.UserID)
		return err
	})
	return u, err
}

// SetPasswordWithLink sets the password of the token's user, uses up every
// open link of that user and ends all their sessions: whoever held the old
// password, or a session opened with it, is out.
func (s *Service) SetPasswordWithLink(ctx context.Context, token, pw string) (*booksmeta.User, error) {
	if err := password.Validate(pw); err != nil {
		return nil, err
	}
	hash, err := s.hash(ctx, pw)
	if err != nil {
		return nil, err
	}
	tokenHash := password.HashToken(token)
	var u *booksmeta.User
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		usable := func() (*store.PasswordToken, error) {
			t, err := tx.PasswordTokenByHash(ctx, tokenHash)
			if errors.Is(err, store.ErrNotFound) {
				return nil, ErrLinkInvalid
			}
			if err != nil {
				return nil, err
			}
			if !t.UsedAt.IsZero() || !tx.Now().Before(t.ExpiresAt) {
				return nil, ErrLinkInvalid
			}
			return t, nil
		}
		t, err := usable()
		if err != nil {
			return err
		}
		if u, err = tx.UserByID(ctx, t.UserID); err != nil {
			return err
		}
		// Lock the user's row (an UPDATE holds it until commit), then look
		// at the token again. Under PostgreSQL's READ COMMITTED two uses of
		// one link at the same moment would otherwise both see it unused and
		// both set a password; now the second waits for the first and sees
		// the link used.
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if t, err = usable(); err != nil {
			return err
		}
		if u, err = tx.UserByID(ctx, t.UserID); err != nil {
			return err
		}
		if !u.Active {
			return ErrLinkInvalid
		}
		u.PasswordHash = hash
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		return revoke(ctx, tx, u.ID, "")
	})
	return u, err
}

// setupKey stores the hash and expiry of the first-admin setup token.
const setupKey = "_setup_token"

// NewSetupToken replaces the first-admin setup token. It is printed by
// serve while no administrator exists; there is no default password.
func (s *Service) NewSetupToken(ctx context.Context) (string, error) {
	tok, hash := password.NewToken()
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		exp := strconv.FormatInt(tx.Now().Add(SetupTokenTTL).Unix(), 10)
		return tx.PutSetting(ctx, store.Setting{Key: setupKey, Value: hash + ":" + exp}, 0)
	})
	return tok, err
}

// SetupTokenValid reports whether token is the current setup token and no admin exists yet.
func (s *Service) SetupTokenValid(ctx context.Context, token string) bool {
	st, ok, err := s.Store.Setting(ctx, setupKey)
	if err != nil || !ok || token == "" {
		return false
	}
	hash, exp, _ := strings.Cut(st.Value, ":")
	e, _ := strconv.ParseInt(exp, 10, 64)
	if hash != password.HashToken(token) || s.Store.Now().Unix() >= e {
		return false
	}
	n, err := s.Store.CountAdmins(ctx)
	return err == nil && n == 0
}

// CreateFirstAdmin creates the first super-admin with the setup token.
func (s *Service) CreateFirstAdmin(ctx context.Context, token, email, pw string) (*booksmeta.User, error) {
	if !s.SetupTokenValid(ctx, token) {
		n, _ := s.Store.CountAdmins(ctx)
		if n > 0 {
			return nil, ErrAdminExists
		}
		return nil, fmt.Errorf("Ссылка для создания администратора недействительна или устарела. Перезапустите booksmeta serve — он напечатает новую — или выполните booksmeta admin create --email ВАШ_EMAIL.")
	}
	if pw == "" {
		return nil, password.ErrTooShort
	}
	u, err := s.EnsureSuperAdmin(ctx, email, pw)
	if err != nil {
		return nil, err
	}
	err = s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteSetting(ctx, setupKey) })
	return u, err
}
