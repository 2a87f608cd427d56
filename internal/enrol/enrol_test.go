package enrol_test

import (
	"booksmeta"

	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/clocktest"
	"booksmeta/internal/dbtest"
	"booksmeta/internal/enrol"
	"booksmeta/internal/store"
)

type limit int

func (l limit) DefaultLimit(context.Context) (int, error) { return int(l), nil }

type fixture struct {
	clk *clocktest.Clock
	t   *testing.T
	st  *store.Store
	svc *enrol.Service
	ctx context.Context
}

func newFixture(t *testing.T) *fixture {
	clk := clocktest.New()
	return &fixture{clk: clk, t: t, st: store.New(dbtest.Open(t), store.WithClock(clk.Now)), svc: &enrol.Service{Defaults: limit(4)}, ctx: context.Background()}
}

var nextID int64

func (f *fixture) apply(ev enrol.Event) (enrol.Outcome, error) {
	f.t.Helper()
	var out enrol.Outcome
	nextID++
	err := f.st.InTx(f.ctx, func(tx *store.Tx) error {
		var err error
		out, err = f.svc.Apply(f.ctx, tx, ev, nextID)
		return err
	})
	return out, err
}

func (f *fixture) mustApply(ev enrol.Event) enrol.Outcome {
	f.t.Helper()
	out, err := f.apply(ev)
	if err != nil {
		f.t.Fatalf("apply %+v: %v", ev, err)
	}
	return out
}

func (f *fixture) user(email string) *booksmeta.User {
	f.t.Helper()
	u, err := f.st.UserByEmail(f.ctx, email)
	if err != nil {
		f.t.Fatalf("user %s: %v", email, err)
	}
	return u
}

func (f *fixture) mails(u *booksmeta.User) []*store.OutboxMail {
	m, err := f.st.MailByUser(f.ctx, u.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

func TestPaymentCreatesPaidStudentAndQueuesWelcomeOnce(t *testing.T) {
	f := newFixture(t)
	out := f.mustApply(enrol.Event{Name: "user_payment", Email: " Anna@Example.RU ", FirstName: "Анна", LastName: "Иванова", Phone: "+7 900 000-00-00", GetCourseUserID: "777"})
	if out.State != booksmeta.StateDone || !strings.Contains(out.Summary, "создан") {
		t.Fatalf("outcome %+v", out)
	}
	u := f.user("anna@example.ru")
	if !u.Paid || !u.Active || u.Role != booksmeta.RoleStudent || u.BookingLimit != 4 || u.GetCourseUserID != "777" || u.PaidAt.IsZero() || u.PasswordHash != "" {
		t.Fatalf("student %+v", u)
	}
	m := f.mails(u)
	if len(m) != 1 || m[0].Kind != "welcome" || m[0].Status != store.MailQueued || strings.Contains(m[0].Data, "password") {
		t.Fatalf("welcome mail %+v", m)
	}
	// A second payment (another product) keeps one welcome mail.
	out = f.mustApply(enrol.Event{Name: "user_payment", Email: "anna@example.ru"})
	if !strings.Contains(out.Summary, "уже") || len(f.mails(u)) != 1 {
		t.Fatalf("second payment: %+v, mails %d", out, len(f.mails(u)))
	}
	// Names are not blanked by an event that omits them.
	if u2 := f.user("anna@example.ru"); u2.FirstName != "Анна" || u2.Phone == "" {
		t.Fatalf("fields lost: %+v", u2)
	}
	notices, _ := f.st.NoticesByUser(f.ctx, u.ID, 10)
	if len(notices) != 1 || notices[0].Kind != "payment" {
		t.Fatalf("notices %+v", notices)
	}
}

func TestPaymentMatchesByGetCourseID(t *testing.T) {
	f := newFixture(t)
	f.mustApply(enrol.Event{Name: "user_registered", Email: "old@example.ru", GetCourseUserID: "42"})
	f.mustApply(enrol.Event{Name: "user_payment", Email: "new@example.ru", GetCourseUserID: "42"})
	if _, err := f.st.UserByEmail(f.ctx, "new@example.ru"); !errors.Is(err, store.ErrNotFound) {
		// Matched by id: the existing account is updated, no second account appears.
		t.Fatalf("a second account was created: %v", err)
	}
	if !f.user("old@example.ru").Paid {
		t.Fatal("the account matched by GetCourse id was not marked paid")
	}
}

func TestRegisteredIsNotPaid(t *testing.T) {
	f := newFixture(t)
	out := f.mustApply(enrol.Event{Name: "user_registered", Email: "reg@example.ru", FirstName: "Рег"})
	u := f.user("reg@example.ru")
	if u.Paid || !u.Active || out.State != booksmeta.StateDone {
		t.Fatalf("registered student %+v", u)
	}
	if len(f.mails(u)) != 0 {
		t.Fatal("no welcome mail before payment")
	}
	f.mustApply(enrol.Event{Name: "user_payment", Email: "reg@example.ru"})
	if u := f.user("reg@example.ru"); !u.Paid || len(f.mails(u)) != 1 {
		t.Fatalf("after payment %+v", u)
	}
}

func TestDealLifecycle(t *testing.T) {
	f := newFixture(t)
	out := f.mustApply(enrol.Event{Name: "deal_created", Email: "deal@example.ru", DealID: "100", DealNumber: "A-1", Status: "new", Cost: "12 000,00"})
	if !strings.Contains(out.Summary, "не оплачен") || out.State != booksmeta.StateDone {
		t.Fatalf("new deal %+v", out)
	}
	if _, err := f.st.UserByEmail(f.ctx, "deal@example.ru"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("an unpaid deal must not create an account")
	}
	f.mustApply(enrol.Event{Name: "deal_created", Email: "deal@example.ru", DealID: "100", Status: "payed"})
	u := f.user("deal@example.ru")
	if !u.Paid {
		t.Fatal("paid deal did not pay")
	}
	deals, _ := f.st.DealsByUser(f.ctx, u.ID)
	if len(deals) != 1 || !deals[0].Paid || deals[0].DealNumber != "A-1" || deals[0].Cost != "12 000,00" {
		t.Fatalf("deal record %+v", deals)
	}
	// A future booking exists; refund cancels it and takes access away.
	slot := f.addSlot(time.Now().Add(48*time.Hour), 1)
	f.book(slot, u.ID)
	out = f.mustApply(enrol.Event{Name: "deal_created", Email: "deal@example.ru", DealID: "100", Status: "cancelled"})
	u = f.user("deal@example.ru")
	if u.Paid || !strings.Contains(out.Summary, "снят доступ") || !strings.Contains(out.Summary, "отменено будущих бронирований: 1") {
		t.Fatalf("refund: paid=%v %+v", u.Paid, out)
	}
	var status string
	var booked int
	f.st.DB().Read.QueryRow("SELECT status FROM bookings WHERE user_id = $1", u.ID).Scan(&status)
	f.st.DB().Read.QueryRow("SELECT booked FROM slots WHERE id = $1", slot).Scan(&booked)
	if status != booksmeta.BookingCancelled || booked != 0 {
		t.Fatalf("booking %s, slot booked %d", status, booked)
	}
	kinds := map[string]bool{}
	for _, m := range f.mails(u) {
		kinds[m.Kind] = true
	}
	if !kinds["payment_revoked"] {
		t.Fatalf("no revocation mail: %v", kinds)
	}
}

func TestRefundKeepsAccessWithAnotherPaidDeal(t *testing.T) {
	f := newFixture(t)
	f.mustApply(enrol.Event{Name: "deal_created", Email: "two@example.ru", DealID: "1", Status: "payed"})
	f.mustApply(enrol.Event{Name: "deal_created", Email: "two@example.ru", DealID: "2", Status: "paid"})
	out := f.mustApply(enrol.Event{Name: "deal_created", Email: "two@example.ru", DealID: "1", Status: "false"})
	if !f.user("two@example.ru").Paid || !strings.Contains(out.Summary, "другие оплаченные") {
		t.Fatalf("access must stay: %+v", out)
	}
}

func TestAdminDeactivatedStaysInactive(t *testing.T) {
	f := newFixture(t)
	f.mustApply(enrol.Event{Name: "user_payment", Email: "off@example.ru"})
	f.st.InTx(f.ctx, func(tx *store.Tx) error {
		u, _ := tx.UserByEmail(f.ctx, "off@example.ru")
		u.Active, u.DeactivatedByAdmin = false, true
		return tx.UpdateUser(f.ctx, u)
	})
	out := f.mustApply(enrol.Event{Name: "user_payment", Email: "off@example.ru"})
	if u := f.user("off@example.ru"); u.Active || !strings.Contains(out.Summary, "отключён администратором") {
		t.Fatalf("reactivated: %+v %+v", u, out)
	}
}

func TestRuleErrorsAndIgnored(t *testing.T) {
	f := newFixture(t)
	for _, ev := range []enrol.Event{
		{Name: "user_payment"},
		{Name: "user_payment", Email: "not-an-email"},
		{Name: "user_registered", Email: "a@b@c"},
		{Name: "deal_created", Status: "new"},
	} {
		_, err := f.apply(ev)
		if !enrol.IsRuleError(err) {
			t.Errorf("%+v: want a rule error, got %v", ev, err)
		}
	}
	if out := f.mustApply(enrol.Event{Name: "test"}); out.State != booksmeta.StateDone {
		t.Fatalf("test event %+v", out)
	}
	if out := f.mustApply(enrol.Event{Name: "lesson_viewed", Email: "x@y.ru"}); out.State != booksmeta.StateIgnored || !strings.Contains(out.Summary, "lesson_viewed") {
		t.Fatalf("unknown event %+v", out)
	}
	if _, err := f.st.UserByEmail(f.ctx, "x@y.ru"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("an ignored event must not create an account")
	}
}

func TestStatusClasses(t *testing.T) {
	for _, s := range []string{"payed", "Paid", " deal_is_paid ", "Завершен", "Оплачен", "завершён"} {
		if !enrol.StatusPaid(s) || enrol.StatusRevoked(s) {
			t.Errorf("%q should be paid", s)
		}
	}
	for _, s := range []string{"cancelled", "false", "refunded", "payment_returned", "waiting_for_return", "Ожидаем возврата", "Отменен", "Ложный"} {
		if !enrol.StatusRevoked(s) || enrol.StatusPaid(s) {
			t.Errorf("%q should revoke", s)
		}
	}
	for _, s := range []string{"new", "in_work", "part_payed", "Частично оплачен", "pending", "not_confirmed", "payment_waiting", "В работе", "", "whatever"} {
		if enrol.StatusPaid(s) || enrol.StatusRevoked(s) {
			t.Errorf("%q should change nothing", s)
		}
	}
}

// addSlot and book write rows directly: the booking rules are tested in
// their own package; here only the refund's effect on them matters.
func (f *fixture) addSlot(start time.Time, capacity int) int64 {
	f.t.Helper()
	var id int64
	now := time.Now().UnixMilli()
	err := f.st.DB().Write.QueryRow(`INSERT INTO slots (starts_at, ends_at, capacity, created_at, updated_at) VALUES ($1,$2,$3,$4,$4) RETURNING id`,
		start.UnixMilli(), start.Add(time.Hour).UnixMilli(), capacity, now).Scan(&id)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *fixture) book(slot, user int64) {
	f.t.Helper()
	if _, err := f.st.DB().Write.Exec(`INSERT INTO bookings (slot_id, user_id, created_at) VALUES ($1,$2,$3)`, slot, user, time.Now().UnixMilli()); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.st.DB().Write.Exec(`UPDATE slots SET booked = booked + 1 WHERE id = $1`, slot); err != nil {
		f.t.Fatal(err)
	}
}

// TestWebhooksLeaveAdminsAlone: an administrator's account is theirs to
// edit; a payment or a refund arriving for their email changes neither
// their name nor their paid flag (issue 13).
func TestWebhooksLeaveAdminsAlone(t *testing.T) {
	f := newFixture(t)
	err := f.st.InTx(f.ctx, func(tx *store.Tx) error {
		return tx.InsertUser(f.ctx, &booksmeta.User{Email: "boss@example.ru", FirstName: "Ольга", LastName: "Директор",
			Role: booksmeta.RoleAdmin, Active: true, PasswordHash: "x"})
	})
	if err != nil {
		t.Fatal(err)
	}
	out := f.mustApply(enrol.Event{Name: "user_payment", Email: "boss@example.ru", FirstName: "Хакер", LastName: "Чужой", DealID: "7", Status: "payed"})
	u := f.user("boss@example.ru")
	if u.FirstName != "Ольга" || u.LastName != "Директор" || u.Paid || !strings.Contains(out.Summary, "администратор") {
		t.Fatalf("admin after a payment: %+v, %q", u, out.Summary)
	}
	f.mustApply(enrol.Event{Name: "deal_updated", Email: "boss@example.ru", DealID: "7", Status: "cancelled"})
	if u := f.user("boss@example.ru"); u.Role != booksmeta.RoleAdmin || u.FirstName != "Ольга" {
		t.Fatalf("admin after a refund: %+v", u)
	}
}
