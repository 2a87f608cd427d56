package api_test

import (
	"booksmeta"

	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/apptest"
)

func TestAdminSlotsAPI(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	mkUser(t, s, "admin@example.ru", booksmeta.RoleAdmin, false)
	mkUser(t, s, "st1@example.ru", booksmeta.RoleStudent, true)
	mkUser(t, s, "st2@example.ru", booksmeta.RoleStudent, true)
	adm := newClient(t, s)
	adm.login("admin@example.ru", "password123")
	loc, _ := time.LoadLocation("Europe/Moscow")
	day := time.Now().In(loc).AddDate(0, 0, 3)
	local := func(h, m int) string {
		return time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, loc).Format("2006-01-02T15:04")
	}
	const secret = "Pa$$-slot-secret-77"

	// Students may not touch it.
	st1 := newClient(t, s)
	st1.login("st1@example.ru", "password123")
	if st, m := st1.do("POST", "/api/v1/admin/slots", map[string]any{"start": local(10, 0), "end": local(11, 0), "capacity": 2}); st != 403 {
		t.Fatalf("student create: %d %v", st, m)
	}

	// Create, with per-slot credentials and a local wall time.
	st, m := adm.do("POST", "/api/v1/admin/slots", map[string]any{"start": local(10, 0), "end": local(11, 0), "capacity": 2,
		"note": "Смета-ГРАНД", "server_login": "user_slot_10", "server_password": secret})
	if st != 201 {
		t.Fatalf("create: %d %v", st, m)
	}
	id := int64(m["id"].(float64))
	wantStart := time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, loc).Format(time.RFC3339)
	if m["start"] != wantStart || m["capacity"].(float64) != 2 || m["note"] != "Смета-ГРАНД" || m["active"] != true ||
		m["server_password_set"] != true || m["server_login_set"] != true || m["source"] != "manual" || m["status"] != "free" {
		t.Fatalf("created slot %v (want start %s)", m, wantStart)
	}
	raw, _ := json.Marshal(m)
	if strings.Contains(string(raw), secret) || strings.Contains(string(raw), "user_slot_10") || m["server_password"] != nil {
		t.Fatalf("credentials leaked: %s", raw)
	}
	// Encrypted at rest: the raw row holds neither the login nor the password.
	var rowLogin, rowPass string
	if err := s.DB.Write.QueryRow(`SELECT server_login, server_password FROM slots WHERE id = $1`, id).Scan(&rowLogin, &rowPass); err != nil {
		t.Fatal(err)
	}
	if rowPass == "" || strings.Contains(rowPass, secret) || strings.Contains(rowLogin, "user_slot_10") {
		t.Fatalf("stored in the clear: %q %q", rowLogin, rowPass)
	}
	if pw, err := s.Box.Open(rowPass); err != nil || pw != secret {
		t.Fatalf("sealed password opens to %q, %v", pw, err)
	}

	// Refusals on create: the same start, an overlap, the past, bad input.
	for _, c := range []struct {
		body map[string]any
		st   int
		code string
	}{
		{map[string]any{"start": local(10, 0), "end": local(11, 0)}, 409, "slot_exists"},
		{map[string]any{"start": local(10, 30), "end": local(11, 30)}, 409, "slot_overlap"},
		{map[string]any{"start": "2020-01-01T10:00", "end": "2020-01-01T11:00"}, 422, "invalid"},
		{map[string]any{"start": local(12, 0), "end": local(11, 0)}, 422, "invalid"},
		{map[string]any{"start": local(12, 0)}, 422, "invalid"},
		{map[string]any{"start": "завтра", "end": local(13, 0)}, 422, "invalid"},
		{map[string]any{"start": local(12, 0), "end": local(13, 0), "capacity": 0}, 422, "invalid"},
	} {
		if st, m := adm.do("POST", "/api/v1/admin/slots", c.body); st != c.st || m["error"] != c.code || m["message"] == "" {
			t.Fatalf("%v: %d %v, want %d %s", c.body, st, m, c.st, c.code)
		}
	}

	// Two students book it.
	st2 := newClient(t, s)
	st2.login("st2@example.ru", "password123")
	for _, c := range []*client{st1, st2} {
		if st, m := c.do("POST", "/api/v1/bookings", map[string]any{"slot_id": id}); st != 201 {
			t.Fatalf("book: %d %v", st, m)
		}
	}
	path := fmt.Sprintf("/api/v1/admin/slots/%d", id)

	// Capacity below the places taken, moving a booked slot: refused, with the reason.
	st, m = adm.do("PATCH", path, map[string]any{"capacity": 1})
	if st != 409 || m["error"] != "capacity_below_booked" || !strings.Contains(m["message"].(string), "2") {
		t.Fatalf("capacity below booked: %d %v", st, m)
	}
	st, m = adm.do("PATCH", path, map[string]any{"start": local(14, 0), "end": local(15, 0)})
	if st != 409 || m["error"] != "slot_has_bookings" || m["active_bookings"].(float64) != 2 {
		t.Fatalf("move booked: %d %v", st, m)
	}
	st, m = adm.do("PATCH", path, map[string]any{"active": false})
	if st != 409 || m["error"] != "slot_has_bookings" {
		t.Fatalf("close booked: %d %v", st, m)
	}
	// Allowed edits: note, more places, a new password (never echoed), a masked one kept.
	st, m = adm.do("PATCH", path, map[string]any{"note": "Новая заметка", "capacity": 3, "server_password": "••••••••"})
	if st != 200 || m["note"] != "Новая заметка" || m["capacity"].(float64) != 3 || m["booked"].(float64) != 2 ||
		m["active_bookings"].(float64) != 2 || m["server_password_set"] != true {
		t.Fatalf("patch: %d %v", st, m)
	}
	var after string
	s.DB.Write.QueryRow(`SELECT server_password FROM slots WHERE id = $1`, id).Scan(&after)
	if after != rowPass {
		t.Fatal("a masked password sent back changed the stored one")
	}
	st, m = adm.do("PATCH", path, map[string]any{"server_password": "new-secret-99"})
	if raw, _ := json.Marshal(m); st != 200 || strings.Contains(string(raw), "new-secret-99") {
		t.Fatalf("password patch: %d %s", st, raw)
	}
	// Nothing on the list leaks either.
	dayStr := day.Format("2006-01-02")
	st, m = adm.do("GET", "/api/v1/admin/slots?from="+dayStr+"&to="+dayStr, nil)
	if raw, _ := json.Marshal(m); st != 200 || len(m["slots"].([]any)) != 1 || strings.Contains(string(raw), "secret") {
		t.Fatalf("list: %d %s", st, raw)
	}

	// Delete: refused while booked, then with cancel_bookings the students are told.
	st, m = adm.do("DELETE", path, nil)
	if st != 409 || m["error"] != "slot_has_bookings" || !strings.Contains(m["message"].(string), "cancel_bookings") {
		t.Fatalf("delete booked: %d %v", st, m)
	}
	st, m = adm.do("DELETE", path+"?cancel_bookings=true&reason="+"Сервер%20на%20обслуживании.", nil)
	if st != 200 || m["cancelled_bookings"].(float64) != 2 || m["deleted"] != true {
		t.Fatalf("delete with cancel: %d %v", st, m)
	}
	for _, c := range []*client{st1, st2} {
		_, m := c.do("GET", "/api/v1/bookings", nil)
		bs := m["bookings"].([]any)
		if len(bs) != 1 || bs[0].(map[string]any)["status"] != "cancelled" || bs[0].(map[string]any)["cancel_reason"] != "Сервер на обслуживании." {
			t.Fatalf("student's bookings after delete: %v", m)
		}
	}
	for _, email := range []string{"st1@example.ru", "st2@example.ru"} {
		u, _ := s.Store.UserByEmail(context.Background(), email)
		ns, _ := s.Store.NoticesByUser(context.Background(), u.ID, 10)
		if len(ns) == 0 || ns[0].Kind != "booking_cancelled" || !strings.Contains(ns[0].Body, "Сервер на обслуживании.") {
			t.Fatalf("%s notices %+v", email, ns)
		}
		ms, _ := s.Store.MailByUser(context.Background(), u.ID)
		found := false
		for _, ml := range ms {
			if ml.Kind == "booking_cancelled" && strings.Contains(ml.Data, `"by":"admin"`) && strings.Contains(ml.Data, "обслуживании") {
				found = true
			}
			if strings.Contains(ml.Data, "secret") {
				t.Fatalf("mail data holds a secret: %s", ml.Data)
			}
		}
		if !found {
			t.Fatalf("%s: no booking_cancelled mail among %d", email, len(ms))
		}
	}
	if st, m := adm.do("GET", path, nil); st != 404 {
		t.Fatalf("deleted slot still readable: %d %v", st, m)
	}
	_, m = adm.do("GET", "/api/v1/admin/slots?from="+dayStr+"&to="+dayStr, nil)
	if len(m["slots"].([]any)) != 0 {
		t.Fatalf("deleted slot listed: %v", m)
	}
	if st, m := adm.do("DELETE", path, nil); st != 404 {
		t.Fatalf("delete twice: %d %v", st, m)
	}
	// The admin may take the time back explicitly: the tombstone gives way.
	st, m = adm.do("POST", "/api/v1/admin/slots", map[string]any{"start": local(10, 0), "end": local(11, 0), "capacity": 1})
	if st != 201 || int64(m["id"].(float64)) != id || m["booked"].(float64) != 0 || m["server_password_set"] != false {
		t.Fatalf("re-create on a tombstone: %d %v", st, m)
	}

	// An unbooked slot moves freely (RFC 3339 accepted too).
	st, m = adm.do("POST", "/api/v1/admin/slots", map[string]any{"start": local(15, 0), "end": local(16, 0)})
	if st != 201 || m["capacity"].(float64) != 1 {
		t.Fatalf("create with default capacity: %d %v", st, m)
	}
	other := fmt.Sprintf("/api/v1/admin/slots/%d", int64(m["id"].(float64)))
	to := time.Date(day.Year(), day.Month(), day.Day(), 16, 0, 0, 0, loc)
	st, m = adm.do("PATCH", other, map[string]any{"start": to.Format(time.RFC3339), "end": to.Add(90 * time.Minute).Format(time.RFC3339)})
	if st != 200 || m["start"] != to.Format(time.RFC3339) {
		t.Fatalf("move free slot: %d %v", st, m)
	}
	// Moving onto another slot is refused.
	if st, m := adm.do("PATCH", other, map[string]any{"start": local(10, 30), "end": local(11, 30)}); st != 409 || m["error"] != "slot_overlap" {
		t.Fatalf("move onto another: %d %v", st, m)
	}
	if st, m := adm.do("PATCH", "/api/v1/admin/slots/999999", map[string]any{"note": "x"}); st != 404 {
		t.Fatalf("patch missing: %d %v", st, m)
	}
}

func TestAdminSlotsGenerateAndDeactivateAPI(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	mkUser(t, s, "admin@example.ru", booksmeta.RoleAdmin, false)
	mkUser(t, s, "st@example.ru", booksmeta.RoleStudent, true)
	adm := newClient(t, s)
	adm.login("admin@example.ru", "password123")
	loc, _ := time.LoadLocation("Europe/Moscow")
	// A Monday at least a week ahead, so every generated slot is in the future.
	mon := time.Now().In(loc).AddDate(0, 0, 8)
	for mon.Weekday() != time.Monday {
		mon = mon.AddDate(0, 0, 1)
	}
	from := mon.Format("2006-01-02")
	st, m := adm.do("POST", "/api/v1/admin/slots/generate", map[string]any{"from": from, "weeks": 1})
	if st != 200 || m["created"].(float64) != 40 {
		t.Fatalf("generate: %d %v", st, m)
	}
	if st, m := adm.do("POST", "/api/v1/admin/slots/generate", map[string]any{"from": from, "weeks": 1}); st != 200 || m["created"].(float64) != 0 {
		t.Fatalf("generate again: %d %v", st, m)
	}
	for _, bad := range []map[string]any{{"from": "01.12.2026", "weeks": 1}, {"from": from, "weeks": 0}, {"from": from, "weeks": 60}} {
		if st, m := adm.do("POST", "/api/v1/admin/slots/generate", bad); st != 422 {
			t.Fatalf("generate %v: %d %v", bad, st, m)
		}
	}
	_, m = adm.do("GET", "/api/v1/admin/slots?from="+from+"&to="+mon.AddDate(0, 0, 6).Format("2006-01-02"), nil)
	list := m["slots"].([]any)
	if len(list) != 40 || list[0].(map[string]any)["source"] != "schedule" {
		t.Fatalf("list after generate: %d", len(list))
	}
	wed := mon.AddDate(0, 0, 2).Format("2006-01-02")
	_, m = adm.do("GET", "/api/v1/admin/slots?from="+wed+"&to="+wed, nil)
	wedSlot := int64(m["slots"].([]any)[3].(map[string]any)["id"].(float64))
	stc := newClient(t, s)
	stc.login("st@example.ru", "password123")
	if st, m := stc.do("POST", "/api/v1/bookings", map[string]any{"slot_id": wedSlot}); st != 201 {
		t.Fatalf("book: %d %v", st, m)
	}
	st, m = adm.do("POST", "/api/v1/admin/slots/deactivate", map[string]any{"from": wed, "to": wed, "reason": "Обновление программы."})
	if st != 409 || m["error"] != "slot_has_bookings" || m["active_bookings"].(float64) != 1 {
		t.Fatalf("deactivate over a booking: %d %v", st, m)
	}
	st, m = adm.do("POST", "/api/v1/admin/slots/deactivate", map[string]any{"from": wed, "reason": "Обновление программы.", "cancel_bookings": true})
	if st != 200 || m["deactivated"].(float64) != 8 || m["cancelled_bookings"].(float64) != 1 {
		t.Fatalf("deactivate: %d %v", st, m)
	}
	_, m = stc.do("GET", "/api/v1/slots?from="+wed+"&to="+wed, nil)
	if n := len(m["slots"].([]any)); n != 0 {
		t.Fatalf("student sees %d slots on a closed day", n)
	}
	_, m = stc.do("GET", "/api/v1/bookings", nil)
	if b := m["bookings"].([]any)[0].(map[string]any); b["status"] != "cancelled" || b["cancel_reason"] != "Обновление программы." {
		t.Fatalf("booking %v", b)
	}
	_, m = adm.do("GET", "/api/v1/admin/slots?from="+wed+"&to="+wed, nil)
	for _, x := range m["slots"].([]any) {
		if x.(map[string]any)["active"] != false || x.(map[string]any)["status"] != "inactive" {
			t.Fatalf("slot after deactivation %v", x)
		}
	}
	// Reopen one slot by hand.
	if st, m := adm.do("PATCH", fmt.Sprintf("/api/v1/admin/slots/%d", wedSlot), map[string]any{"active": true}); st != 200 || m["active"] != true {
		t.Fatalf("reopen: %d %v", st, m)
	}
	if st, m := adm.do("POST", "/api/v1/admin/slots/deactivate", map[string]any{"from": wed + "T10:00"}); st != 422 || m["field"] != "to" {
		t.Fatalf("time without to: %d %v", st, m)
	}
}
