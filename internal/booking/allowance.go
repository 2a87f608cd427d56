package booking

import (
	"context"
	"strconv"
	"time"

	"booksmeta"
	"booksmeta/internal/store"
	"booksmeta/internal/tariff"
)

// Allowance is what a student's purchases let them book (SPEC §8): their
// entitlement and the server time they have spent or hold.
type Allowance struct {
	booksmeta.Entitlement
	UsedMinutes int // active and finished bookings since the oldest current purchase
}

// LeftMinutes is the server time left to book; meaningful when Capped.
func (a Allowance) LeftMinutes() int { return max(a.Hours*60-a.UsedMinutes, 0) }

// allowance reads a student's allowance inside a transaction; the user row
// is locked by the caller, so bookings of one student see each other's
// hours in order and the hours are never overspent.
func allowance(ctx context.Context, tx *store.Tx, userID int64) (Allowance, error) {
	grants, err := tx.PaidGrants(ctx, userID)
	if err != nil {
		return Allowance{}, err
	}
	a := Allowance{Entitlement: tariff.Combine(grants)}
	if !a.Capped {
		return a, nil
	}
	since, err := tx.EarliestPaidAt(ctx, userID)
	if err != nil {
		return Allowance{}, err
	}
	a.UsedMinutes, err = tx.BookedMinutes(ctx, userID, since)
	return a, err
}

// Allowance is a student's allowance now, for their pages and /api/v1/me.
func (s *Service) Allowance(ctx context.Context, userID int64) (Allowance, error) {
	var a Allowance
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		a, err = allowance(ctx, tx, userID)
		return err
	})
	return a, err
}

// checkAllowance refuses a slot the student's purchases do not cover: more
// hours than are left, or a slot ending after access ends.
func checkAllowance(a Allowance, slot *booksmeta.Slot, loc *time.Location) error {
	if a.Capped {
		need := int(slot.EndsAt.Sub(slot.StartsAt) / time.Minute)
		if a.UsedMinutes+need > a.Hours*60 {
			return refuse(booksmeta.CodeHoursUsedUp, hoursUsedUpMessage(a))
		}
	}
	if !a.Until.IsZero() && slot.EndsAt.After(a.Until) {
		return refuse(booksmeta.CodeAccessEnded, accessEndedMessage(a, loc))
	}
	return nil
}

func accessEndedMessage(a Allowance, loc *time.Location) string {
	if a.Until.IsZero() {
		return "Ваш доступ к серверу по тарифу закончился. Продлите его покупкой в школе."
	}
	return "Ваш доступ к серверу по тарифу заканчивается " + a.Until.In(loc).Format("02.01.2006 в 15:04") +
		", а это время позже. Выберите время до этой даты или продлите доступ покупкой в школе."
}

func hoursUsedUpMessage(a Allowance) string {
	left := a.LeftMinutes()
	if left == 0 {
		return "Все оплаченные часы на сервере (" + HoursText(a.Hours*60) + ") уже использованы или забронированы. Чтобы заниматься дальше, оформите новую покупку в школе; отменённые брони часы возвращают."
	}
	return "На это время не хватает оплаченных часов: осталось " + HoursText(left) + ". Выберите время покороче или оформите новую покупку в школе."
}

// HoursText words minutes as hours and minutes in Russian («2 ч 30 мин»),
// as the refusals and the student's pages show server time.
func HoursText(min int) string {
	h, m := min/60, min%60
	switch {
	case h == 0:
		return strconv.Itoa(m) + " мин"
	case m == 0:
		return strconv.Itoa(h) + " ч"
	}
	return strconv.Itoa(h) + " ч " + strconv.Itoa(m) + " мин"
}
