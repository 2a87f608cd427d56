package grants_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"booksmeta"
	"booksmeta/internal/app"
	"booksmeta/internal/apptest"
	"booksmeta/internal/getcourse/getcoursetest"
	"booksmeta/internal/store"
)

const pw = "password123"

// start runs a whole app whose grant retries come quickly.
func start(t *testing.T, settings map[string]string) *apptest.Server {
	t.Helper()
	s := apptest.Start(t, apptest.Options{Setup: func(a *app.App) {
		a.Grants.BackoffBase, a.Grants.BackoffMax = 20*time.Millisecond, 200*time.Millisecond
	}})
	if err := s.Settings.Put(context.Background(), settings, 0); err != nil {
		t.Fatalf("settings: %v", err)
	}
	return s
}

// student makes a student who signs in with pw.
func student(t *testing.T, s *apptest.Server, email string, paid bool) *booksmeta.User {
	t.Helper()
	ctx := context.Background()
	u, err := s.Accounts.EnsureSuperAdmin(ctx, email, pw)
	if err != nil {
		t.Fatal(err)
	}
	u.Role, u.Paid, u.BookingLimit = booksmeta.RoleStudent, paid, 5
	if err := s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateUser(ctx, u) }); err != nil {
		t.Fatal(err)
	}
	return u
}

func admin(t *testing.T, s *apptest.Server) *apptest.Client {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Accounts.EnsureSuperAdmin(ctx, "boss@school.example", pw); err != nil {
		t.Fatal(err)
	}
	c := s.NewClient(t)
	c.Login("boss@school.example", pw)
	return c
}

func slot(t *testing.T, s *apptest.Server, starts time.Time, d time.Duration, capacity int) *booksmeta.Slot {
	t.Helper()
	ctx := context.Background()
	sl := &booksmeta.Slot{StartsAt: starts.Truncate(time.Minute), EndsAt: starts.Truncate(time.Minute).Add(d), Capacity: capacity, Active: true}
	if err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.InsertSlot(ctx, sl)
		if err == nil && !ok {
			err = fmt.Errorf("a slot starts at %s already", sl.StartsAt)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return sl
}

// book books through the API as the student would.
func book(t *testing.T, c *apptest.Client, sl *booksmeta.Slot) int64 {
	t.Helper()
	st, m := c.Do("POST", "/api/v1/bookings", map[string]any{"slot_id": sl.ID})
	if st != http.StatusCreated {
		t.Fatalf("book slot %d: %d %v", sl.ID, st, m)
	}
	return int64(m["id"].(float64))
}

// accessOf is GET /api/v1/bookings/{id}/access.
func accessOf(t *testing.T, c *apptest.Client, id int64) (int, map[string]any) {
	t.Helper()
	return c.Do("GET", fmt.Sprintf("/api/v1/bookings/%d/access", id), nil)
}

// waitAccess waits until the booking's access answers 200 and returns it.
func waitAccess(t *testing.T, c *apptest.Client, id int64) map[string]any {
	t.Helper()
	var last map[string]any
	apptest.WaitFor(t, 15*time.Second, fmt.Sprintf("access to booking %d", id), func() bool {
		st, m := accessOf(t, c, id)
		last = m
		return st == http.StatusOK
	})
	return last
}

func grantState(t *testing.T, s *apptest.Server, bookingID int64) string {
	t.Helper()
	g, err := s.Store.LatestGrant(context.Background(), bookingID)
	if err != nil {
		return "none"
	}
	return g.State
}

func waitState(t *testing.T, s *apptest.Server, bookingID int64, want string) {
	t.Helper()
	apptest.WaitFor(t, 15*time.Second, fmt.Sprintf("grant of booking %d %s", bookingID, want), func() bool {
		return grantState(t, s, bookingID) == want
	})
}

// deal delivers a Tech API dealStatusChanged (with dealPaid for a payment)
// for email, as GetCourse would.
func deal(t *testing.T, s *apptest.Server, id int64, email, status string) {
	t.Helper()
	o := getcoursetest.Order{DealID: id, Number: id, Status: status, IsPayed: status == "payed", Cost: 5000, Payed: 5000,
		CreatedAt: s.Clock.Now().Add(-time.Hour), User: getcoursetest.OrderUser{ID: 9000 + id, Email: email}}
	if status == "payed" {
		o.PaidAt = s.Clock.Now()
	}
	for _, m := range getcoursetest.TechStatusChanged(o, getcoursetest.TechQuirks{}) {
		st, body := s.Do(t, "POST", "/api/getcourse/webhook", http.Header{"Content-Type": {"application/json"}}, string(m.Body))
		if st != http.StatusOK {
			t.Fatalf("deliver %s: %d %s", m.EventType, st, body)
		}
	}
}

func waitPaid(t *testing.T, s *apptest.Server, id int64, paid bool) {
	t.Helper()
	apptest.WaitFor(t, 15*time.Second, fmt.Sprintf("user %d paid=%v", id, paid), func() bool {
		u, err := s.Store.UserByID(context.Background(), id)
		return err == nil && u.Paid == paid
	})
}

func attemptsText(t *testing.T, s *apptest.Server, bookingID int64) string {
	t.Helper()
	as, err := s.Store.GrantAttempts(context.Background(), bookingID)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, a := range as {
		fmt.Fprintf(&b, "%s ok=%v %s\n", a.Action, a.OK, a.Message)
	}
	return b.String()
}
