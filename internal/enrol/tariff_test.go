package enrol_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"booksmeta"
	"booksmeta/internal/enrol"
	"booksmeta/internal/store"
	"booksmeta/internal/tariff"
)

func (f *fixture) rule(r booksmeta.OfferRule) {
	f.t.Helper()
	if err := f.st.InTx(f.ctx, func(tx *store.Tx) error { return tx.SaveOfferRule(f.ctx, &r) }); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) entitlement(u *booksmeta.User) booksmeta.Entitlement {
	f.t.Helper()
	var grants []booksmeta.Grant
	err := f.st.InTx(f.ctx, func(tx *store.Tx) error {
		var err error
		grants, err = tx.PaidGrants(f.ctx, u.ID)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return tariff.Combine(grants)
}

// TestTariffs: with rules, a purchase gives what its offer's rule says;
// an offer without a granting rule gives nothing and says why; purchases
// add up, and a refund takes away only what it gave.
func TestTariffs(t *testing.T) {
	f := newFixture(t)
	f.rule(booksmeta.OfferRule{MatchKind: booksmeta.MatchOfferID, MatchValue: "111", GrantsAccess: true, BookingLimit: 3, Hours: 10, AccessDays: 60})
	f.rule(booksmeta.OfferRule{MatchKind: booksmeta.MatchTitle, MatchValue: "Премиум", GrantsAccess: true, BookingLimit: 5, Hours: 40, AccessDays: 180})
	f.rule(booksmeta.OfferRule{MatchKind: booksmeta.MatchOfferID, MatchValue: "900", GrantsAccess: false})

	// A webinar: no granting rule, no access, no account.
	out := f.mustApply(enrol.Event{Name: "deal_updated", Email: "web@example.ru", DealID: "1", Status: "payed", OfferIDs: []string{"900"}})
	if out.State != booksmeta.StateIgnored || !strings.Contains(out.Summary, "не даёт доступа") {
		t.Fatalf("non-granting offer: %+v", out)
	}
	if _, err := f.st.UserByEmail(f.ctx, "web@example.ru"); err == nil {
		t.Fatal("a non-granting purchase created an account")
	}
	out = f.mustApply(enrol.Event{Name: "deal_updated", Email: "book@example.ru", DealID: "2", Status: "payed", ProductTitle: "Книга"})
	if out.State != booksmeta.StateIgnored || !strings.Contains(out.Summary, "«Тарифы»") {
		t.Fatalf("unknown offer: %+v", out)
	}

	// Two purchases add up; the limit is the largest.
	f.mustApply(enrol.Event{Name: "deal_updated", Email: "ann@example.ru", DealID: "10", Status: "payed", OfferIDs: []string{"111"}})
	u := f.user("ann@example.ru")
	if e := f.entitlement(u); !u.Paid || u.BookingLimit != 3 || e.Hours != 10 || !e.Capped {
		t.Fatalf("one purchase: %+v %+v", u, e)
	}
	f.mustApply(enrol.Event{Name: "deal_updated", Email: "ann@example.ru", DealID: "11", Status: "payed", ProductTitle: "Премиум, Методичка"})
	u = f.user("ann@example.ru")
	e := f.entitlement(u)
	if u.BookingLimit != 5 || e.Hours != 50 || time.Until(e.Until) < 170*24*time.Hour {
		t.Fatalf("two purchases: limit %d %+v", u.BookingLimit, e)
	}
	// A repeated delivery of the paid state changes nothing.
	f.mustApply(enrol.Event{Name: "deal_updated", Email: "ann@example.ru", DealID: "11", Status: "payed", ProductTitle: "Премиум, Методичка"})
	if e2 := f.entitlement(f.user("ann@example.ru")); e2.Hours != 50 {
		t.Fatalf("a repeat added hours: %+v", e2)
	}
	// Refunding the premium keeps the first purchase, and only it.
	f.mustApply(enrol.Event{Name: "deal_updated", Email: "ann@example.ru", DealID: "11", Status: "cancelled"})
	u = f.user("ann@example.ru")
	if e := f.entitlement(u); !u.Paid || u.BookingLimit != 3 || e.Hours != 10 || time.Until(e.Until) > 61*24*time.Hour {
		t.Fatalf("after the premium's refund: %+v %+v", u, e)
	}
	// A rule changed later applies to deals from then on.
	f.rule(booksmeta.OfferRule{MatchKind: booksmeta.MatchOfferCode, MatchValue: "NEW", GrantsAccess: true, Hours: 1})
	if e := f.entitlement(f.user("ann@example.ru")); e.Hours != 10 {
		t.Fatalf("a new rule changed an existing purchase: %+v", e)
	}
}

// TestNoRulesKeepsEveryPaymentGiving: before a school defines tariffs,
// every payment gives access, without caps, as it always did.
func TestNoRulesKeepsEveryPaymentGiving(t *testing.T) {
	f := newFixture(t)
	out := f.mustApply(enrol.Event{Name: "deal_updated", Email: "old@example.ru", DealID: "5", Status: "payed", ProductTitle: "Что угодно"})
	u := f.user("old@example.ru")
	if e := f.entitlement(u); !u.Paid || u.BookingLimit != 4 || e.Capped || !e.Until.IsZero() || !strings.Contains(out.Summary, "тарифы не заданы") {
		t.Fatalf("%+v %+v %q", u, e, out.Summary)
	}
}

// TestRecomputeDryRunThenApply: moving a school from "every payment gives
// access" to tariffs, the dry run shows who would change and writes
// nothing; applying does exactly that.
func TestRecomputeDryRunThenApply(t *testing.T) {
	f := newFixture(t)
	// Before tariffs: two students paid for different things.
	f.mustApply(enrol.Event{Name: "deal_updated", Email: "course@example.ru", DealID: "1", Status: "payed", OfferIDs: []string{"111"}})
	f.mustApply(enrol.Event{Name: "deal_updated", Email: "webinar@example.ru", DealID: "2", Status: "payed", OfferIDs: []string{"900"}})
	web := f.user("webinar@example.ru")
	slot := f.addSlot(time.Now().Add(72*time.Hour), 1)
	f.book(slot, web.ID)
	f.rule(booksmeta.OfferRule{MatchKind: booksmeta.MatchOfferID, MatchValue: "111", GrantsAccess: true, Hours: 10, AccessDays: 60})

	// What a recompute could touch: deals, paid flags, mail, bookings.
	snapshot := func() string {
		var b strings.Builder
		rows, _ := f.st.DB().Read.Query(`SELECT deal_key, paid, grant_hours, COALESCE(grant_until, 0) FROM deals ORDER BY deal_key`)
		for rows.Next() {
			var k string
			var p bool
			var h, u int64
			rows.Scan(&k, &p, &h, &u)
			fmt.Fprintf(&b, "%s %v %d %d; ", k, p, h, u)
		}
		rows.Close()
		for _, q := range []string{`SELECT COUNT(*) FROM mail_outbox`, `SELECT COUNT(*) FROM users WHERE paid = TRUE`,
			`SELECT COUNT(*) FROM bookings WHERE status = 'active'`, `SELECT COUNT(*) FROM notices`} {
			var n int
			f.st.DB().Read.QueryRow(q).Scan(&n)
			fmt.Fprintf(&b, "%d ", n)
		}
		return b.String()
	}
	before := snapshot()
	changes, err := f.svc.Recompute(f.ctx, f.st, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 {
		t.Fatalf("dry run: %+v", changes)
	}
	byEmail := map[string]enrol.Change{}
	for _, c := range changes {
		byEmail[c.Email] = c
	}
	if c := byEmail["webinar@example.ru"]; !c.LosesAccess() {
		t.Fatalf("the webinar buyer should lose access: %+v", c)
	}
	if c := byEmail["course@example.ru"]; c.LosesAccess() || c.After.Hours != 10 || !c.After.Capped {
		t.Fatalf("the course buyer should get the tariff: %+v", c)
	}
	if after := snapshot(); after != before {
		t.Fatalf("the dry run wrote:\n%s\n%s", before, after)
	}

	if _, err := f.svc.Recompute(f.ctx, f.st, true); err != nil {
		t.Fatal(err)
	}
	if f.user("webinar@example.ru").Paid || !f.user("course@example.ru").Paid {
		t.Fatal("apply did not do what the dry run showed")
	}
	var status string
	f.st.DB().Read.QueryRow("SELECT status FROM bookings WHERE user_id = $1", web.ID).Scan(&status)
	if status != booksmeta.BookingCancelled {
		t.Fatalf("the webinar buyer's future booking is %s", status)
	}
	if e := f.entitlement(f.user("course@example.ru")); e.Hours != 10 {
		t.Fatalf("course buyer after apply: %+v", e)
	}
	// Nothing left to change.
	if again, _ := f.svc.Recompute(f.ctx, f.st, false); len(again) != 0 {
		t.Fatalf("a second recompute still changes %+v", again)
	}
}

// TestAccessEndsOnTime: when a purchase's days run out, its access ends:
// future bookings are cancelled with a notice and a mail; a reminder goes
// out once before.
func TestAccessEndsOnTime(t *testing.T) {
	f := newFixture(t)
	f.rule(booksmeta.OfferRule{MatchKind: booksmeta.MatchOfferID, MatchValue: "111", GrantsAccess: true, AccessDays: 5})
	f.mustApply(enrol.Event{Name: "deal_updated", Email: "end@example.ru", DealID: "1", Status: "payed", OfferIDs: []string{"111"}})
	u := f.user("end@example.ru")
	slot := f.addSlot(time.Now().Add(10*24*time.Hour), 1)
	f.book(slot, u.ID)

	n, err := f.svc.RemindEnding(f.ctx, f.st, 7)
	if err != nil || n != 1 {
		t.Fatalf("reminder: %d %v", n, err)
	}
	if n, _ := f.svc.RemindEnding(f.ctx, f.st, 7); n != 0 {
		t.Fatal("the reminder went out twice")
	}
	if n, _ := f.svc.EndExpired(f.ctx, f.st); n != 0 || !f.user("end@example.ru").Paid {
		t.Fatal("access ended early")
	}
	f.clk.Set(time.Now().Add(6 * 24 * time.Hour))
	if n, err := f.svc.EndExpired(f.ctx, f.st); err != nil || n != 1 {
		t.Fatalf("end: %d %v", n, err)
	}
	u = f.user("end@example.ru")
	var status string
	f.st.DB().Read.QueryRow("SELECT status FROM bookings WHERE user_id = $1", u.ID).Scan(&status)
	kinds := map[string]bool{}
	for _, m := range f.mails(u) {
		kinds[m.Kind] = true
	}
	if u.Paid || status != booksmeta.BookingCancelled || !kinds["access_ended"] || !kinds["access_ending"] {
		t.Fatalf("after the end: paid=%v booking=%s mails=%v", u.Paid, status, kinds)
	}
}
