package grants_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"booksmeta"
	"booksmeta/internal/access"
	"booksmeta/internal/access/accesstest"
	"booksmeta/internal/app"
	"booksmeta/internal/apptest"
	"booksmeta/internal/dbtest"
)

// Two instances on one PostgreSQL, each with its job workers, and six
// students booking the six seats of one slot at once through either: each
// booking is granted once, each gets its own pool account, and every retry
// of a grant carries the same webhook-id.
func TestTwoInstancesGrantEachBookingOnce(t *testing.T) {
	if !dbtest.Postgres() {
		t.Skip("several instances share a PostgreSQL database; set " + dbtest.EnvPostgres)
	}
	const key = "school-access-key-0123456789"
	rc := &accesstest.Receiver{Key: []byte(key)}
	api := httptest.NewServer(rc)
	defer api.Close()
	settings := map[string]string{access.KeyProvider: access.HTTP, "server_api_url": api.URL, "server_api_key": key,
		access.KeyAccounts: "stud01-stud06"}
	a := start(t, settings)
	b := apptest.Start(t, apptest.Options{Env: map[string]string{"BOOKSMETA_DATABASE_URL": a.Config.DatabaseURL},
		Setup: func(x *app.App) {
			x.Grants.BackoffBase, x.Grants.BackoffMax = 20*time.Millisecond, 200*time.Millisecond
		}})
	sl := slot(t, a, a.Clock.Now().Add(5*time.Minute), time.Hour, 6)

	ids := make([]int64, 6)
	var wg sync.WaitGroup
	for i := range ids {
		u := student(t, a, fmt.Sprintf("s%d@example.ru", i), true)
		srv := a
		if i%2 == 1 {
			srv = b
		}
		c := srv.NewClient(t)
		c.Login(u.Email, pw)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = book(t, c, sl)
		}()
	}
	wg.Wait()
	for _, id := range ids {
		waitState(t, a, id, booksmeta.GrantGranted)
	}
	logins := map[string]int64{}
	for _, id := range ids {
		gs, err := a.Store.GrantsOfBooking(context.Background(), id)
		if err != nil || len(gs) != 1 {
			t.Fatalf("booking %d has %d grants (%v), want 1", id, len(gs), err)
		}
		if other, dup := logins[gs[0].Login]; dup {
			t.Fatalf("account %s given to bookings %d and %d", gs[0].Login, other, id)
		}
		logins[gs[0].Login] = id
	}
	ids4 := map[string]map[string]bool{}
	for _, d := range rc.Deliveries() {
		b := fmt.Sprint(d.Body["booking_id"])
		if ids4[b] == nil {
			ids4[b] = map[string]bool{}
		}
		ids4[b][d.ID] = true
	}
	for b, set := range ids4 {
		if len(set) != 1 {
			t.Errorf("booking %s was granted under %d webhook-ids: %v", b, len(set), set)
		}
	}
}
