package audit

import (
	"booksmeta"

	"strings"
	"testing"
	"time"
)

func TestSettingsSummaryNeverQuotesASecret(t *testing.T) {
	declared := map[string]bool{"mail_password": true}
	got := SettingsSummary(map[string]string{
		"mail_password":     "hunter2-long-secret",
		"server_api_key":    "key-declared-as-plain-by-mistake", // name says secret: treated as one
		"school_name":       "Школа\nСметы  ",
		"max_advance_days":  "30",
		"maintenance_mode":  "",
		"access_ssh_preset": strings.Repeat("x", 200),
	}, func(k string) bool { return declared[k] })
	for _, secret := range []string{"hunter2", "key-declared"} {
		if strings.Contains(got, secret) {
			t.Fatalf("secret in %q", got)
		}
	}
	for _, want := range []string{"mail_password: изменено", "server_api_key: изменено", "school_name = «Школа Сметы»",
		"max_advance_days = «30»", "maintenance_mode = пусто", "…»"} {
		if !strings.Contains(got, want) {
			t.Fatalf("%q lacks %q", got, want)
		}
	}
	if SettingsSummary(nil, nil) != "" {
		t.Fatal("empty change worded")
	}
}

func TestUserChangesAndSlotChanges(t *testing.T) {
	before := &booksmeta.User{ID: 3, Email: "a@example.ru", Role: booksmeta.RoleStudent, Paid: true, Active: true, BookingLimit: 3, PasswordHash: "h1"}
	after := *before
	after.Role, after.PasswordHash = booksmeta.RoleAdmin, "h2"
	got := UserChanges(before, &after)
	if got != "Пользователь a@example.ru: роль: «ученик» → «администратор»; пароль: изменено." {
		t.Fatalf("user: %q", got)
	}
	if got := UserChanges(before, before); !strings.Contains(got, "изменений нет") {
		t.Fatalf("no change: %q", got)
	}
	loc, _ := time.LoadLocation("Europe/Moscow")
	start := time.Date(2026, 12, 3, 10, 0, 0, 0, loc)
	s1 := &booksmeta.Slot{StartsAt: start, EndsAt: start.Add(time.Hour), Capacity: 2, Active: true, ServerPassword: "sealed1"}
	s2 := *s1
	s2.Capacity, s2.ServerPassword = 3, "sealed2"
	got = SlotChanges(SlotUpdate, s1, &s2, 1, loc)
	if got != "Слот 03.12.2026 10:00–11:00: мест: «2» → «3»; логин и пароль слота: изменено; отменено бронирований: 1, ученики получили уведомления." {
		t.Fatalf("slot: %q", got)
	}
}
