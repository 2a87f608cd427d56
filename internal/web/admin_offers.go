package web

import (
	"booksmeta"

	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/audit"
	"booksmeta/internal/store"
	"booksmeta/internal/tariff"
)

func (s *Server) offerRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/offers", s.admin(s.offersPage))
	mux.HandleFunc("POST /admin/offers", s.admin(s.offerCreate))
	mux.HandleFunc("GET /admin/offers/recompute", s.admin(s.offersDryRun))
	mux.HandleFunc("POST /admin/offers/recompute", s.admin(s.offersApply))
	mux.HandleFunc("GET /admin/offers/{id}", s.admin(s.offerEdit))
	mux.HandleFunc("POST /admin/offers/{id}", s.admin(s.offerUpdate))
	mux.HandleFunc("POST /admin/offers/{id}/delete", s.admin(s.offerDelete))
}

// offerForm is the rule form as shown or as typed: numbers stay text, so
// a refused form comes back exactly as the admin left it.
type offerForm struct {
	Kind, Value, Limit, Hours, Days, Note string
	Grants                                bool
}

func offerFormOf(r *booksmeta.OfferRule) offerForm {
	return offerForm{Kind: r.MatchKind, Value: r.MatchValue, Limit: strconv.Itoa(r.BookingLimit), Hours: strconv.Itoa(r.Hours),
		Days: strconv.Itoa(r.AccessDays), Note: r.Note, Grants: r.GrantsAccess}
}

func submittedOffer(r *http.Request) offerForm {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return offerForm{Kind: v("match_kind"), Value: v("match_value"), Limit: v("booking_limit"), Hours: v("hours"),
		Days: v("access_days"), Note: v("note"), Grants: r.PostFormValue("grants_access") == "on"}
}

// rule reads the form onto r; an empty number means 0, the "no cap" the
// help text promises.
func (f offerForm) rule(r *booksmeta.OfferRule) *tariff.FieldError {
	num := func(field, v, msg string) (int, *tariff.FieldError) {
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, &tariff.FieldError{Field: field, Message: msg}
		}
		return n, nil
	}
	var e *tariff.FieldError
	if r.BookingLimit, e = num("booking_limit", f.Limit, "Лимит бронирований — целое число от 0 до 100 (0 — как у ученика)."); e != nil {
		return e
	}
	if r.Hours, e = num("hours", f.Hours, "Часы — целое число от 0 до 10000 (0 — без ограничения)."); e != nil {
		return e
	}
	if r.AccessDays, e = num("access_days", f.Days, "Дней доступа — целое число от 0 до 3650 (0 — бессрочно)."); e != nil {
		return e
	}
	r.MatchKind, r.MatchValue, r.GrantsAccess, r.Note = f.Kind, f.Value, f.Grants, f.Note
	return nil
}

func matchKindOptions() []option {
	return []option{{booksmeta.MatchOfferID, matchKindLabel(booksmeta.MatchOfferID)},
		{booksmeta.MatchOfferCode, matchKindLabel(booksmeta.MatchOfferCode)}, {booksmeta.MatchTitle, matchKindLabel(booksmeta.MatchTitle)}}
}

func matchKindLabel(k string) string {
	switch k {
	case booksmeta.MatchOfferID:
		return "ID предложения"
	case booksmeta.MatchOfferCode:
		return "Код предложения"
	case booksmeta.MatchTitle:
		return "Название позиции"
	}
	return k
}

type ruleView struct {
	ID                              int64
	Kind, Value, Limit, Hours, Days string
	Grants                          bool
	Note, Describe                  string
}

func ruleViewOf(r *booksmeta.OfferRule) ruleView {
	v := ruleView{ID: r.ID, Kind: matchKindLabel(r.MatchKind), Value: r.MatchValue, Grants: r.GrantsAccess, Note: r.Note,
		Describe: tariff.Describe(*r), Limit: "как у ученика", Hours: "без ограничения", Days: "бессрочно"}
	if r.BookingLimit > 0 {
		v.Limit = strconv.Itoa(r.BookingLimit)
	}
	if r.Hours > 0 {
		v.Hours = strconv.Itoa(r.Hours) + " ч"
	}
	if r.AccessDays > 0 {
		v.Days = strconv.Itoa(r.AccessDays) + " дн."
	}
	return v
}

type seenView struct {
	store.SeenOffer
	KindLabel string
	RuleID    int64 // the rule already matching it; 0: none yet
	Create    string
}

func (s *Server) offersData(r *http.Request, f offerForm, ferr *tariff.FieldError) (map[string]any, error) {
	ctx := r.Context()
	rules, err := s.Store.OfferRules(ctx)
	if err != nil {
		return nil, err
	}
	seen, err := s.Store.SeenOffers(ctx)
	if err != nil {
		return nil, err
	}
	d := s.adminData(r, "Тарифы", "offers")
	views := make([]ruleView, 0, len(rules))
	byKey := map[string]int64{}
	for _, rl := range rules {
		views = append(views, ruleViewOf(rl))
		byKey[rl.MatchKind+"\x00"+strings.ToLower(rl.MatchValue)] = rl.ID
	}
	sv := make([]seenView, 0, len(seen))
	for _, o := range seen {
		q := url.Values{"kind": {o.Kind}, "value": {o.Value}}
		sv = append(sv, seenView{SeenOffer: o, KindLabel: matchKindLabel(o.Kind), RuleID: byKey[o.Kind+"\x00"+strings.ToLower(o.Value)],
			Create: "/admin/offers?" + q.Encode() + "#new"})
	}
	d["Rules"], d["Seen"], d["F"], d["Kinds"], d["Loc"] = views, sv, f, matchKindOptions(), s.Settings.Location(ctx)
	if ferr != nil {
		d["Err"], d["ErrField"] = ferr.Message, ferr.Field
	}
	switch r.URL.Query().Get("ok") {
	case "offer_created":
		d["Flash"] = "Тариф добавлен. Он действует для новых оплат; чтобы применить его к тем, кто уже купил, нажмите «Пересчитать» ниже."
	case "offer_saved":
		d["Flash"] = "Тариф сохранён. Он действует для новых оплат; чтобы применить его к тем, кто уже купил, нажмите «Пересчитать» ниже."
	case "offer_deleted":
		d["Flash"] = "Тариф удалён. Уже оплаченные покупки сохраняют то, что он дал, пока вы не пересчитаете."
	case "recomputed":
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		d["Flash"] = "Тарифы применены к существующим покупкам. Учеников, у которых что-то изменилось: " + strconv.Itoa(n) + "."
	}
	return d, nil
}

func (s *Server) offersPage(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	q := r.URL.Query()
	// «Создать тариф» beside a seen offer comes here with it filled in.
	f := offerForm{Kind: booksmeta.MatchOfferID, Grants: true, Limit: "0", Hours: "0", Days: "0"}
	if k := q.Get("kind"); k == booksmeta.MatchOfferID || k == booksmeta.MatchOfferCode || k == booksmeta.MatchTitle {
		f.Kind, f.Value = k, q.Get("value")
	}
	d, err := s.offersData(r, f, nil)
	if err != nil {
		s.internalError(w, r, "list offer rules", err)
		return
	}
	d["Prefilled"] = f.Value != ""
	s.render(w, http.StatusOK, "admin_offers", d)
}

// saveOffer checks and stores the form onto rule; a refusal comes back as
// the field to mark and the reason.
func (s *Server) saveOffer(r *http.Request, f offerForm, rule *booksmeta.OfferRule) (*tariff.FieldError, error) {
	if fe := f.rule(rule); fe != nil {
		return fe, nil
	}
	err := s.Enrol.SaveRule(r.Context(), s.Store, rule)
	var be *booksmeta.Error
	if errors.As(err, &be) {
		return &tariff.FieldError{Field: be.Field, Message: be.Message}, nil
	}
	return nil, err
}

func (s *Server) offerCreate(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	f := submittedOffer(r)
	rule := &booksmeta.OfferRule{}
	fe, err := s.saveOffer(r, f, rule)
	if err != nil {
		s.internalError(w, r, "create offer rule", err)
		return
	}
	if fe != nil {
		d, err := s.offersData(r, f, fe)
		if err != nil {
			s.internalError(w, r, "list offer rules", err)
			return
		}
		s.render(w, http.StatusUnprocessableEntity, "admin_offers", d)
		return
	}
	s.Log.Info("offer rule created", "id", rule.ID, "by", u.ID)
	s.record(r, audit.By(u, audit.OfferCreate, audit.Offer(rule.ID), "Создан тариф "+audit.OfferRule(rule)+"."))
	http.Redirect(w, r, "/admin/offers?ok=offer_created", http.StatusSeeOther)
}

func (s *Server) offerRule(w http.ResponseWriter, r *http.Request) *booksmeta.OfferRule {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return nil
	}
	rule, err := s.Store.OfferRuleByID(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, "Тариф не найден", "Такого тарифа нет: возможно, его уже удалили. Вернитесь в раздел «Тарифы».")
		return nil
	}
	if err != nil {
		s.internalError(w, r, "read offer rule", err)
		return nil
	}
	return rule
}

func (s *Server) offerEditPage(w http.ResponseWriter, r *http.Request, status int, id int64, f offerForm, fe *tariff.FieldError) {
	d := s.adminData(r, "Изменить тариф", "offers")
	d["ID"], d["F"], d["Kinds"] = id, f, matchKindOptions()
	if fe != nil {
		d["Err"], d["ErrField"] = fe.Message, fe.Field
	}
	s.render(w, status, "admin_offer_edit", d)
}

func (s *Server) offerEdit(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	if rule := s.offerRule(w, r); rule != nil {
		s.offerEditPage(w, r, http.StatusOK, rule.ID, offerFormOf(rule), nil)
	}
}

func (s *Server) offerUpdate(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	rule := s.offerRule(w, r)
	if rule == nil {
		return
	}
	f := submittedOffer(r)
	fe, err := s.saveOffer(r, f, rule)
	if err != nil {
		s.internalError(w, r, "save offer rule", err)
		return
	}
	if fe != nil {
		s.offerEditPage(w, r, http.StatusUnprocessableEntity, rule.ID, f, fe)
		return
	}
	s.Log.Info("offer rule changed", "id", rule.ID, "by", u.ID)
	s.record(r, audit.By(u, audit.OfferUpdate, audit.Offer(rule.ID), "Изменён тариф, теперь: "+audit.OfferRule(rule)+"."))
	http.Redirect(w, r, "/admin/offers?ok=offer_saved", http.StatusSeeOther)
}

func (s *Server) offerDelete(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	err := s.Enrol.DeleteRule(r.Context(), s.Store, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.internalError(w, r, "delete offer rule", err)
		return
	}
	s.Log.Info("offer rule deleted", "id", id, "by", u.ID)
	s.record(r, audit.By(u, audit.OfferDelete, audit.Offer(id), "Удалён тариф №"+strconv.FormatInt(id, 10)+"."))
	http.Redirect(w, r, "/admin/offers?ok=offer_deleted", http.StatusSeeOther)
}

// changeView is one student's line of the recompute table, worded.
type changeView struct {
	UserID        int64
	Email, What   string
	Lose, Gain    bool
	Before, After entView
	Deals         int
}

type entView struct{ Access, Limit, Hours, Until string }

func entViewOf(e booksmeta.Entitlement, loc *time.Location) entView {
	if !e.Access {
		return entView{Access: "нет доступа", Limit: "—", Hours: "—", Until: "—"}
	}
	v := entView{Access: "есть доступ", Limit: "как у ученика", Hours: "без ограничения", Until: "бессрочно"}
	if e.Limit > 0 {
		v.Limit = strconv.Itoa(e.Limit)
	}
	if e.Capped {
		v.Hours = strconv.Itoa(e.Hours) + " ч"
	}
	if !e.Until.IsZero() {
		v.Until = e.Until.In(loc).Format("02.01.2006 15:04")
	}
	return v
}

func (s *Server) offersDryRun(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	ctx := r.Context()
	changes, err := s.Enrol.Recompute(ctx, s.Store, false)
	if err != nil {
		s.internalError(w, r, "recompute dry run", err)
		return
	}
	loc := s.Settings.Location(ctx)
	views := make([]changeView, 0, len(changes))
	lose := 0
	for _, c := range changes {
		v := changeView{UserID: c.UserID, Email: c.Email, Lose: c.LosesAccess(), Gain: c.GainsAccess(), Deals: c.Deals,
			Before: entViewOf(c.Before, loc), After: entViewOf(c.After, loc)}
		switch {
		case v.Lose:
			v.What, lose = "потеряет доступ", lose+1
		case v.Gain:
			v.What = "получит доступ"
		default:
			v.What = "изменятся условия"
		}
		views = append(views, v)
	}
	d := s.adminData(r, "Пересчёт тарифов", "offers")
	d["Changes"], d["Lose"] = views, lose
	s.render(w, http.StatusOK, "admin_offers_recompute", d)
}

func (s *Server) offersApply(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	changes, err := s.Enrol.Recompute(r.Context(), s.Store, true)
	if err != nil {
		s.internalError(w, r, "recompute tariffs", err)
		return
	}
	s.Log.Info("tariffs recomputed", "students", len(changes), "by", u.ID)
	s.record(r, audit.By(u, audit.OfferRecompute, "offers", "Доступ пересчитан по тарифам; изменился у учеников: "+strconv.Itoa(len(changes))+"."))
	http.Redirect(w, r, "/admin/offers?ok=recomputed&n="+strconv.Itoa(len(changes)), http.StatusSeeOther)
}
