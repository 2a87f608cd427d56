package accounts

import (
	"booksmeta"

	"context"
	"errors"
	"strings"

	"booksmeta/internal/password"
	"booksmeta/internal/store"
)

// UpdateProfile changes what a user may change about themself: names and
// phone. Email, role, payment and limit stay with the school.
func (s *Service) UpdateProfile(ctx context.Context, userID int64, first, last, phone string) (*booksmeta.User, error) {
	var u *booksmeta.User
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if u, err = tx.UserByID(ctx, userID); err != nil {
			return notFound(err)
		}
		in := UserInput{FirstName: &first, LastName: &last, Phone: &phone}
		if err := s.apply(u, u, in, ""); err != nil {
			return err
		}
		return tx.UpdateUser(ctx, u)
	})
	return u, err
}

// ErrWrongCurrentPassword refuses a password change with a wrong current password.
var ErrWrongCurrentPassword = refuse("invalid", "current_password", "Текущий пароль введён неверно. Если вы его забыли, выйдите и воспользуйтесь ссылкой «Забыли пароль?».")

// ChangePassword sets a new password after checking the current one, and
// ends every other session of the user (keepSession stays signed in).
func (s *Service) ChangePassword(ctx context.Context, userID int64, current, next, keepSession string) error {
	if err := password.Validate(next); err != nil {
		return refuse("invalid", "password", err.Error())
	}
	// Both hashes are computed before the transaction, so that waiting for
	// a hashing slot never holds the write lock.
	u, err := s.Store.UserByID(ctx, userID)
	if err != nil {
		return notFound(err)
	}
	checked := u.PasswordHash
	if ok, err := s.verify(ctx, checked, current); err != nil {
		return err
	} else if !ok {
		return ErrWrongCurrentPassword
	}
	hash, err := s.hash(ctx, next)
	if err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return notFound(err)
		}
		// The password checked above must still be the current one.
		if u.PasswordHash != checked {
			return ErrWrongCurrentPassword
		}
		u.PasswordHash = hash
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		return revoke(ctx, tx, u.ID, keepSession)
	})
}

// RequestPasswordReset queues a password-reset mail for an active user with
// that email, at most one per user per 10 minutes. It reports nothing about
// whether the email exists: the caller answers the same either way.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	email = store.NormalizeEmail(email)
	if !strings.Contains(email, "@") {
		return nil
	}
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		u, err := tx.UserByEmail(ctx, email)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Active) {
			return nil
		}
		if err != nil {
			return err
		}
		window := tx.Now().Unix() / 600
		_, err = tx.QueueMail(ctx, &store.OutboxMail{Kind: "password_reset", ToEmail: u.Email, ToName: u.Name(), UserID: u.ID,
			Data: "{}", DedupeKey: "password_reset:" + itoa(u.ID) + ":" + itoa(window)})
		return err
	})
}
