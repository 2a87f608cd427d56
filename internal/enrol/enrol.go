// Package enrol turns what GetCourse tells us (payments, registrations,
// deals) into student accounts. The webhook processor and the scheduled
// sync both call Apply, so a payment has the same effect whichever way it
// arrives, and applying the same fact twice changes nothing more.
package enrol

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"booksmeta/internal/store"
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

// IsDealEvent reports whether the event is about a deal.
func (e Event) IsDealEvent() bool {
	return e.Name == EventDealCreated || e.Name == EventDealUpdated || strings.HasPrefix(e.Name, "deal_")
}

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

// Deal status classes. GetCourse's own statuses are `payed` (sic), `cancelled`
// and `false` (a deal marked failed); we also accept the spellings that
// processes and other senders use.
var (
	paidStatuses    = map[string]bool{"payed": true, "paid": true, "deal_is_paid": true, "оплачен": true}
	revokedStatuses = map[string]bool{"cancelled": true, "canceled": true, "false": true, "returned": true, "refunded": true,
		"payment_returned": true, "deal_returned": true, "отменен": true, "возврат": true}
)

// StatusPaid reports whether a deal status means the deal is paid.
func StatusPaid(s string) bool { return paidStatuses[strings.ToLower(strings.TrimSpace(s))] }

// StatusRevoked reports whether a deal status takes paid access away.
func StatusRevoked(s string) bool { return revokedStatuses[strings.ToLower(strings.TrimSpace(s))] }

// Outcome of applying an event.
type Outcome struct {
	State   string // store.StateDone or store.StateIgnored
	Summary string // Russian, for the webhook log
	UserID  int64
}

// RuleError is a failure that retrying cannot fix until someone changes the
// data or the settings; Message tells the admin what to do.
type RuleError struct{ Message string }

func (e *RuleError) Error() string { return e.Message }

// IsRuleError reports whether err is a RuleError.
func IsRuleError(err error) bool { var r *RuleError; return errors.As(err, &r) }

// Defaults supplies settings-dependent values.
type Defaults interface {
	DefaultLimit(ctx context.Context) int
}

// Service applies events.
type Service struct {
	Defaults Defaults
}

// Apply applies ev inside tx. sourceID is the webhook event id (0 for sync).
func (s *Service) Apply(ctx context.Context, tx *store.Tx, ev Event, sourceID int64) (Outcome, error) {
	switch {
	case ev.Name == EventTest:
		return Outcome{State: store.StateDone, Summary: "Тестовое событие: проверка связи прошла, данные не менялись."}, nil
	case ev.Name == EventUserPayment:
		return s.payment(ctx, tx, ev, sourceID)
	case ev.Name == EventUserRegistered:
		return s.registered(ctx, tx, ev)
	case ev.IsDealEvent():
		return s.deal(ctx, tx, ev, sourceID)
	case ev.Name == "":
		return Outcome{State: store.StateIgnored, Summary: "В событии нет названия (поле action или event): записано, ничего не изменено."}, nil
	}
	return Outcome{State: store.StateIgnored, Summary: fmt.Sprintf("Событие «%s» Book Smeta не обрабатывает: записано, ничего не изменено.", ev.Name)}, nil
}

func checkEmail(ev Event) (string, error) {
	e := store.NormalizeEmail(ev.Email)
	if e == "" {
		return "", &RuleError{"В событии нет email ученика, поэтому аккаунт не создан. Проверьте, что в настройках вызова в GetCourse передаётся поле email (например, {object.user.email}), затем нажмите «Повторить»."}
	}
	if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
		return "", &RuleError{fmt.Sprintf("Email «%s» в событии записан с ошибкой, поэтому аккаунт не создан. Исправьте email ученика в GetCourse и повторите событие.", ev.Email)}
	}
	return e, nil
}

// upsertStudent finds the student by email, then by GetCourse id, and
// creates or updates them with the event's contact fields.
func (s *Service) upsertStudent(ctx context.Context, tx *store.Tx, ev Event, email string) (*store.User, bool, error) {
	u, err := tx.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		u, err = tx.UserByGetCourseID(ctx, ev.GetCourseUserID)
	}
	if errors.Is(err, store.ErrNotFound) {
		u = &store.User{
			Email: email, FirstName: ev.FirstName, LastName: ev.LastName, Phone: ev.Phone,
			Role: store.RoleStudent, Active: true, BookingLimit: s.Defaults.DefaultLimit(ctx),
			GetCourseUserID: ev.GetCourseUserID,
		}
		return u, true, tx.InsertUser(ctx, u)
	}
	if err != nil {
		return nil, false, err
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

func (s *Service) payment(ctx context.Context, tx *store.Tx, ev Event, sourceID int64) (Outcome, error) {
	email, err := checkEmail(ev)
	if err != nil {
		return Outcome{}, err
	}
	u, created, err := s.upsertStudent(ctx, tx, ev, email)
	if err != nil {
		return Outcome{}, err
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
		return Outcome{}, err
	}
	if key := ev.DealKey(); key != "" {
		if err := tx.UpsertDeal(ctx, dealFrom(ev, key, u.ID, true, sourceID)); err != nil {
			return Outcome{}, err
		}
	}
	if u.PasswordHash == "" && u.Role == store.RoleStudent {
		data, _ := json.Marshal(map[string]string{"first_name": u.FirstName})
		queued, err := tx.QueueMail(ctx, &store.OutboxMail{
			Kind: "welcome", ToEmail: u.Email, ToName: u.Name(), UserID: u.ID, Data: string(data),
			DedupeKey: fmt.Sprintf("welcome:%d", u.ID),
		})
		if err != nil {
			return Outcome{}, err
		}
		if queued {
			notes = append(notes, "письмо со ссылкой для входа поставлено в очередь")
		}
	}
	if !wasPaid {
		if err := tx.AddNotice(ctx, &store.Notice{UserID: u.ID, Kind: "payment", Title: "Оплата получена",
			Body: "Доступ к бронированию открыт: выберите свободное время в календаре."}); err != nil {
			return Outcome{}, err
		}
	}
	summary := "Оплата: ученик " + u.Email
	switch {
	case created:
		summary += " создан и отмечен как оплативший"
	case wasPaid:
		summary += " уже был отмечен как оплативший"
	default:
		summary += " отмечен как оплативший"
	}
	if len(notes) > 0 {
		summary += "; " + strings.Join(notes, "; ")
	}
	return Outcome{State: store.StateDone, Summary: summary + ".", UserID: u.ID}, nil
}

func (s *Service) registered(ctx context.Context, tx *store.Tx, ev Event) (Outcome, error) {
	email, err := checkEmail(ev)
	if err != nil {
		return Outcome{}, err
	}
	u, created, err := s.upsertStudent(ctx, tx, ev, email)
	if err != nil {
		return Outcome{}, err
	}
	if !created {
		if err := tx.UpdateUser(ctx, u); err != nil {
			return Outcome{}, err
		}
		return Outcome{State: store.StateDone, Summary: "Регистрация: данные ученика " + u.Email + " обновлены.", UserID: u.ID}, nil
	}
	return Outcome{State: store.StateDone, UserID: u.ID,
		Summary: "Регистрация: создан аккаунт " + u.Email + " без оплаты (бронировать можно будет после оплаты)."}, nil
}

func dealFrom(ev Event, key string, userID int64, paid bool, sourceID int64) *store.Deal {
	return &store.Deal{
		Key: key, GetCourseDealID: ev.DealID, DealNumber: ev.DealNumber, UserID: userID,
		Email: store.NormalizeEmail(ev.Email), Status: ev.Status, Paid: paid, Cost: ev.Cost,
		ProductTitle: ev.ProductTitle, OfferCode: ev.OfferCode, LastEventID: sourceID,
	}
}

func (s *Service) deal(ctx context.Context, tx *store.Tx, ev Event, sourceID int64) (Outcome, error) {
	key := ev.DealKey()
	switch {
	case StatusPaid(ev.Status):
		out, err := s.payment(ctx, tx, ev, sourceID)
		if err != nil {
			return out, err
		}
		if key == "" {
			out.Summary = "Сделка без номера, статус «" + ev.Status + "». " + out.Summary
		}
		return out, nil
	case key == "" && ev.Email == "":
		return Outcome{}, &RuleError{"В событии сделки нет ни номера сделки (deal_id / deal_number), ни email: записать её некуда. Проверьте поля в настройках вызова GetCourse."}
	}
	var u *store.User
	if ev.Email != "" {
		var err error
		u, err = tx.UserByEmail(ctx, ev.Email)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return Outcome{}, err
		}
	}
	var uid int64
	if u != nil {
		uid = u.ID
	}
	if key != "" {
		if err := tx.UpsertDeal(ctx, dealFrom(ev, key, uid, false, sourceID)); err != nil {
			return Outcome{}, err
		}
	}
	if !StatusRevoked(ev.Status) {
		return Outcome{State: store.StateDone, UserID: uid,
			Summary: fmt.Sprintf("Сделка %s записана, статус «%s»; доступ ученика не менялся.", dealLabel(ev), ev.Status)}, nil
	}
	if u == nil {
		return Outcome{State: store.StateDone,
			Summary: fmt.Sprintf("Сделка %s отменена; ученика с таким email в Book Smeta нет, менять нечего.", dealLabel(ev))}, nil
	}
	others, err := tx.CountPaidDeals(ctx, u.ID, key)
	if err != nil {
		return Outcome{}, err
	}
	if others > 0 {
		return Outcome{State: store.StateDone, UserID: u.ID,
			Summary: fmt.Sprintf("Сделка %s отменена, но у ученика %s есть другие оплаченные сделки: доступ сохранён.", dealLabel(ev), u.Email)}, nil
	}
	if !u.Paid {
		return Outcome{State: store.StateDone, UserID: u.ID,
			Summary: fmt.Sprintf("Сделка %s отменена; ученик %s и так без оплаты.", dealLabel(ev), u.Email)}, nil
	}
	u.Paid = false
	if err := tx.UpdateUser(ctx, u); err != nil {
		return Outcome{}, err
	}
	if err := tx.AddNotice(ctx, &store.Notice{UserID: u.ID, Kind: "payment_revoked", Title: "Оплата отменена",
		Body: "Оплата курса отменена или возвращена, поэтому бронирование сервера недоступно. Если это ошибка, свяжитесь со школой."}); err != nil {
		return Outcome{}, err
	}
	data, _ := json.Marshal(map[string]string{"first_name": u.FirstName, "deal": dealLabel(ev), "status": ev.Status})
	if _, err := tx.QueueMail(ctx, &store.OutboxMail{Kind: "payment_revoked", ToEmail: u.Email, ToName: u.Name(), UserID: u.ID,
		Data: string(data), DedupeKey: fmt.Sprintf("revoked:%d:%s:%d", u.ID, key, sourceID)}); err != nil {
		return Outcome{}, err
	}
	cancelled, err := tx.CancelFutureBookings(ctx, u.ID, "Оплата отменена")
	if err != nil {
		return Outcome{}, err
	}
	summary := fmt.Sprintf("Сделка %s отменена: у ученика %s снят доступ к бронированию", dealLabel(ev), u.Email)
	if cancelled > 0 {
		summary += fmt.Sprintf(", отменено будущих бронирований: %d", cancelled)
	}
	return Outcome{State: store.StateDone, UserID: u.ID, Summary: summary + "."}, nil
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
