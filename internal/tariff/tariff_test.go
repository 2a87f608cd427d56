package tariff_test

import (
	"strings"
	"testing"
	"time"

	"booksmeta"
	"booksmeta/internal/tariff"
)

var paidAt = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func rule(kind, value string, grants bool, limit, hours, days int) booksmeta.OfferRule {
	return booksmeta.OfferRule{MatchKind: kind, MatchValue: value, GrantsAccess: grants, BookingLimit: limit, Hours: hours, AccessDays: days}
}

func TestMatch(t *testing.T) {
	rules := []booksmeta.OfferRule{
		rule(booksmeta.MatchOfferID, "111", true, 3, 10, 60),
		rule(booksmeta.MatchOfferCode, "PREMIUM", true, 5, 40, 180),
		rule(booksmeta.MatchTitle, "Вебинар по сметам", false, 0, 0, 0),
		rule(booksmeta.MatchTitle, "Консультация", true, 0, 2, 0),
	}
	cases := []struct {
		name string
		p    tariff.Purchase
		want booksmeta.Grant
		note string
	}{
		{"offer id", tariff.Purchase{OfferIDs: []string{"999", "111"}, PaidAt: paidAt},
			booksmeta.Grant{Access: true, Limit: 3, Hours: 10, Until: paidAt.AddDate(0, 0, 60)}, "предложение 111"},
		{"code in any case", tariff.Purchase{OfferCode: "premium", PaidAt: paidAt},
			booksmeta.Grant{Access: true, Limit: 5, Hours: 40, Until: paidAt.AddDate(0, 0, 180)}, "код PREMIUM"},
		{"two granting offers in one order add up", tariff.Purchase{OfferIDs: []string{"111"}, Positions: "Консультация, Курс", PaidAt: paidAt},
			// The consultation has no end, so neither has the order's access.
			booksmeta.Grant{Access: true, Limit: 3, Hours: 12}, "Консультация"},
		{"a rule without access", tariff.Purchase{Positions: "вебинар по сметам", PaidAt: paidAt},
			booksmeta.Grant{}, "не даёт доступа"},
		{"nothing matches", tariff.Purchase{OfferIDs: []string{"5"}, Positions: "Книга", PaidAt: paidAt},
			booksmeta.Grant{}, "не подходит ни под один тариф"},
		{"a title is matched whole, not as a part", tariff.Purchase{Positions: "Консультация юриста", PaidAt: paidAt},
			booksmeta.Grant{}, "не подходит"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := tariff.Match(rules, c.p)
			if g.Access != c.want.Access || g.Limit != c.want.Limit || g.Hours != c.want.Hours || !g.Until.Equal(c.want.Until) {
				t.Fatalf("got %+v, want %+v", g, c.want)
			}
			if !strings.Contains(g.Note, c.note) {
				t.Fatalf("note %q does not mention %q", g.Note, c.note)
			}
		})
	}
	// No rules: every payment gives access as before tariffs.
	if g := tariff.Match(nil, tariff.Purchase{Positions: "что угодно"}); !g.Access || g.Hours != 0 || !g.Until.IsZero() || g.Limit != 0 {
		t.Fatalf("without rules: %+v", g)
	}
}

func TestCombine(t *testing.T) {
	a := booksmeta.Grant{Access: true, Limit: 3, Hours: 10, Until: paidAt.AddDate(0, 0, 60)}
	b := booksmeta.Grant{Access: true, Limit: 5, Hours: 40, Until: paidAt.AddDate(0, 0, 30)}
	e := tariff.Combine([]booksmeta.Grant{a, b, {Note: "no access"}})
	if !e.Access || e.Limit != 5 || !e.Capped || e.Hours != 50 || !e.Until.Equal(a.Until) {
		t.Fatalf("two purchases: %+v", e)
	}
	open := booksmeta.Grant{Access: true}
	if e := tariff.Combine([]booksmeta.Grant{a, open}); e.Capped || e.Hours != 0 || !e.Until.IsZero() {
		t.Fatalf("a purchase without caps lifts them: %+v", e)
	}
	if e := tariff.Combine(nil); e.Access {
		t.Fatalf("nothing bought: %+v", e)
	}
}

func TestValidate(t *testing.T) {
	good := rule(booksmeta.MatchOfferID, "111", true, 3, 10, 60)
	if err := tariff.Validate(good); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []booksmeta.OfferRule{
		rule("price", "1", true, 0, 0, 0), rule(booksmeta.MatchTitle, " ", true, 0, 0, 0),
		rule(booksmeta.MatchOfferID, "1", true, -1, 0, 0), rule(booksmeta.MatchOfferID, "1", true, 0, -5, 0), rule(booksmeta.MatchOfferID, "1", true, 0, 0, 99999),
	} {
		if err := tariff.Validate(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
