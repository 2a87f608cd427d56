package api_test

import (
	"booksmeta"

	"strconv"
	"testing"
	"time"

	"booksmeta/internal/apptest"
)

func TestStudentBookingFlow(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	mkUser(t, s, "st@example.ru", booksmeta.RoleStudent, true)
	mkUser(t, s, "unpaid@example.ru", booksmeta.RoleStudent, false)
	loc, _ := time.LoadLocation("Europe/Moscow")
	start := time.Now().In(loc).Add(72 * time.Hour).Truncate(time.Hour)
	var slotID int64
	if err := s.DB.Write.QueryRow(`INSERT INTO slots (starts_at, ends_at, capacity, created_at, updated_at) VALUES ($1,$2,1,$3,$3) RETURNING id`,
		start.UnixMilli(), start.Add(time.Hour).UnixMilli(), time.Now().UnixMilli()).Scan(&slotID); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s)
	c.login("st@example.ru", "password123")
	day := start.Format("2006-01-02")
	st, m := c.do("GET", "/api/v1/slots?from="+day+"&to="+day, nil)
	slots := m["slots"].([]any)
	if st != 200 || len(slots) != 1 {
		t.Fatalf("slots: %d %v", st, m)
	}
	sl := slots[0].(map[string]any)
	if sl["free"].(float64) != 1 || sl["booked_by_me"] != false || sl["start"] != start.Format(time.RFC3339) {
		t.Fatalf("slot %v (want start %s)", sl, start.Format(time.RFC3339))
	}
	st, m = c.do("POST", "/api/v1/bookings", map[string]any{"slot_id": slotID})
	if st != 201 || m["status"] != "active" || m["slot_id"].(float64) != float64(slotID) {
		t.Fatalf("book: %d %v", st, m)
	}
	bid := strconv.Itoa(int(m["id"].(float64)))
	if st, m := c.do("POST", "/api/v1/bookings", map[string]any{"slot_id": slotID}); st != 409 || m["error"] != "already_booked" {
		t.Fatalf("again: %d %v", st, m)
	}
	if st, m := c.do("GET", "/api/v1/bookings/"+bid+"/access", nil); st != 403 || m["error"] != "access_not_open" {
		t.Fatalf("access 3 days early: %d %v", st, m)
	}
	_, m = c.do("GET", "/api/v1/me", nil)
	if left := m["user"].(map[string]any)["bookings_left"].(float64); left != 2 {
		t.Fatalf("bookings_left %v", left)
	}
	u2 := newClient(t, s)
	u2.login("unpaid@example.ru", "password123")
	if st, m := u2.do("POST", "/api/v1/bookings", map[string]any{"slot_id": slotID}); st != 409 || m["error"] != "not_paid" {
		t.Fatalf("unpaid: %d %v", st, m)
	}
	if st, _ := u2.do("GET", "/api/v1/bookings/"+bid+"/access", nil); st != 404 {
		t.Fatalf("someone else's access: %d", st)
	}
	if st, m := u2.do("DELETE", "/api/v1/bookings/"+bid, nil); st != 404 {
		t.Fatalf("someone else's cancel: %d %v", st, m)
	}
	if st, m := c.do("DELETE", "/api/v1/bookings/"+bid, nil); st != 200 || m["status"] != "cancelled" {
		t.Fatalf("cancel: %d %v", st, m)
	}
	_, m = c.do("GET", "/api/v1/bookings", nil)
	if bs := m["bookings"].([]any); len(bs) != 1 || bs[0].(map[string]any)["status"] != "cancelled" {
		t.Fatalf("my bookings %v", m)
	}
	if st, m := c.do("GET", "/api/v1/slots?from=nonsense", nil); st != 400 {
		t.Fatalf("bad date: %d %v", st, m)
	}
}

// The API offers what the calendar offers: no slot beyond max_advance_days.
func TestSlotsBeyondAdvanceLimitNotListed(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	mkUser(t, s, "st@example.ru", booksmeta.RoleStudent, true)
	if err := s.Settings.Put(t.Context(), map[string]string{"max_advance_days": "2"}, 0); err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Europe/Moscow")
	for _, days := range []int{1, 5} {
		st := time.Now().In(loc).AddDate(0, 0, days).Truncate(time.Hour)
		if _, err := s.DB.Write.Exec(`INSERT INTO slots (starts_at, ends_at, capacity, created_at, updated_at) VALUES ($1,$2,1,$3,$3)`,
			st.UnixMilli(), st.Add(time.Hour).UnixMilli(), time.Now().UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	c := newClient(t, s)
	c.login("st@example.ru", "password123")
	from, to := time.Now().In(loc).Format("2006-01-02"), time.Now().In(loc).AddDate(0, 0, 7).Format("2006-01-02")
	st, m := c.do("GET", "/api/v1/slots?from="+from+"&to="+to, nil)
	if slots, _ := m["slots"].([]any); st != 200 || len(slots) != 1 {
		t.Fatalf("slots within 2 days: %d %v", st, m)
	}
}
