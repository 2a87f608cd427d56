package enrol

import (
	"strings"

	"booksmeta/internal/getcourse"
)

// Effect is what a deal's status does to the access that deal gives. Every
// status GetCourse has (GETCOURSE_REALITY §1) maps to one; the mapping is
// here and nowhere else.
type Effect int

const (
	// EffectNone: the order is not paid yet (new, pending, in_work,
	// not_confirmed, payment_waiting, part_payed) or the status is unknown.
	// The deal is recorded; access it already gave stays.
	EffectNone Effect = iota
	// EffectPaid: the order is paid; it gives its owner access.
	EffectPaid
	// EffectRevoke: the order is being refunded or was cancelled or marked
	// false; the access it gave is taken away.
	EffectRevoke
)

// Statuses outside GetCourse's own codes that senders (the PHP version's
// guide, middleware) use.
var (
	extraPaid    = map[string]bool{"paid": true, "deal_is_paid": true, "оплачен": true, "оплачено": true, "completed": true}
	extraRevoked = map[string]bool{"canceled": true, "returned": true, "refunded": true, "refund": true,
		"payment_returned": true, "deal_returned": true, "возврат": true, "возвращен": true, "отменён": true}
)

// StatusCode normalises a status as GetCourse prints it — the code
// ("payed") or the Russian label («Завершен») — to the code; other
// spellings are returned lowercased.
func StatusCode(s string) string {
	if c := getcourse.DealStatusCode(s); c != "" {
		return c
	}
	n := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "ё", "е")
	switch {
	case extraPaid[n]:
		return "payed"
	case extraRevoked[n]:
		return "cancelled"
	}
	return n
}

// StatusEffect is the effect of a deal status.
func StatusEffect(s string) Effect {
	switch StatusCode(s) {
	case "payed":
		return EffectPaid
	case "cancelled", "false", "waiting_for_return":
		return EffectRevoke
	}
	return EffectNone
}

// StatusPaid reports whether a deal status means the deal is paid.
func StatusPaid(s string) bool { return StatusEffect(s) == EffectPaid }

// StatusRevoked reports whether a deal status takes paid access away.
func StatusRevoked(s string) bool { return StatusEffect(s) == EffectRevoke }

// StatusKnown reports whether s is one of GetCourse's statuses or a known
// spelling of one.
func StatusKnown(s string) bool {
	c := StatusCode(s)
	return getcourse.DealStatusLabel(c) != ""
}

// statusWords is how the webhook log names a status: GetCourse's label and
// code, so an admin recognises it from the GetCourse screen.
func statusWords(s string) string {
	c := StatusCode(s)
	if l := getcourse.DealStatusLabel(c); l != "" {
		return "«" + l + "» (" + c + ")"
	}
	if strings.TrimSpace(s) == "" {
		return "не указан"
	}
	return "«" + s + "»"
}

// noneReason says in Russian why a status gives no access yet.
func noneReason(code string) string {
	switch code {
	case "part_payed":
		return "заказ оплачен частично — доступ откроется после полной оплаты"
	case "new", "pending", "in_work", "not_confirmed", "payment_waiting":
		return "заказ ещё не оплачен — доступ откроется после оплаты"
	case "":
		return "статус заказа не передан — доступ не менялся"
	}
	return "статус «" + code + "» Book Smeta не знает — доступ не менялся; проверьте, что в GetCourse передаётся {object.status}"
}

// DealState is what the intake compares to tell a repeated delivery of one
// state of a deal from a change: GetCourse fires dealPaid and
// dealStatusChanged with the same body for one payment, and a process may
// run twice, but a payment after a refund is a new state.
func (e Event) DealState() string {
	status := StatusCode(e.Status)
	if status == "" && (e.Name == EventUserPayment || e.Name == EventTechDealPaid) {
		status = "payed"
	}
	return status + "|" + e.IsPayed + "|" + e.PayedValue
}

// free reports whether a paid-status order cost nothing: GetCourse creates
// free orders already «Завершен» with isPayed 0. Money never changed hands,
// so it is not a payment.
func (e Event) free() bool {
	if e.IsPayed == "1" || strings.TrimSpace(e.Cost) == "" {
		return false
	}
	cost, err := getcourse.ParseMoney(e.Cost)
	if err != nil || cost != 0 {
		return false
	}
	payed, err := getcourse.ParseMoney(e.PayedValue)
	return err == nil && payed == 0
}

// paidMoney reports whether the event says money was paid for the order.
func (e Event) paidMoney() bool {
	v, err := getcourse.ParseMoney(e.PayedValue)
	return err == nil && v > 0
}
