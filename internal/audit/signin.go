package audit

import (
	"booksmeta"

	"context"
	"errors"

	"booksmeta/internal/auth"
)

// SignIn is the entry of a sign-in attempt, if it gets one: an admin's
// sign-in, or a failed attempt on an admin account (wrong password, account
// off), found by the email typed. A student's sign-ins are not the trail's
// business; throttled attempts are left out because the throttle already
// bounds them and a flood must not fill the trail.
func SignIn(ctx context.Context, byEmail func(context.Context, string) (*booksmeta.User, error), ip, email string, u *booksmeta.User, err error) (Entry, bool) {
	if err == nil {
		if u == nil || !u.IsAdmin() {
			return Entry{}, false
		}
		return By(u, LoginOK, User(u.ID), "Вход в панель с адреса "+ip+"."), true
	}
	var why string
	switch {
	case errors.Is(err, auth.ErrBadCredentials):
		why = "неверный email или пароль"
	case errors.Is(err, auth.ErrDisabled):
		why = "аккаунт отключён"
	default:
		return Entry{}, false
	}
	target, lerr := byEmail(ctx, email)
	if lerr != nil || !target.IsAdmin() {
		return Entry{}, false
	}
	return By(target, LoginFailed, User(target.ID), "Неудачная попытка войти под этим аккаунтом с адреса "+ip+": "+why+"."), true
}
