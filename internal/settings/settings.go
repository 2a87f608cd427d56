// Package settings resolves a setting from, in order of precedence, the value
// saved in the admin panel, the environment, the .env file and the default,
// and stores panel values (secrets encrypted).
//
// Every setting is declared once, by the package that owns it, with Define:
// its type, default, secrecy and checks (Def), plus Relate for checks of
// several keys together. Put refuses what a definition refuses, whoever
// calls; the typed getters (String, Int, Minutes, Bool, Zone) return read
// errors instead of guessing. Which package defines which keys: this one its
// own (those with an environment variable, and webhook_log_keep_days);
// booking, schedule, backup and gcsync theirs, in their DefineSettings.
package settings

import (
	"context"
	"errors"
	"fmt"
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
	// ServerAPIURL and ServerAPIKey are the http access provider's
	// endpoint and key (SPEC §7); package grants defines the others.
	ServerAPIURL = "server_api_url"
	ServerAPIKey = "server_api_key"
	// SchoolName is the school's name in page titles, the header and every
	// mail; empty means the product's name (ProductName).
	SchoolName = "school_name"
)

// ProductName stands in for an unset SchoolName.
const ProductName = "Book Smeta"

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
	store     *store.Store
	box       *secretbox.Box
	cfg       config.Config
	defs      map[string]Def
	order     []string
	relations []relation

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
	for _, d := range ownDefs() {
		svc.Define(d)
	}
	return svc
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
		return Value{}, unknownKey(key)
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
	if d.envVar != "" {
		if src, ok := s.cfg.Sources[d.envVar]; ok {
			v.Source = src
		}
	}
	return v, nil
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

// Put saves panel values; keys not in values are left as they are, so saving
// one field never wipes another (the PHP version wiped the secret on save).
// Every value is checked against its definition (Def) and then the Relate
// checks that concern it; a refused value fails the whole call with a
// refusal per key (Refusal, Refusals; errors.Is ErrInvalidValue) and an
// unknown key with ErrUnknownKey, and nothing is saved then. A secret given
// as its mask (what Masked shows, sent back by a form or an API client)
// keeps the current secret; an empty value is stored as an explicit
// "empty" (the default applies to typed reads) and Reset goes back to
// env/.env/default.
func (s *Service) Put(ctx context.Context, values map[string]string, by int64) error {
	for k := range values {
		if _, ok := s.defs[k]; !ok {
			return unknownKey(k)
		}
	}
	save := map[string]string{}
	var refused []error
	// Definition order, so that the first refusal is the first field of a form.
	for _, k := range s.order {
		v, ok := values[k]
		if !ok {
			continue
		}
		if s.defs[k].Secret && strings.HasPrefix(strings.TrimSpace(v), maskPrefix) {
			continue
		}
		v, err := s.Validate(k, v)
		if err != nil {
			refused = append(refused, err)
			continue
		}
		save[k] = v
	}
	if len(refused) > 0 {
		return errors.Join(refused...)
	}
	if len(save) == 0 {
		return nil
	}
	for _, rel := range s.relations {
		if !touches(save, rel.keys) {
			continue
		}
		if err := rel.check(ctx, save); err != nil {
			return err
		}
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
			return unknownKey(k)
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

func touches(save map[string]string, keys []string) bool {
	for _, k := range keys {
		if _, ok := save[k]; ok {
			return true
		}
	}
	return false
}
