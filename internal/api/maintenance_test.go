package api_test

import (
	"booksmeta"

	"context"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/apptest"
)

// TestMaintenanceRefusesBookingKeepsWebhooksAndAdmins: with maintenance
// mode on, POST /api/v1/bookings answers 409 "maintenance" with the
// school's message, while a payment webhook is answered 200 and processed
// and the admin API keeps working (the admin switches the mode off).
func TestMaintenanceRefusesBookingKeepsWebhooksAndAdmins(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	mkUser(t, s, "st@example.ru", booksmeta.RoleStudent, true)
	mkUser(t, s, "boss@example.ru", booksmeta.RoleAdmin, true)
	start := time.Now().Add(48 * time.Hour).Truncate(time.Hour)
	var slotID int64
	if err := s.DB.Write.QueryRow(`INSERT INTO slots (starts_at, ends_at, capacity, created_at, updated_at) VALUES ($1,$2,1,$3,$3) RETURNING id`,
		start.UnixMilli(), start.Add(time.Hour).UnixMilli(), time.Now().UnixMilli()).Scan(&slotID); err != nil {
		t.Fatal(err)
	}
	admin := newClient(t, s)
	admin.login("boss@example.ru", "password123")
	if st, m := admin.do("PATCH", "/api/v1/admin/settings", map[string]any{"maintenance_mode": "1",
		"maintenance_message": "Переустанавливаем сметную программу до 18:00."}); st != 200 {
		t.Fatalf("admin turns maintenance on: %d %v", st, m)
	}
	c := newClient(t, s)
	c.login("st@example.ru", "password123")
	st, m := c.do("POST", "/api/v1/bookings", map[string]any{"slot_id": slotID})
	if st != 409 || m["error"] != "maintenance" || !strings.Contains(m["message"].(string), "до 18:00") {
		t.Fatalf("booking in maintenance: %d %v", st, m)
	}
	status, body := s.Do(t, "POST", "/api/getcourse/webhook", map[string][]string{"Content-Type": {"application/json"}},
		`{"action":"user_payment","user":{"email":"paid-in-maintenance@example.ru","first_name":"Пётр"}}`)
	if status != 200 || !strings.Contains(body, `"success":true`) {
		t.Fatalf("webhook in maintenance: %d %s", status, body)
	}
	apptest.WaitFor(t, 5*time.Second, "payment processed during maintenance", func() bool {
		u, err := s.Store.UserByEmail(ctx, "paid-in-maintenance@example.ru")
		return err == nil && u.Paid && u.Active
	})
	if st, _ := admin.do("GET", "/api/v1/admin/bookings", nil); st != 200 {
		t.Fatalf("admin bookings list in maintenance: %d", st)
	}
	if st, m := admin.do("PATCH", "/api/v1/admin/settings", map[string]any{"maintenance_mode": "0"}); st != 200 {
		t.Fatalf("admin turns maintenance off: %d %v", st, m)
	}
	if st, m := c.do("POST", "/api/v1/bookings", map[string]any{"slot_id": slotID}); st != 201 {
		t.Fatalf("booking after maintenance: %d %v", st, m)
	}
}
