package web

import (
	"booksmeta"

	"context"

	"booksmeta/internal/booking"
)

// The pages show a rule's refusal in the rule's own words (booksmeta.Error's
// Message, or booking.Message after a redirect) at the status of the one
// table in booksmeta.Error.HTTPStatus. What a page adds is here, in one
// table: the API's parameter names become the controls of the page.
var pageHints = map[string]string{
	booksmeta.CodeSlotBooked: " На этой странице: отметьте «Отменить бронирования и уведомить учеников» и повторите.",
}

// The pages' own checks, made before a rule is asked: the second copy of a
// password, a number typed into a form.
const (
	msgPasswordsDiffer = "Пароли не совпадают: введите один и тот же пароль дважды."
	msgBadCapacity     = "Число мест записано неверно: укажите целое число, например 1."
)

// pageMessage is a refusal as a page shows it.
func pageMessage(e *booksmeta.Error) string {
	if e.Code == booksmeta.CodeSlotBooked && e.Count == 0 {
		return e.Message // the slot was used, nothing to cancel: the checkbox would not help
	}
	return e.Message + pageHints[e.Code]
}

// redirectRefusal is the text of a refusal code a redirect brought back
// (?err=), "" for a code no rule gives, so that a link cannot put words on
// the page.
func (s *Server) redirectRefusal(ctx context.Context, u *booksmeta.User, op booking.Op, code string) (string, error) {
	return s.Booking.Message(ctx, u, op, code)
}
