package api_test

import (
	"booksmeta"

	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/apptest"
	"booksmeta/internal/audit"
	"booksmeta/internal/store"
)

func trail(t *testing.T, s *apptest.Server, f store.AuditFilter) []*store.AuditEntry {
	t.Helper()
	f.Limit = 500
	rows, _, err := s.Store.ListAudit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestAPISettingsAndUsersRecorded(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	admin := mkUser(t, s, "boss@example.ru", booksmeta.RoleAdmin, false)
	st := mkUser(t, s, "st@example.ru", booksmeta.RoleStudent, true)
	c := newClient(t, s)
	c.login("boss@example.ru", "password123")
	const secret = "api-secret-key-for-mail-0123"
	if code, m := c.do("PATCH", "/api/v1/admin/settings", map[string]string{"mail_password": secret, "mail_from_name": "Школа Смета"}); code != 200 {
		t.Fatalf("patch settings: %d %v", code, m)
	}
	rows := trail(t, s, store.AuditFilter{Action: audit.SettingUpdate})
	if len(rows) != 1 || rows[0].Actor != admin.ID || !strings.Contains(rows[0].Summary, "mail_password: изменено") ||
		!strings.Contains(rows[0].Summary, "mail_from_name = «Школа Смета»") || strings.Contains(rows[0].Summary, secret) {
		t.Fatalf("settings entry: %+v", rows)
	}
	if code, m := c.do("PATCH", "/api/v1/admin/users/"+strconv.FormatInt(st.ID, 10), map[string]any{"booking_limit": 7, "paid": false}); code != 200 {
		t.Fatalf("patch user: %d %v", code, m)
	}
	rows = trail(t, s, store.AuditFilter{Action: audit.UserUpdate})
	if len(rows) != 1 || rows[0].Target != audit.User(st.ID) || !strings.Contains(rows[0].Summary, "лимит бронирований: «3» → «7»") ||
		!strings.Contains(rows[0].Summary, "оплачен: «да» → «нет»") {
		t.Fatalf("user entry: %+v", rows)
	}
	if rows := trail(t, s, store.AuditFilter{Action: audit.LoginOK}); len(rows) != 1 || rows[0].Actor != admin.ID {
		t.Fatalf("sign-in entry: %+v", rows)
	}
}

func TestAPIAdminNoteAndDeleteBooking(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	mkUser(t, s, "boss@example.ru", booksmeta.RoleAdmin, false)
	st := mkUser(t, s, "st@example.ru", booksmeta.RoleStudent, true)
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	var slotID int64
	if err := s.DB.Write.QueryRow(`INSERT INTO slots (starts_at, ends_at, capacity, created_at, updated_at) VALUES ($1,$2,2,$3,$3) RETURNING id`,
		start.UnixMilli(), start.Add(time.Hour).UnixMilli(), time.Now().UnixMilli()).Scan(&slotID); err != nil {
		t.Fatal(err)
	}
	b, err := s.Booking.Book(context.Background(), st.ID, slotID)
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/admin/bookings/" + strconv.FormatInt(b.ID, 10)
	c := newClient(t, s)
	c.login("boss@example.ru", "password123")
	code, m := c.do("PATCH", path, map[string]any{"notes": "Нужен второй монитор"})
	if code != 200 || m["notes"] != "Нужен второй монитор" || m["status"] != "active" {
		t.Fatalf("patch: %d %v", code, m)
	}
	_, m = c.do("GET", "/api/v1/admin/bookings", nil)
	if bs := m["bookings"].([]any); len(bs) != 1 || bs[0].(map[string]any)["notes"] != "Нужен второй монитор" {
		t.Fatalf("list: %v", m)
	}
	if code, m := c.do("PATCH", path, map[string]any{"notes": strings.Repeat("я", 1001)}); code != 422 || m["field"] != "notes" {
		t.Fatalf("long note: %d %v", code, m)
	}
	code, m = c.do("DELETE", path, map[string]any{"reason": "Сервер переезжает"})
	if code != 200 || m["deleted"] != true || m["student_notified"] != true {
		t.Fatalf("delete: %d %v", code, m)
	}
	if _, err := s.Store.BookingByID(context.Background(), b.ID); err != store.ErrNotFound {
		t.Fatalf("still there: %v", err)
	}
	ns, _ := s.Store.NoticesByUser(context.Background(), st.ID, 5)
	if len(ns) == 0 || !strings.Contains(ns[0].Body, "Сервер переезжает") {
		t.Fatalf("notice: %+v", ns)
	}
	rows := trail(t, s, store.AuditFilter{Target: audit.Booking(b.ID)})
	if len(rows) != 2 || rows[0].Action != audit.BookingDelete || !strings.Contains(rows[0].Summary, "st@example.ru") ||
		rows[1].Action != audit.BookingUpdate {
		t.Fatalf("trail: %+v", rows)
	}
	if code, m := c.do("DELETE", path, nil); code != 404 {
		t.Fatalf("delete again: %d %v", code, m)
	}
}

func TestAPIAuditList(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	admin := mkUser(t, s, "boss@example.ru", booksmeta.RoleAdmin, false)
	mkUser(t, s, "st@example.ru", booksmeta.RoleStudent, true)
	ctx := context.Background()
	if err := s.Audit.Record(ctx, audit.System(audit.AccessGrant, audit.Booking(5), "Доступ выдан: stud01.")); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s)
	c.login("boss@example.ru", "password123")
	code, m := c.do("GET", "/api/v1/admin/audit?kind=access.", nil)
	es, _ := m["entries"].([]any)
	if code != 200 || m["total"].(float64) != 1 || len(es) != 1 {
		t.Fatalf("list: %d %v", code, m)
	}
	e := es[0].(map[string]any)
	if e["action"] != audit.AccessGrant || e["label"] != "выдача доступа к серверу" || e["actor"].(float64) != 0 || e["target"] != "booking:5" {
		t.Fatalf("entry: %v", e)
	}
	_, m = c.do("GET", "/api/v1/admin/audit?actor="+strconv.FormatInt(admin.ID, 10), nil)
	if es := m["entries"].([]any); len(es) != 1 || es[0].(map[string]any)["action"] != audit.LoginOK {
		t.Fatalf("by actor: %v", m)
	}
	if code, _ := c.do("GET", "/api/v1/admin/audit?from=02.12.2026", nil); code != 400 {
		t.Fatalf("bad date: %d", code)
	}
	st := newClient(t, s)
	st.login("st@example.ru", "password123")
	if code, _ := st.do("GET", "/api/v1/admin/audit", nil); code != 403 {
		t.Fatalf("student: %d", code)
	}
}
