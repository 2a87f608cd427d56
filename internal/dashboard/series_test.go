package dashboard_test

import (
	"context"
	"testing"
	"time"

	"booksmeta"
	"booksmeta/internal/dashboard"
	"booksmeta/internal/dbtest"
	"booksmeta/internal/store"
)

var msk = mustZone("Europe/Moscow")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func at(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, msk) }

func TestPerDayCountsSchoolDays(t *testing.T) {
	from := at(30, 0, 0)
	// 23:30 UTC on 30.11 is already 01.12 in Moscow.
	starts := []time.Time{at(30, 9, 0), at(30, 10, 0), time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC), at(29, 9, 0)}
	got := dashboard.PerDay(starts, from, 3, at(31, 0, 0))
	want := []struct {
		date  string
		count int
		today bool
	}{{"2026-11-30", 2, false}, {"2026-12-01", 1, true}, {"2026-12-02", 0, false}}
	if len(got) != len(want) {
		t.Fatalf("%d days, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Date != w.date || got[i].Count != w.count || got[i].Today != w.today || !got[i].Day.Equal(from.AddDate(0, 0, i)) {
			t.Errorf("day %d: %+v, want %+v", i, got[i], w)
		}
	}
}

func TestByHourSplitsSlotsOverHours(t *testing.T) {
	got := dashboard.ByHour([]store.SlotLoad{
		{StartsAt: at(25, 9, 0), EndsAt: at(25, 10, 0), Capacity: 4, Booked: 2},
		{StartsAt: at(26, 9, 30), EndsAt: at(26, 11, 0), Capacity: 2, Booked: 1},
		{StartsAt: at(27, 23, 30), EndsAt: at(28, 0, 30), Capacity: 1, Booked: 1},
		// More taken than offered (capacity lowered later) counts as full.
		{StartsAt: at(28, 14, 0), EndsAt: at(28, 15, 0), Capacity: 1, Booked: 3},
	}, msk)
	want := map[int]dashboard.HourUse{
		9:  {Hour: 9, OfferedSeatMn: 240 + 60, BookedSeatMn: 120 + 30, Percent: 50},
		10: {Hour: 10, OfferedSeatMn: 120, BookedSeatMn: 60, Percent: 50},
		14: {Hour: 14, OfferedSeatMn: 60, BookedSeatMn: 60, Percent: 100},
		23: {Hour: 23, OfferedSeatMn: 30, BookedSeatMn: 30, Percent: 100},
		0:  {Hour: 0, OfferedSeatMn: 30, BookedSeatMn: 30, Percent: 100},
	}
	for h, u := range got {
		w, ok := want[h]
		if !ok {
			w = dashboard.HourUse{Hour: h}
		}
		if u != w {
			t.Errorf("hour %02d: %+v, want %+v", h, u, w)
		}
	}
}

// TestByHourAcrossDST: in a zone whose clock goes back, the repeated hour
// gets both of its real hours and the walk ends.
func TestByHourAcrossDST(t *testing.T) {
	berlin := mustZone("Europe/Berlin")
	// 25.10.2026: 03:00 CEST becomes 02:00 CET.
	start := time.Date(2026, 10, 25, 1, 0, 0, 0, berlin)
	got := dashboard.ByHour([]store.SlotLoad{{StartsAt: start, EndsAt: start.Add(3 * time.Hour), Capacity: 1, Booked: 1}}, berlin)
	if got[1].OfferedSeatMn != 60 || got[2].OfferedSeatMn != 120 || got[3].OfferedSeatMn != 0 {
		t.Fatalf("01: %d, 02: %d, 03: %d seat-minutes", got[1].OfferedSeatMn, got[2].OfferedSeatMn, got[3].OfferedSeatMn)
	}
}

func TestSeatHoursAndCounts(t *testing.T) {
	for mn, want := range map[int]string{0: "0", 60: "1", 90: "1,5", 150: "2,5", 20: "0,3", 420: "7"} {
		if got := dashboard.SeatHours(mn); got != want {
			t.Errorf("SeatHours(%d) = %q, want %q", mn, got, want)
		}
	}
	for n, want := range map[int]string{1: "1 день", 2: "2 дня", 5: "5 дней", 11: "11 дней", 12: "12 дней", 21: "21 день", 22: "22 дня", 28: "28 дней", 111: "111 дней"} {
		if got := dashboard.Count(n, "день", "дня", "дней"); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestUtilisationByHourFromTheDatabase: a known set of slots and bookings,
// read back through the store (SQLite, or PostgreSQL with
// BOOKSMETA_TEST_POSTGRES_URL), gives the exact seat-minutes per hour of
// the last 30 days; closed, deleted, older and future slots do not count,
// nor does a cancelled booking.
func TestUtilisationByHourFromTheDatabase(t *testing.T) {
	now := time.Date(2026, 12, 2, 15, 0, 0, 0, msk)
	st := store.New(dbtest.Open(t), store.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	var users []*booksmeta.User
	slot := func(start time.Time, mins, capacity, bookings int, active bool) *booksmeta.Slot {
		t.Helper()
		sl := &booksmeta.Slot{StartsAt: start, EndsAt: start.Add(time.Duration(mins) * time.Minute), Capacity: capacity, Active: active}
		err := st.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.InsertSlot(ctx, sl); err != nil {
				return err
			}
			for len(users) < bookings {
				u := &booksmeta.User{Email: "u" + string(rune('a'+len(users))) + "@example.com", Role: booksmeta.RoleStudent, Paid: true, Active: true, BookingLimit: 50}
				if err := tx.InsertUser(ctx, u); err != nil {
					return err
				}
				users = append(users, u)
			}
			for i := range bookings {
				if ok, err := tx.TakePlace(ctx, sl.ID); err != nil || !ok {
					t.Fatalf("take a place: %v %v", ok, err)
				}
				if _, err := tx.InsertBooking(ctx, sl.ID, users[i].ID); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return sl
	}
	a := slot(at(25, 9, 0), 60, 4, 3, true)
	slot(at(26, 9, 0), 60, 2, 2, true)
	slot(at(27, 9, 30), 90, 2, 1, true)
	slot(at(28, 23, 30), 60, 1, 1, true)
	slot(at(29, 14, 0), 60, 3, 0, false)                                  // closed
	slot(time.Date(2026, 10, 20, 9, 0, 0, 0, msk), 60, 5, 0, true)        // older than 30 days
	slot(time.Date(2026, 12, 3, 9, 0, 0, 0, msk), 60, 5, 1, true)         // ahead
	slot(time.Date(2026, 12, 1, 14, 0, 0, 0, msk), 60, 3, 0, true)        // offered, nobody came
	del := slot(time.Date(2026, 12, 1, 16, 0, 0, 0, msk), 60, 3, 0, true) // deleted
	err := st.InTx(ctx, func(tx *store.Tx) error {
		bs, err := tx.BookingByID(ctx, 1)
		if err != nil || bs.SlotID != a.ID {
			t.Fatalf("first booking: %+v %v", bs, err)
		}
		if err := tx.CancelBooking(ctx, bs, 0, "test"); err != nil {
			return err
		}
		return tx.SoftDeleteSlot(ctx, del.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	midnight := time.Date(2026, 12, 2, 0, 0, 0, 0, msk)
	loads, err := st.SlotLoads(ctx, midnight.AddDate(0, 0, -30), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(loads) != 5 {
		t.Fatalf("%d slots read, want 5: %+v", len(loads), loads)
	}
	got := dashboard.ByHour(loads, msk)
	want := map[int]dashboard.HourUse{
		// 4 places × 60 min (2 taken after the cancel) + 2 × 60 (2 taken) + 2 × 30 (1 taken).
		9:  {Hour: 9, OfferedSeatMn: 240 + 120 + 60, BookedSeatMn: 120 + 120 + 30, Percent: 64},
		10: {Hour: 10, OfferedSeatMn: 120, BookedSeatMn: 60, Percent: 50},
		14: {Hour: 14, OfferedSeatMn: 180, BookedSeatMn: 0, Percent: 0},
		23: {Hour: 23, OfferedSeatMn: 30, BookedSeatMn: 30, Percent: 100},
		0:  {Hour: 0, OfferedSeatMn: 30, BookedSeatMn: 30, Percent: 100},
	}
	for h, u := range got {
		w, ok := want[h]
		if !ok {
			w = dashboard.HourUse{Hour: h}
		}
		if u != w {
			t.Errorf("hour %02d: %+v, want %+v", h, u, w)
		}
	}
}
