package api_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"booksmeta"
	"booksmeta/internal/apptest"
	"booksmeta/internal/store"
)

// TestOffersAPI: the admin sees the offers deliveries brought in, maps one
// to a tariff, and the recompute shows, then applies, what changes.
func TestOffersAPI(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	mkUser(t, s, "adm@example.ru", booksmeta.RoleAdmin, false)
	a := newClient(t, s)
	a.login("adm@example.ru", "password123")
	deliver := func(email, deal, offer string) {
		t.Helper()
		st, body := s.Do(t, "GET", fmt.Sprintf("/api/getcourse/webhook?action=deal_updated&deal_id=%s&status=payed&email=%s&offers=%s&positions=Курс", deal, email, offer), nil, "")
		if st != 200 {
			t.Fatalf("delivery: %d %s", st, body)
		}
	}
	deliver("one@example.ru", "1", "111")
	deliver("two@example.ru", "2", "222")
	// Both, not the last: on PostgreSQL several workers apply them in any order.
	apptest.WaitFor(t, 10*time.Second, "deliveries applied", func() bool {
		for _, e := range []string{"one@example.ru", "two@example.ru"} {
			if u, err := s.Store.UserByEmail(context.Background(), e); err != nil || !u.Paid {
				return false
			}
		}
		return true
	})

	st, m := a.do("GET", "/api/v1/admin/offers", nil)
	if st != 200 || m["every_payment_gives_access"] != true || len(m["rules"].([]any)) != 0 {
		t.Fatalf("offers: %d %v", st, m)
	}
	seen := map[string]float64{}
	for _, o := range m["seen"].([]any) {
		o := o.(map[string]any)
		seen[o["kind"].(string)+":"+o["value"].(string)] = o["paid_deals"].(float64)
	}
	if seen["offer_id:111"] != 1 || seen["offer_id:222"] != 1 || seen["title:Курс"] != 2 {
		t.Fatalf("seen offers %v", seen)
	}

	// Bad rules are refused with the reason.
	for _, bad := range []map[string]any{{"hours": 5}, {"offer_id": "111", "hours": -1}, {"title": " "}} {
		if st, m := a.do("POST", "/api/v1/admin/offers", bad); st != 422 || m["message"] == "" {
			t.Errorf("bad rule %v: %d %v", bad, st, m)
		}
	}
	st, m = a.do("POST", "/api/v1/admin/offers", map[string]any{"offer_id": "111", "hours": 10, "access_days": 60, "booking_limit": 2})
	if st != 201 || m["offer_id"] != "111" || m["grants_access"] != true {
		t.Fatalf("create: %d %v", st, m)
	}
	id := int64(m["id"].(float64))
	if st, _ := a.do("POST", "/api/v1/admin/offers", map[string]any{"offer_id": "111"}); st != 409 {
		t.Fatalf("duplicate rule: %d", st)
	}
	if st, m := a.do("PATCH", fmt.Sprintf("/api/v1/admin/offers/%d", id), map[string]any{"hours": 12}); st != 200 || m["hours"].(float64) != 12 {
		t.Fatalf("patch: %d %v", st, m)
	}

	// Dry run: the buyer of 222 would lose access, the buyer of 111 gets the tariff.
	st, m = a.do("POST", "/api/v1/admin/offers/recompute", map[string]bool{"apply": false})
	if st != 200 || m["applied"] != false || len(m["changes"].([]any)) != 2 {
		t.Fatalf("dry run: %d %v", st, m)
	}
	if u, _ := s.Store.UserByEmail(context.Background(), "two@example.ru"); !u.Paid {
		t.Fatal("the dry run took access away")
	}
	st, m = a.do("POST", "/api/v1/admin/offers/recompute", map[string]bool{"apply": true})
	if st != 200 || m["applied"] != true {
		t.Fatalf("apply: %d %v", st, m)
	}
	if u, _ := s.Store.UserByEmail(context.Background(), "two@example.ru"); u.Paid {
		t.Fatal("apply did not take access away")
	}
	if u, _ := s.Store.UserByEmail(context.Background(), "one@example.ru"); !u.Paid || u.BookingLimit != 2 {
		t.Fatalf("the tariff's limit was not applied: %+v", u)
	}
	if st, _ := a.do("DELETE", fmt.Sprintf("/api/v1/admin/offers/%d", id), nil); st != 200 {
		t.Fatal("delete")
	}
	if st, _ := a.do("DELETE", fmt.Sprintf("/api/v1/admin/offers/%d", id), nil); st != 404 {
		t.Fatal("delete twice")
	}
	// Students may not.
	mkUser(t, s, "stud@example.ru", booksmeta.RoleStudent, true)
	c := newClient(t, s)
	c.login("stud@example.ru", "password123")
	if st, _ := c.do("GET", "/api/v1/admin/offers", nil); st != 403 {
		t.Fatalf("student: %d", st)
	}
}

// TestMeShowsAllowance: /api/v1/me says when access ends and how many hours
// are left; null for a student whose purchases set neither.
func TestMeShowsAllowance(t *testing.T) {
	s := apptest.Start(t, apptest.Options{NoJobs: true})
	u := mkUser(t, s, "me@example.ru", booksmeta.RoleStudent, true)
	c := newClient(t, s)
	c.login("me@example.ru", "password123")
	if st, m := c.do("GET", "/api/v1/me", nil); st != 200 || m["user"].(map[string]any)["hours_left"] != nil || m["user"].(map[string]any)["access_until"] != nil {
		t.Fatalf("without tariffs: %d %v", st, m)
	}
	until := time.Now().Add(30 * 24 * time.Hour)
	err := s.Store.InTx(context.Background(), func(tx *store.Tx) error {
		d, err := tx.LockDeal(context.Background(), "id:me1")
		if err != nil {
			return err
		}
		d.UserID, d.Status, d.Paid, d.PaidAt, d.GrantHours, d.GrantUntil = u.ID, "payed", true, time.Now(), 10, until
		return tx.SaveDeal(context.Background(), d)
	})
	if err != nil {
		t.Fatal(err)
	}
	st, m := c.do("GET", "/api/v1/me", nil)
	me := m["user"].(map[string]any)
	got, _ := time.Parse(time.RFC3339, fmt.Sprint(me["access_until"]))
	if st != 200 || me["hours_left"] != 10.0 || got.Unix() != until.Unix() {
		t.Fatalf("with a tariff: %d %v", st, me)
	}
}
