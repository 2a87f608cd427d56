package api_test

import (
	"booksmeta"

	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"booksmeta/internal/apptest"
	"booksmeta/internal/config"
	"booksmeta/internal/settings"

	"golang.org/x/crypto/ssh"
)

// TestEverySettingRefusesABadValue: every key the assembled program defines
// refuses a bad value through Settings.Put and through PATCH
// /api/v1/admin/settings, with the key and a Russian reason, and saves a
// good one. A new key without a row here fails the test: its definition
// must say what it refuses.
func TestEverySettingRefusesABadValue(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	mkUser(t, s, "boss@example.ru", booksmeta.RoleAdmin, true)
	admin := newClient(t, s)
	admin.login("boss@example.ru", "password123")

	long := strings.Repeat("я", 4001)
	privPEM, hostLine := sshKeys(t)
	// bad, good, and the good value as it is stored (a bool is kept as 1 or 0).
	table := map[string][3]string{
		settings.GetCourseAPIURL:        {"school.getcourse.ru", "https://school.getcourse.ru/pl/api", ""},
		settings.GetCourseAccount:       {"my school", "school", ""},
		settings.GetCourseAPIKey:        {"gc-key\n123", "gc-key-123", ""},
		settings.GetCourseWebhookSecret: {"short", "0123456789abcdef", ""},
		settings.WebhookLogKeepDays:     {"0", "30", ""},
		settings.DefaultBookingLimit:    {"-1", "5", ""},
		settings.Timezone:               {"Mars/Olympus", "Europe/Samara", ""},
		settings.MailHost:               {"smtp example.com", "smtp.example.com", ""},
		settings.MailPort:               {"0", "587", ""},
		settings.MailUsername:           {"user\nname", "school", ""},
		settings.MailPassword:           {"pass\x00word", "mail-password", ""},
		settings.MailEncryption:         {"ssl3", "starttls", ""},
		settings.MailFromEmail:          {"school@", "school@example.com", ""},
		settings.MailFromName:           {"Школа\r\nBcc: spy@example.com", "Школа", ""},
		settings.SlotDurationMinutes:    {"5", "45", ""},
		"server_host":                   {"rdp school.ru", "rdp.school.ru", ""},
		"server_login":                  {"stu\ndent", "student", ""},
		"server_password":               {"pa\nss", "Server-Pass-1", ""},
		"server_instructions":           {long, "Откройте «Подключение к удалённому рабочему столу».\nВведите адрес.", ""},
		"access_opens_minutes_before":   {"-5", "10", ""},
		"cancel_cutoff_minutes":         {"два часа", "60", ""},
		"reminder_minutes_before":       {"100000", "0", ""},
		"maintenance_mode":              {"abc", "да", "1"},
		"maintenance_message":           {strings.Repeat("я", 2001), "Идут работы до 18:00.", ""},
		"schedule_weekdays":             {"8", "1-5", ""},
		"schedule_from":                 {"25:00", "08:00", ""},
		"schedule_to":                   {"24:01", "18:00", ""},
		"slot_capacity":                 {"0", "2", ""},
		"schedule_weeks_ahead":          {"53", "4", ""},
		"backup_enabled":                {"maybe", "выкл", "0"},
		"backup_time":                   {"3 pm", "04:30", ""},
		"backup_keep":                   {"0", "10", ""},
		"backup_dir":                    {"", "data/backups-test", ""},
		"getcourse_sync_hours":          {"-1", "12", ""},
		"getcourse_sync_first_days":     {"0", "60", ""},
		"getcourse_developer_key":       {"dev key", "dev-key-1", ""},
		"access_end_reminder_days":      {"-1", "3", ""},
		settings.ServerAPIURL:           {"server.school.ru", "https://server.school.ru/booksmeta", ""},
		settings.ServerAPIKey:           {"key\nvalue", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", ""},
		"access_provider":               {"rdp", "ssh", ""},
		"access_ssh_host":               {"root@rdp.school.ru", "rdp.school.ru", ""},
		"access_ssh_port":               {"0", "2222", ""},
		"access_ssh_user":               {"boss man", "booksmeta", ""},
		"access_ssh_private_key":        {"-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----", privPEM, ""},
		"access_ssh_host_key":           {"ssh-ed25519 garbage", hostLine, ""},
		"access_ssh_preset":             {"macos", "linux", ""},
		"access_accounts":               {"Administrator", "stud01-stud05", ""},
		"school_name":                   {strings.Repeat("я", 101), "Школа сметчика", ""},
		"max_advance_days":              {"366", "30", ""},
		"mail_enabled":                  {"maybe", "да", "1"},
	}
	keys := s.Settings.Keys()
	for _, k := range keys {
		if _, ok := table[k]; !ok {
			t.Errorf("setting %s has no bad and good value in this table", k)
		}
	}
	if len(table) != len(keys) {
		t.Errorf("table has %d keys, the program defines %d", len(table), len(keys))
	}
	// In definition order: hosts come before the secrets bound to them, so
	// no save moves a stored secret to another host.
	for _, k := range keys {
		c := table[k]
		bad, good, stored := c[0], c[1], c[2]
		if stored == "" {
			stored = good
		}
		err := s.Settings.Put(ctx, map[string]string{k: bad}, 0)
		if key, msg, ok := settings.Refusal(err); !errors.Is(err, settings.ErrInvalidValue) || !ok || key != k || !cyrillic(msg) {
			t.Errorf("Put %s=%q: %v (refusal %q %q), want a Russian refusal of %s", k, bad, err, key, msg, k)
		}
		st, m := admin.do("PATCH", "/api/v1/admin/settings", map[string]string{k: bad})
		if msg, _ := m["message"].(string); st != 422 || m["error"] != "invalid" || m["field"] != k || !cyrillic(msg) {
			t.Errorf("PATCH %s=%q: %d %v, want 422 naming the field in Russian", k, bad, st, m)
		}
		if v, err := s.Settings.Get(ctx, k); err != nil || v.Source == config.SourcePanel {
			t.Errorf("%s: a refused value was saved: %+v %v", k, v, err)
		}
		if st, m := admin.do("PATCH", "/api/v1/admin/settings", map[string]string{k: good}); st != 200 {
			t.Errorf("PATCH %s=%q: %d %v", k, good, st, m)
			continue
		}
		if v, err := s.Settings.Get(ctx, k); err != nil || v.Value != stored || v.Source != config.SourcePanel {
			t.Errorf("%s after a good PATCH: %+v %v, want %q from the panel", k, v, err, stored)
		}
	}
	// Several refusals at once name every field.
	err := s.Settings.Put(ctx, map[string]string{"slot_capacity": "0", "backup_keep": "0", settings.MailHost: "ok.example.com"}, 0)
	if got := settings.Refusals(err); len(got) != 2 || got["slot_capacity"] == "" || got["backup_keep"] == "" {
		t.Errorf("Refusals: %v", got)
	}
	// The working day as a whole is checked by Put too, for every caller.
	if st, m := admin.do("PATCH", "/api/v1/admin/settings", map[string]string{"schedule_from": "19:00"}); st != 422 || m["field"] != "schedule_from" ||
		!strings.Contains(m["message"].(string), "раньше конца") {
		t.Errorf("PATCH a day that ends before it starts: %d %v", st, m)
	}
}

func cyrillic(s string) bool {
	return strings.ContainsAny(s, "абвгдеёжзийклмнопрстуфхцчшщъыьэюя")
}

// sshKeys makes a private key as an admin pastes it and a host key line.
func sshKeys(t *testing.T) (privPEM, hostLine string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	hostPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := ssh.NewPublicKey(hostPub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(pem.EncodeToMemory(block))), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
}
