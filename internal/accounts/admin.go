package accounts

import (
	"booksmeta"

	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"booksmeta/internal/password"
	"booksmeta/internal/store"
)

func refuse(code, field, msg string) error { return booksmeta.Refuse(code, field, msg) }

// UserInput is an admin's create or edit; nil fields are left unchanged.
type UserInput struct {
	Email        *string
	FirstName    *string
	LastName     *string
	Phone        *string
	Role         *string
	Paid         *bool
	Active       *bool
	BookingLimit *int
	Password     *string
	// KeepSession is the actor's own session: when they set their own
	// password it stays signed in while every other session ends.
	KeepSession string
}

var phoneRe = regexp.MustCompile(`^\+?[0-9 ()\-]{5,25}$`)

func validRole(r string) bool {
	return r == booksmeta.RoleStudent || r == booksmeta.RoleAdmin || r == booksmeta.RoleSuperAdmin
}

// newHash validates and hashes in.Password ("" when none is set), before
// any transaction opens.
func (s *Service) newHash(ctx context.Context, in UserInput) (string, error) {
	if in.Password == nil || *in.Password == "" {
		return "", nil
	}
	if err := password.Validate(*in.Password); err != nil {
		return "", refuse("invalid", "password", err.Error())
	}
	return s.hash(ctx, *in.Password)
}

// apply copies in onto u, checking each value and the actor's rights; hash
// is newHash's result.
func (s *Service) apply(actor, u *booksmeta.User, in UserInput, hash string) error {
	if in.Email != nil {
		e, err := ValidEmail(*in.Email)
		if err != nil {
			return refuse("invalid", "email", err.Error())
		}
		u.Email = e
	}
	for _, f := range []struct {
		dst *string
		v   *string
		max int
	}{{&u.FirstName, in.FirstName, 100}, {&u.LastName, in.LastName, 100}} {
		if f.v != nil {
			v := strings.TrimSpace(*f.v)
			if len([]rune(v)) > f.max {
				return refuse("invalid", "name", "Имя и фамилия — не длиннее 100 символов.")
			}
			*f.dst = v
		}
	}
	if in.Phone != nil {
		p := strings.TrimSpace(*in.Phone)
		if p != "" && !phoneRe.MatchString(p) {
			return refuse("invalid", "phone", "Телефон записан с ошибкой: используйте цифры, пробелы, скобки, дефис и + в начале, например +7 900 123-45-67.")
		}
		u.Phone = p
	}
	if in.BookingLimit != nil {
		if *in.BookingLimit < 0 || *in.BookingLimit > 100 {
			return refuse("invalid", "booking_limit", "Лимит бронирований — число от 0 до 100.")
		}
		u.BookingLimit = *in.BookingLimit
	}
	if in.Role != nil && *in.Role != u.Role {
		if !validRole(*in.Role) {
			return refuse("invalid", "role", "Роль должна быть одной из: student, admin, super_admin.")
		}
		// Only a super-admin hands out or takes away admin rights (the PHP
		// version let any admin create super-admins).
		if actor.Role != booksmeta.RoleSuperAdmin && (*in.Role != booksmeta.RoleStudent || u.Role != booksmeta.RoleStudent) {
			return refuse("forbidden", "role", "Назначать и снимать права администратора может только главный администратор (super_admin).")
		}
		u.Role = *in.Role
	}
	if in.Paid != nil {
		u.Paid = *in.Paid
	}
	if in.Active != nil && *in.Active != u.Active {
		u.Active = *in.Active
		// Remember an admin's decision so that a payment or sync does not undo it.
		u.DeactivatedByAdmin = !*in.Active
	}
	if hash != "" {
		u.PasswordHash = hash
	}
	return nil
}

// CanManage says whether actor may change target at all, or issue a
// password link for it (which changes who can sign in as the target): only
// a super-admin manages other administrators. Pages ask it to offer the
// controls; the operations here ask it to refuse.
func CanManage(actor, target *booksmeta.User) bool {
	return !target.IsAdmin() || actor.Role == booksmeta.RoleSuperAdmin || actor.ID == target.ID
}

func canManage(actor, target *booksmeta.User) error {
	if !CanManage(actor, target) {
		return refuse("forbidden", "", "Изменять других администраторов может только главный администратор (super_admin).")
	}
	return nil
}

// AdminIssueLink is an admin's one-time set-password link token for target:
// an administrator's link lives shorter (AdminLinkTTL) than a student's.
func (s *Service) AdminIssueLink(ctx context.Context, actor, target *booksmeta.User) (string, error) {
	if !CanManage(actor, target) {
		return "", refuse("forbidden", "", "Выдавать ссылку для установки пароля другому администратору может только главный администратор (super_admin).")
	}
	ttl := WelcomeLinkTTL
	if target.IsAdmin() {
		ttl = AdminLinkTTL
	}
	return s.IssueLink(ctx, target.ID, store.TokenSetPassword, ttl)
}

// AdminCreate creates a user on an admin's behalf.
func (s *Service) AdminCreate(ctx context.Context, actor *booksmeta.User, in UserInput, defaultLimit int) (*booksmeta.User, error) {
	if in.Email == nil || strings.TrimSpace(*in.Email) == "" {
		return nil, refuse("invalid", "email", "Укажите email: по нему ученик входит и получает письма.")
	}
	u := &booksmeta.User{Role: booksmeta.RoleStudent, Active: true, BookingLimit: defaultLimit}
	hash, err := s.newHash(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := s.apply(actor, u, in, hash); err != nil {
		return nil, err
	}
	if u.Paid {
		u.PaidAt = s.Store.Now()
	}
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.UserByEmail(ctx, u.Email); err == nil {
			return refuse("conflict", "email", "Пользователь с таким email уже есть: найдите его в списке и отредактируйте.")
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.InsertUser(ctx, u)
	})
	return u, err
}

// AdminUpdate changes a user on an admin's behalf.
func (s *Service) AdminUpdate(ctx context.Context, actor *booksmeta.User, id int64, in UserInput) (*booksmeta.User, error) {
	hash, err := s.newHash(ctx, in)
	if err != nil {
		return nil, err
	}
	var u *booksmeta.User
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if u, err = tx.UserByID(ctx, id); err != nil {
			return notFound(err)
		}
		if err := canManage(actor, u); err != nil {
			return err
		}
		wasSuper, wasActive, oldHash, oldEmail := u.Role == booksmeta.RoleSuperAdmin && u.Active, u.Active, u.PasswordHash, u.Email
		if in.Email != nil && store.NormalizeEmail(*in.Email) != u.Email {
			if other, err := tx.UserByEmail(ctx, *in.Email); err == nil && other.ID != u.ID {
				return refuse("conflict", "email", "Этот email уже занят другим пользователем.")
			}
		}
		if err := s.apply(actor, u, in, hash); err != nil {
			return err
		}
		if actor.ID == u.ID && (!u.Active || (wasSuper && u.Role != booksmeta.RoleSuperAdmin)) {
			return refuse("conflict", "", "Нельзя отключить себя или снять с себя права главного администратора: попросите об этом другого главного администратора.")
		}
		if wasSuper && (u.Role != booksmeta.RoleSuperAdmin || !u.Active) {
			if n, err := tx.CountRoleLocked(ctx, booksmeta.RoleSuperAdmin); err != nil {
				return err
			} else if n <= 1 {
				return refuse("conflict", "", "Это последний главный администратор: сначала назначьте другого.")
			}
		}
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		// A deactivated user or a changed password ends other sessions at
		// once; those and a changed email kill the open links, which were
		// mailed to the old address or promise the old password's account.
		deactivated, newPassword := wasActive && !u.Active, u.PasswordHash != oldHash
		switch {
		case deactivated || newPassword:
			keep := ""
			if newPassword && !deactivated && actor.ID == u.ID {
				keep = in.KeepSession
			}
			return revoke(ctx, tx, u.ID, keep)
		case u.Email != oldEmail:
			return tx.UsePasswordTokens(ctx, u.ID)
		}
		return nil
	})
	return u, err
}

// AdminDelete deletes a user. Refused for oneself, for the last super-admin,
// for admins unless the actor is a super-admin, and for a student with
// upcoming bookings (cancel them first, so the student is told).
func (s *Service) AdminDelete(ctx context.Context, actor *booksmeta.User, id int64) error {
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		u, err := tx.UserByID(ctx, id)
		if err != nil {
			return notFound(err)
		}
		if u.ID == actor.ID {
			return refuse("conflict", "", "Нельзя удалить самого себя.")
		}
		if err := canManage(actor, u); err != nil {
			return err
		}
		if u.Role == booksmeta.RoleSuperAdmin {
			if n, err := tx.CountRoleLocked(ctx, booksmeta.RoleSuperAdmin); err != nil {
				return err
			} else if n <= 1 && u.Active {
				return refuse("conflict", "", "Это последний главный администратор: его нельзя удалить.")
			}
		}
		n, err := tx.CountUpcomingBookings(ctx, u.ID)
		if err != nil {
			return err
		}
		if n > 0 {
			return refuse("conflict", "", "У пользователя есть предстоящие бронирования: сначала отмените их (ученик получит уведомление) или просто отключите аккаунт.")
		}
		return tx.DeleteUser(ctx, u.ID)
	})
}

func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return refuse("not_found", "", "Пользователь не найден: возможно, его уже удалили.")
	}
	return err
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
