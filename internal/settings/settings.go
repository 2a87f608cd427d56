// Package settings resolves a setting from, in order of precedence, the value
// saved in the admin panel, the environment, the .env file and the default,
// and stores panel values (secrets encrypted).
package settings

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"booksmeta/internal/config"
	"booksmeta/internal/secretbox"
	"booksmeta/internal/store"
)

// Keys of SPEC §5 used here.
const (
	GetCourseAPIURL        = "getcourse_api_url"
	GetCourseAccount       = "getcourse_account"
	GetCourseAPIKey        = "getcourse_api_key"
	GetCourseWebhookSecret = "getcourse_webhook_secret"
	DefaultBookingLimit    = "default_booking_limit"
	Timezone               = "timezone"
	MailHost               = "mail_host"
	MailPort               = "mail_port"
	MailUsername           = "mail_username"
	MailPassword           = "mail_password"
	MailEncryption         = "mail_encryption"
	MailFromEmail          = "mail_from_email"
	MailFromName           = "mail_from_name"
	SlotDurationMinutes    = "slot_duration_minutes"
	// WebhookLogKeepDays is how long refused and duplicate requests stay in
	// the webhook log; accepted events stay at least store.AcceptedKept.
	WebhookLogKeepDays = "webhook_log_keep_days"
)

// Def describes one setting.
type Def struct {
	Key    string
	EnvVar string // the SPEC §2 variable that also sets it, if any
	Secret bool
	// fromConfig reads the env/.env/default value out of the loaded Config.
	fromConfig func(config.Config) string
}

func defs() []Def {
	itoa := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	return []Def{
		{GetCourseAPIURL, "GETCOURSE_API_URL", false, func(c config.Config) string { return c.GetCourseAPIURL }},
		{GetCourseAccount, "GETCOURSE_ACCOUNT", false, func(c config.Config) string { return c.GetCourseAccount }},
		{GetCourseAPIKey, "GETCOURSE_API_KEY", true, func(c config.Config) string { return c.GetCourseAPIKey }},
		{GetCourseWebhookSecret, "GETCOURSE_WEBHOOK_SECRET", true, func(c config.Config) string { return c.GetCourseWebhookSecret }},
		{WebhookLogKeepDays, "", false, func(config.Config) string { return "90" }},
		{DefaultBookingLimit, "DEFAULT_BOOKING_LIMIT", false, func(c config.Config) string { return strconv.Itoa(c.DefaultBookingLimit) }},
		{Timezone, "BOOKSMETA_TIMEZONE", false, func(c config.Config) string { return c.Timezone }},
		{MailHost, "MAIL_HOST", false, func(c config.Config) string { return c.MailHost }},
		{MailPort, "MAIL_PORT", false, func(c config.Config) string { return itoa(c.MailPort) }},
		{MailUsername, "MAIL_USERNAME", false, func(c config.Config) string { return c.MailUsername }},
		{MailPassword, "MAIL_PASSWORD", true, func(c config.Config) string { return c.MailPassword }},
		{MailEncryption, "MAIL_ENCRYPTION", false, func(c config.Config) string { return c.MailEncryption }},
		{MailFromEmail, "MAIL_FROM_EMAIL", false, func(c config.Config) string { return c.MailFromEmail }},
		{MailFromName, "MAIL_FROM_NAME", false, func(c config.Config) string { return c.MailFromName }},
		{SlotDurationMinutes, "SLOT_DURATION_MINUTES", false, func(c config.Config) string { return strconv.Itoa(c.SlotDurationMinutes) }},
	}
}

// Value is a resolved setting.
type Value struct {
	Key    string
	Value  string
	Source config.Source
	Secret bool
}

// maskPrefix starts every masked secret. Put treats a value starting with it
// as "unchanged", so a form that sends a masked value back keeps the secret.
const maskPrefix = "••••"

// Masked shows a secret as "••••••••": no character of it, because any
// part of a key helps whoever tries to guess or confirm it (issue 13).
func (v Value) Masked() string {
	if !v.Secret || v.Value == "" {
		return v.Value
	}
	return maskPrefix + maskPrefix
}

// Service resolves and stores settings.
type Service struct {
	store *store.Store
	box   *secretbox.Box
	cfg   config.Config
	defs  map[string]Def
	order []string

	// boundTo lists, for a secret, the settings that say where it is sent:
	// changing one of them requires entering the secret again.
	boundTo map[string][]string

	mu       sync.Mutex
	cache    map[string]store.Setting
	cachedAt time.Time
	// TTL bounds how stale a value may be when another instance changed it.
	TTL time.Duration
}

// New returns a Service.
func New(s *store.Store, box *secretbox.Box, cfg config.Config) *Service {
	svc := &Service{store: s, box: box, cfg: cfg, defs: map[string]Def{}, TTL: 2 * time.Second, boundTo: map[string][]string{}}
	svc.BindSecret(GetCourseAPIKey, GetCourseAPIURL, GetCourseAccount)
	svc.BindSecret(MailPassword, MailHost)
	for _, d := range defs() {
		svc.defs[d.Key] = d
		svc.order = append(svc.order, d.Key)
	}
	return svc
}

// Define adds a setting known only to the panel (no env variable), with its default.
func (s *Service) Define(key string, secret bool, def string) {
	if _, ok := s.defs[key]; !ok {
		s.order = append(s.order, key)
	}
	s.defs[key] = Def{Key: key, Secret: secret, fromConfig: func(config.Config) string { return def }}
}

// BindSecret says that secret is sent to the server the hosts settings name.
// Put then refuses to change a host while keeping the stored secret: an
// admin who points the connection test or the mail server at their own
// machine would otherwise receive the key they are not shown.
func (s *Service) BindSecret(secret string, hosts ...string) {
	s.boundTo[secret] = append(s.boundTo[secret], hosts...)
}

// Keys lists known keys in display order.
func (s *Service) Keys() []string { return append([]string(nil), s.order...) }

// IsKnown reports whether key is a defined setting.
func (s *Service) IsKnown(key string) bool { _, ok := s.defs[key]; return ok }

// IsSecret reports whether key holds a secret.
func (s *Service) IsSecret(key string) bool { return s.defs[key].Secret }

func (s *Service) stored(ctx context.Context) (map[string]store.Setting, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache != nil && time.Since(s.cachedAt) < s.TTL {
		return s.cache, nil
	}
	m, err := s.store.Settings(ctx)
	if err != nil {
		return nil, err
	}
	s.cache, s.cachedAt = m, time.Now()
	return m, nil
}

func (s *Service) invalidate() {
	s.mu.Lock()
	s.cache = nil
	s.mu.Unlock()
}

// Get resolves one setting.
func (s *Service) Get(ctx context.Context, key string) (Value, error) {
	d, ok := s.defs[key]
	if !ok {
		return Value{}, fmt.Errorf("%w %q", ErrUnknownKey, key)
	}
	m, err := s.stored(ctx)
	if err != nil {
		return Value{}, err
	}
	if st, ok := m[key]; ok {
		v := st.Value
		if st.Secret {
			if v, err = s.box.Open(st.Value); err != nil {
				return Value{}, fmt.Errorf("setting %s: %w", key, err)
			}
		}
		return Value{Key: key, Value: v, Source: config.SourcePanel, Secret: d.Secret}, nil
	}
	v := Value{Key: key, Value: d.fromConfig(s.cfg), Source: config.SourceDefault, Secret: d.Secret}
	if d.EnvVar != "" {
		if src, ok := s.cfg.Sources[d.EnvVar]; ok {
			v.Source = src
		}
	}
	return v, nil
}

// String resolves a setting's value, "" on error (the error is logged by callers that care).
func (s *Service) String(ctx context.Context, key string) string {
	v, _ := s.Get(ctx, key)
	return v.Value
}

// Int resolves an integer setting, with def when unset or unparseable.
func (s *Service) Int(ctx context.Context, key string, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(s.String(ctx, key)))
	if err != nil {
		return def
	}
	return n
}

// All resolves every known setting.
func (s *Service) All(ctx context.Context) ([]Value, error) {
	out := make([]Value, 0, len(s.order))
	for _, k := range s.order {
		v, err := s.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// ErrUnknownKey is returned for a key that is not a setting.
var ErrUnknownKey = errors.New("unknown setting")

// ErrInvalidValue is matched (errors.Is) by every refusal of a value in Put;
// the error's text names the setting and says, in Russian, what is wrong.
var ErrInvalidValue = errors.New("недопустимое значение настройки")

type invalidValue struct{ key, msg string }

func (e invalidValue) Error() string        { return e.key + ": " + e.msg }
func (e invalidValue) Is(target error) bool { return target == ErrInvalidValue }

// Refusal returns the setting and the Russian reason of a value Put
// refused, for a form to show beside the field.
func Refusal(err error) (key, message string, ok bool) {
	var iv invalidValue
	if errors.As(err, &iv) {
		return iv.key, iv.msg, true
	}
	return "", "", false
}

// Put saves panel values; keys not in values are left as they are, so saving
// one field never wipes another (the PHP version wiped the secret on save).
// A secret given as its mask (what Masked shows, sent back by a form or an
// API client) keeps the current secret; an empty value is stored as an
// explicit "empty" and Reset goes back to env/.env/default. Unknown keys and
// values Validate refuses fail the whole call (errors.Is ErrUnknownKey or
// ErrInvalidValue); nothing is saved then.
func (s *Service) Put(ctx context.Context, values map[string]string, by int64) error {
	save := map[string]string{}
	for k, v := range values {
		d, ok := s.defs[k]
		if !ok {
			return fmt.Errorf("%w: %s", ErrUnknownKey, k)
		}
		v = strings.TrimSpace(v)
		if d.Secret && strings.HasPrefix(v, maskPrefix) {
			continue
		}
		if err := Validate(k, v); err != nil {
			return invalidValue{k, err.Error()}
		}
		save[k] = v
	}
	if len(save) == 0 {
		return nil
	}
	if err := s.checkBound(ctx, save); err != nil {
		return err
	}
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		for k, v := range save {
			d := s.defs[k]
			st := store.Setting{Key: k, Value: v, Secret: d.Secret}
			if d.Secret {
				st.Value = s.box.Seal(v)
			}
			if err := tx.PutSetting(ctx, st, by); err != nil {
				return err
			}
		}
		return nil
	})
	s.invalidate()
	return err
}

// checkBound refuses a save that moves a stored secret to another host
// without the secret being entered again (BindSecret).
func (s *Service) checkBound(ctx context.Context, save map[string]string) error {
	for secret, hosts := range s.boundTo {
		if _, entered := save[secret]; entered {
			continue
		}
		cur, err := s.Get(ctx, secret)
		if err != nil {
			return err
		}
		if cur.Value == "" {
			continue
		}
		for _, h := range hosts {
			v, changing := save[h]
			if !changing {
				continue
			}
			old, err := s.Get(ctx, h)
			if err != nil {
				return err
			}
			if !strings.EqualFold(strings.TrimSpace(old.Value), v) {
				return invalidValue{secret, "Вы меняете адрес сервера, поэтому введите этот секрет заново: сохранённый секрет отправляется только на тот адрес, для которого его ввели."}
			}
		}
	}
	return nil
}

// Reset removes panel values so env/.env/default apply again. Only known
// settings can be reset: the table also holds internal rows.
func (s *Service) Reset(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if _, ok := s.defs[k]; !ok {
			return fmt.Errorf("%w: %s", ErrUnknownKey, k)
		}
	}
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		for _, k := range keys {
			if err := tx.DeleteSetting(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	s.invalidate()
	return err
}

// WebhookSecret is the secret webhooks are verified with; "" means unverified mode.
func (s *Service) WebhookSecret(ctx context.Context) (string, error) {
	v, err := s.Get(ctx, GetCourseWebhookSecret)
	return v.Value, err
}

// Location is the school time zone.
func (s *Service) Location(ctx context.Context) *time.Location {
	// LoadLocation("") is UTC, never the school's zone.
	if name := s.String(ctx, Timezone); name != "" {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc
		}
	}
	if s.cfg.Location != nil {
		return s.cfg.Location
	}
	return time.UTC
}

// DefaultLimit is the booking limit given to new students.
func (s *Service) DefaultLimit(ctx context.Context) int {
	n := s.Int(ctx, DefaultBookingLimit, 3)
	if n < 0 {
		return 3
	}
	return n
}
