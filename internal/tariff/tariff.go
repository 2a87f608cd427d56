// Package tariff holds the rules of SPEC §8: which purchases give server
// time and how much. Match decides what one paid purchase gives under the
// school's offer rules; Combine adds a student's purchases up. Both are
// pure: enrol applies Match when a payment arrives, booking checks the
// Combine of a student's paid deals, and the admin's recompute runs Match
// again over existing deals.
package tariff

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"booksmeta"
)

// Purchase is what a paid deal says about what was bought.
type Purchase struct {
	OfferIDs  []string
	OfferCode string
	Positions string // titles, as GetCourse lists them ({object.positions})
	PaidAt    time.Time
}

// Match is what p gives under rules. With no rules at all every payment
// gives access with the student's own limit and no caps: the behaviour
// before tariffs, so that a school that has not set any up loses nothing.
// Several granting rules matching one order (an order of two offers) add
// up like two purchases.
func Match(rules []booksmeta.OfferRule, p Purchase) booksmeta.Grant {
	if len(rules) == 0 {
		return booksmeta.Grant{Access: true, Note: "тарифы не заданы: любая оплата даёт доступ"}
	}
	var matched []booksmeta.OfferRule
	for _, r := range rules {
		if matches(r, p) {
			matched = append(matched, r)
		}
	}
	var grants []booksmeta.Grant
	var names []string
	for _, r := range matched {
		if !r.GrantsAccess {
			continue
		}
		g := booksmeta.Grant{Access: true, Limit: r.BookingLimit, Hours: r.Hours}
		if r.AccessDays > 0 && !p.PaidAt.IsZero() {
			g.Until = p.PaidAt.AddDate(0, 0, r.AccessDays)
		}
		grants = append(grants, g)
		names = append(names, Describe(r))
	}
	if len(grants) == 0 {
		what := describePurchase(p)
		if len(matched) > 0 {
			return booksmeta.Grant{Note: fmt.Sprintf("покупка (%s) по тарифу «%s» не даёт доступа к серверу", what, Describe(matched[0]))}
		}
		return booksmeta.Grant{Note: fmt.Sprintf("покупка (%s) не подходит ни под один тариф с доступом к серверу — если она должна давать доступ, добавьте тариф в разделе «Тарифы»", what)}
	}
	e := Combine(grants)
	g := booksmeta.Grant{Access: true, Limit: e.Limit, Until: e.Until, Note: "тариф " + strings.Join(names, ", ")}
	if e.Capped {
		g.Hours = e.Hours
	}
	return g
}

func matches(r booksmeta.OfferRule, p Purchase) bool {
	v := strings.TrimSpace(r.MatchValue)
	if v == "" {
		return false
	}
	switch r.MatchKind {
	case booksmeta.MatchOfferID:
		for _, id := range p.OfferIDs {
			if strings.TrimSpace(id) == v {
				return true
			}
		}
	case booksmeta.MatchOfferCode:
		return strings.EqualFold(strings.TrimSpace(p.OfferCode), v)
	case booksmeta.MatchTitle:
		for _, t := range booksmeta.PositionTitles(p.Positions) {
			if strings.EqualFold(t, v) {
				return true
			}
		}
	}
	return false
}

// Combine adds up a student's current purchases: the limit is the largest,
// hours add (one purchase without a cap lifts the cap), access lasts until
// the latest end (one purchase without an end keeps it open).
func Combine(grants []booksmeta.Grant) booksmeta.Entitlement {
	var e booksmeta.Entitlement
	uncapped, endless := false, false
	for _, g := range grants {
		if !g.Access {
			continue
		}
		e.Access = true
		e.Limit = max(e.Limit, g.Limit)
		if g.Hours == 0 {
			uncapped = true
		}
		e.Hours += g.Hours
		if g.Until.IsZero() {
			endless = true
		} else if g.Until.After(e.Until) {
			e.Until = g.Until
		}
	}
	e.Capped = e.Access && !uncapped
	if !e.Capped {
		e.Hours = 0
	}
	if endless {
		e.Until = time.Time{}
	}
	return e
}

// Describe names a rule for people.
func Describe(r booksmeta.OfferRule) string {
	var what string
	switch r.MatchKind {
	case booksmeta.MatchOfferID:
		what = "предложение " + r.MatchValue
	case booksmeta.MatchOfferCode:
		what = "код " + r.MatchValue
	default:
		what = r.MatchValue
	}
	if !r.GrantsAccess {
		return what + ": без доступа"
	}
	var parts []string
	if r.Hours > 0 {
		parts = append(parts, fmt.Sprintf("%d ч", r.Hours))
	}
	if r.AccessDays > 0 {
		parts = append(parts, fmt.Sprintf("%d дн.", r.AccessDays))
	}
	if r.BookingLimit > 0 {
		parts = append(parts, fmt.Sprintf("до %d броней", r.BookingLimit))
	}
	if len(parts) == 0 {
		return what
	}
	return what + ": " + strings.Join(parts, ", ")
}

func describePurchase(p Purchase) string {
	var parts []string
	if len(p.OfferIDs) > 0 {
		ids := append([]string(nil), p.OfferIDs...)
		sort.Strings(ids)
		parts = append(parts, "предложения "+strings.Join(ids, ", "))
	}
	if p.OfferCode != "" {
		parts = append(parts, "код "+p.OfferCode)
	}
	if p.Positions != "" {
		parts = append(parts, "«"+p.Positions+"»")
	}
	if len(parts) == 0 {
		return "без названия и номера предложения"
	}
	return strings.Join(parts, ", ")
}

// FieldError is a refused rule: Field names the form field at fault
// (match_kind, match_value, booking_limit, hours, access_days), so a page
// can show the reason beside it.
type FieldError struct{ Field, Message string }

func (e *FieldError) Error() string { return e.Message }

// Validate checks a rule an admin entered; the error is a *FieldError in
// Russian.
func Validate(r booksmeta.OfferRule) error {
	switch r.MatchKind {
	case booksmeta.MatchOfferID, booksmeta.MatchOfferCode, booksmeta.MatchTitle:
	default:
		return &FieldError{"match_kind", "Выберите, по чему узнавать покупку: по ID предложения, коду предложения или названию позиции"}
	}
	if strings.TrimSpace(r.MatchValue) == "" {
		return &FieldError{"match_value", "Укажите ID, код или название предложения, как в GetCourse"}
	}
	if r.BookingLimit < 0 || r.BookingLimit > 100 {
		return &FieldError{"booking_limit", "Лимит бронирований — от 0 до 100 (0 — как у ученика)"}
	}
	if r.Hours < 0 || r.Hours > 10000 {
		return &FieldError{"hours", "Часы — от 0 до 10000 (0 — без ограничения)"}
	}
	if r.AccessDays < 0 || r.AccessDays > 3650 {
		return &FieldError{"access_days", "Дней доступа — от 0 до 3650 (0 — бессрочно)"}
	}
	return nil
}
