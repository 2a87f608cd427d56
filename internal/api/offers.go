package api

import (
	"net/http"
	"time"

	"booksmeta"
	"booksmeta/internal/audit"
)

// offerRuleJSON is a tariff rule as SPEC §8 names its fields: exactly one of
// offer_id, offer_code and title says what it matches.
type offerRuleJSON struct {
	ID           int64   `json:"id,omitempty"`
	OfferID      *string `json:"offer_id,omitempty"`
	OfferCode    *string `json:"offer_code,omitempty"`
	Title        *string `json:"title,omitempty"`
	GrantsAccess *bool   `json:"grants_access,omitempty"`
	BookingLimit *int    `json:"booking_limit,omitempty"`
	Hours        *int    `json:"hours,omitempty"`
	AccessDays   *int    `json:"access_days,omitempty"`
	Note         *string `json:"note,omitempty"`
}

func ruleJSON(r *booksmeta.OfferRule) offerRuleJSON {
	v, g, l, h, d, n := r.MatchValue, r.GrantsAccess, r.BookingLimit, r.Hours, r.AccessDays, r.Note
	out := offerRuleJSON{ID: r.ID, GrantsAccess: &g, BookingLimit: &l, Hours: &h, AccessDays: &d, Note: &n}
	switch r.MatchKind {
	case booksmeta.MatchOfferID:
		out.OfferID = &v
	case booksmeta.MatchOfferCode:
		out.OfferCode = &v
	default:
		out.Title = &v
	}
	return out
}

// apply copies the fields a request gives onto r.
func (in offerRuleJSON) apply(r *booksmeta.OfferRule) {
	switch {
	case in.OfferID != nil:
		r.MatchKind, r.MatchValue = booksmeta.MatchOfferID, *in.OfferID
	case in.OfferCode != nil:
		r.MatchKind, r.MatchValue = booksmeta.MatchOfferCode, *in.OfferCode
	case in.Title != nil:
		r.MatchKind, r.MatchValue = booksmeta.MatchTitle, *in.Title
	}
	if in.GrantsAccess != nil {
		r.GrantsAccess = *in.GrantsAccess
	}
	if in.BookingLimit != nil {
		r.BookingLimit = *in.BookingLimit
	}
	if in.Hours != nil {
		r.Hours = *in.Hours
	}
	if in.AccessDays != nil {
		r.AccessDays = *in.AccessDays
	}
	if in.Note != nil {
		r.Note = *in.Note
	}
}

type seenOfferJSON struct {
	Kind     string `json:"kind"`
	Value    string `json:"value"`
	Deals    int    `json:"deals"`
	Paid     int    `json:"paid_deals"`
	LastSeen string `json:"last_seen"`
}

func (s *Server) listOffers(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	ctx := r.Context()
	rules, err := s.Store.OfferRules(ctx)
	if err != nil {
		s.failErr(w, err)
		return
	}
	seen, err := s.Store.SeenOffers(ctx)
	if err != nil {
		s.failErr(w, err)
		return
	}
	out := struct {
		Rules []offerRuleJSON `json:"rules"`
		Seen  []seenOfferJSON `json:"seen"`
		// EveryPayment says that, with no rules, every payment gives access.
		EveryPayment bool `json:"every_payment_gives_access"`
	}{Rules: []offerRuleJSON{}, Seen: []seenOfferJSON{}, EveryPayment: len(rules) == 0}
	for _, rl := range rules {
		out.Rules = append(out.Rules, ruleJSON(rl))
	}
	loc := s.Settings.Location(ctx)
	for _, o := range seen {
		out.Seen = append(out.Seen, seenOfferJSON{Kind: o.Kind, Value: o.Value, Deals: o.Deals, Paid: o.Paid, LastSeen: o.LastSeen.In(loc).Format(time.RFC3339)})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createOffer(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	var in offerRuleJSON
	if !decode(w, r, &in) {
		return
	}
	rule := &booksmeta.OfferRule{GrantsAccess: true}
	in.apply(rule)
	if !s.saveRule(w, r, rule) {
		return
	}
	s.Log.Info("offer rule created", "id", rule.ID, "by", u.ID)
	s.record(r, audit.By(u, audit.OfferCreate, audit.Offer(rule.ID), "Создан тариф "+audit.OfferRule(rule)+"."))
	writeJSON(w, http.StatusCreated, ruleJSON(rule))
}

func (s *Server) patchOffer(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	rule, err := s.Store.OfferRuleByID(r.Context(), id)
	if err != nil {
		s.failErr(w, err)
		return
	}
	var in offerRuleJSON
	if !decode(w, r, &in) {
		return
	}
	in.apply(rule)
	if !s.saveRule(w, r, rule) {
		return
	}
	s.Log.Info("offer rule changed", "id", rule.ID, "by", u.ID)
	s.record(r, audit.By(u, audit.OfferUpdate, audit.Offer(rule.ID), "Изменён тариф, теперь: "+audit.OfferRule(rule)+"."))
	writeJSON(w, http.StatusOK, ruleJSON(rule))
}

func (s *Server) saveRule(w http.ResponseWriter, r *http.Request, rule *booksmeta.OfferRule) bool {
	if err := s.Enrol.SaveRule(r.Context(), s.Store, rule); err != nil {
		s.failErr(w, err)
		return false
	}
	return true
}

func (s *Server) deleteOffer(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if err := s.Enrol.DeleteRule(r.Context(), s.Store, id); err != nil {
		s.failErr(w, err)
		return
	}
	s.Log.Info("offer rule deleted", "id", id, "by", u.ID)
	s.record(r, audit.By(u, audit.OfferDelete, audit.Offer(id), "Удалён тариф №"+itoa(id)+"."))
	writeJSON(w, http.StatusOK, map[string]bool{"deleted": true})
}

type entitlementJSON struct {
	Access bool    `json:"access"`
	Limit  int     `json:"booking_limit,omitempty"`
	Hours  *int    `json:"hours"` // null: no cap
	Until  *string `json:"access_until"`
}

func (s *Server) entitlementJSON(r *http.Request, e booksmeta.Entitlement) entitlementJSON {
	out := entitlementJSON{Access: e.Access, Limit: e.Limit}
	if e.Capped {
		h := e.Hours
		out.Hours = &h
	}
	if !e.Until.IsZero() {
		t := e.Until.In(s.Settings.Location(r.Context())).Format(time.RFC3339)
		out.Until = &t
	}
	return out
}

// recomputeOffers applies the current rules to existing purchases: with
// "apply": false (the default) it only shows what would change.
func (s *Server) recomputeOffers(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	var in struct {
		Apply bool `json:"apply"`
	}
	if r.ContentLength > 0 && !decode(w, r, &in) {
		return
	}
	changes, err := s.Enrol.Recompute(r.Context(), s.Store, in.Apply)
	if err != nil {
		s.failErr(w, err)
		return
	}
	type changeJSON struct {
		UserID      int64           `json:"user_id"`
		Email       string          `json:"email"`
		Before      entitlementJSON `json:"before"`
		After       entitlementJSON `json:"after"`
		Purchases   int             `json:"purchases_changed"`
		LosesAccess bool            `json:"loses_access"`
		GainsAccess bool            `json:"gains_access"`
	}
	out := struct {
		Applied bool         `json:"applied"`
		Changes []changeJSON `json:"changes"`
	}{Applied: in.Apply, Changes: []changeJSON{}}
	for _, c := range changes {
		out.Changes = append(out.Changes, changeJSON{UserID: c.UserID, Email: c.Email, Before: s.entitlementJSON(r, c.Before),
			After: s.entitlementJSON(r, c.After), Purchases: c.Deals, LosesAccess: c.LosesAccess(), GainsAccess: c.GainsAccess()})
	}
	if in.Apply {
		s.Log.Info("tariffs recomputed", "students", len(changes), "by", u.ID)
		s.record(r, audit.By(u, audit.OfferRecompute, "offers", "Доступ пересчитан по тарифам; изменился у учеников: "+itoa(int64(len(changes)))+"."))
	}
	writeJSON(w, http.StatusOK, out)
}
