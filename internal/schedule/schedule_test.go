package schedule_test

import (
	"booksmeta"

	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/apptest"
	"booksmeta/internal/schedule"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

var ctx = context.Background()

// start runs an app without background workers and with the clock fixed at now.
func start(t *testing.T, zone string, now time.Time) *apptest.Server {
	t.Helper()
	env := map[string]string{}
	if zone != "" {
		env["BOOKSMETA_TIMEZONE"] = zone
	}
	s := apptest.Start(t, apptest.Options{NoJobs: true, Env: env})
	s.Clock.Set(now)
	return s
}

func put(t *testing.T, s *apptest.Server, kv ...string) {
	t.Helper()
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		if err := schedule.Validate(kv[i], kv[i+1]); err != nil {
			t.Fatalf("%s=%s: %v", kv[i], kv[i+1], err)
		}
		m[kv[i]] = kv[i+1]
	}
	if err := s.Schedule.ValidateChange(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.Settings.Put(ctx, m, 0); err != nil {
		t.Fatal(err)
	}
}

func date(t *testing.T, s *apptest.Server, v string) time.Time {
	t.Helper()
	d, err := schedule.ParseDate(v, s.Settings.Location(ctx))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func generate(t *testing.T, s *apptest.Server, from string, weeks int) int {
	t.Helper()
	n, err := s.Schedule.Generate(ctx, date(t, s, from), weeks)
	if err != nil {
		t.Fatalf("generate %s +%d weeks: %v", from, weeks, err)
	}
	return n
}

func slots(t *testing.T, s *apptest.Server, from, to time.Time) []*store.AdminSlot {
	t.Helper()
	sl, err := s.Store.AdminSlots(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	return sl
}

func TestGenerateWeekIdempotentAndRespectsDeletes(t *testing.T) {
	s := start(t, "Europe/Moscow", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	// 2030-01-07 is a Monday: the defaults give Monday–Friday 09:00–17:00, hourly.
	if n := generate(t, s, "2030-01-07", 1); n != 40 {
		t.Fatalf("created %d, want 5 days × 8 = 40", n)
	}
	week := slots(t, s, date(t, s, "2030-01-07"), date(t, s, "2030-01-14"))
	if len(week) != 40 {
		t.Fatalf("%d slots in the week", len(week))
	}
	first := week[0]
	if want := time.Date(2030, 1, 7, 6, 0, 0, 0, time.UTC); !first.StartsAt.Equal(want) || !first.EndsAt.Equal(want.Add(time.Hour)) {
		t.Fatalf("first slot %s–%s, want 09:00 Moscow = %s", first.StartsAt, first.EndsAt, want)
	}
	if first.Capacity != 1 || !first.Active || first.Source != store.SlotSchedule || first.ServerPassword != "" {
		t.Fatalf("generated slot %+v", first.Slot)
	}
	last := week[len(week)-1]
	if want := time.Date(2030, 1, 11, 13, 0, 0, 0, time.UTC); !last.StartsAt.Equal(want) {
		t.Fatalf("last slot %s, want Friday 16:00 Moscow", last.StartsAt)
	}
	if n := generate(t, s, "2030-01-07", 1); n != 0 {
		t.Fatalf("re-run created %d", n)
	}
	// An admin deletes one: the generator never brings it back.
	if _, err := s.Schedule.DeleteSlot(ctx, week[3].ID, false, "", 0); err != nil {
		t.Fatal(err)
	}
	if n := generate(t, s, "2030-01-07", 2); n != 40 {
		t.Fatalf("two weeks created %d, want only the second week's 40", n)
	}
	if got := len(slots(t, s, date(t, s, "2030-01-07"), date(t, s, "2030-01-14"))); got != 39 {
		t.Fatalf("after delete and re-run: %d slots, want 39", got)
	}
	var deletedAt any
	if err := s.DB.Write.QueryRow(`SELECT deleted_at FROM slots WHERE id = $1`, week[3].ID).Scan(&deletedAt); err != nil || deletedAt == nil {
		t.Fatalf("tombstone: %v %v", deletedAt, err)
	}
	// The schedule's own settings drive it.
	put(t, s, schedule.Weekdays, "6-7", schedule.DayFrom, "10:00", schedule.DayTo, "13:00", "slot_duration_minutes", "90", schedule.SlotCapacity, "4")
	if n := generate(t, s, "2030-01-21", 1); n != 4 {
		t.Fatalf("weekend 10:00–13:00 by 90 min: created %d, want 2 days × 2", n)
	}
	we := slots(t, s, date(t, s, "2030-01-26"), date(t, s, "2030-01-27"))
	if len(we) != 2 || we[0].Capacity != 4 || we[1].StartsAt.Sub(we[0].StartsAt) != 90*time.Minute || we[1].EndsAt.In(s.Settings.Location(ctx)).Format("15:04") != "13:00" {
		t.Fatalf("saturday: %+v", we)
	}
}

func TestPastSlotsAreNotCreated(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Moscow")
	now := time.Date(2030, 1, 9, 12, 30, 0, 0, loc) // Wednesday 12:30
	s := start(t, "Europe/Moscow", now)
	// Monday and Tuesday are past, Wednesday keeps 13:00–16:00 (4), Thursday and Friday 8 each.
	if n := generate(t, s, "2030-01-07", 1); n != 20 {
		t.Fatalf("created %d, want 20", n)
	}
	for _, sl := range slots(t, s, date(t, s, "2030-01-01"), date(t, s, "2030-02-01")) {
		if !sl.StartsAt.After(now) {
			t.Fatalf("slot in the past: %s", sl.StartsAt.In(loc))
		}
	}
}

// wallTimes lists the local start times of a day's slots.
func wallTimes(sl []*store.AdminSlot, loc *time.Location) []string {
	var out []string
	for _, x := range sl {
		out = append(out, x.StartsAt.In(loc).Format("15:04"))
	}
	return out
}

func TestGenerateAcrossDST(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata for Europe/Berlin")
	}
	s := start(t, "Europe/Berlin", time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC))

	// Working hours: 09:00 local stays 09:00 on both sides of the change.
	// 2027-03-28 is the last Sunday of March: clocks go 02:00 CET → 03:00 CEST.
	if n := generate(t, s, "2027-03-22", 2); n != 80 {
		t.Fatalf("two weeks of weekdays: %d, want 80", n)
	}
	fri := slots(t, s, date(t, s, "2027-03-26"), date(t, s, "2027-03-27"))
	mon := slots(t, s, date(t, s, "2027-03-29"), date(t, s, "2027-03-30"))
	if len(fri) != 8 || len(mon) != 8 {
		t.Fatalf("friday %d, monday %d slots", len(fri), len(mon))
	}
	if want := time.Date(2027, 3, 26, 8, 0, 0, 0, time.UTC); !fri[0].StartsAt.Equal(want) {
		t.Fatalf("Friday 09:00 CET = %s, want %s", fri[0].StartsAt, want)
	}
	if want := time.Date(2027, 3, 29, 7, 0, 0, 0, time.UTC); !mon[0].StartsAt.Equal(want) {
		t.Fatalf("Monday 09:00 CEST = %s, want %s", mon[0].StartsAt, want)
	}
	for _, d := range [][]*store.AdminSlot{fri, mon} {
		if got := strings.Join(wallTimes(d, loc), " "); got != "09:00 10:00 11:00 12:00 13:00 14:00 15:00 16:00" {
			t.Fatalf("local times %s", got)
		}
	}

	// Round the clock, every day, to exercise the hours that move.
	put(t, s, schedule.Weekdays, "1,2,3,4,5,6,7", schedule.DayFrom, "00:00", schedule.DayTo, "24:00")
	if n := generate(t, s, "2027-03-22", 1); n != 6*24+23-40 {
		t.Fatalf("spring week created %d, want 6×24+23 minus the 40 working-hour slots already there", n)
	}
	sun := slots(t, s, date(t, s, "2027-03-28"), date(t, s, "2027-03-29"))
	if len(sun) != 23 {
		t.Fatalf("spring-forward Sunday has %d slots, want 23 (02:00 does not exist)", len(sun))
	}
	for _, x := range wallTimes(sun, loc) {
		if x == "02:00" {
			t.Fatal("a slot at 02:00, which does not exist that night")
		}
	}
	checks := map[string]time.Time{
		"01:00": time.Date(2027, 3, 28, 0, 0, 0, 0, time.UTC), // CET, +1
		"03:00": time.Date(2027, 3, 28, 1, 0, 0, 0, time.UTC), // CEST, +2
		"09:00": time.Date(2027, 3, 28, 7, 0, 0, 0, time.UTC),
	}
	for _, x := range sun {
		if want, ok := checks[x.StartsAt.In(loc).Format("15:04")]; ok && !x.StartsAt.Equal(want) {
			t.Fatalf("%s local = %s, want %s", x.StartsAt.In(loc).Format("15:04"), x.StartsAt, want)
		}
		if x.EndsAt.Sub(x.StartsAt) != time.Hour {
			t.Fatalf("slot %s lasts %s", x.StartsAt, x.EndsAt.Sub(x.StartsAt))
		}
	}

	// 2027-10-31 is the last Sunday of October: 03:00 CEST → 02:00 CET, 02:00–03:00 happens twice.
	if n := generate(t, s, "2027-10-25", 1); n != 7*24 {
		t.Fatalf("autumn week created %d, want 168 (the repeated hour once)", n)
	}
	sun = slots(t, s, date(t, s, "2027-10-31"), date(t, s, "2027-11-01"))
	if len(sun) != 24 {
		t.Fatalf("fall-back Sunday has %d slots, want 24", len(sun))
	}
	twos := 0
	for i, x := range sun {
		if x.StartsAt.In(loc).Format("15:04") == "02:00" {
			twos++
			if want := time.Date(2027, 10, 31, 0, 0, 0, 0, time.UTC); !x.StartsAt.Equal(want) {
				t.Fatalf("02:00 = %s, want its first occurrence (CEST) %s", x.StartsAt, want)
			}
		}
		if i > 0 && x.StartsAt.Before(sun[i-1].EndsAt) {
			t.Fatalf("overlap: %s before %s", x.StartsAt, sun[i-1].EndsAt)
		}
	}
	if twos != 1 {
		t.Fatalf("02:00 created %d times", twos)
	}
	if want := time.Date(2027, 10, 31, 8, 0, 0, 0, time.UTC); sun[9].StartsAt.In(loc).Format("15:04") != "09:00" || !sun[9].StartsAt.Equal(want) {
		t.Fatalf("09:00 CET on fall-back Sunday = %s, want %s", sun[9].StartsAt, want)
	}
	if n := generate(t, s, "2027-10-25", 1); n != 0 {
		t.Fatalf("autumn re-run created %d", n)
	}
}

func TestWallTimes(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata")
	}
	if _, ok := schedule.Wall(2027, 3, 28, 2*60+30, loc); ok {
		t.Fatal("02:30 on spring-forward night should not exist")
	}
	a, ok := schedule.Wall(2027, 10, 31, 2*60+30, loc)
	if !ok || !a.Equal(time.Date(2027, 10, 31, 0, 30, 0, 0, time.UTC)) {
		t.Fatalf("ambiguous 02:30 → %s %v, want the first (CEST) occurrence", a, ok)
	}
	if _, err := schedule.ParseTime("2027-03-28T02:30", loc); err == nil || !strings.Contains(err.Error(), "не существует") {
		t.Fatalf("nonexistent local time: %v", err)
	}
	p, err := schedule.ParseTime("2027-07-01T09:00", loc)
	if err != nil || !p.Equal(time.Date(2027, 7, 1, 7, 0, 0, 0, time.UTC)) {
		t.Fatalf("local parse %s %v", p, err)
	}
	p, err = schedule.ParseTime("2027-07-01T09:00:00+03:00", loc)
	if err != nil || !p.Equal(time.Date(2027, 7, 1, 6, 0, 0, 0, time.UTC)) {
		t.Fatalf("RFC 3339 parse %s %v", p, err)
	}
}

func TestValidate(t *testing.T) {
	ok := map[string][]string{
		schedule.Weekdays:     {"1,2,3,4,5", "1-5", "6, 7", "1-7"},
		schedule.DayFrom:      {"09:00", "00:00", "23:30"},
		schedule.DayTo:        {"17:00", "24:00"},
		schedule.SlotCapacity: {"1", "100"},
		schedule.WeeksAhead:   {"0", "2", "52"},
	}
	bad := map[string][]string{
		schedule.Weekdays:     {"0", "8", "пн", "5-1", ","},
		schedule.DayFrom:      {"9", "25:00", "09:60", "24:00", "9:5"},
		schedule.DayTo:        {"24:01", "17"},
		schedule.SlotCapacity: {"0", "101", "два"},
		schedule.WeeksAhead:   {"-1", "53", "x"},
	}
	for k, vs := range ok {
		for _, v := range vs {
			if err := schedule.Validate(k, v); err != nil {
				t.Errorf("%s=%q refused: %v", k, v, err)
			}
		}
	}
	for k, vs := range bad {
		for _, v := range vs {
			err := schedule.Validate(k, v)
			if err == nil {
				t.Errorf("%s=%q accepted", k, v)
				continue
			}
			if !strings.ContainsAny(err.Error(), "абвгдеёжзийклмнопрстуфхцчшщыэюя") {
				t.Errorf("%s=%q: message not in Russian: %v", k, v, err)
			}
		}
	}
	s := start(t, "", time.Now())
	// The slot length is settings' own key: its definition checks it.
	for _, v := range []string{"10", "481"} {
		if _, err := s.Settings.Validate(settings.SlotDurationMinutes, v); err == nil {
			t.Errorf("slot_duration_minutes=%q accepted", v)
		}
	}
	for _, m := range []map[string]string{
		{schedule.DayFrom: "18:00"},
		{schedule.DayFrom: "09:00", schedule.DayTo: "09:30"},
	} {
		err := s.Schedule.ValidateChange(ctx, m)
		var e *booksmeta.Error
		if !errors.As(err, &e) || e.Code != booksmeta.CodeInvalid {
			t.Errorf("%v: %v", m, err)
		}
	}
	if err := s.Schedule.ValidateChange(ctx, map[string]string{schedule.DayFrom: "08:00"}); err != nil {
		t.Error(err)
	}
}

func TestHorizonJob(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Moscow")
	now := time.Date(2030, 1, 7, 8, 0, 0, 0, loc) // Monday morning
	s := start(t, "Europe/Moscow", now)
	// Nobody set the schedule up yet: the job leaves the calendar alone.
	if err := s.Schedule.HandleJob(ctx, &store.Job{}); err != nil {
		t.Fatal(err)
	}
	if n := len(slots(t, s, now, now.AddDate(0, 1, 0))); n != 0 {
		t.Fatalf("unconfigured job created %d slots", n)
	}
	put(t, s, schedule.WeeksAhead, "3")
	if err := s.Schedule.HandleJob(ctx, &store.Job{}); err != nil {
		t.Fatal(err)
	}
	if n := len(slots(t, s, now, now.AddDate(0, 1, 0))); n != 3*40 {
		t.Fatalf("horizon: %d slots, want 3 weeks × 40", n)
	}
	// A day later the horizon moves by a day; nothing is duplicated.
	s.Clock.Set(now.AddDate(0, 0, 1))
	if n, err := s.Schedule.FillHorizon(ctx); err != nil || n != 8 {
		t.Fatalf("next day: created %d (%v), want Monday of week 4 (8)", n, err)
	}
	// A schedule that cannot work fails the job for good, with the reason.
	// Put refuses to save one, so it is written as an older version could
	// have left it; a Reset of an unset key drops the settings cache.
	if err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		return tx.PutSetting(ctx, store.Setting{Key: schedule.DayFrom, Value: "18:00"}, 0)
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Settings.Reset(ctx, settings.MailFromName); err != nil {
		t.Fatal(err)
	}
	err := s.Schedule.HandleJob(ctx, &store.Job{})
	if err == nil || !strings.Contains(err.Error(), "раньше конца") {
		t.Fatalf("broken schedule: %v", err)
	}
}

func student(t *testing.T, s *apptest.Server, email string) *booksmeta.User {
	t.Helper()
	u := &booksmeta.User{Email: email, FirstName: "Ученик", Role: booksmeta.RoleStudent, Paid: true, Active: true, BookingLimit: 5}
	if err := s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.InsertUser(ctx, u) }); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestDeactivateRange(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Moscow")
	now := time.Date(2030, 1, 7, 8, 0, 0, 0, loc)
	s := start(t, "Europe/Moscow", now)
	generate(t, s, "2030-01-07", 1)
	wed := slots(t, s, date(t, s, "2030-01-09"), date(t, s, "2030-01-10"))
	a, b := student(t, s, "a@example.ru"), student(t, s, "b@example.ru")
	for _, bk := range []struct {
		u    *booksmeta.User
		slot int64
	}{{a, wed[2].ID}, {b, wed[5].ID}, {a, wed[6].ID}} {
		if _, err := s.Booking.Book(ctx, bk.u.ID, bk.slot); err != nil {
			t.Fatal(err)
		}
	}
	from, to := date(t, s, "2030-01-09"), date(t, s, "2030-01-10")
	_, err := s.Schedule.Deactivate(ctx, from, to, "Профилактика сервера.", false, 0)
	var e *booksmeta.Error
	if !errors.As(err, &e) || e.Code != booksmeta.CodeSlotBooked || e.Count != 3 || !strings.Contains(e.Message, "3 бронирования") {
		t.Fatalf("deactivate over bookings: %v", err)
	}
	if n := len(slots(t, s, from, to)); n != 8 {
		t.Fatal("refused deactivation changed slots")
	}
	res, err := s.Schedule.Deactivate(ctx, from, to, "Профилактика сервера.", true, 0)
	if err != nil || res.Cancelled != 3 || res.Deactivated != 8 {
		t.Fatalf("deactivate with cancel: %+v %v", res, err)
	}
	for _, sl := range slots(t, s, from, to) {
		if sl.Active || sl.Booked != 0 || sl.ActiveBookings != 0 {
			t.Fatalf("slot after deactivation: %+v", sl)
		}
	}
	for _, u := range []*booksmeta.User{a, b} {
		ns, _ := s.Store.NoticesByUser(ctx, u.ID, 10)
		found := 0
		for _, n := range ns {
			if n.Kind == "booking_cancelled" {
				found++
				if !strings.Contains(n.Body, "Профилактика сервера.") || !strings.Contains(n.Body, "09.01.2030") {
					t.Fatalf("notice %q", n.Body)
				}
			}
		}
		if found != 1 {
			t.Fatalf("%s got %d cancellation notices, want one", u.Email, found)
		}
		ms, _ := s.Store.MailByUser(ctx, u.ID)
		cancelled := 0
		for _, m := range ms {
			if m.Kind == "booking_cancelled" {
				cancelled++
				if !strings.Contains(m.Data, `"by":"admin"`) || !strings.Contains(m.Data, "Профилактика") {
					t.Fatalf("mail data %s", m.Data)
				}
			}
		}
		if want := map[string]int{"a@example.ru": 2, "b@example.ru": 1}[u.Email]; cancelled != want {
			t.Fatalf("%s: %d cancellation mails, want %d", u.Email, cancelled, want)
		}
	}
	// Students no longer see the day.
	if v, _ := s.Store.SlotsBetween(ctx, from, to, a.ID); len(v) != 0 {
		t.Fatalf("students see %d closed slots", len(v))
	}

	// A day beyond the horizon is closed ahead: the schedule's slots are
	// made closed, so the generator does not open them later.
	far, farEnd := date(t, s, "2030-02-05"), date(t, s, "2030-02-06")
	res, err = s.Schedule.Deactivate(ctx, far, farEnd, "", false, 0)
	if err != nil || res.Deactivated != 8 || res.Cancelled != 0 {
		t.Fatalf("ahead: %+v %v", res, err)
	}
	generate(t, s, "2030-02-04", 1)
	for _, sl := range slots(t, s, far, farEnd) {
		if sl.Active {
			t.Fatalf("generator opened a closed slot at %s", sl.StartsAt.In(loc))
		}
	}
	if n := len(slots(t, s, far, farEnd)); n != 8 {
		t.Fatalf("%d slots on the closed day", n)
	}
	// A part of a day (maintenance 10:00–12:00) closes only the slots it touches.
	part, err := s.Schedule.Deactivate(ctx, time.Date(2030, 2, 6, 10, 0, 0, 0, loc), time.Date(2030, 2, 6, 12, 0, 0, 0, loc), "", false, 0)
	if err != nil || part.Deactivated != 2 {
		t.Fatalf("two hours: %+v %v", part, err)
	}
	if _, err := s.Schedule.Deactivate(ctx, to, from, "", false, 0); err == nil {
		t.Fatal("reversed range accepted")
	}
}

// Students booking while an admin deletes the slot with cancel_bookings:
// whatever the interleaving, no active booking is left on a deleted slot
// and its counter ends at zero.
func TestDeleteRacesBookings(t *testing.T) {
	s := apptest.Start(t, apptest.Options{NoJobs: true})
	loc := s.Settings.Location(ctx)
	day := time.Now().In(loc).AddDate(0, 0, 2)
	st := time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, loc)
	en := st.Add(time.Hour)
	capacity := 30
	sl, err := s.Schedule.CreateSlot(ctx, schedule.SlotInput{Start: &st, End: &en, Capacity: &capacity})
	if err != nil {
		t.Fatal(err)
	}
	var us []*booksmeta.User
	for i := 0; i < 20; i++ {
		us = append(us, student(t, s, "race"+strings.Repeat("x", i)+"@example.ru"))
	}
	done := make(chan struct{})
	for _, u := range us {
		go func(u *booksmeta.User) {
			s.Booking.Book(ctx, u.ID, sl.ID)
			done <- struct{}{}
		}(u)
	}
	time.Sleep(5 * time.Millisecond)
	if _, err := s.Schedule.DeleteSlot(ctx, sl.ID, true, "", 0); err != nil {
		t.Fatal(err)
	}
	for range us {
		<-done
	}
	var active, booked int
	s.DB.Write.QueryRow(`SELECT COUNT(*) FROM bookings WHERE slot_id = $1 AND status = 'active'`, sl.ID).Scan(&active)
	s.DB.Write.QueryRow(`SELECT booked FROM slots WHERE id = $1`, sl.ID).Scan(&booked)
	if active != 0 || booked != 0 {
		t.Fatalf("after delete: %d active bookings, booked counter %d", active, booked)
	}
}
