package booking_test

import (
	"booksmeta"

	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"booksmeta/internal/apptest"
	"booksmeta/internal/booking"
	"booksmeta/internal/clocktest"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

var ctx = context.Background()

func student(t *testing.T, s *apptest.Server, email string, paid, active bool, limit int) *booksmeta.User {
	t.Helper()
	u := &booksmeta.User{Email: email, Role: booksmeta.RoleStudent, Paid: paid, Active: active, BookingLimit: limit}
	if err := s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.InsertUser(ctx, u) }); err != nil {
		t.Fatal(err)
	}
	return u
}

func slot(t *testing.T, s *apptest.Server, start time.Time, capacity int) int64 {
	t.Helper()
	var id int64
	now := time.Now().UnixMilli()
	err := s.DB.Write.QueryRow(`INSERT INTO slots (starts_at, ends_at, capacity, server_login, server_password, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$6) RETURNING id`, start.UnixMilli(), start.Add(time.Hour).UnixMilli(), capacity,
		s.Box.Seal("user_slot"), s.Box.Seal("slot-pass-XYZ"), now).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func code(err error) string {
	var re *booksmeta.Error
	if errors.As(err, &re) {
		return re.Code
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return ""
}

func TestRefusals(t *testing.T) {
	s := apptest.Start(t, apptest.Options{NoJobs: true})
	b := s.Booking
	future := time.Now().Add(24 * time.Hour).Truncate(time.Hour)
	paid := student(t, s, "paid@example.ru", true, true, 2)
	unpaid := student(t, s, "unpaid@example.ru", false, true, 2)
	off := student(t, s, "off@example.ru", true, false, 2)
	s1, s2, s3 := slot(t, s, future, 1), slot(t, s, future.Add(time.Hour), 5), slot(t, s, future.Add(2*time.Hour), 5)
	past := slot(t, s, time.Now().Add(-30*time.Minute), 5)

	if _, err := b.Book(ctx, unpaid.ID, s2); code(err) != booksmeta.CodeNotPaid {
		t.Errorf("unpaid: %v", err)
	}
	if _, err := b.Book(ctx, off.ID, s2); code(err) != booksmeta.CodeInactive {
		t.Errorf("inactive: %v", err)
	}
	if _, err := b.Book(ctx, paid.ID, past); code(err) != booksmeta.CodeSlotInPast {
		t.Errorf("past: %v", err)
	}
	if _, err := b.Book(ctx, paid.ID, 99999); code(err) != booksmeta.CodeNotFound {
		t.Errorf("missing: %v", err)
	}
	if _, err := b.Book(ctx, paid.ID, s1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Book(ctx, paid.ID, s1); code(err) != booksmeta.CodeAlreadyBooked {
		t.Errorf("twice: %v", err)
	}
	other := student(t, s, "other@example.ru", true, true, 3)
	if _, err := b.Book(ctx, other.ID, s1); code(err) != booksmeta.CodeSlotFull {
		t.Errorf("full: %v", err)
	}
	if _, err := b.Book(ctx, paid.ID, s2); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Book(ctx, paid.ID, s3); code(err) != booksmeta.CodeLimitReached {
		t.Errorf("limit: %v", err)
	}
	// A cancelled booking frees one place of the limit and of the slot.
	bs, _ := s.Store.BookingsByUser(ctx, paid.ID)
	var first *booksmeta.Booking
	for _, x := range bs {
		if x.SlotID == s1 {
			first = x
		}
	}
	if _, err := b.Cancel(ctx, paid.ID, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Book(ctx, paid.ID, s3); err != nil {
		t.Fatalf("after cancel the limit frees: %v", err)
	}
	if _, err := b.Book(ctx, other.ID, s1); err != nil {
		t.Fatalf("after cancel the place frees: %v", err)
	}
	if _, err := b.Cancel(ctx, paid.ID, first.ID); code(err) != booksmeta.CodeNotActive {
		t.Errorf("cancel twice: %v", err)
	}
	if _, err := b.Cancel(ctx, other.ID, first.ID); code(err) != booksmeta.CodeNotFound {
		t.Errorf("cancel someone else's: %v", err)
	}
}

func TestCancelCutoff(t *testing.T) {
	s := apptest.Start(t, apptest.Options{NoJobs: true})
	u := student(t, s, "c@example.ru", true, true, 3)
	soon := slot(t, s, time.Now().Add(90*time.Minute), 1)
	later := slot(t, s, time.Now().Add(3*time.Hour), 1)
	bSoon, err := s.Booking.Book(ctx, u.ID, soon)
	if err != nil {
		t.Fatal(err)
	}
	bLater, _ := s.Booking.Book(ctx, u.ID, later)
	if _, err := s.Booking.Cancel(ctx, u.ID, bSoon.ID); code(err) != booksmeta.CodeTooLate {
		t.Fatalf("inside the 2 h cut-off: %v", err)
	}
	if _, err := s.Booking.Cancel(ctx, u.ID, bLater.ID); err != nil {
		t.Fatalf("outside the cut-off: %v", err)
	}
	// The cut-off is a setting.
	s.Settings.Put(ctx, map[string]string{booking.CancelCutoffMinutes: "30"}, 0)
	if _, err := s.Booking.Cancel(ctx, u.ID, bSoon.ID); err != nil {
		t.Fatalf("with a 30 min cut-off: %v", err)
	}
	// Admin cancels regardless, with a reason and a notice.
	b3, _ := s.Booking.Book(ctx, u.ID, soon)
	if _, err := s.Booking.AdminCancel(ctx, 1, b3.ID, "Техобслуживание"); err != nil {
		t.Fatal(err)
	}
	ns, _ := s.Store.NoticesByUser(ctx, u.ID, 10)
	if len(ns) == 0 || ns[0].Kind != "booking_cancelled" {
		t.Fatalf("notice: %+v", ns)
	}
	mails, _ := s.Store.MailByUser(ctx, u.ID)
	kinds := map[string]int{}
	for _, m := range mails {
		kinds[m.Kind]++
		if strings.Contains(m.Data, "slot-pass") {
			t.Fatal("a server password reached a mail row")
		}
	}
	if kinds["booking_confirmation"] != 3 || kinds["booking_cancelled"] != 3 {
		t.Fatalf("mails %v", kinds)
	}
}

func TestAccessWindow(t *testing.T) {
	s := apptest.Start(t, apptest.Options{NoJobs: true})
	s.Settings.Put(ctx, map[string]string{booking.ServerHost: "rdp.school.ru", booking.ServerLogin: "shared", booking.ServerPassword: "shared-pass"}, 0)
	u := student(t, s, "a@example.ru", true, true, 3)
	other := student(t, s, "b@example.ru", true, true, 3)
	start := time.Now().Add(2 * time.Hour).Truncate(time.Minute)
	id := slot(t, s, start, 2)
	b, err := s.Booking.Book(ctx, u.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	at := func(tm time.Time) (*booking.Access, error) {
		s.Clock.Set(tm)
		defer s.Clock.Real()
		return s.Booking.Access(ctx, u.ID, b.ID)
	}
	if _, err := at(start.Add(-16 * time.Minute)); code(err) != booksmeta.CodeNotOpen {
		t.Fatalf("16 min before: %v", err)
	}
	a, err := at(start.Add(-15 * time.Minute))
	if err != nil || a.Host != "rdp.school.ru" || a.Login != "user_slot" || a.Password != "slot-pass-XYZ" {
		t.Fatalf("15 min before: %+v %v", a, err)
	}
	if _, err := at(start.Add(59 * time.Minute)); err != nil {
		t.Fatalf("during: %v", err)
	}
	if _, err := at(start.Add(time.Hour)); code(err) != booksmeta.CodeNotOpen {
		t.Fatalf("at the end: %v", err)
	}
	s.Clock.Set(start)
	if _, err := s.Booking.Access(ctx, other.ID, b.ID); code(err) != booksmeta.CodeNotFound {
		t.Fatalf("someone else's booking: %v", err)
	}
	s.Clock.Real()
	// Without per-slot credentials the shared account is shown.
	var raw string
	s.DB.Read.QueryRow("SELECT server_password FROM slots WHERE id = $1", id).Scan(&raw)
	if strings.Contains(raw, "slot-pass") {
		t.Fatal("slot password stored in plaintext")
	}
	s.DB.Write.Exec("UPDATE slots SET server_login = '', server_password = '' WHERE id = $1", id)
	s.Clock.Set(start)
	a, err = s.Booking.Access(ctx, u.ID, b.ID)
	s.Clock.Real()
	if err != nil || a.Login != "shared" || a.Password != "shared-pass" {
		t.Fatalf("shared account: %+v %v", a, err)
	}
}

func TestFinishEnded(t *testing.T) {
	s := apptest.Start(t, apptest.Options{NoJobs: true})
	u := student(t, s, "f@example.ru", true, true, 1)
	id := slot(t, s, time.Now().Add(time.Hour), 1)
	b, _ := s.Booking.Book(ctx, u.ID, id)
	s.Clock.Advance(2*time.Hour + time.Minute)
	n, err := s.Booking.FinishEnded(ctx)
	s.Clock.Real()
	if err != nil || n != 1 {
		t.Fatalf("finished %d %v", n, err)
	}
	got, _ := s.Store.BookingByID(ctx, b.ID)
	if got.Status != booksmeta.BookingFinished {
		t.Fatalf("status %s", got.Status)
	}
	// The limit is free again.
	if _, err := s.Booking.Book(ctx, u.ID, slot(t, s, time.Now().Add(5*time.Hour), 1)); err != nil {
		t.Fatal(err)
	}
}

// TestNoOverbooking: 100 students race for one slot of capacity 1 and of 3;
// exactly the capacity wins, the rest are refused slot_full.
func TestNoOverbooking(t *testing.T) {
	for _, capacity := range []int{1, 3} {
		t.Run(fmt.Sprintf("capacity %d", capacity), func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{NoJobs: true})
			id := slot(t, s, time.Now().Add(48*time.Hour), capacity)
			users := make([]*booksmeta.User, 100)
			for i := range users {
				users[i] = student(t, s, fmt.Sprintf("r%d@example.ru", i), true, true, 3)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			results := map[string]int{}
			start := make(chan struct{})
			for _, u := range users {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := s.Booking.Book(ctx, u.ID, id)
					mu.Lock()
					results[code(err)]++
					mu.Unlock()
				}()
			}
			close(start)
			wg.Wait()
			if results[""] != capacity || results[booksmeta.CodeSlotFull] != 100-capacity {
				t.Fatalf("results %v", results)
			}
			var booked, active int
			s.DB.Read.QueryRow("SELECT booked FROM slots WHERE id = $1", id).Scan(&booked)
			s.DB.Read.QueryRow("SELECT COUNT(*) FROM bookings WHERE slot_id = $1 AND status = 'active'", id).Scan(&active)
			if booked != capacity || active != capacity {
				t.Fatalf("booked %d, active rows %d", booked, active)
			}
		})
	}
}

// TestLimitUnderRace: one student races 20 slots at once with a limit of 3.
func TestLimitUnderRace(t *testing.T) {
	s := apptest.Start(t, apptest.Options{NoJobs: true})
	u := student(t, s, "greedy@example.ru", true, true, 3)
	base := time.Now().Add(24 * time.Hour).Truncate(time.Hour)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, limited := 0, 0
	for i := 0; i < 20; i++ {
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
			case booksmeta.CodeLimitReached:
				limited++
			default:
				t.Errorf("unexpected %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 3 || limited != 17 {
		t.Fatalf("ok %d limited %d", ok, limited)
	}
}

// TestMaintenanceBlocksBookingNotWebhooks: in maintenance mode students
// cannot book, while a payment webhook is still accepted and processed.
func TestMaintenanceBlocksBookingNotWebhooks(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	u := student(t, s, "m@example.ru", true, true, 3)
	id := slot(t, s, time.Now().Add(24*time.Hour), 1)
	s.Settings.Put(ctx, map[string]string{booking.MaintenanceMode: "1", booking.MaintenanceMessage: "Обновляем сметную программу до 18:00."}, 0)
	_, err := s.Booking.Book(ctx, u.ID, id)
	var re *booksmeta.Error
	if !errors.As(err, &re) || re.Code != booksmeta.CodeMaintenance || !strings.Contains(re.Message, "18:00") {
		t.Fatalf("booking in maintenance: %v", err)
	}
	status, body := s.Do(t, "POST", "/api/getcourse/webhook", map[string][]string{"Content-Type": {"application/json"}},
		`{"action":"user_payment","user":{"email":"paid-during-maintenance@example.ru"}}`)
	if status != 200 {
		t.Fatalf("webhook in maintenance: %d %s", status, body)
	}
	apptest.WaitFor(t, 5*time.Second, "payment processed", func() bool {
		p, err := s.Store.UserByEmail(ctx, "paid-during-maintenance@example.ru")
		return err == nil && p.Paid
	})
	s.Settings.Put(ctx, map[string]string{booking.MaintenanceMode: "0"}, 0)
	if _, err := s.Booking.Book(ctx, u.ID, id); err != nil {
		t.Fatalf("after maintenance: %v", err)
	}
}

// max_advance_days: with N days, a slot on the N-th day from today (in the
// school's zone) can be booked, one on day N+1 cannot, with its own code and
// words, and the calendar's limit (BookableUntil) is midnight after day N.
func TestMaxAdvanceDays(t *testing.T) {
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Skip("no tzdata")
	}
	// 23:30 in Moscow is 20:30 UTC: the rule counts the school's days.
	now := time.Date(2026, 12, 2, 23, 30, 0, 0, moscow)
	s := apptest.Start(t, apptest.Options{NoJobs: true, Clock: clocktest.At(now)})
	b := s.Booking
	if err := s.Settings.Put(ctx, map[string]string{settings.Timezone: "Europe/Moscow", booking.MaxAdvanceDays: "10"}, 0); err != nil {
		t.Fatal(err)
	}
	u := student(t, s, "ahead@example.ru", true, true, 5)
	dayN := slot(t, s, time.Date(2026, 12, 12, 22, 0, 0, 0, moscow), 3)
	dayN1 := slot(t, s, time.Date(2026, 12, 13, 0, 0, 0, 0, moscow), 3)

	_, err = b.Book(ctx, u.ID, dayN1)
	if code(err) != booksmeta.CodeTooFarAhead {
		t.Fatalf("day N+1: %v", err)
	}
	if want := "Бронировать можно не дальше чем на 10 дней вперёд"; !strings.Contains(err.Error(), want) {
		t.Errorf("refusal %q lacks %q", err, want)
	}
	if msg, _ := b.Message(ctx, u, booking.OpBook, booksmeta.CodeTooFarAhead); !strings.Contains(msg, "на 10 дней вперёд") {
		t.Errorf("Message %q", msg)
	}
	if booksmeta.AsError(err).HTTPStatus() != 409 {
		t.Errorf("status %d", booksmeta.AsError(err).HTTPStatus())
	}
	if _, err := b.Book(ctx, u.ID, dayN); err != nil {
		t.Fatalf("day N refused: %v", err)
	}
	until, err := b.BookableUntil(ctx, now)
	if err != nil || !until.Equal(time.Date(2026, 12, 13, 0, 0, 0, 0, moscow)) {
		t.Errorf("BookableUntil %v %v", until, err)
	}

	if _, note, err := b.AdvanceLimit(ctx, now); err != nil || note != "Бронировать можно не дальше чем на 10 дней вперёд: последний день — 12.12.2026." {
		t.Errorf("AdvanceLimit note %q %v", note, err)
	}

	// 0 is today only; the setting refuses what is out of 0..365.
	if err := s.Settings.Put(ctx, map[string]string{booking.MaxAdvanceDays: "0"}, 0); err != nil {
		t.Fatal(err)
	}
	tomorrow := slot(t, s, time.Date(2026, 12, 3, 9, 0, 0, 0, moscow), 3)
	if _, err := b.Book(ctx, u.ID, tomorrow); code(err) != booksmeta.CodeTooFarAhead || !strings.Contains(err.Error(), "только на сегодня") {
		t.Errorf("tomorrow with 0 days: %v", err)
	}
	for _, bad := range []string{"366", "-1", "много"} {
		if err := s.Settings.Put(ctx, map[string]string{booking.MaxAdvanceDays: bad}, 0); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if v, _ := s.Settings.Int(ctx, booking.MaxAdvanceDays); v != 0 {
		t.Errorf("value after refusals %d", v)
	}
}
