package settings_test

import (
	"booksmeta"

	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"booksmeta/internal/config"
	"booksmeta/internal/dbtest"
	"booksmeta/internal/secretbox"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

type fixture struct {
	st  *store.Store
	box *secretbox.Box
	svc *settings.Service
	ctx context.Context
}

// newFixture loads config from env and a .env body the way the program does
// and builds a Service over a fresh database.
func newFixture(t *testing.T, env map[string]string, dotenv string) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, []byte(dotenv), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(func(k string) string { return env[k] }, path)
	if err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New("settings-test-key")
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(dbtest.Open(t))
	return &fixture{st: st, box: box, svc: settings.New(st, box, cfg), ctx: context.Background()}
}

func (f *fixture) get(t *testing.T, key string) settings.Value {
	t.Helper()
	v, err := f.svc.Get(f.ctx, key)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	return v
}

func (f *fixture) put(t *testing.T, kv map[string]string) {
	t.Helper()
	if err := f.svc.Put(f.ctx, kv, 0); err != nil {
		t.Fatalf("Put %v: %v", kv, err)
	}
}

// rawRow reads the settings table directly, bypassing the service.
func (f *fixture) rawRow(t *testing.T, key string) (value string, secret, ok bool) {
	t.Helper()
	err := f.st.DB().Read.QueryRowContext(f.ctx, "SELECT value, secret FROM settings WHERE key = $1", key).Scan(&value, &secret)
	if err != nil {
		if strings.Contains(err.Error(), "no rows") {
			return "", false, false
		}
		t.Fatal(err)
	}
	return value, secret, true
}

func TestPrecedencePanelEnvDotenvDefault(t *testing.T) {
	t.Parallel()
	f := newFixture(t,
		map[string]string{"MAIL_HOST": "smtp.env.example", "GETCOURSE_SECRET_KEY": "env-api-key-0123456789"},
		"MAIL_HOST=smtp.dotenv.example\nMAIL_USERNAME=dot-user\nAPP_TIMEZONE=Asia/Omsk\n")

	cases := []struct {
		key    string
		value  string
		source config.Source
	}{
		{settings.MailHost, "smtp.env.example", config.SourceEnv},
		{settings.MailUsername, "dot-user", config.SourceDotenv},
		{settings.Timezone, "Asia/Omsk", config.SourceDotenv},
		{settings.GetCourseAPIKey, "env-api-key-0123456789", config.SourceEnv},
		{settings.MailFromName, "", config.SourceDefault},
		{settings.DefaultBookingLimit, "3", config.SourceDefault},
		{settings.SlotDurationMinutes, "60", config.SourceDefault},
		{settings.MailPort, "", config.SourceDefault},
	}
	for _, c := range cases {
		if v := f.get(t, c.key); v.Value != c.value || v.Source != c.source {
			t.Errorf("%s = %q from %s, want %q from %s", c.key, v.Value, v.Source, c.value, c.source)
		}
	}
	if loc := f.svc.Location(f.ctx); loc.String() != "Asia/Omsk" {
		t.Errorf("Location %v", loc)
	}
	if n, err := f.svc.DefaultLimit(f.ctx); err != nil || n != 3 {
		t.Errorf("DefaultLimit %d %v", n, err)
	}

	f.put(t, map[string]string{settings.MailHost: " smtp.panel.example ", settings.MailUsername: "panel-user",
		settings.Timezone: "Europe/Kaliningrad", settings.DefaultBookingLimit: "7"})
	for key, want := range map[string]string{settings.MailHost: "smtp.panel.example", settings.MailUsername: "panel-user",
		settings.Timezone: "Europe/Kaliningrad", settings.DefaultBookingLimit: "7"} {
		if v := f.get(t, key); v.Value != want || v.Source != config.SourcePanel {
			t.Errorf("after Put %s = %q from %s, want %q from panel", key, v.Value, v.Source, want)
		}
	}
	if loc := f.svc.Location(f.ctx); loc.String() != "Europe/Kaliningrad" {
		t.Errorf("Location %v", loc)
	}
	if n, err := f.svc.DefaultLimit(f.ctx); err != nil || n != 7 {
		t.Errorf("DefaultLimit %d %v", n, err)
	}
	if n, err := f.svc.Int(f.ctx, settings.DefaultBookingLimit); err != nil || n != 7 {
		t.Errorf("Int %d %v", n, err)
	}
	if s, err := f.svc.String(f.ctx, settings.MailHost); err != nil || s != "smtp.panel.example" {
		t.Errorf("String %q %v", s, err)
	}

	// Reset goes back to env, .env and default in turn.
	if err := f.svc.Reset(f.ctx, settings.MailHost, settings.MailUsername, settings.Timezone, settings.DefaultBookingLimit); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases[:4] {
		if v := f.get(t, c.key); v.Value != c.value || v.Source != c.source {
			t.Errorf("after Reset %s = %q from %s, want %q from %s", c.key, v.Value, v.Source, c.value, c.source)
		}
	}
	if _, _, ok := f.rawRow(t, settings.MailHost); ok {
		t.Error("Reset left the row in the table")
	}
}

func TestAllListsEveryKeyInOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, "")
	f.svc.Define(settings.Def{Key: "server_password", Secret: true})
	f.svc.Define(settings.Def{Key: "cancel_cutoff_minutes", Type: settings.Number, Default: "120", Max: 1000})
	all, err := f.svc.All(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	keys := f.svc.Keys()
	if len(all) != len(keys) || len(keys) < 16 {
		t.Fatalf("All has %d values for %d keys", len(all), len(keys))
	}
	for i, v := range all {
		if v.Key != keys[i] {
			t.Fatalf("All[%d] = %s, Keys[%d] = %s", i, v.Key, i, keys[i])
		}
	}
	if keys[len(keys)-1] != "cancel_cutoff_minutes" {
		t.Errorf("defined keys come last: %v", keys)
	}
	if v := f.get(t, "cancel_cutoff_minutes"); v.Value != "120" || v.Source != config.SourceDefault {
		t.Errorf("defined default %+v", v)
	}
	if !f.svc.IsKnown("server_password") || !f.svc.IsSecret("server_password") || f.svc.IsSecret("cancel_cutoff_minutes") {
		t.Error("IsKnown/IsSecret for defined keys")
	}
	for _, k := range []string{settings.GetCourseAPIKey, settings.GetCourseWebhookSecret, settings.MailPassword} {
		if !f.svc.IsSecret(k) {
			t.Errorf("%s must be secret", k)
		}
	}
	if f.svc.IsSecret(settings.MailUsername) || f.svc.IsKnown("nope") {
		t.Error("IsSecret/IsKnown")
	}
	// Redefining keeps one entry.
	f.svc.Define(settings.Def{Key: "cancel_cutoff_minutes", Type: settings.Number, Default: "60", Max: 1000})
	if len(f.svc.Keys()) != len(keys) {
		t.Error("Define twice added a key twice")
	}
}

func TestSecretsStoredEncrypted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, "GETCOURSE_WEBHOOK_SECRET=dotenv-webhook-secret\n")
	const apiKey = "gc-API-key-7f3a9c1e5b2d4f6a8c0e"
	const webhook = "panel-webhook-secret-9f2c4e6a8b0d1f3e"
	const mailPw = "Пароль-для-почты-2024"
	f.put(t, map[string]string{settings.GetCourseAPIKey: apiKey, settings.GetCourseWebhookSecret: webhook,
		settings.MailPassword: mailPw, settings.MailUsername: "plain-user"})

	for key, plain := range map[string]string{settings.GetCourseAPIKey: apiKey, settings.GetCourseWebhookSecret: webhook, settings.MailPassword: mailPw} {
		raw, secret, ok := f.rawRow(t, key)
		if !ok || !secret {
			t.Fatalf("%s: row present %v, secret flag %v", key, ok, secret)
		}
		if raw == "" || strings.Contains(raw, plain) || strings.Contains(raw, plain[len(plain)-8:]) {
			t.Errorf("%s stored as %q: plaintext visible", key, raw)
		}
		v := f.get(t, key)
		if v.Value != plain || v.Source != config.SourcePanel || !v.Secret {
			t.Errorf("%s read back as %+v", key, v)
		}
		// Decrypting with another key fails loudly rather than returning garbage.
		other, _ := secretbox.New("another-key")
		if _, err := other.Open(raw); err == nil {
			t.Errorf("%s opened with the wrong key", key)
		}
	}
	if raw, secret, _ := f.rawRow(t, settings.MailUsername); raw != "plain-user" || secret {
		t.Errorf("non-secret stored as %q secret=%v", raw, secret)
	}
	if s, err := f.svc.WebhookSecret(f.ctx); err != nil || s != webhook {
		t.Errorf("WebhookSecret %q %v", s, err)
	}

	// A fresh service over the same table (another instance, a restart) reads them too.
	cfg, _ := config.Load(func(string) string { return "" }, "")
	again := settings.New(f.st, f.box, cfg)
	if v, err := again.Get(f.ctx, settings.GetCourseAPIKey); err != nil || v.Value != apiKey {
		t.Errorf("fresh service: %+v %v", v, err)
	}
	// With the wrong key a secret is an error, not a wrong value.
	wrong, _ := secretbox.New("not-the-key")
	if _, err := settings.New(f.st, wrong, cfg).Get(f.ctx, settings.GetCourseAPIKey); err == nil {
		t.Error("wrong key gave no error")
	}
}

func TestMasked(t *testing.T) {
	t.Parallel()
	cases := []struct {
		v    settings.Value
		want string
	}{
		{settings.Value{Value: "abcdef0123456789XYZW", Secret: true}, "••••••••"},
		{settings.Value{Value: "short", Secret: true}, "••••••••"},
		{settings.Value{Value: "", Secret: true}, ""},
		{settings.Value{Value: "smtp.example.ru", Secret: false}, "smtp.example.ru"},
		{settings.Value{Value: "длинный-секретный-пароль-почты", Secret: true}, "••••••••"},
	}
	for _, c := range cases {
		got := c.v.Masked()
		if got != c.want {
			t.Errorf("Masked(%q) = %q, want %q", c.v.Value, got, c.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Masked(%q) is not valid UTF-8", c.v.Value)
		}
		if c.v.Secret && len(c.v.Value) >= 8 && strings.Contains(got, c.v.Value[:8]) {
			t.Errorf("Masked(%q) reveals the start", c.v.Value)
		}
	}
}

func TestPutOneKeyNeverWipesAnother(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, "")
	const key = "key-0123456789abcdef-0123"
	f.put(t, map[string]string{settings.GetCourseAPIKey: key, settings.GetCourseWebhookSecret: "webhook-secret-value-1234", settings.GetCourseAccount: "school"})
	f.put(t, map[string]string{settings.MailFromName: "Школа"})
	f.put(t, map[string]string{settings.MailHost: "smtp.example.ru"})
	f.put(t, map[string]string{settings.GetCourseAccount: "school2", settings.GetCourseAPIKey: key})
	if v := f.get(t, settings.GetCourseAPIKey); v.Value != key || v.Source != config.SourcePanel {
		t.Fatalf("API key after saving other fields: %+v", v)
	}
	if v := f.get(t, settings.GetCourseWebhookSecret); v.Value != "webhook-secret-value-1234" {
		t.Fatalf("webhook secret after saving other fields: %+v", v)
	}
	if v := f.get(t, settings.GetCourseAccount); v.Value != "school2" {
		t.Fatalf("account %+v", v)
	}

	// A form or API client that sends the settings back as it got them —
	// secrets masked — keeps the secrets.
	masked := f.get(t, settings.GetCourseAPIKey).Masked()
	f.put(t, map[string]string{settings.GetCourseAPIKey: masked, settings.GetCourseWebhookSecret: "••••••••", settings.MailFromName: "Школа 3"})
	if v := f.get(t, settings.GetCourseAPIKey); v.Value != key {
		t.Fatalf("API key replaced by its mask: %q", v.Value)
	}
	if v := f.get(t, settings.GetCourseWebhookSecret); v.Value != "webhook-secret-value-1234" {
		t.Fatalf("webhook secret replaced by a mask: %q", v.Value)
	}
	if v := f.get(t, settings.MailFromName); v.Value != "Школа 3" {
		t.Fatalf("mail from name %+v", v)
	}
	// Clearing on purpose stores an explicit empty value (the panel's
	// "очистить"), shown as coming from the panel; Reset brings env back.
	g := newFixture(t, map[string]string{"GETCOURSE_WEBHOOK_SECRET": "env-webhook-secret"}, "")
	g.put(t, map[string]string{settings.GetCourseWebhookSecret: ""})
	if v := g.get(t, settings.GetCourseWebhookSecret); v.Value != "" || v.Source != config.SourcePanel {
		t.Fatalf("cleared secret %+v", v)
	}
	if err := g.svc.Reset(g.ctx, settings.GetCourseWebhookSecret); err != nil {
		t.Fatal(err)
	}
	if v := g.get(t, settings.GetCourseWebhookSecret); v.Value != "env-webhook-secret" || v.Source != config.SourceEnv {
		t.Fatalf("after Reset %+v", v)
	}
	// A non-secret may be cleared the same way: "" from the panel wins over .env.
	h := newFixture(t, nil, "MAIL_USERNAME=dot-user\n")
	h.put(t, map[string]string{settings.MailUsername: ""})
	if v := h.get(t, settings.MailUsername); v.Value != "" || v.Source != config.SourcePanel {
		t.Fatalf("cleared non-secret %+v", v)
	}
}

func TestUnknownKeyRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, "")
	err := f.svc.Put(f.ctx, map[string]string{settings.MailHost: "h", "is_admin": "1"}, 0)
	if !errors.Is(err, settings.ErrUnknownKey) || !strings.Contains(err.Error(), "is_admin") {
		t.Fatalf("Put unknown: %v", err)
	}
	// Nothing of a refused Put is saved.
	if v := f.get(t, settings.MailHost); v.Source == config.SourcePanel {
		t.Fatal("refused Put saved part of its values")
	}
	if _, err := f.svc.Get(f.ctx, "is_admin"); !errors.Is(err, settings.ErrUnknownKey) {
		t.Fatalf("Get unknown: %v", err)
	}
	// Internal rows share the table; the panel must not be able to touch them.
	if err := f.st.InTx(f.ctx, func(tx *store.Tx) error {
		return tx.PutSetting(f.ctx, store.Setting{Key: "_key_check", Value: "x"}, 0)
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Reset(f.ctx, "_key_check"); !errors.Is(err, settings.ErrUnknownKey) {
		t.Fatalf("Reset of an internal key: %v", err)
	}
	if _, _, ok := f.rawRow(t, "_key_check"); !ok {
		t.Fatal("Reset deleted an internal row")
	}
	if err := f.svc.Put(f.ctx, map[string]string{"_key_check": "y"}, 0); !errors.Is(err, settings.ErrUnknownKey) {
		t.Fatalf("Put of an internal key: %v", err)
	}
}

func TestInvalidValuesRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, "")
	bad := []map[string]string{
		{settings.Timezone: "Mars/Olympus"},
		{settings.GetCourseWebhookSecret: "has a space in it"},
		{settings.MailPort: "abc"},
		{settings.MailPort: "70000"},
		{settings.DefaultBookingLimit: "-2"},
		{settings.DefaultBookingLimit: "много"},
		{settings.SlotDurationMinutes: "5"},
		{settings.MailHost: "smtp.ok.ru", settings.Timezone: "Nowhere"},
	}
	for _, kv := range bad {
		err := f.svc.Put(f.ctx, kv, 0)
		if !errors.Is(err, settings.ErrInvalidValue) {
			t.Errorf("Put %v: %v, want ErrInvalidValue", kv, err)
			continue
		}
		for k := range kv {
			if k != settings.MailHost && !strings.Contains(err.Error(), k+": ") {
				t.Errorf("error %q does not name %s", err, k)
			}
		}
	}
	all, err := f.svc.All(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range all {
		if v.Source == config.SourcePanel {
			t.Errorf("refused value saved: %+v", v)
		}
	}
	f.put(t, map[string]string{settings.MailPort: "587", settings.Timezone: "Asia/Vladivostok", settings.DefaultBookingLimit: "0"})
	if n, err := f.svc.Int(f.ctx, settings.MailPort); err != nil || n != 587 {
		t.Errorf("mail port %d %v", n, err)
	}
	if n, _ := f.svc.DefaultLimit(f.ctx); n != 0 {
		t.Errorf("limit 0 should be allowed, got %d", n)
	}
	if loc := f.svc.Location(f.ctx); loc.String() != "Asia/Vladivostok" {
		t.Errorf("Location %v", loc)
	}
	// An emptied time zone means the configured one, never UTC.
	f.put(t, map[string]string{settings.Timezone: ""})
	if loc := f.svc.Location(f.ctx); loc.String() != "Europe/Moscow" {
		t.Errorf("Location after clearing the zone: %v, want the configured Europe/Moscow", loc)
	}
}

func TestCacheInvalidatedByPut(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, "")
	f.svc.TTL = time.Hour // only invalidation can refresh
	if v := f.get(t, settings.MailHost); v.Source != config.SourceDefault {
		t.Fatalf("%+v", v)
	}
	f.put(t, map[string]string{settings.MailHost: "one"})
	if v := f.get(t, settings.MailHost); v.Value != "one" {
		t.Fatalf("after Put: %+v", v)
	}
	f.put(t, map[string]string{settings.MailHost: "two"})
	if v := f.get(t, settings.MailHost); v.Value != "two" {
		t.Fatalf("after second Put: %+v", v)
	}
	if err := f.svc.Reset(f.ctx, settings.MailHost); err != nil {
		t.Fatal(err)
	}
	if v := f.get(t, settings.MailHost); v.Value != "" || v.Source != config.SourceDefault {
		t.Fatalf("after Reset: %+v", v)
	}

	// Another instance's change shows once the TTL passes, not before.
	other := settings.New(f.st, f.box, config.Config{})
	if err := other.Put(f.ctx, map[string]string{settings.MailHost: "from-other-instance"}, 0); err != nil {
		t.Fatal(err)
	}
	if v := f.get(t, settings.MailHost); v.Value != "" {
		t.Fatalf("cache ignored its TTL: %+v", v)
	}
	f.svc.TTL = 0
	if v := f.get(t, settings.MailHost); v.Value != "from-other-instance" {
		t.Fatalf("after TTL: %+v", v)
	}
}

func TestConcurrentPutsOfDifferentKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, "")
	want := map[string]string{
		settings.MailHost:               "smtp.example.ru",
		settings.MailUsername:           "user",
		settings.MailFromName:           "Школа",
		settings.MailFromEmail:          "noreply@example.ru",
		settings.GetCourseAccount:       "school",
		settings.GetCourseAPIURL:        "https://school.getcourse.ru/pl/api",
		settings.GetCourseWebhookSecret: "webhook-secret-concurrent-0123",
	}
	var wg sync.WaitGroup
	for k, v := range want {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.svc.Put(f.ctx, map[string]string{k: v}, 0); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for k, v := range want {
		if got := f.get(t, k); got.Value != v {
			t.Errorf("%s = %q, want %q", k, got.Value, v)
		}
	}
}

func TestPutRecordsWhoChanged(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, "")
	var uid int64
	err := f.st.InTx(f.ctx, func(tx *store.Tx) error {
		u := &booksmeta.User{Email: "admin@example.ru", Role: booksmeta.RoleSuperAdmin, Active: true}
		err := tx.InsertUser(f.ctx, u)
		uid = u.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Put(f.ctx, map[string]string{settings.MailHost: "h"}, uid); err != nil {
		t.Fatal(err)
	}
	var by int64
	if err := f.st.DB().Read.QueryRowContext(f.ctx, "SELECT updated_by FROM settings WHERE key = $1", settings.MailHost).Scan(&by); err != nil || by != uid {
		t.Fatalf("updated_by %d %v, want %d", by, err, uid)
	}
}

// TestSecretBoundToItsHost: an admin who cannot see a stored secret must not
// be able to send it to a server of their choice by changing the address
// it goes to (issue 13): the change needs the secret entered again.
func TestSecretBoundToItsHost(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, "")
	f.put(t, map[string]string{settings.GetCourseAccount: "school", settings.GetCourseAPIKey: "key-0123456789abcdef",
		settings.MailHost: "smtp.example.ru", settings.MailPassword: "mail-password-1"})
	for _, change := range []map[string]string{
		{settings.GetCourseAccount: "evil"},
		{settings.GetCourseAPIURL: "https://evil.example.com/pl/api"},
		{settings.GetCourseAPIKey: "••••••••", settings.GetCourseAPIURL: "https://evil.example.com/pl/api"},
		{settings.MailHost: "smtp.evil.example.com"},
	} {
		err := f.svc.Put(f.ctx, change, 0)
		if !errors.Is(err, settings.ErrInvalidValue) || !strings.Contains(err.Error(), "введите этот секрет заново") {
			t.Errorf("Put %v: %v, want a refusal asking for the secret", change, err)
		}
	}
	if v := f.get(t, settings.GetCourseAccount); v.Value != "school" {
		t.Fatalf("the refused change was saved: %+v", v)
	}
	// The same host again, or a new host with the secret re-entered, is fine.
	f.put(t, map[string]string{settings.GetCourseAccount: "school", settings.MailHost: "SMTP.example.ru"})
	f.put(t, map[string]string{settings.MailHost: "smtp.new.example.ru", settings.MailPassword: "mail-password-2"})
	if v := f.get(t, settings.MailPassword); v.Value != "mail-password-2" {
		t.Fatalf("mail password %+v", v)
	}
}
