package settings

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The typed getters return an error rather than a guess: a failed read (the
// database, a secret that no longer decrypts) or a value its definition
// refuses (saved before the definition said so, or set in .env) must not
// quietly become "" or the default — an empty server password shown to a
// student, or "maintenance off" while it is on. An empty value means the
// default. A Number or Bool that cannot be read as one is an error; a
// Text is returned as it is (its Check guards what is saved).

// resolved is key's value after the default, checked against its definition.
func (s *Service) resolved(ctx context.Context, key string) (Def, string, error) {
	v, err := s.Get(ctx, key)
	if err != nil {
		return Def{}, "", err
	}
	d := s.defs[key]
	raw := strings.TrimSpace(v.Value)
	if raw == "" {
		raw = strings.TrimSpace(d.fromConfig(s.cfg))
	}
	if d.Type == Text {
		// Check guards what is saved; a text read as it is stays usable
		// (a short webhook secret from an old .env still verifies).
		return d, raw, nil
	}
	typed := d
	typed.Check, typed.Required = nil, false
	out, msg := typed.check(raw)
	if msg != "" {
		return d, "", fmt.Errorf("setting %s: the value %q from %s cannot be read as its type (%s); correct it in the admin panel", key, raw, v.Source, msg)
	}
	return d, out, nil
}

// String is a setting's value, trimmed, the default when empty.
func (s *Service) String(ctx context.Context, key string) (string, error) {
	_, v, err := s.resolved(ctx, key)
	return v, err
}

// Int is a Number setting's value; 0 when neither it nor its default is set
// (a mail port left to the encryption's usual one).
func (s *Service) Int(ctx context.Context, key string) (int, error) {
	_, v, err := s.resolved(ctx, key)
	if err != nil || v == "" {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("setting %s: %q is not a number", key, v)
	}
	return n, nil
}

// Minutes is a Number setting counted in minutes, as a duration.
func (s *Service) Minutes(ctx context.Context, key string) (time.Duration, error) {
	n, err := s.Int(ctx, key)
	return time.Duration(n) * time.Minute, err
}

// Bool is a Bool setting's value; false when neither it nor its default is set.
func (s *Service) Bool(ctx context.Context, key string) (bool, error) {
	_, v, err := s.resolved(ctx, key)
	if err != nil || v == "" {
		return false, err
	}
	b, _ := ParseBool(v) // resolved has normalised it to "1" or "0"
	return b, nil
}

// Zone is the school time zone: the timezone setting, else the configured
// zone, else UTC.
func (s *Service) Zone(ctx context.Context) (*time.Location, error) {
	name, err := s.String(ctx, Timezone)
	if err != nil {
		return nil, err
	}
	// LoadLocation("") is UTC, never the school's zone.
	if name != "" {
		return time.LoadLocation(name)
	}
	if s.cfg.Location != nil {
		return s.cfg.Location, nil
	}
	return time.UTC, nil
}

// Location is Zone for showing times on pages and in messages: when the
// zone cannot be read it falls back to the configured zone (then UTC)
// instead of failing the page, because a time shown in the wrong zone says
// which zone it is in and nothing is saved from it. Code that turns a
// school wall time into an instant, or schedules by it, uses Zone.
func (s *Service) Location(ctx context.Context) *time.Location {
	if loc, err := s.Zone(ctx); err == nil {
		return loc
	}
	if s.cfg.Location != nil {
		return s.cfg.Location
	}
	return time.UTC
}

// DefaultLimit is the booking limit given to new students.
func (s *Service) DefaultLimit(ctx context.Context) (int, error) {
	return s.Int(ctx, DefaultBookingLimit)
}

// WebhookSecret is the secret webhooks are verified with; "" means unverified mode.
func (s *Service) WebhookSecret(ctx context.Context) (string, error) {
	v, err := s.Get(ctx, GetCourseWebhookSecret)
	return v.Value, err
}

// School is the school's name for pages and mail: SchoolName, else
// ProductName (also when the setting cannot be read, a name is never
// worth failing a page or a mail for).
func (s *Service) School(ctx context.Context) string {
	if s == nil {
		return ProductName
	}
	if v, err := s.Get(ctx, SchoolName); err == nil && strings.TrimSpace(v.Value) != "" {
		return strings.TrimSpace(v.Value)
	}
	return ProductName
}
