package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"booksmeta/internal/apptest"
	"booksmeta/internal/booking"
)

// deliverPayment sends a GetCourse process call (unverified mode: no
// secret set) for a paid deal of offer, and waits until it is applied.
func deliverPayment(t *testing.T, f *fixture, email, deal, offer string) {
	t.Helper()
	st, body := f.srv.Do(t, http.MethodGet, fmt.Sprintf("/api/getcourse/webhook?action=deal_updated&deal_id=%s&status=payed&email=%s&offers=%s&positions=%s",
		deal, url.QueryEscape(email), offer, url.QueryEscape("Курс")), nil, "")
	if st != http.StatusOK {
		t.Fatalf("delivery: %d %s", st, body)
	}
	apptest.WaitFor(t, 10*time.Second, "delivery applied", func() bool {
		u, err := f.srv.Store.UserByEmail(context.Background(), email)
		return err == nil && u.Paid
	})
}

func TestOffersPage(t *testing.T) {
	f := start(t, nil)
	deliverPayment(t, f, "buyer@example.com", "501", "777")
	a := f.as(t, f.admin)

	p := a.get("/admin/offers")
	expect(t, p, 200, "<h1>Тарифы</h1>", `href="/admin/offers" aria-current="page"`,
		"сейчас каждая оплата на GetCourse даёт доступ к серверу", "перестанут давать доступ", "«Пересчитать»",
		"Предложения, которые приходили из GetCourse", "ID предложения: <strong>777</strong>",
		"Название позиции: <strong>Курс</strong>", "0 — без ограничения", "0 — бессрочно", "0 — как у ученика",
		`/admin/offers?kind=offer_id&amp;value=777#new`)

	// «Создать тариф» fills the form in from the seen offer.
	p = a.get("/admin/offers?kind=offer_id&value=777")
	expect(t, p, 200, `name="match_value" type="text" autocomplete="off" maxlength="300" required value="777"`,
		`<option value="offer_id" selected>`, "Форма заполнена по предложению из GetCourse")

	// A bad rule: refused, the reason beside the field, the typed values kept.
	p = a.submit("/admin/offers", "/admin/offers", url.Values{"match_kind": {"offer_id"}, "match_value": {"777"},
		"grants_access": {"on"}, "hours": {"-3"}, "access_days": {"45"}, "booking_limit": {"2"}, "note": {"Базовый"}})
	expect(t, p, 422, `<p class="error-text" id="err-hours">Часы — от 0 до 10000 (0 — без ограничения).</p>`,
		`id="hours" name="hours" type="number" min="0" max="10000" inputmode="numeric" value="-3" aria-describedby="hours-help err-hours" aria-invalid="true"`,
		`value="45"`, `value="Базовый"`, "Тариф не сохранён")
	p = a.submit("/admin/offers", "/admin/offers", url.Values{"match_kind": {"offer_id"}, "match_value": {"777"}, "hours": {"десять"}})
	expect(t, p, 422, `id="err-hours"`, `value="десять"`)
	if rules, _ := f.srv.Store.OfferRules(context.Background()); len(rules) != 0 {
		t.Fatalf("refused rules stored: %+v", rules)
	}

	// Create, then a duplicate is refused beside the offer field.
	p = a.submit("/admin/offers", "/admin/offers", url.Values{"match_kind": {"offer_id"}, "match_value": {"777"},
		"grants_access": {"on"}, "hours": {"10"}, "access_days": {"60"}, "booking_limit": {"0"}, "note": {"Базовый"}})
	if p.Status != http.StatusSeeOther || p.location() != "/admin/offers?ok=offer_created" {
		t.Fatalf("create: %d %s\n%s", p.Status, p.location(), p.Body)
	}
	rules, err := f.srv.Store.OfferRules(context.Background())
	if err != nil || len(rules) != 1 || rules[0].Hours != 10 || rules[0].AccessDays != 60 || !rules[0].GrantsAccess {
		t.Fatalf("rules %+v %v", rules, err)
	}
	id := itoa(rules[0].ID)
	p = a.get("/admin/offers?ok=offer_created")
	expect(t, p, 200, "Тариф добавлен", "10 ч", "60 дн.", "как у ученика", "Базовый",
		`/admin/offers/`+id+`/delete" data-confirm="Удалить тариф`, `href="/admin/offers/`+id+`">тариф есть — изменить`)
	expectNot(t, p, "сейчас каждая оплата на GetCourse даёт доступ")
	p = a.submit("/admin/offers", "/admin/offers", url.Values{"match_kind": {"offer_id"}, "match_value": {"777"}})
	expect(t, p, 422, `id="err-match_value">Для этого предложения тариф уже есть`)

	// Edit: a bad value is refused there too; a good one saved.
	expect(t, a.get("/admin/offers/"+id), 200, "<h1>Изменить тариф</h1>", `value="10"`, `value="60"`)
	p = a.submit("/admin/offers/"+id, "/admin/offers/"+id, url.Values{"match_kind": {"offer_id"}, "match_value": {"777"},
		"grants_access": {"on"}, "hours": {"10"}, "access_days": {"99999"}})
	expect(t, p, 422, `id="err-access_days">Дней доступа`, `value="99999"`)
	p = a.submit("/admin/offers/"+id, "/admin/offers/"+id, url.Values{"match_kind": {"offer_id"}, "match_value": {"777"},
		"grants_access": {"on"}, "hours": {"12"}, "access_days": {"60"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("update: %d\n%s", p.Status, p.Body)
	}
	if r, _ := f.srv.Store.OfferRuleByID(context.Background(), rules[0].ID); r.Hours != 12 {
		t.Fatalf("updated rule %+v", r)
	}

	// The dry run shows the buyer's change and writes nothing.
	u, _ := f.srv.Store.UserByEmail(context.Background(), "buyer@example.com")
	before, _ := f.srv.Booking.Allowance(context.Background(), u.ID)
	p = a.get("/admin/offers/recompute")
	expect(t, p, 200, "buyer@example.com", "без ограничения → 12 ч", "предварительный просмотр",
		"получат уведомление и письмо, их будущие бронирования будут отменены", `action="/admin/offers/recompute"`)
	if after, _ := f.srv.Booking.Allowance(context.Background(), u.ID); after.Capped || after != before {
		t.Fatalf("dry run wrote: %+v → %+v", before, after)
	}
	// Apply does.
	p = a.submit("/admin/offers/recompute", "/admin/offers/recompute", nil)
	if p.Status != http.StatusSeeOther || p.location() != "/admin/offers?ok=recomputed&n=1" {
		t.Fatalf("apply: %d %s\n%s", p.Status, p.location(), p.Body)
	}
	if after, _ := f.srv.Booking.Allowance(context.Background(), u.ID); !after.Capped || after.Hours != 12 || after.Until.IsZero() {
		t.Fatalf("applied allowance %+v", after)
	}
	expect(t, a.get("/admin/offers/recompute"), 200, "применять нечего")

	// Delete.
	p = a.submit("/admin/offers", "/admin/offers/"+id+"/delete", nil)
	if p.Status != http.StatusSeeOther || p.location() != "/admin/offers?ok=offer_deleted" {
		t.Fatalf("delete: %d %s", p.Status, p.location())
	}
	if rules, _ := f.srv.Store.OfferRules(context.Background()); len(rules) != 0 {
		t.Fatalf("after delete %+v", rules)
	}
}

func TestOffersPageGuards(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.admin)
	form := url.Values{"match_kind": {"offer_id"}, "match_value": {"1"}, "grants_access": {"on"}}
	// Every POST needs the CSRF token.
	for _, path := range []string{"/admin/offers", "/admin/offers/1", "/admin/offers/1/delete", "/admin/offers/recompute"} {
		p := a.post(path, form)
		expect(t, p, http.StatusForbidden, "CSRF")
	}
	if rules, _ := f.srv.Store.OfferRules(context.Background()); len(rules) != 0 {
		t.Fatalf("rule stored without CSRF: %+v", rules)
	}
	// Students are refused; strangers go to sign in.
	s := f.as(t, f.student)
	for _, path := range []string{"/admin/offers", "/admin/offers/recompute"} {
		expect(t, s.get(path), http.StatusForbidden, "только для администраторов")
	}
	expect(t, s.submit("/", "/admin/offers", form), http.StatusForbidden, "только для администраторов")
	if p := newBrowser(t, f.srv).get("/admin/offers"); p.Status != http.StatusSeeOther || p.location() != "/login?next=%2Fadmin%2Foffers" {
		t.Fatalf("anonymous: %d %s", p.Status, p.location())
	}
	if rules, _ := f.srv.Store.OfferRules(context.Background()); len(rules) != 0 {
		t.Fatalf("rule stored by a student: %+v", rules)
	}
}

// TestStudentSeesAllowance: with a capped tariff the calendar and the
// profile show hours used and left and when access ends; without, nothing.
func TestStudentSeesAllowance(t *testing.T) {
	f := start(t, nil)
	s := f.as(t, f.student)
	expectNot(t, s.get("/"), "Часы на сервере", "Доступ к серверу до")
	expectNot(t, s.get("/profile"), "Часы на сервере", "Доступ к серверу до")

	a := f.as(t, f.admin)
	p := a.submit("/admin/offers", "/admin/offers", url.Values{"match_kind": {"offer_id"}, "match_value": {"888"},
		"grants_access": {"on"}, "hours": {"10"}, "access_days": {"30"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", p.Status, p.Body)
	}
	// The student is paid already, so wait for the deal's tariff itself.
	deliverPayment(t, f, f.student.Email, "601", "888")
	var al booking.Allowance
	apptest.WaitFor(t, 10*time.Second, "tariff applied", func() bool {
		var err error
		al, err = f.srv.Booking.Allowance(context.Background(), f.student.ID)
		return err == nil && al.Capped && !al.Until.IsZero()
	})
	loc := f.srv.Settings.Location(context.Background())
	until := al.Until.In(loc)
	day := fmt.Sprintf("%d ", until.Day())
	expect(t, s.get("/"), 200, "Часы на сервере: использовано <strong>0 мин</strong> из 10 ч, осталось <strong>10 ч</strong>.",
		"Доступ к серверу до <strong>"+day, until.Format("15:04")+"</strong>")
	expect(t, s.get("/profile"), 200, "<dt>Часы на сервере</dt>", "осталось <strong>10 ч</strong>", "<dt>Доступ к серверу до</dt>")
}
