package schedule

import (
	"booksmeta"

	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"booksmeta/internal/booking"
	"booksmeta/internal/store"
)

func invalid(field, msg string) error { return booksmeta.Refuse(booksmeta.CodeInvalid, field, msg) }

var errNotFound = booksmeta.Refuse(booksmeta.CodeNotFound, "", "Такого слота нет: возможно, его уже удалили. Обновите список.")

// slotConflict is a slot change refused because of the slots or bookings
// already there: never silently applied. conflict words it for people.
type slotConflict struct {
	Code     string
	Other    *booksmeta.Slot      // the slot in the way (exists, deleted, overlap)
	Booked   int                  // places taken (capacity, move)
	Bookings []*booksmeta.Booking // live bookings in the way (move, delete, deactivate)
}

func (e *slotConflict) Error() string { return "slot conflict: " + e.Code }

// Limits of a slot an admin makes.
const (
	MinSlotLength = 5 * time.Minute
	maxNote       = 1000
	maxCredential = 200
)

// Default reasons told to students when the admin gives none.
const (
	ReasonDeleted     = "Это время убрано из расписания."
	ReasonDeactivated = "Это время закрыто администратором (например, на техническое обслуживание сервера)."
	ReasonMoved       = "Время слота изменено администратором."
)

// SlotInput is an admin's create or edit; nil fields are left as they are
// (on create: capacity from slot_capacity, active true). Credentials are
// plaintext here and sealed before they are stored; "" clears them.
type SlotInput struct {
	Start, End     *time.Time
	Capacity       *int
	Note           *string
	Active         *bool
	ServerLogin    *string
	ServerPassword *string
}

func (s *Service) apply(sl *booksmeta.Slot, in SlotInput) error {
	if in.Start != nil {
		sl.StartsAt = in.Start.UTC()
	}
	if in.End != nil {
		sl.EndsAt = in.End.UTC()
	}
	if sl.StartsAt.IsZero() {
		return invalid("start", "Укажите начало слота, например 2026-12-01T09:00.")
	}
	if sl.EndsAt.IsZero() {
		return invalid("end", "Укажите конец слота, например 2026-12-01T10:00.")
	}
	if !sl.EndsAt.After(sl.StartsAt) {
		return invalid("end", "Конец слота должен быть позже начала.")
	}
	if d := sl.EndsAt.Sub(sl.StartsAt); d < MinSlotLength || d > store.MaxSlotLength {
		return invalid("end", "Слот длится от 5 минут до 24 часов: проверьте начало и конец.")
	}
	if in.Capacity != nil {
		sl.Capacity = *in.Capacity
	}
	if sl.Capacity < 1 || sl.Capacity > MaxCapacity {
		return invalid("capacity", fmt.Sprintf("Мест в слоте — от 1 до %d.", MaxCapacity))
	}
	if in.Note != nil {
		sl.Note = strings.TrimSpace(*in.Note)
		if utf8.RuneCountInString(sl.Note) > maxNote {
			return invalid("note", fmt.Sprintf("Примечание слишком длинное: не больше %d символов.", maxNote))
		}
	}
	if in.Active != nil {
		sl.Active = *in.Active
	}
	for _, c := range []struct {
		field string
		v     *string
		dst   *string
	}{{"server_login", in.ServerLogin, &sl.ServerLogin}, {"server_password", in.ServerPassword, &sl.ServerPassword}} {
		if c.v == nil {
			continue
		}
		v := strings.TrimSpace(*c.v)
		if utf8.RuneCountInString(v) > maxCredential {
			return invalid(c.field, fmt.Sprintf("Слишком длинное значение: не больше %d символов.", maxCredential))
		}
		*c.dst = s.Box.Seal(v)
	}
	return nil
}

// CreateSlot adds a slot by hand. A deleted slot at the same start is
// brought back; a live one there, or an overlapping one, is refused.
func (s *Service) CreateSlot(ctx context.Context, in SlotInput) (*booksmeta.Slot, error) {
	sl := &booksmeta.Slot{Active: true, Source: store.SlotManual}
	if in.Capacity == nil {
		c, err := s.Config(ctx)
		if err != nil {
			sl.Capacity = 1
		} else {
			sl.Capacity = c.Capacity
		}
	}
	if err := s.apply(sl, in); err != nil {
		return nil, err
	}
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		if sl.Started(tx.Now()) {
			return invalid("start", "Это время уже прошло: слот можно создать только на будущее.")
		}
		return insertSlot(ctx, tx, sl)
	})
	if err != nil {
		return nil, s.conflict(ctx, err, "create")
	}
	s.log().Info("slot created", "slot_id", sl.ID, "starts_at", sl.StartsAt, "capacity", sl.Capacity)
	return sl, nil
}

// UpdateSlot edits a slot. Moving it or closing it while students hold
// bookings is refused unless cancel is set: then their bookings are
// cancelled in the same transaction, places freed, each student notified
// (reason, or a default). A capacity below the places taken is always
// refused: cancel particular bookings first.
func (s *Service) UpdateSlot(ctx context.Context, id int64, in SlotInput, cancel bool, reason string, by int64) (*booksmeta.Slot, int, error) {
	var sl *booksmeta.Slot
	cancelled := 0
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.SlotForUpdate(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !cur.DeletedAt.IsZero()) {
			return errNotFound
		}
		if err != nil {
			return err
		}
		next := *cur
		if err := s.apply(&next, in); err != nil {
			return err
		}
		moved := !next.StartsAt.Equal(cur.StartsAt) || !next.EndsAt.Equal(cur.EndsAt)
		if moved && next.Started(tx.Now()) {
			return invalid("start", "Перенести слот можно только на будущее время.")
		}
		if moved && cur.Started(tx.Now()) {
			return invalid("start", "Этот слот уже начался или прошёл: его время менять нельзя.")
		}
		if cancel && (moved || (cur.Active && !next.Active)) {
			why := reason
			if why == "" {
				why = ReasonDeactivated
				if moved {
					why = ReasonMoved
				}
			}
			bs, err := tx.LiveBookingsOfSlot(ctx, id)
			if err != nil {
				return err
			}
			if _, err := s.Booking.CancelForAdmin(ctx, tx, bs, why, by); err != nil {
				return err
			}
			cancelled = len(bs)
		}
		if err := updateSlot(ctx, tx, &next); err != nil {
			return err
		}
		sl = &next
		return nil
	})
	op := "update"
	if in.Start != nil || in.End != nil {
		op = "move"
	}
	if in.Active != nil && !*in.Active {
		op = "deactivate"
	}
	if err != nil {
		return nil, 0, s.conflict(ctx, err, op)
	}
	s.log().Info("slot updated", "slot_id", id, "by", by, "cancelled_bookings", cancelled)
	return sl, cancelled, nil
}

// DeleteSlot removes a slot (it stays as a tombstone the generator
// respects). Live bookings are refused unless cancel is set: then they are
// cancelled, places freed and students notified, in the same transaction.
func (s *Service) DeleteSlot(ctx context.Context, id int64, cancel bool, reason string, by int64) (int, error) {
	cancelled := 0
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.SlotForUpdate(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !cur.DeletedAt.IsZero()) {
			return errNotFound
		}
		if err != nil {
			return err
		}
		if cancel {
			bs, err := tx.LiveBookingsOfSlot(ctx, id)
			if err != nil {
				return err
			}
			if reason == "" {
				reason = ReasonDeleted
			}
			if _, err := s.Booking.CancelForAdmin(ctx, tx, bs, reason, by); err != nil {
				return err
			}
			cancelled = len(bs)
		}
		// Finished bookings keep their history; live ones must be cancelled first.
		if bs, err := tx.LiveBookingsOfSlot(ctx, id); err != nil {
			return err
		} else if len(bs) > 0 {
			return &slotConflict{Code: booksmeta.CodeSlotBooked, Booked: cur.Booked, Bookings: bs}
		}
		return tx.SoftDeleteSlot(ctx, id)
	})
	if err != nil {
		return 0, s.conflict(ctx, err, "delete")
	}
	s.log().Info("slot deleted", "slot_id", id, "by", by, "cancelled_bookings", cancelled)
	return cancelled, nil
}

// DeactivateResult is what a range deactivation did.
type DeactivateResult struct {
	Deactivated int // slots closed, including schedule slots created closed ahead of the horizon
	Cancelled   int // bookings cancelled
}

// Deactivate closes every slot overlapping [from, to) that has not ended —
// a day or a range, e.g. for server maintenance. Live bookings there are
// refused unless cancel is set: then they are cancelled, places freed and
// each student notified, in the same transaction. The schedule's slots in
// the range that do not exist yet are created closed, so the generator
// does not open them later.
func (s *Service) Deactivate(ctx context.Context, from, to time.Time, reason string, cancel bool, by int64) (DeactivateResult, error) {
	var res DeactivateResult
	if !to.After(from) {
		return res, invalid("to", "Конец промежутка должен быть позже начала.")
	}
	if to.Sub(from) > 366*24*time.Hour {
		return res, invalid("to", "Закрывайте не больше года за раз.")
	}
	if reason == "" {
		reason = ReasonDeactivated
	}
	cfg, cfgErr := s.Config(ctx)
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		bs, err := tx.LiveBookingsBetween(ctx, from, to)
		if err != nil {
			return err
		}
		if len(bs) > 0 {
			if !cancel {
				return &slotConflict{Code: booksmeta.CodeSlotBooked, Bookings: bs}
			}
			if _, err := s.Booking.CancelForAdmin(ctx, tx, bs, reason, by); err != nil {
				return err
			}
			res.Cancelled = len(bs)
			// Re-read: a booking cancelled meanwhile is not in the way, one
			// still live is.
			if bs, err = tx.LiveBookingsBetween(ctx, from, to); err != nil {
				return err
			} else if len(bs) > 0 {
				return &slotConflict{Code: booksmeta.CodeSlotBooked, Bookings: bs}
			}
		}
		if res.Deactivated, err = tx.DeactivateSlots(ctx, from, to); err != nil {
			return err
		}
		if cfgErr != nil {
			return nil // no schedule to close ahead; existing slots are closed
		}
		loc := cfg.Location
		f := from.In(loc).AddDate(0, 0, -1)
		days := int(to.Sub(from)/(24*time.Hour)) + 3
		var ws []window
		for _, w := range cfg.windows(f.Year(), f.Month(), f.Day(), days) {
			if w.start.Before(to) && w.end.After(from) {
				ws = append(ws, w)
			}
		}
		n, err := insertWindows(ctx, tx, cfg, ws, false)
		res.Deactivated += n
		return err
	})
	if err != nil {
		return DeactivateResult{}, s.conflict(ctx, err, "deactivate_range")
	}
	s.log().Info("slots deactivated", "from", from, "to", to, "by", by, "deactivated", res.Deactivated, "cancelled_bookings", res.Cancelled)
	return res, nil
}

// insertSlot adds a slot an admin made. A live slot starting at the same
// time or overlapping it is refused. A deleted slot at the same start (a
// tombstone) is brought back with the new values: the admin asked for
// exactly that time, so the tombstone, which only stops the generator,
// gives way.
func insertSlot(ctx context.Context, tx *store.Tx, s *booksmeta.Slot) error {
	if other, err := tx.SlotAt(ctx, s.StartsAt); err != nil {
		return err
	} else if other != nil {
		if other.DeletedAt.IsZero() {
			return &slotConflict{Code: booksmeta.CodeSlotExists, Other: other}
		}
		if other.Booked > s.Capacity {
			return &slotConflict{Code: booksmeta.CodeCapacityBelow, Booked: other.Booked}
		}
		if o, err := tx.OverlappingSlot(ctx, s.StartsAt, s.EndsAt, other.ID); err != nil {
			return err
		} else if o != nil {
			return &slotConflict{Code: booksmeta.CodeSlotOverlap, Other: o}
		}
		return tx.ReviveSlot(ctx, other, s)
	}
	if o, err := tx.OverlappingSlot(ctx, s.StartsAt, s.EndsAt, 0); err != nil {
		return err
	} else if o != nil {
		return &slotConflict{Code: booksmeta.CodeSlotOverlap, Other: o}
	}
	ok, err := tx.InsertSlot(ctx, s)
	if err != nil {
		return err
	}
	if !ok { // another admin was quicker
		other, err := tx.SlotAt(ctx, s.StartsAt)
		if err != nil {
			return err
		}
		return &slotConflict{Code: booksmeta.CodeSlotExists, Other: other}
	}
	return nil
}

// insertIfAbsent adds a slot of the weekly schedule unless a slot ever
// started at that time (a deleted one included: its tombstone keeps the
// generator from bringing back what an admin removed) or the time overlaps
// a live slot. It reports whether it inserted.
func insertIfAbsent(ctx context.Context, tx *store.Tx, s *booksmeta.Slot) (bool, error) {
	if o, err := tx.OverlappingSlot(ctx, s.StartsAt, s.EndsAt, 0); err != nil || o != nil {
		return false, err
	}
	return tx.InsertSlot(ctx, s)
}

// updateSlot writes next over its stored slot after the rules: a slot whose
// places are taken is not moved, the capacity does not go below the places
// taken, a slot with live bookings is not closed, and no slot is moved onto
// or over another. The stored slot is read again here, after any
// cancellations the caller made, so freed places count.
func updateSlot(ctx context.Context, tx *store.Tx, next *booksmeta.Slot) error {
	cur, err := tx.SlotForUpdate(ctx, next.ID)
	if err != nil {
		return err
	}
	moved := !cur.StartsAt.Equal(next.StartsAt) || !cur.EndsAt.Equal(next.EndsAt)
	if moved && cur.Booked > 0 {
		bs, err := tx.LiveBookingsOfSlot(ctx, cur.ID)
		if err != nil {
			return err
		}
		return &slotConflict{Code: booksmeta.CodeSlotBooked, Booked: cur.Booked, Bookings: bs}
	}
	if next.Capacity < cur.Booked {
		return &slotConflict{Code: booksmeta.CodeCapacityBelow, Booked: cur.Booked}
	}
	if cur.Active && !next.Active {
		bs, err := tx.LiveBookingsOfSlot(ctx, cur.ID)
		if err != nil {
			return err
		}
		if len(bs) > 0 {
			return &slotConflict{Code: booksmeta.CodeSlotBooked, Booked: cur.Booked, Bookings: bs}
		}
	}
	if moved {
		if !cur.StartsAt.Equal(next.StartsAt) {
			if other, err := tx.SlotAt(ctx, next.StartsAt); err != nil {
				return err
			} else if other != nil {
				code := booksmeta.CodeSlotExists
				if !other.DeletedAt.IsZero() {
					code = booksmeta.CodeSlotDeleted
				}
				return &slotConflict{Code: code, Other: other}
			}
		}
		if o, err := tx.OverlappingSlot(ctx, next.StartsAt, next.EndsAt, cur.ID); err != nil {
			return err
		} else if o != nil {
			return &slotConflict{Code: booksmeta.CodeSlotOverlap, Other: o}
		}
	}
	if err := tx.UpdateSlot(ctx, next); err != nil {
		return err
	}
	next.Booked, next.Source = cur.Booked, cur.Source
	return nil
}

func bookingsWord(n int) string {
	m := n % 100
	switch {
	case m%10 == 1 && m != 11:
		return strconv.Itoa(n) + " бронирование"
	case m%10 >= 2 && m%10 <= 4 && (m < 12 || m > 14):
		return strconv.Itoa(n) + " бронирования"
	}
	return strconv.Itoa(n) + " бронирований"
}

// conflict words a slot conflict for the admin; other errors pass through.
func (s *Service) conflict(ctx context.Context, err error, op string) error {
	var c *slotConflict
	if !errors.As(err, &c) {
		return err
	}
	loc := s.Settings.Location(ctx)
	e := &booksmeta.Error{Code: c.Code, Count: len(c.Bookings)}
	switch c.Code {
	case booksmeta.CodeSlotExists:
		e.Field = "start"
		e.Message = "На это время уже есть слот " + booking.When(c.Other.StartsAt, c.Other.EndsAt, loc) + ": измените его или выберите другое время."
	case booksmeta.CodeSlotDeleted:
		e.Field = "start"
		e.Message = "На это время раньше был слот, и его удалили. Чтобы вернуть это время, создайте слот на него заново."
	case booksmeta.CodeSlotOverlap:
		e.Field = "start"
		e.Message = "Время пересекается со слотом " + booking.When(c.Other.StartsAt, c.Other.EndsAt, loc) + ": слоты не должны накладываться друг на друга. Сдвиньте начало или конец."
	case booksmeta.CodeCapacityBelow:
		e.Field = "capacity"
		e.Message = fmt.Sprintf("В слоте уже занято мест: %d. Вместимость не может быть меньше — сначала отмените лишние бронирования в разделе «Бронирования».", c.Booked)
	case booksmeta.CodeSlotBooked:
		n := len(c.Bookings)
		switch op {
		case "move":
			e.Field = "start"
			if n > 0 {
				e.Message = "На этот слот есть " + bookingsWord(n) + ": его время менять нельзя. Повторите с отменой бронирований (cancel_bookings) — ученики получат уведомление, — или создайте новый слот на нужное время."
			} else {
				e.Message = fmt.Sprintf("Этот слот уже использован (занято мест: %d): его время менять нельзя. Создайте новый слот на нужное время.", c.Booked)
			}
		case "delete":
			e.Message = "На этот слот есть " + bookingsWord(n) + ": удалить его можно только вместе с отменой бронирований (cancel_bookings=true) — ученики получат уведомление."
		case "deactivate":
			e.Field = "active"
			e.Message = "На этот слот есть " + bookingsWord(n) + ": закрыть его можно только вместе с отменой бронирований (cancel_bookings) — ученики получат уведомление."
		default:
			e.Message = "В этом промежутке есть " + bookingsWord(n) + ": закрыть время можно только вместе с их отменой (cancel_bookings) — ученики получат уведомление."
		}
	default:
		e.Message = "Изменение слота отклонено: " + c.Code
	}
	return e
}
