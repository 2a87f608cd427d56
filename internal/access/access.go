// Package access turns a booking into access to the school's server and takes
// it back (SPEC §7). A Provider grants credentials for one booking, revokes
// them, and checks its own configuration for the admin panel. Three providers
// exist: static (one shared login, today's behaviour), http (the school's own
// endpoint, signed as Standard Webhooks) and ssh (Book Smeta itself enables a
// pool account with a fresh password over SSH and disables it afterwards).
//
// The package knows nothing of the database or the booking rules: the caller
// decides when to grant and revoke, stores what Grant returned (encrypted),
// retries with backoff what failed, and picks the pool account with Pool.Seats.
//
// Retrying: a Retryable error passes by itself, so retry it soon and more
// slowly each time; any other error waits for an admin, so alert them at
// once. A revoke is retried in both cases until it succeeds — the one
// failure that leaves a student with access. Every Grant and Revoke is safe
// to repeat, and the http provider sends the same webhook-id on every
// retry of one action (WebhookID).
package access

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Setting names (SPEC §7). Package grants defines them (the http endpoint
// and key are package settings', fed by the PHP version's .env names
// SERVER_API_URL and SERVER_API_KEY).
const (
	KeyProvider      = "access_provider"
	KeyServerAPIURL  = "server_api_url"
	KeyServerAPIKey  = "server_api_key"
	KeySSHHost       = "access_ssh_host"
	KeySSHPort       = "access_ssh_port"
	KeySSHUser       = "access_ssh_user"
	KeySSHPrivateKey = "access_ssh_private_key"
	KeySSHHostKey    = "access_ssh_host_key"
	KeySSHPreset     = "access_ssh_preset"
	KeyAccounts      = "access_accounts"
	// The static provider's settings belong to the booking rules and keep
	// their names from before providers existed.
	KeyServerHost         = "server_host"
	KeyServerLogin        = "server_login"
	KeyServerPassword     = "server_password"
	KeyServerInstructions = "server_instructions"
)

// Provider names, the values of access_provider.
const (
	Static = "static"
	HTTP   = "http"
	SSH    = "ssh"
)

// SSH presets, the values of access_ssh_preset.
const (
	PresetLinux   = "linux"
	PresetWindows = "windows"
)

// Provider grants and revokes server access for bookings. Grant and Revoke are
// safe to repeat: repeating a Grant leaves the account with the credentials of
// the last successful answer, repeating a Revoke of revoked access succeeds.
type Provider interface {
	// Grant opens access for one booking and returns what the booker is shown.
	Grant(ctx context.Context, r GrantRequest) (Credentials, error)
	// Revoke closes the access a Grant opened, ending open sessions where the
	// provider can.
	Revoke(ctx context.Context, r RevokeRequest) error
	// Check tests the configuration without granting anything, for the
	// panel's «Проверить подключение».
	Check(ctx context.Context) Verdict
}

// GrantRequest is one booking's grant.
type GrantRequest struct {
	BookingID int64
	SlotID    int64
	// Login is the pool account chosen with Pool.Seats; required by ssh,
	// empty for http when access_accounts is not set.
	Login    string
	StartsAt time.Time
	EndsAt   time.Time
	Student  Student
	// Seq tells apart a later grant of the same booking after it was revoked
	// (0 for the first): the http receiver may take an action with a known
	// webhook-id for a retry and answer it from its cache.
	Seq int
	// Slot holds the slot's own login and password when an admin set them;
	// the static provider shows them instead of the shared account, as
	// before providers existed. Other providers ignore it.
	Slot Credentials
}

// RevokeRequest is one booking's revoke; Login is the one the grant used.
type RevokeRequest struct {
	BookingID int64
	Login     string
	Seq       int
}

// Student is who booked, as the http receiver is told.
type Student struct {
	Email string
	Name  string
}

// Credentials are what the booker is shown during the booking. They print
// without the password, so a stray log line or %v cannot leak it.
type Credentials struct {
	Host         string
	Login        string
	Password     string
	Instructions string
}

func (c Credentials) String() string {
	p := ""
	if c.Password != "" {
		p = "***"
	}
	return fmt.Sprintf("{Host:%s Login:%s Password:%s Instructions:%d chars}", c.Host, c.Login, p, len(c.Instructions))
}

// GoString keeps %#v from printing the password.
func (c Credentials) GoString() string { return "access.Credentials" + c.String() }

// LogValue keeps slog from printing the password.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("host", c.Host), slog.String("login", c.Login), slog.Bool("password_set", c.Password != ""))
}

// Verdict is the answer of Check, in plain Russian for the admin.
type Verdict struct {
	OK bool
	// Message is one sentence: what works, or what is wrong and what to do.
	Message string
	// Details are further lines, e.g. one per missing pool account.
	Details []string
}

// Error is a failed grant, revoke or check. Error() is English for the log;
// Message is Russian for the admin and says what to do. Neither ever holds a
// password or a key.
type Error struct {
	Op string // grant, revoke, check, config
	// Retryable is true for failures that may pass by themselves (network,
	// timeouts, the server busy). False means nothing changes until an admin
	// fixes the settings or the server: tell them at once. Revokes are
	// retried either way — giving up on one leaves a student with access.
	Retryable bool
	Message   string
	Err       error
}

func (e *Error) Error() string {
	kind := "permanent"
	if e.Retryable {
		kind = "retryable"
	}
	if e.Err == nil {
		return "access " + e.Op + " (" + kind + ")"
	}
	return "access " + e.Op + " (" + kind + "): " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable tells whether err may pass by itself. Errors that are not an
// *Error (a cancelled context, say) count as retryable.
func Retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable
	}
	return err != nil
}

// Message is the Russian text for the admin about err.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "Сервер не ответил вовремя. Book Smeta повторит попытку сама."
	}
	return "Не удалось выполнить действие с доступом к серверу. Book Smeta повторит попытку сама; если ошибка не проходит, проверьте раздел «Доступ к серверу»."
}

func permanent(op, msg string, err error) *Error {
	return &Error{Op: op, Message: msg, Err: err}
}

func retryable(op, msg string, err error) *Error {
	return &Error{Op: op, Retryable: true, Message: msg, Err: err}
}

// Config is the provider's configuration as the settings hold it.
type Config struct {
	Provider string
	Static   StaticConfig
	HTTP     HTTPConfig
	SSH      SSHConfig
	// Accounts is the pool from access_accounts; required by ssh, optional
	// for http (then the receiver chooses the login).
	Accounts Pool
}

// ConfigFrom reads the configuration through get, which returns a setting's
// effective value by name (the Key… constants). Invalid values are refused
// with an *Error whose Message names the setting.
func ConfigFrom(get func(key string) string) (Config, error) {
	v := func(k string) string { return strings.TrimSpace(get(k)) }
	c := Config{
		Provider: strings.ToLower(v(KeyProvider)),
		Static: StaticConfig{Host: v(KeyServerHost), Login: v(KeyServerLogin), Password: get(KeyServerPassword),
			Instructions: get(KeyServerInstructions)},
		HTTP: HTTPConfig{URL: v(KeyServerAPIURL), Key: v(KeyServerAPIKey)},
		SSH: SSHConfig{Host: v(KeySSHHost), User: v(KeySSHUser), PrivateKey: get(KeySSHPrivateKey),
			HostKey: get(KeySSHHostKey), Preset: strings.ToLower(v(KeySSHPreset)),
			StudentHost: v(KeyServerHost), Instructions: get(KeyServerInstructions)},
	}
	if c.Provider == "" {
		c.Provider = Static
	}
	if p := v(KeySSHPort); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return c, permanent("config", "Порт SSH (access_ssh_port) должен быть числом от 1 до 65535, обычно 22.", fmt.Errorf("bad %s %q", KeySSHPort, p))
		}
		c.SSH.Port = n
	}
	if a := v(KeyAccounts); a != "" {
		pool, err := ParsePool(a)
		if err != nil {
			return c, err
		}
		c.Accounts = pool
	}
	return c, nil
}

// New builds the configured provider, refusing an incomplete configuration
// with an *Error that says which setting to fill in.
func New(c Config) (Provider, error) {
	switch c.Provider {
	case Static, "":
		return NewStatic(c.Static), nil
	case HTTP:
		return NewHTTP(c.HTTP)
	case SSH:
		return NewSSH(c.SSH, c.Accounts)
	}
	return nil, permanent("config", fmt.Sprintf("Неизвестный способ доступа «%s» (access_provider): выберите static, http или ssh.", c.Provider),
		fmt.Errorf("unknown %s %q", KeyProvider, c.Provider))
}

// CheckConfig is the panel's «Проверить подключение» in one call: it builds
// the provider and checks it, and with largestCapacity > 0 also says when
// access_accounts is smaller than the largest slot.
func CheckConfig(ctx context.Context, c Config, largestCapacity int) Verdict {
	p, err := New(c)
	if err != nil {
		return Verdict{Message: Message(err)}
	}
	v := p.Check(ctx)
	if len(c.Accounts) > 0 && largestCapacity > 0 {
		if err := c.Accounts.CheckCapacity(largestCapacity); err != nil {
			v.OK = false
			v.Details = append(v.Details, Message(err))
		}
	}
	return v
}
