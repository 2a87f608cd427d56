// Package enrol turns what GetCourse tells us (payments, registrations,
// deals) into student accounts. The webhook processor and the scheduled
// sync both call Apply, so a payment has the same effect whichever way it
// arrives, and applying the same fact twice changes nothing more. An event
// that cannot be applied until someone fixes the data is a RuleError
// (booksmeta.Error with code event_unusable), which the processor does not
// retry.
package enrol

import (
	"booksmeta"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"booksmeta/internal/accounts"
	"booksmeta/internal/store"
	"booksmeta/internal/tariff"
)

// Event names of SPEC §4.
const (
	EventUserPayment    = "user_payment"
	EventUserRegistered = "user_registered"
	EventDealCreated    = "deal_created"
	EventDealUpdated    = "deal_updated"
	EventTest           = "test"
)

// Event is a GetCourse notification reduced to the fields we use.
type Event struct {
	Name            string `json:"event"`
	Email           string `json:"email,omitempty"`
	FirstName       string `json:"first_name,omitempty"`
	LastName        string `json:"last_name,omitempty"`
	Phone           string `json:"phone,omitempty"`
	GetCourseUserID string `json:"user_id,omitempty"`
	DealID          string `json:"deal_id,omitempty"`
	DealNumber      string `json:"deal_number,omitempty"`
	Status          string `json:"status,omitempty"`
	Cost            string `json:"cost,omitempty"`
	ProductTitle    string `json:"product_title,omitempty"`
	OfferCode       string `json:"offer_code,omitempty"`
	EventID         string `json:"event_id,omitempty"`

	// Source is the shape the request came in: SourceTechAPI, SourceProcess
	// or SourceGuide.
	Source string `json:"source,omitempty"`
	// IsPayed is the Tech API's deal.isPayed as "1" or "0" ("" when absent);
	// GetCourse sends 0/1 or false/true, and 0 even on some paid orders.
	IsPayed string `json:"is_payed,omitempty"`
	// PayedValue is how much was paid, as sent (a number, or money text).
	PayedValue string `json:"payed,omitempty"`
	Currency   string `json:"currency,omitempty"`
	// OfferIDs are the GetCourse offer ids of the order (deal.offerIds,
	// {object.offers}).
	OfferIDs []string `json:"offer_ids,omitempty"`
	// Unfilled lists template variables GetCourse sent literally because it
	// could not fill them, as "field={object.…}" — the field counts as missing.
	Unfilled []string `json:"unfilled,omitempty"`
}

// Shapes a request can come in (SPEC §4).
const (
	SourceTechAPI = "techapi" // a Tech API delivery: {"json":{"eventType":"getcourse/deal…",…}}
	SourceProcess = "process" // a process «Вызвать URL» call with the parameters our panel gives
	SourceGuide   = "guide"   // the setup guide's shape: action, user.email, …
)

// Tech API event types (GETCOURSE_REALITY §1 B), as GetCourse spells them.
const (
	EventTechDealCreated       = "getcourse/dealCreated"
	EventTechDealStatusChanged = "getcourse/dealStatusChanged"
	EventTechDealPaid          = "getcourse/dealPaid"
)

// SourceSync marks events made from the GetCourse deals export.
const SourceSync = "sync"

// IsDealEvent reports whether the event is about a deal.
func (e Event) IsDealEvent() bool {
	return e.Name == EventDealCreated || e.Name == EventDealUpdated || strings.HasPrefix(e.Name, "deal_") ||
		e.Name == EventTechDealCreated || e.Name == EventTechDealStatusChanged || e.Name == EventTechDealPaid
}

// isPayment reports whether the event's name says it is a payment.
func (e Event) isPayment() bool { return e.Name == EventUserPayment || e.Name == EventTechDealPaid }

// DealKey identifies the deal this event is about, "" when none.
func (e Event) DealKey() string {
	switch {
	case e.DealID != "":
		return "id:" + e.DealID
	case e.DealNumber != "":
		return "n:" + e.DealNumber
	}
	return ""
}

// effect is what the event does to the access its deal gives, and whether
// it is a free order (a paid status without money, which is not a payment).
func (e Event) effect() (eff Effect, free bool) {
	code := StatusCode(e.Status)
	eff = StatusEffect(code)
	switch {
	case eff == EffectNone && code == "" && e.isPayment():
		// The guide's user_payment and a dealPaid without status are payments.
		eff = EffectPaid
	case eff == EffectNone && e.IsPayed == "1" && code != "part_payed":
		// GetCourse says the order is paid though its status moved on
		// (a manager set «В работе» after payment).
		eff = EffectPaid
	}
	return eff, eff == EffectPaid && e.free()
}

// Outcome of applying an event.
type Outcome struct {
	State   string // booksmeta.StateDone or booksmeta.StateIgnored
	Summary string // Russian, for the webhook log
	UserID  int64
}

// RuleError is a failure that retrying cannot fix until someone changes the
// data or the settings (code event_unusable); the message tells the admin
// what to do.
func RuleError(msg string) error { return booksmeta.Refuse(booksmeta.CodeEventUnusable, "", msg) }

// IsRuleError reports whether err is a RuleError. Only this code counts: a
// refusal of another rule reaching the processor is a bug to retry and see,
// not the event's fault.
func IsRuleError(err error) bool { return booksmeta.ErrorCode(err) == booksmeta.CodeEventUnusable }

// Defaults supplies settings-dependent values.
type Defaults interface {
	// DefaultLimit fails rather than guess: a new student given the wrong
	// limit keeps it.
	DefaultLimit(ctx context.Context) (int, error)
}

// Service applies events.
type Service struct {
	Defaults Defaults
}

// Apply applies ev inside tx. sourceID is the webhook event id: events of
// one deal are applied in the order they arrived, and a late one older than
// what the deal last saw changes nothing.
func (s *Service) Apply(ctx context.Context, tx *store.Tx, ev Event, sourceID int64) (Outcome, error) {
	switch {
	case ev.Name == EventTest:
		return Outcome{State: booksmeta.StateDone, Summary: "Тестовое событие: проверка связи прошла, данные не менялись."}, nil
	case ev.Name == EventUserRegistered:
		return s.registered(ctx, tx, ev)
	case ev.isPayment() || ev.IsDealEvent():
		return s.order(ctx, tx, ev, sourceID)
	case ev.Name == "":
		return Outcome{State: booksmeta.StateIgnored, Summary: "В событии нет названия (поле action или event): записано, ничего не изменено."}, nil
	}
	return Outcome{State: booksmeta.StateIgnored, Summary: fmt.Sprintf("Событие «%s» Book Smeta не обрабатывает: записано, ничего не изменено.", ev.Name)}, nil
}

func checkEmail(ev Event) (string, error) {
	e := store.NormalizeEmail(ev.Email)
	if e == "" {
		for _, u := range ev.Unfilled {
			if k, v, _ := strings.Cut(u, "="); k == "email" {
				return "", RuleError(fmt.Sprintf("GetCourse не подставил email ученика: пришло «%s» вместо адреса. Проверьте, что процесс запущен по заказам (объект «Заказы»), а в адресе стоит переменная {object.user.email}; затем нажмите «Повторить».", v))
			}
		}
		return "", RuleError("В событии нет email ученика, поэтому аккаунт не создан. Проверьте, что в настройках вызова в GetCourse передаётся поле email (например, {object.user.email}), затем нажмите «Повторить».")
	}
	// One rule for every address an account gets, whoever creates it.
	valid, err := accounts.ValidEmail(e)
	switch {
	case errors.Is(err, accounts.ErrLookAlikeEmail):
		return "", RuleError(fmt.Sprintf("Email «%s» в событии содержит буквы, похожие на другие (латиница вперемешку с кириллицей или особые символы Unicode), поэтому аккаунт не создан: такой адрес может выдавать себя за чужой. Проверьте email ученика в GetCourse.", ev.Email))
	case err != nil:
		return "", RuleError(fmt.Sprintf("Email «%s» в событии записан с ошибкой, поэтому аккаунт не создан. Исправьте email ученика в GetCourse и повторите событие.", ev.Email))
	}
	return valid, nil
}

// findStudent finds who an event is about: by GetCourse user id first (it
// survives an email change in GetCourse), then by email. nil when neither.
func findStudent(ctx context.Context, tx *store.Tx, ev Event) (*booksmeta.User, error) {
	if ev.GetCourseUserID != "" {
		u, err := tx.UserByGetCourseID(ctx, ev.GetCourseUserID)
		if err == nil || !errors.Is(err, store.ErrNotFound) {
			return u, err
		}
	}
	if e := store.NormalizeEmail(ev.Email); e != "" {
		u, err := tx.UserByEmail(ctx, e)
		if err == nil || !errors.Is(err, store.ErrNotFound) {
			return u, err
		}
	}
	return nil, nil
}

// upsertStudent finds the student (findStudent) or creates them, and takes
// the event's contact fields.
func (s *Service) upsertStudent(ctx context.Context, tx *store.Tx, ev Event, u *booksmeta.User) (*booksmeta.User, bool, error) {
	if u == nil {
		email, err := checkEmail(ev)
		if err != nil {
			return nil, false, err
		}
		limit, err := s.Defaults.DefaultLimit(ctx)
		if err != nil {
			return nil, false, err
		}
		u = &booksmeta.User{
			Email: email, FirstName: ev.FirstName, LastName: ev.LastName, Phone: ev.Phone,
			Role: booksmeta.RoleStudent, Active: true, BookingLimit: limit,
			GetCourseUserID: ev.GetCourseUserID,
		}
		return u, true, tx.InsertUser(ctx, u)
	}
	if u.Role != booksmeta.RoleStudent {
		// An administrator's account is theirs to edit, not GetCourse's.
		return u, false, nil
	}
	// GetCourse is where students edit their details: take what it sends,
	// but never blank out a field because an event omitted it.
	for _, f := range []struct {
		dst *string
		v   string
	}{{&u.FirstName, ev.FirstName}, {&u.LastName, ev.LastName}, {&u.Phone, ev.Phone}, {&u.GetCourseUserID, ev.GetCourseUserID}} {
		if strings.TrimSpace(f.v) != "" {
			*f.dst = strings.TrimSpace(f.v)
		}
	}
	return u, false, nil
}

// tariff is what a purchase gives under the school's current rules.
func (s *Service) tariff(ctx context.Context, tx *store.Tx, p tariff.Purchase) (booksmeta.Grant, error) {
	rules, err := tx.OfferRules(ctx)
	if err != nil {
		return booksmeta.Grant{}, err
	}
	return tariff.Match(rules, p), nil
}

// purchaseOf is what a deal says was bought.
func purchaseOf(d *booksmeta.Deal, paidAt time.Time) tariff.Purchase {
	return tariff.Purchase{OfferIDs: d.OfferIDs, OfferCode: d.OfferCode, Positions: d.ProductTitle, PaidAt: paidAt}
}

// applyLimit sets a student's booking limit to the largest their paid
// purchases give, when a tariff sets one; otherwise the limit stays as the
// student (or an admin) has it.
func (s *Service) applyLimit(ctx context.Context, tx *store.Tx, u *booksmeta.User) error {
	if u.Role != booksmeta.RoleStudent {
		return nil
	}
	grants, err := tx.PaidGrants(ctx, u.ID)
	if err != nil {
		return err
	}
	if e := tariff.Combine(grants); e.Limit > 0 {
		u.BookingLimit = e.Limit
	}
	return nil
}

// findOrCreate is findStudent then upsertStudent: the student the event
// names, created when there is none.
func (s *Service) findOrCreate(ctx context.Context, tx *store.Tx, ev Event) (*booksmeta.User, bool, error) {
	found, err := findStudent(ctx, tx, ev)
	if err != nil {
		return nil, false, err
	}
	return s.upsertStudent(ctx, tx, ev, found)
}

// grant gives u paid access (a payment of a deal, or the guide's
// user_payment without one) and says what changed, in Russian.
func (s *Service) grant(ctx context.Context, tx *store.Tx, ev Event, u *booksmeta.User, created bool) (string, error) {
	if u.Role != booksmeta.RoleStudent {
		return "аккаунт " + u.Email + " — администратор: его данные и отметку об оплате уведомления GetCourse не меняют", nil
	}
	wasPaid := u.Paid
	u.Paid = true
	if u.PaidAt.IsZero() || !wasPaid {
		u.PaidAt = tx.Now()
	}
	var notes []string
	if u.DeactivatedByAdmin {
		// An admin switched this account off on purpose; a payment does not
		// overrule them (issue 4: sync never re-activates such a student).
		notes = append(notes, "аккаунт отключён администратором и остаётся отключённым")
	} else {
		u.Active = true
	}
	if err := tx.UpdateUser(ctx, u); err != nil {
		return "", err
	}
	if u.PasswordHash == "" {
		data, _ := json.Marshal(map[string]string{"first_name": u.FirstName})
		queued, err := tx.QueueMail(ctx, &store.OutboxMail{
			Kind: "welcome", ToEmail: u.Email, ToName: u.Name(), UserID: u.ID, Data: string(data),
			DedupeKey: fmt.Sprintf("welcome:%d", u.ID),
		})
		if err != nil {
			return "", err
		}
		if queued {
			notes = append(notes, "письмо со ссылкой для входа поставлено в очередь")
		}
	}
	if !wasPaid {
		if err := tx.AddNotice(ctx, &booksmeta.Notice{UserID: u.ID, Kind: "payment", Title: "Оплата получена",
			Body: "Доступ к бронированию открыт: выберите свободное время в календаре."}); err != nil {
			return "", err
		}
	}
	summary := "ученик " + u.Email
	switch {
	case created:
		summary += " создан и отмечен как оплативший"
	case wasPaid:
		summary += " уже был отмечен как оплативший"
	default:
		summary += " отмечен как оплативший, доступ открыт"
	}
	if len(notes) > 0 {
		summary += "; " + strings.Join(notes, "; ")
	}
	return summary, nil
}

// revoke takes away the paid access u had from deal key, unless another
// paid deal still gives it, and says what happened.
func (s *Service) revoke(ctx context.Context, tx *store.Tx, ev Event, u *booksmeta.User, key string, sourceID int64) (string, error) {
	others, err := tx.CountPaidDeals(ctx, u.ID, key)
	if err != nil {
		return "", err
	}
	switch {
	case u.Role != booksmeta.RoleStudent:
		return "аккаунт " + u.Email + " — администратор: отметку об оплате уведомления GetCourse не меняют", nil
	case others > 0:
		// What the other purchases give stays; the refunded one's limit goes.
		before := u.BookingLimit
		if err := s.applyLimit(ctx, tx, u); err != nil {
			return "", err
		}
		if u.BookingLimit != before {
			if err := tx.UpdateUser(ctx, u); err != nil {
				return "", err
			}
		}
		return fmt.Sprintf("у ученика %s есть другие оплаченные заказы (%d): доступ по ним сохранён", u.Email, others), nil
	case !u.Paid:
		return "ученик " + u.Email + " и так без оплаты", nil
	}
	data, _ := json.Marshal(map[string]string{"first_name": u.FirstName, "deal": dealLabel(ev), "status": ev.Status})
	cancelled, err := takeAccess(ctx, tx, u, closing{kind: "payment_revoked", title: "Оплата отменена",
		body: "Оплата курса отменена или возвращена, поэтому бронирование сервера недоступно. Если это ошибка, свяжитесь со школой.",
		data: string(data), dedupe: fmt.Sprintf("revoked:%d:%s:%d", u.ID, key, sourceID), reason: "Оплата отменена"})
	if err != nil {
		return "", err
	}
	summary := "у ученика " + u.Email + " снят доступ к бронированию"
	if cancelled > 0 {
		summary += fmt.Sprintf(", отменено будущих бронирований: %d", cancelled)
	}
	return summary, nil
}

// closing is how a student is told their paid access was taken: the notice
// and mail kind, title and body, the mail's data and dedupe key, and the
// reason their future bookings are cancelled with.
type closing struct{ kind, title, body, data, dedupe, reason string }

// takeAccess takes a student's paid access away: the flag, a notice, a
// mail, and their future bookings cancelled. It returns how many were.
func takeAccess(ctx context.Context, tx *store.Tx, u *booksmeta.User, c closing) (int, error) {
	u.Paid = false
	if err := tx.UpdateUser(ctx, u); err != nil {
		return 0, err
	}
	if err := tx.AddNotice(ctx, &booksmeta.Notice{UserID: u.ID, Kind: c.kind, Title: c.title, Body: c.body}); err != nil {
		return 0, err
	}
	if _, err := tx.QueueMail(ctx, &store.OutboxMail{Kind: c.kind, ToEmail: u.Email, ToName: u.Name(), UserID: u.ID,
		Data: c.data, DedupeKey: c.dedupe}); err != nil {
		return 0, err
	}
	return tx.CancelFutureBookings(ctx, u.ID, c.reason)
}

func (s *Service) registered(ctx context.Context, tx *store.Tx, ev Event) (Outcome, error) {
	if _, err := checkEmail(ev); err != nil {
		return Outcome{}, err
	}
	u, created, err := s.findOrCreate(ctx, tx, ev)
	if err != nil {
		return Outcome{}, err
	}
	if !created {
		if err := tx.UpdateUser(ctx, u); err != nil {
			return Outcome{}, err
		}
		return Outcome{State: booksmeta.StateDone, Summary: "Регистрация: данные ученика " + u.Email + " обновлены.", UserID: u.ID}, nil
	}
	return Outcome{State: booksmeta.StateDone, UserID: u.ID,
		Summary: "Регистрация: создан аккаунт " + u.Email + " без оплаты (бронировать можно будет после оплаты)."}, nil
}

// order applies a payment or a deal event. Access comes from paid deals:
// each deal remembers whether it gives its owner access, the owner is found
// by the deal, then the GetCourse id, then the email, and never changes once
// set; the status decides (StatusEffect).
func (s *Service) order(ctx context.Context, tx *store.Tx, ev Event, sourceID int64) (Outcome, error) {
	eff, free := ev.effect()
	key := ev.DealKey()
	if key == "" {
		return s.orderWithoutDeal(ctx, tx, ev, eff, free, sourceID)
	}
	d, err := tx.LockDeal(ctx, key)
	if err != nil {
		return Outcome{}, err
	}
	label := "Заказ " + dealLabel(ev)
	if sourceID != 0 && d.LastEventID > sourceID {
		return Outcome{State: booksmeta.StateDone, UserID: d.UserID, Summary: fmt.Sprintf(
			"%s: событие устарело — после него уже пришло и применено событие #%d (статус %s); ничего не изменено.",
			label, d.LastEventID, statusWords(d.Status))}, nil
	}
	if ev.Source == SourceSync && d.Status != "" {
		return Outcome{State: booksmeta.StateDone, UserID: d.UserID, Summary: fmt.Sprintf(
			"%s уже известен по уведомлениям GetCourse (статус %s): выгрузка его не меняет.", label, statusWords(d.Status))}, nil
	}
	owner, ownerNote, err := dealOwner(ctx, tx, d, ev)
	if err != nil {
		return Outcome{}, err
	}
	if d.Paid && eff == EffectNone {
		// A paid deal does not go back to «Новый»: such an event is a late
		// creation (GetCourse delivers out of order) or a manager's edit,
		// and the payment with its amounts stands.
		d.LastEventID = max(d.LastEventID, sourceID)
	} else {
		merge(d, ev, sourceID)
		if code := StatusCode(ev.Status); code != "" {
			d.Status = code
		} else if eff == EffectPaid {
			d.Status = "payed"
		}
	}
	var parts []string
	if ownerNote != "" {
		parts = append(parts, ownerNote)
	}
	state := booksmeta.StateDone
	switch {
	case eff == EffectPaid && free:
		state = booksmeta.StateIgnored
		parts = append(parts, "бесплатный заказ (стоимость 0): это не оплата, доступ не открывается. Чтобы дать доступ без оплаты, отметьте ученика оплатившим в разделе «Пользователи»")
		if d.UserID == 0 && owner != nil {
			d.UserID = owner.ID
		}
	case eff == EffectPaid:
		wasPaid := d.Paid
		if !wasPaid {
			// What this purchase gives is decided now, by the rules of now
			// (SPEC §8: a changed rule applies to deals from then on).
			now := tx.Now()
			tg, err := s.tariff(ctx, tx, purchaseOf(d, now))
			if err != nil {
				return Outcome{}, err
			}
			if !tg.Access {
				d.Paid, d.Status = false, "payed"
				if d.UserID == 0 && owner != nil {
					d.UserID = owner.ID
				}
				if err := tx.SaveDeal(ctx, d); err != nil {
					return Outcome{}, err
				}
				parts = append(parts, "оплачен"+money(ev), tg.Note+"; доступ не открыт")
				return Outcome{State: booksmeta.StateIgnored, UserID: d.UserID, Summary: summarize(label, ev, parts)}, nil
			}
			d.GrantLimit, d.GrantHours, d.GrantUntil, d.GrantNote = tg.Limit, tg.Hours, tg.Until, tg.Note
			d.PaidAt = now
			if !tg.Until.IsZero() && !tg.Until.After(now) {
				// An old payment (from the export) whose access has already run out.
				d.Paid = false
				if d.UserID == 0 && owner != nil {
					d.UserID = owner.ID
				}
				if err := tx.SaveDeal(ctx, d); err != nil {
					return Outcome{}, err
				}
				parts = append(parts, fmt.Sprintf("оплачен, но доступ по нему закончился %s", tg.Until.Format("02.01.2006")))
				return Outcome{State: booksmeta.StateDone, UserID: d.UserID, Summary: summarize(label, ev, parts)}, nil
			}
		}
		u, created, err := s.upsertStudent(ctx, tx, ev, owner)
		if err != nil {
			return Outcome{}, err
		}
		if d.UserID == 0 {
			d.UserID = u.ID
		}
		d.Paid = true
		if err := tx.SaveDeal(ctx, d); err != nil {
			return Outcome{}, err
		}
		if err := s.applyLimit(ctx, tx, u); err != nil {
			return Outcome{}, err
		}
		g, err := s.grant(ctx, tx, ev, u, created)
		if err != nil {
			return Outcome{}, err
		}
		if wasPaid {
			parts = append(parts, "уже был оплачен — повтор ничего не меняет")
		} else {
			parts = append(parts, "оплачен"+money(ev), d.GrantNote)
		}
		parts = append(parts, g)
		return Outcome{State: booksmeta.StateDone, UserID: u.ID, Summary: summarize(label, ev, parts)}, nil
	case eff == EffectRevoke:
		gave := d.Paid
		if !gave && owner != nil && ev.paidMoney() {
			// A refund of a deal paid before Book Smeta saw it (an imported
			// student): the money says it was paid, so it gave access.
			n, err := tx.CountPaidDeals(ctx, owner.ID, "")
			if err != nil {
				return Outcome{}, err
			}
			gave = n == 0
		}
		d.Paid = false
		if d.UserID == 0 && owner != nil {
			d.UserID = owner.ID
		}
		if err := tx.SaveDeal(ctx, d); err != nil {
			return Outcome{}, err
		}
		switch {
		case owner == nil:
			parts = append(parts, "ученика этого заказа в Book Smeta нет — менять нечего")
		case !gave:
			parts = append(parts, "заказ не был оплачен и доступа не давал — доступ ученика "+owner.Email+" не менялся")
		default:
			r, err := s.revoke(ctx, tx, ev, owner, key, sourceID)
			if err != nil {
				return Outcome{}, err
			}
			parts = append(parts, r)
		}
		return Outcome{State: booksmeta.StateDone, UserID: d.UserID, Summary: summarize(label, ev, parts)}, nil
	default:
		if d.UserID == 0 && owner != nil {
			d.UserID = owner.ID
		}
		if d.Paid {
			parts = append(parts, "заказ уже оплачен — доступ сохраняется")
		} else {
			parts = append(parts, noneReason(StatusCode(ev.Status)))
		}
	}
	if err := tx.SaveDeal(ctx, d); err != nil {
		return Outcome{}, err
	}
	return Outcome{State: state, UserID: d.UserID, Summary: summarize(label, ev, parts)}, nil
}

// orderWithoutDeal applies a payment or deal event that names no deal (the
// guide's user_payment, or a process without {object.id}): by email only.
func (s *Service) orderWithoutDeal(ctx context.Context, tx *store.Tx, ev Event, eff Effect, free bool, sourceID int64) (Outcome, error) {
	label := "Оплата без номера заказа"
	if !ev.isPayment() {
		label = "Заказ без номера"
	}
	switch {
	case eff == EffectPaid && free:
		return Outcome{State: booksmeta.StateIgnored, Summary: summarize(label, ev, []string{"бесплатный заказ (стоимость 0): это не оплата, доступ не открывается"})}, nil
	case eff == EffectPaid:
		tg, err := s.tariff(ctx, tx, tariff.Purchase{OfferIDs: ev.OfferIDs, OfferCode: ev.OfferCode, Positions: ev.ProductTitle, PaidAt: tx.Now()})
		if err != nil {
			return Outcome{}, err
		}
		if !tg.Access {
			return Outcome{State: booksmeta.StateIgnored, Summary: summarize(label, ev, []string{tg.Note + "; доступ не открыт"})}, nil
		}
		u, created, err := s.findOrCreate(ctx, tx, ev)
		if err != nil {
			return Outcome{}, err
		}
		if tg.Limit > 0 && u.Role == booksmeta.RoleStudent {
			u.BookingLimit = max(u.BookingLimit, tg.Limit)
		}
		g, err := s.grant(ctx, tx, ev, u, created)
		if err != nil {
			return Outcome{}, err
		}
		parts := []string{g}
		if tg.Hours > 0 || !tg.Until.IsZero() {
			// Hours and an end need a deal to count against.
			parts = append(parts, "часы и срок тарифа без номера заказа не учитываются — передавайте в адресе {object.id}")
		}
		return Outcome{State: booksmeta.StateDone, UserID: u.ID, Summary: summarize(label, ev, parts)}, nil
	case ev.Email == "" && ev.GetCourseUserID == "":
		return Outcome{}, RuleError("В событии заказа нет ни номера заказа (deal_id / deal_number), ни email: применить его не к чему. Скопируйте адрес для «Вызвать URL» заново со страницы «Подключение GetCourse» — в нём есть {object.id} и {object.user.email}.")
	}
	u, err := findStudent(ctx, tx, ev)
	if err != nil {
		return Outcome{}, err
	}
	if eff != EffectRevoke {
		uid := int64(0)
		if u != nil {
			uid = u.ID
		}
		return Outcome{State: booksmeta.StateDone, UserID: uid, Summary: summarize(label, ev, []string{noneReason(StatusCode(ev.Status))})}, nil
	}
	if u == nil {
		return Outcome{State: booksmeta.StateDone, Summary: summarize(label, ev, []string{"ученика с таким email в Book Smeta нет — менять нечего"})}, nil
	}
	r, err := s.revoke(ctx, tx, ev, u, "", sourceID)
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{State: booksmeta.StateDone, UserID: u.ID, Summary: summarize(label, ev, []string{r})}, nil
}

// dealOwner is who the deal's access belongs to: the owner recorded on the
// deal, else the student the event names. A note says when the event names
// someone else, because a deal never silently changes owner.
func dealOwner(ctx context.Context, tx *store.Tx, d *booksmeta.Deal, ev Event) (*booksmeta.User, string, error) {
	if d.UserID != 0 {
		u, err := tx.UserByID(ctx, d.UserID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, "", err
		}
		if err == nil {
			e := store.NormalizeEmail(ev.Email)
			if e != "" && e != u.Email {
				return u, fmt.Sprintf("в событии email %s, а заказ принадлежит %s — изменения относятся к владельцу заказа", e, u.Email), nil
			}
			return u, "", nil
		}
	}
	u, err := findStudent(ctx, tx, ev)
	return u, "", err
}

// merge takes what the event says about the deal, keeping what an event
// left out.
func merge(d *booksmeta.Deal, ev Event, sourceID int64) {
	set := func(dst *string, v string) {
		if strings.TrimSpace(v) != "" {
			*dst = strings.TrimSpace(v)
		}
	}
	set(&d.GetCourseDealID, ev.DealID)
	set(&d.DealNumber, ev.DealNumber)
	set(&d.Email, store.NormalizeEmail(ev.Email))
	set(&d.GetCourseUserID, ev.GetCourseUserID)
	set(&d.Cost, ev.Cost)
	set(&d.PayedValue, ev.PayedValue)
	set(&d.Currency, ev.Currency)
	set(&d.ProductTitle, ev.ProductTitle)
	set(&d.OfferCode, ev.OfferCode)
	if len(ev.OfferIDs) > 0 {
		d.OfferIDs = ev.OfferIDs
	}
	if sourceID != 0 {
		d.LastEventID = sourceID
	}
}

// summarize words an order outcome for the webhook log: the order, its
// status in GetCourse's words, then what happened.
func summarize(label string, ev Event, parts []string) string {
	head := label
	if ev.Status != "" || ev.Name == EventTechDealStatusChanged {
		head += ", статус " + statusWords(ev.Status)
	}
	return head + ": " + strings.Join(parts, "; ") + "."
}

// money words the amount of a payment for the log.
func money(ev Event) string {
	v := ev.PayedValue
	if v == "" {
		v = ev.Cost
	}
	if v == "" {
		return ""
	}
	if ev.Currency != "" {
		return " (" + v + " " + ev.Currency + ")"
	}
	return " (" + v + ")"
}

func dealLabel(ev Event) string {
	switch {
	case ev.DealNumber != "":
		return "№" + ev.DealNumber
	case ev.DealID != "":
		return "id " + ev.DealID
	}
	return "без номера"
}
