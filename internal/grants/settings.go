package grants

import (
	"errors"
	"strings"

	"booksmeta/internal/access"
	"booksmeta/internal/settings"
)

// DefineSettings declares the access provider's settings (SPEC §7) but the
// http endpoint and key, which package settings owns because the PHP
// version's .env carries them. Each value is checked on save with the same
// parser the provider uses, so a key that would not work is refused at once
// and in words, not at the first booking.
func DefineSettings(s *settings.Service) {
	reason := func(err error) error {
		if err == nil {
			return nil
		}
		return errors.New(access.Message(err))
	}
	s.Define(settings.Def{Key: access.KeyProvider, Default: access.Static, Check: func(v string) error {
		switch strings.ToLower(v) {
		case access.Static, access.HTTP, access.SSH:
			return nil
		}
		return errors.New("Способ доступа: static (общий логин и пароль), http (API вашего сервера) или ssh (Book Smeta сама включает учётные записи на сервере)")
	}})
	s.Define(settings.Def{Key: access.KeySSHHost, Check: func(v string) error {
		if strings.ContainsAny(v, " \t/@") {
			return errors.New("Адрес сервера для SSH — имя или IP без пробелов, https:// и пользователя, например rdp.school.ru (порт — в отдельном поле)")
		}
		return nil
	}})
	s.Define(settings.Def{Key: access.KeySSHPort, Type: settings.Number, Default: "22", Min: 1, Max: 65535,
		Reason: "Порт SSH — число от 1 до 65535, обычно 22"})
	s.Define(settings.Def{Key: access.KeySSHUser, Check: func(v string) error {
		if strings.ContainsAny(v, " \t@:") {
			return errors.New("Пользователь SSH — одно имя без пробелов, например booksmeta")
		}
		return nil
	}})
	s.Define(settings.Def{Key: access.KeySSHPrivateKey, Secret: true, Multiline: true, MaxLen: 16000,
		BoundTo: []string{access.KeySSHHost}, Check: func(v string) error { return reason(access.CheckPrivateKey(v)) }})
	s.Define(settings.Def{Key: access.KeySSHHostKey, Multiline: true, MaxLen: 16000, Check: func(v string) error {
		_, _, err := access.ParseHostKeys(v)
		return reason(err)
	}})
	s.Define(settings.Def{Key: access.KeySSHPreset, Default: access.PresetWindows, Check: func(v string) error {
		switch strings.ToLower(v) {
		case access.PresetWindows, access.PresetLinux:
			return nil
		}
		return errors.New("Тип сервера: windows (Windows Server со встроенным OpenSSH) или linux")
	}})
	s.Define(settings.Def{Key: access.KeyAccounts, MaxLen: 2000, Check: func(v string) error {
		_, err := access.ParsePool(v)
		return reason(err)
	}})
}
