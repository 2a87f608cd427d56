package enrol_test

import (
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
	if u.BookingLimit != 5 || e.Hours != 50 || e.Until.Sub(time.Now()) < 170*24*time.Hour {
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
	if e := f.entitlement(u); !u.Paid || u.BookingLimit != 3 || e.Hours != 10 || e.Until.Sub(time.Now()) > 61*24*time.Hour {
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
