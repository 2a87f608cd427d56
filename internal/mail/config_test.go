package mail

import (
	"errors"
	"strings"
	"testing"
)

func TestTransportResolution(t *testing.T) {
	cases := []struct {
		enc      string
		port     int
		wantMode tlsMode
		wantPort int
	}{
		{"tls", 587, tlsStartRequired, 587}, // the old PHP .env
		{"TLS", 465, tlsImplicit, 465},      // "TLS on 465" from a provider page
		{"tls", 0, tlsStartRequired, 587},
		{"ssl", 0, tlsImplicit, 465},
		{"ssl", 2465, tlsImplicit, 2465},
		{"starttls", 25, tlsStartRequired, 25},
		{"", 465, tlsImplicit, 465},
		{"", 587, tlsStartIfOffered, 587},
		{"", 0, tlsStartIfOffered, 587},
		{"none", 0, tlsOff, 25},
		{" None ", 2525, tlsOff, 2525},
	}
	for _, c := range cases {
		tr, err := Config{Host: "smtp.example.ru", Port: c.port, Encryption: c.enc, FromEmail: "a@example.ru"}.transport()
		if err != nil {
			t.Fatalf("%q/%d: %v", c.enc, c.port, err)
		}
		if tr.mode != c.wantMode || tr.port != c.wantPort {
			t.Errorf("%q/%d: mode %d port %d, want %d %d", c.enc, c.port, tr.mode, tr.port, c.wantMode, c.wantPort)
		}
	}
}

func TestValidate(t *testing.T) {
	good := Config{Host: "smtp.yandex.ru", Port: 465, Encryption: "ssl", Username: "a@yandex.ru", Password: "p", FromEmail: "a@yandex.ru", FromName: "Школа"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if (Config{FromEmail: "a@b.ru"}).Configured() || (Config{Host: "h"}).Configured() {
		t.Error("incomplete config reported as configured")
	}
	var se *SendError
	if err := (Config{}).Validate(); !errors.As(err, &se) || se.Kind != ErrorNotConfigured {
		t.Errorf("empty config: %v", err)
	}
	bad := map[string]func(*Config){
		"encryption":  func(c *Config) { c.Encryption = "quantum" },
		"from":        func(c *Config) { c.FromEmail = "school at yandex" },
		"from name":   func(c *Config) { c.FromEmail = "Школа <a@yandex.ru>" },
		"host scheme": func(c *Config) { c.Host = "smtp://smtp.yandex.ru" },
		"host port":   func(c *Config) { c.Host = "smtp.yandex.ru:465" },
		"port":        func(c *Config) { c.Port = 70000 },
		"no login":    func(c *Config) { c.Username = "" },
	}
	for name, mutate := range bad {
		c := good
		mutate(&c)
		err := c.Validate()
		if !errors.As(err, &se) || se.Kind != ErrorBadConfig {
			t.Errorf("%s: got %v, want bad_config", name, err)
			continue
		}
		if r := se.Russian(); !strings.Contains(r, "Настройки → Почта") || strings.Contains(r, "mail:") {
			t.Errorf("%s: Russian text %q", name, r)
		}
	}
}

func TestPresets(t *testing.T) {
	hosts := map[string]bool{}
	for _, p := range Presets() {
		hosts[p.Host] = true
		if p.Title == "" || p.UsernameHint == "" || p.PasswordHint == "" {
			t.Errorf("%s: missing Russian texts", p.ID)
		}
		if _, err := (Config{Host: p.Host, Port: p.Port, Encryption: p.Encryption, FromEmail: "a@b.ru"}).transport(); err != nil {
			t.Errorf("%s: preset does not validate: %v", p.ID, err)
		}
	}
	for _, h := range []string{"smtp.go1.unisender.ru", "smtp.go2.unisender.ru", "smtp.yandex.ru", "smtp.mail.ru"} {
		if !hosts[h] {
			t.Errorf("no preset for %s", h)
		}
	}
}

func TestEveryErrorKindHasRussianText(t *testing.T) {
	for _, k := range []ErrorKind{ErrorAuth, ErrorTLS, ErrorUnreachable, ErrorRejectedRecipient, ErrorRejectedSender, ErrorTemporary, ErrorPermanent, ErrorNotConfigured, ErrorBadConfig} {
		se := &SendError{Kind: k, addr: "smtp.example.ru:587", sender: "a@example.ru", recipient: "b@example.ru", detail: "порт указан неверно"}
		r := se.Russian()
		if !cyrillic.MatchString(r) || strings.Contains(r, "Не удалось отправить письмо.") {
			t.Errorf("%s: %q", k, r)
		}
		if !strings.HasPrefix(se.Error(), "mail: "+string(k)) {
			t.Errorf("%s: Error() = %q", k, se.Error())
		}
	}
}
