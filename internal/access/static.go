package access

import "context"

// StaticConfig is the shared account of the static provider.
type StaticConfig struct {
	Host         string
	Login        string
	Password     string
	Instructions string
}

type staticProvider struct{ c StaticConfig }

// NewStatic returns the provider of today's behaviour: everyone is shown the
// same account, so revoking takes nothing away.
func NewStatic(c StaticConfig) Provider { return staticProvider{c} }

func (s staticProvider) Grant(_ context.Context, r GrantRequest) (Credentials, error) {
	c := Credentials{Host: s.c.Host, Login: s.c.Login, Password: s.c.Password, Instructions: s.c.Instructions}
	if r.Slot.Login != "" || r.Slot.Password != "" {
		c.Login, c.Password = r.Slot.Login, r.Slot.Password
	}
	return c, nil
}

func (staticProvider) Revoke(context.Context, RevokeRequest) error { return nil }

func (s staticProvider) Check(context.Context) Verdict {
	if s.c.Host == "" && s.c.Login == "" {
		return Verdict{OK: true, Message: "Выбран общий доступ: ученикам показываются адрес, логин и пароль из настроек или слота. Адрес сервера и общий логин пока не заданы."}
	}
	return Verdict{OK: true, Message: "Выбран общий доступ: ученикам показываются адрес, логин и пароль из настроек или слота. Проверять подключение не нужно — Book Smeta к серверу не подключается."}
}
