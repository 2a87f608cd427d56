package audit

import (
	"booksmeta"

	"strconv"
	"time"
)

// Span writes a time range as people read it in the school's zone:
// «03.12.2026 10:00–11:00».
func Span(start, end time.Time, loc *time.Location) string {
	s, e := start.In(loc), end.In(loc)
	out := s.Format("02.01.2006 15:04") + "–"
	if s.YearDay() != e.YearDay() || s.Year() != e.Year() {
		return out + e.Format("02.01.2006 15:04")
	}
	return out + e.Format("15:04")
}

func yesNo(b bool, y, n string) string {
	if b {
		return y
	}
	return n
}

// UserCreated words a new account.
func UserCreated(u *booksmeta.User) string {
	return "Создан пользователь " + u.Email + " (" + booksmeta.RoleName(u.Role) + ", " + yesNo(u.Paid, "оплачен", "не оплачен") + ")."
}

// UserDeleted words a removed account.
func UserDeleted(u *booksmeta.User) string {
	return "Удалён пользователь " + u.Email + " (" + booksmeta.RoleName(u.Role) + ")."
}

// UserChanges says which fields of an account changed, from what to what;
// a password only as changed.
func UserChanges(before, after *booksmeta.User) string {
	cs := []Change{
		{Field: "email", Old: before.Email, New: after.Email},
		{Field: "имя", Old: before.FirstName, New: after.FirstName},
		{Field: "фамилия", Old: before.LastName, New: after.LastName},
		{Field: "телефон", Old: before.Phone, New: after.Phone},
		{Field: "роль", Old: booksmeta.RoleName(before.Role), New: booksmeta.RoleName(after.Role)},
		{Field: "оплачен", Old: yesNo(before.Paid, "да", "нет"), New: yesNo(after.Paid, "да", "нет")},
		{Field: "аккаунт", Old: yesNo(before.Active, "включён", "отключён"), New: yesNo(after.Active, "включён", "отключён")},
		{Field: "лимит бронирований", Old: strconv.Itoa(before.BookingLimit), New: strconv.Itoa(after.BookingLimit)},
	}
	if before.PasswordHash != after.PasswordHash {
		cs = append(cs, Change{Field: "пароль", Secret: true})
	}
	d := Describe(cs)
	if d == "" {
		d = "изменений нет"
	}
	return "Пользователь " + after.Email + ": " + d + "."
}

// SlotChanges words a slot action. before is the slot as it was (nil for a
// new or deleted slot, or when only opening or closing it); cancelled is
// how many bookings the action cancelled.
func SlotChanges(action string, before, after *booksmeta.Slot, cancelled int, loc *time.Location) string {
	when := Span(after.StartsAt, after.EndsAt, loc)
	open := func(b bool) string { return yesNo(b, "открыт", "закрыт") }
	var msg string
	switch {
	case action == SlotCreate:
		msg = "Создан слот " + when + ", мест: " + strconv.Itoa(after.Capacity)
	case action == SlotDelete:
		msg = "Удалён слот " + when
	case before == nil:
		msg = "Слот " + when + ": " + open(after.Active) + " для бронирования"
	default:
		d := Describe([]Change{
			{Field: "время", Old: Span(before.StartsAt, before.EndsAt, loc), New: when},
			{Field: "мест", Old: strconv.Itoa(before.Capacity), New: strconv.Itoa(after.Capacity)},
			{Field: "заметка", Old: before.Note, New: after.Note},
			{Field: "бронирование", Old: open(before.Active), New: open(after.Active)},
			// Both are stored encrypted: only whether they changed is said.
			{Field: "логин и пароль слота", Secret: before.ServerLogin != after.ServerLogin || before.ServerPassword != after.ServerPassword},
		})
		if d == "" {
			d = "изменений нет"
		}
		msg = "Слот " + when + ": " + d
	}
	if cancelled > 0 {
		msg += "; отменено бронирований: " + strconv.Itoa(cancelled) + ", ученики получили уведомления"
	}
	return msg + "."
}

// OfferRule words a tariff rule.
func OfferRule(o *booksmeta.OfferRule) string {
	s := o.MatchKind + " = «" + o.MatchValue + "»: "
	if !o.GrantsAccess {
		return s + "доступа не даёт"
	}
	return s + "даёт доступ, лимит " + strconv.Itoa(o.BookingLimit) + ", часов " + strconv.Itoa(o.Hours) + ", дней " + strconv.Itoa(o.AccessDays)
}

// BookingCancelled words an admin's cancel of b (with its student's email).
func BookingCancelled(b *booksmeta.Booking, loc *time.Location) string {
	s := "Отменено бронирование " + b.UserEmail + " на " + Span(b.StartsAt, b.EndsAt, loc) + "; ученик получил уведомление и письмо"
	if b.CancelReason != "" {
		s += ", причина: " + b.CancelReason
	}
	return s + "."
}

// BookingDeleted words an admin's delete of b; notified says whether it
// was cancelled first, with the student told.
func BookingDeleted(b *booksmeta.Booking, notified bool, reason string, loc *time.Location) string {
	s := "Удалено бронирование " + b.UserEmail + " на " + Span(b.StartsAt, b.EndsAt, loc) + " (было: " + bookingStatus(b.Status) + ")"
	if notified {
		s += "; перед удалением отменено, ученик получил уведомление и письмо"
		if reason != "" {
			s += ", причина: " + reason
		}
	}
	return s + "."
}

// BookingEdited words an admin's change of a booking's note or status.
func BookingEdited(before, after *booksmeta.Booking, oldNote, newNote string, loc *time.Location) string {
	cs := []Change{{Field: "заметка", Old: oldNote, New: newNote}}
	if before != nil {
		cs = append(cs, Change{Field: "статус", Old: bookingStatus(before.Status), New: bookingStatus(after.Status)})
	}
	d := Describe(cs)
	if d == "" {
		d = "изменений нет"
	}
	s := "Бронирование " + after.UserEmail + " на " + Span(after.StartsAt, after.EndsAt, loc) + ": " + d
	if BookingEditAction(before, after) == BookingCancel && after.CancelReason != "" {
		s += "; ученик получил уведомление и письмо, причина: " + after.CancelReason
	} else if BookingEditAction(before, after) == BookingCancel {
		s += "; ученик получил уведомление и письмо"
	}
	return s + "."
}

// BookingEditAction is the action of an edit: a cancel when it cancelled.
func BookingEditAction(before, after *booksmeta.Booking) string {
	if before != nil && before.Status == booksmeta.BookingActive && after.Status == booksmeta.BookingCancelled {
		return BookingCancel
	}
	return BookingUpdate
}

func bookingStatus(st string) string {
	switch st {
	case booksmeta.BookingActive:
		return "активно"
	case booksmeta.BookingFinished:
		return "завершено"
	case booksmeta.BookingCancelled:
		return "отменено"
	}
	return st
}
