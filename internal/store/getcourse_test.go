package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"booksmeta/internal/clocktest"
	"booksmeta/internal/db"
	"booksmeta/internal/dbtest"
	"booksmeta/internal/store"
)

// twoProcesses opens the same database through two independent handles, as
// two booksmeta processes would: separate pools, separate write connections.
func twoProcesses(t *testing.T, c1, c2 *clocktest.Clock) (*store.Store, *store.Store) {
	t.Helper()
	url := dbtest.URL(t)
	ctx := context.Background()
	open := func() *db.DB {
		d, err := db.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	d1 := open()
	if _, err := d1.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return store.New(d1, store.WithClock(c1.Now)), store.New(open(), store.WithClock(c2.Now))
}

// TestBudgetAcrossProcesses races two processes for the last requests of the
// allowance: exactly the limit is granted, whatever the interleaving. On
// PostgreSQL this exercises the FOR UPDATE row lock, on SQLite the
// immediate write transactions of two separate connections to one file.
func TestBudgetAcrossProcesses(t *testing.T) {
	c1 := clocktest.New()
	s1, s2 := twoProcesses(t, c1, clocktest.New())
	ctx := context.Background()
	const limit, workers = 25, 30
	var granted, refused atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 2*workers; i++ {
		st := s1
		if i%2 == 1 {
			st = s2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, retryAt, err := st.TakeGetCourseBudget(ctx, "school", limit, time.Hour)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				granted.Add(1)
				return
			}
			refused.Add(1)
			if d := time.Until(retryAt); d < 55*time.Minute || d > time.Hour+time.Minute {
				t.Errorf("retryAt %v is not about an hour away", retryAt)
			}
		}()
	}
	close(start)
	wg.Wait()
	if granted.Load() != limit || refused.Load() != 2*workers-limit {
		t.Fatalf("granted %d refused %d, want %d and %d", granted.Load(), refused.Load(), limit, 2*workers-limit)
	}
	for _, st := range []*store.Store{s1, s2} {
		if n, err := st.GetCourseBudgetUsed(ctx, "school", time.Hour); err != nil || n != limit {
			t.Fatalf("used = %d, %v; want %d", n, err, limit)
		}
	}
	// Another account has an allowance of its own.
	if ok, _, err := s2.TakeGetCourseBudget(ctx, "other", limit, time.Hour); err != nil || !ok {
		t.Fatalf("other account refused: %v", err)
	}
	// Once the window has passed, requests are allowed again.
	c1.Set(time.Now().Add(time.Hour + time.Second))
	if ok, _, err := s1.TakeGetCourseBudget(ctx, "school", limit, time.Hour); err != nil || !ok {
		t.Fatalf("after the window: ok=%v err=%v", ok, err)
	}
}

// TestBudgetRetryAtIsWhenAPlaceFrees checks the refusal names the moment the
// oldest counted request leaves the window, not the newest.
func TestBudgetRetryAtIsWhenAPlaceFrees(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	clk := clocktest.At(t0)
	st := store.New(dbtest.Open(t), store.WithClock(clk.Now))
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		clk.Set(t0.Add(time.Duration(i) * 10 * time.Minute))
		if ok, _, err := st.TakeGetCourseBudget(ctx, "a", 3, time.Hour); err != nil || !ok {
			t.Fatalf("take %d: %v %v", i, ok, err)
		}
	}
	clk.Set(t0.Add(30 * time.Minute))
	ok, retryAt, err := st.TakeGetCourseBudget(ctx, "a", 3, time.Hour)
	if err != nil || ok {
		t.Fatalf("fourth take allowed: %v %v", ok, err)
	}
	if want := t0.Add(time.Hour); !retryAt.Equal(want) {
		t.Fatalf("retryAt = %v, want %v", retryAt, want)
	}
	clk.Set(t0.Add(time.Hour + time.Millisecond))
	if ok, _, err := st.TakeGetCourseBudget(ctx, "a", 3, time.Hour); err != nil || !ok {
		t.Fatalf("take after the oldest left the window: %v %v", ok, err)
	}
}

func TestSyncLease(t *testing.T) {
	c2 := clocktest.New()
	s1, s2 := twoProcesses(t, clocktest.New(), c2)
	ctx := context.Background()
	ok, err := s1.LockGetCourseSync(ctx, "school", "p1", time.Minute)
	if err != nil || !ok {
		t.Fatalf("first lock: %v %v", ok, err)
	}
	if ok, err := s2.LockGetCourseSync(ctx, "school", "p2", time.Minute); err != nil || ok {
		t.Fatalf("second process took a held lease: %v %v", ok, err)
	}
	if ok, err := s1.LockGetCourseSync(ctx, "school", "p1", time.Minute); err != nil || !ok {
		t.Fatalf("holder could not renew: %v %v", ok, err)
	}
	if err := s2.UnlockGetCourseSync(ctx, "school", "p2"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s2.LockGetCourseSync(ctx, "school", "p2", time.Minute); ok {
		t.Fatal("a non-holder's unlock released the lease")
	}
	// A crashed holder's lease runs out.
	c2.Set(time.Now().Add(2 * time.Minute))
	if ok, err := s2.LockGetCourseSync(ctx, "school", "p2", time.Minute); err != nil || !ok {
		t.Fatalf("expired lease not taken over: %v %v", ok, err)
	}
	if err := s2.UnlockGetCourseSync(ctx, "school", "p2"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s1.LockGetCourseSync(ctx, "school", "p1", time.Minute); err != nil || !ok {
		t.Fatalf("released lease not taken: %v %v", ok, err)
	}
}

func TestGetCourseCallsAndState(t *testing.T) {
	st := store.New(dbtest.Open(t))
	ctx := context.Background()
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	calls := []store.GetCourseCall{
		{Account: "school", Op: "groups", Method: "GET", URL: "https://school.getcourse.ru/pl/api/account/groups", StartedAt: t0, Duration: 120 * time.Millisecond, HTTPStatus: 200, OK: true, Message: "ок"},
		{Account: "school", Op: "export.deals", Method: "GET", URL: "u", StartedAt: t0.Add(time.Minute), HTTPStatus: 200, ErrorKind: "rate_limited", ErrorCode: 903, Message: "лимит"},
		{Account: "school", Op: "export.status", Method: "GET", URL: "u", StartedAt: t0.Add(2 * time.Minute), HTTPStatus: 200, OK: true},
		{Account: "school", Op: "export_x", Method: "GET", URL: "u", StartedAt: t0.Add(3 * time.Minute), OK: true},
	}
	err := st.InTx(ctx, func(tx *store.Tx) error {
		for i := range calls {
			if err := tx.InsertGetCourseCall(ctx, &calls[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	all, err := st.ListGetCourseCalls(ctx, store.GetCourseCallFilter{})
	if err != nil || len(all) != 4 || all[0].Op != "export_x" {
		t.Fatalf("list: %v %+v", err, all)
	}
	if c := all[3]; c.Duration != 120*time.Millisecond || !c.OK || !c.StartedAt.Equal(t0) || c.HTTPStatus != 200 {
		t.Fatalf("round trip: %+v", c)
	}
	exp, _ := st.ListGetCourseCalls(ctx, store.GetCourseCallFilter{Op: "export."})
	if len(exp) != 2 {
		t.Fatalf(`prefix "export." matched %d calls, want 2 (the _ must not be a wildcard)`, len(exp))
	}
	failed, _ := st.ListGetCourseCalls(ctx, store.GetCourseCallFilter{OnlyFailed: true})
	if len(failed) != 1 || failed[0].ErrorCode != 903 {
		t.Fatalf("failed filter: %+v", failed)
	}
	page, _ := st.ListGetCourseCalls(ctx, store.GetCourseCallFilter{Limit: 2, BeforeID: all[1].ID})
	if len(page) != 2 || page[0].ID != all[2].ID {
		t.Fatalf("page: %+v", page)
	}
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.PruneGetCourse(ctx, t0.Add(90*time.Second), t0) }); err != nil {
		t.Fatal(err)
	}
	if left, _ := st.ListGetCourseCalls(ctx, store.GetCourseCallFilter{}); len(left) != 2 {
		t.Fatalf("after prune %d calls, want 2", len(left))
	}

	if _, err := st.GetCourseSyncState(ctx, "school"); err != store.ErrNotFound {
		t.Fatalf("state before any run: %v", err)
	}
	if _, err := st.GetCourseExport(ctx, "school", "deals"); err != store.ErrNotFound {
		t.Fatalf("export before any run: %v", err)
	}
	ex := &store.GetCourseExport{Account: "school", Kind: "deals", ExportID: 901, From: t0.Add(-time.Hour), To: t0, StartedAt: t0, NextPollAt: t0.Add(time.Minute)}
	sy := &store.GetCourseSync{Account: "school", LastRunAt: t0, State: "exporting", Message: "идёт"}
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.PutGetCourseExport(ctx, ex); err != nil {
			return err
		}
		return tx.PutGetCourseSync(ctx, sy)
	}); err != nil {
		t.Fatal(err)
	}
	gotEx, err := st.GetCourseExport(ctx, "school", "deals")
	if err != nil || gotEx.ExportID != 901 || !gotEx.To.Equal(t0) || !gotEx.LastPolledAt.IsZero() {
		t.Fatalf("export: %+v %v", gotEx, err)
	}
	gotSt, err := st.GetCourseSyncState(ctx, "school")
	if err != nil || gotSt.State != "exporting" || !gotSt.LastRunAt.Equal(t0) || !gotSt.CursorAt.IsZero() {
		t.Fatalf("state: %+v %v", gotSt, err)
	}
	// The lease survives state writes.
	if ok, _ := st.LockGetCourseSync(ctx, "school", "p1", time.Hour); !ok {
		t.Fatal("lock")
	}
	sy.CursorAt, sy.State = t0, "done"
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteGetCourseExport(ctx, "school", "deals", 999); err != nil {
			return err
		}
		return tx.PutGetCourseSync(ctx, sy)
	}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.LockGetCourseSync(ctx, "school", "p2", time.Hour); ok {
		t.Fatal("saving the state dropped the lease")
	}
	if _, err := st.GetCourseExport(ctx, "school", "deals"); err != nil {
		t.Fatal("deleting another export id removed the pending one")
	}
}
