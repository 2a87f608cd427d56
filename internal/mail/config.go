// Package mail renders Book Smeta's Russian notification emails and sends
// them over SMTP. It keeps no state between sends: the durable outbox, retry
// schedule and admin pages live elsewhere and use the typed errors from here
// to decide what to do next.
package mail

import (
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
)

// Config is the SMTP setup, from MAIL_* variables or Settings → Почта.
type Config struct {
	Host     string
	Port     int // 0 picks the usual port for the encryption
	Username string
	Password string
	// Encryption is "ssl" (TLS from the first byte), "starttls", "none",
	// "tls" (see transport) or "" to choose by port: 465 gets ssl, any other
	// port gets STARTTLS when the server offers it.
	Encryption         string
	FromEmail          string
	FromName           string
	InsecureSkipVerify bool // only for tests against a self-signed server
}

// Encryption values accepted in Config.Encryption.
const (
	EncryptionAuto     = ""
	EncryptionSSL      = "ssl"
	EncryptionTLS      = "tls"
	EncryptionSTARTTLS = "starttls"
	EncryptionNone     = "none"
)

// Configured reports whether there is enough to try sending at all. Without
// it mail stays queued and the admin panel says why.
func (c Config) Configured() bool {
	return strings.TrimSpace(c.Host) != "" && strings.TrimSpace(c.FromEmail) != ""
}

// Validate checks the settings without connecting. It returns a *SendError
// of kind ErrorNotConfigured or ErrorBadConfig, whose Russian() tells the
// admin what to fix.
func (c Config) Validate() error {
	if !c.Configured() {
		return &SendError{Kind: ErrorNotConfigured}
	}
	_, err := c.transport()
	return err
}

type tlsMode int

const (
	tlsImplicit      tlsMode = iota // TLS handshake right after connecting
	tlsStartRequired                // STARTTLS or fail
	tlsStartIfOffered
	tlsOff
)

type transport struct {
	host string
	port int
	mode tlsMode
	from *mail.Address
}

func (t transport) addr() string { return net.JoinHostPort(t.host, strconv.Itoa(t.port)) }

// transport resolves the loose admin-facing settings into one way to connect.
//
// "tls" is ambiguous: the old PHP version (PHPMailer and Laravel
// conventions) wrote MAIL_ENCRYPTION=tls for STARTTLS on 587,
// while many provider pages call implicit TLS on 465 "TLS". The port settles
// it: 465 is implicit TLS, anything else STARTTLS, so the old .env keeps
// working and a "TLS, 465" copied from a provider page works too.
func (c Config) transport() (transport, error) {
	t := transport{host: strings.TrimSpace(c.Host), port: c.Port}
	bad := func(format string, args ...any) (transport, error) {
		return transport{}, &SendError{Kind: ErrorBadConfig, detail: fmt.Sprintf(format, args...)}
	}
	if strings.ContainsAny(t.host, " /:@") && net.ParseIP(t.host) == nil {
		return bad("адрес сервера «%s» указан неверно: нужно только имя, например smtp.yandex.ru, без «smtp://», порта и пробелов", t.host)
	}
	if t.port < 0 || t.port > 65535 {
		return bad("порт %d не существует: обычно это 465 или 587", t.port)
	}

	enc := strings.ToLower(strings.TrimSpace(c.Encryption))
	switch enc {
	case EncryptionSSL, "smtps", "implicit":
		t.mode = tlsImplicit
	case EncryptionTLS:
		if t.port == 465 {
			t.mode = tlsImplicit
		} else {
			t.mode = tlsStartRequired
		}
	case EncryptionSTARTTLS:
		t.mode = tlsStartRequired
	case EncryptionNone, "no", "off", "plain", "false", "0":
		t.mode = tlsOff
	case EncryptionAuto, "auto", "null":
		if t.port == 465 {
			t.mode = tlsImplicit
		} else {
			t.mode = tlsStartIfOffered
		}
	default:
		return bad("шифрование «%s» не поддерживается: выберите SSL, STARTTLS или «без шифрования»", c.Encryption)
	}
	if t.port == 0 {
		switch t.mode {
		case tlsImplicit:
			t.port = 465
		case tlsOff:
			t.port = 25
		default:
			t.port = 587
		}
	}

	from, err := mail.ParseAddress(strings.TrimSpace(c.FromEmail))
	if err != nil || from.Name != "" {
		return bad("адрес отправителя «%s» написан с ошибкой: нужен адрес вида school@example.ru", c.FromEmail)
	}
	from.Name = strings.TrimSpace(c.FromName)
	t.from = from
	if c.Username == "" && c.Password != "" {
		return bad("пароль указан, а логин нет: укажите логин (обычно это адрес ящика)")
	}
	return t, nil
}

// Preset is a suggestion the settings page offers to fill the form; nothing
// in sending depends on it.
type Preset struct {
	ID           string
	Title        string // Russian label for the picker
	Host         string
	Port         int
	Encryption   string
	UsernameHint string // Russian: what goes into "login"
	PasswordHint string // Russian: what goes into "password"
	Note         string // Russian: anything else worth knowing
}

// Presets lists common Russian providers.
func Presets() []Preset {
	const (
		uniUser = "Логин — ваш user_id (виден в личном кабинете Unisender Go под адресом почты) или project_id проекта."
		uniPass = "Пароль — API-ключ пользователя или проекта из личного кабинета Unisender Go."
		uniNote = "Адрес отправителя должен быть на домене, подтверждённом в Unisender Go. Выберите go1 или go2 — там, где зарегистрирован ваш аккаунт."
	)
	return []Preset{
		{ID: "unisender-go1-587", Title: "Unisender Go (go1), порт 587, STARTTLS", Host: "smtp.go1.unisender.ru", Port: 587, Encryption: EncryptionSTARTTLS, UsernameHint: uniUser, PasswordHint: uniPass, Note: uniNote},
		{ID: "unisender-go1-465", Title: "Unisender Go (go1), порт 465, SSL", Host: "smtp.go1.unisender.ru", Port: 465, Encryption: EncryptionSSL, UsernameHint: uniUser, PasswordHint: uniPass, Note: uniNote},
		{ID: "unisender-go2-587", Title: "Unisender Go (go2), порт 587, STARTTLS", Host: "smtp.go2.unisender.ru", Port: 587, Encryption: EncryptionSTARTTLS, UsernameHint: uniUser, PasswordHint: uniPass, Note: uniNote},
		{ID: "unisender-go2-465", Title: "Unisender Go (go2), порт 465, SSL", Host: "smtp.go2.unisender.ru", Port: 465, Encryption: EncryptionSSL, UsernameHint: uniUser, PasswordHint: uniPass, Note: uniNote},
		{
			ID: "yandex", Title: "Яндекс Почта (в том числе Яндекс 360 для домена), порт 465, SSL",
			Host: "smtp.yandex.ru", Port: 465, Encryption: EncryptionSSL,
			UsernameHint: "Логин — адрес ящика целиком, например school@yandex.ru.",
			PasswordHint: "Пароль — пароль приложения: Яндекс ID → Безопасность → Пароли приложений → «Почта». Обычный пароль от ящика не подойдёт.",
			Note:         "Адрес отправителя должен совпадать с логином.",
		},
		{
			ID: "mailru", Title: "Почта Mail.ru, порт 465, SSL",
			Host: "smtp.mail.ru", Port: 465, Encryption: EncryptionSSL,
			UsernameHint: "Логин — адрес ящика целиком, например school@mail.ru.",
			PasswordHint: "Пароль — пароль для внешнего приложения: Настройки → Безопасность → Пароли для внешних приложений. Обычный пароль от ящика не подойдёт.",
			Note:         "Адрес отправителя должен совпадать с логином.",
		},
	}
}
