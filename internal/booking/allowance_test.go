package booking_test

import (
	"sync"
	"testing"
	"time"

	"booksmeta"
	"booksmeta/internal/apptest"
	"booksmeta/internal/store"
)

// bought gives u a paid purchase with the given hours and end.
func bought(t *testing.T, s *apptest.Server, u *booksmeta.User, key string, hours int, until time.Time) {
	t.Helper()
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		d, err := tx.LockDeal(ctx, key)
		if err != nil {
			return err
		}
		d.UserID, d.Status, d.Paid, d.PaidAt, d.GrantHours, d.GrantUntil = u.ID, "payed", true, time.Now().Add(-time.Hour), hours, until
		return tx.SaveDeal(ctx, d)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestHoursNeverOverspent: a student with 5 paid hours races 30 one-hour
// slots at once (limit high enough not to matter): exactly 5 win, the rest
// are refused hours_used_up, on SQLite and PostgreSQL alike.
func TestHoursNeverOverspent(t *testing.T) {
	s := apptest.Start(t, apptest.Options{NoJobs: true})
	u := student(t, s, "hours@example.ru", true, true, 100)
	bought(t, s, u, "id:h1", 5, time.Time{})
	base := time.Now().Add(24 * time.Hour).Truncate(time.Hour)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, used := 0, 0
	for i := 0; i < 30; i++ {
		id := slot(t, s, base.Add(time.Duration(i)*time.Hour), 5)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Booking.Book(ctx, u.ID, id)
			mu.Lock()
			defer mu.Unlock()
			switch code(err) {
			case "":
				ok++
			case booksmeta.CodeHoursUsedUp:
				used++
			default:
				t.Errorf("unexpected %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 5 || used != 25 {
		t.Fatalf("booked %d, refused %d: the 5 hours were overspent or underused", ok, used)
	}
	a, err := s.Booking.Allowance(ctx, u.ID)
	if err != nil || a.LeftMinutes() != 0 || a.UsedMinutes != 300 {
		t.Fatalf("allowance %+v %v", a, err)
	}
}

// TestAllowanceRefusals: a cancelled booking gives its hour back; a slot
// ending after access ends is refused access_ended; a second purchase adds
// its hours.
func TestAllowanceRefusals(t *testing.T) {
	s := apptest.Start(t, apptest.Options{NoJobs: true})
	u := student(t, s, "allow@example.ru", true, true, 10)
	until := time.Now().Add(5 * 24 * time.Hour)
	bought(t, s, u, "id:a1", 1, until)
	base := time.Now().Add(24 * time.Hour).Truncate(time.Hour)
	first, second, late := slot(t, s, base, 1), slot(t, s, base.Add(2*time.Hour), 1), slot(t, s, until.Add(24*time.Hour).Truncate(time.Hour), 1)
	b, err := s.Booking.Book(ctx, u.ID, first)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Booking.Book(ctx, u.ID, second); code(err) != booksmeta.CodeHoursUsedUp {
		t.Fatalf("second hour: %v", err)
	}
	if _, err := s.Booking.Cancel(ctx, u.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Booking.Book(ctx, u.ID, second); err != nil {
		t.Fatalf("the cancelled hour did not come back: %v", err)
	}
	bought(t, s, u, "id:a2", 3, time.Time{})
	if _, err := s.Booking.Book(ctx, u.ID, late); err != nil {
		t.Fatalf("a purchase without an end keeps access open: %v", err)
	}
	// Without the endless purchase, a slot after the end is refused.
	v := student(t, s, "ends@example.ru", true, true, 10)
	bought(t, s, v, "id:e1", 0, until)
	if _, err := s.Booking.Book(ctx, v.ID, late); code(err) != booksmeta.CodeAccessEnded {
		t.Fatalf("slot after access ends: %v", err)
	}
}
