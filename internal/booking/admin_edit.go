package booking

import (
	"booksmeta"

	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"booksmeta/internal/store"
)

// NoteMaxLen bounds an admin's note on a booking, in characters.
const NoteMaxLen = 1000

// AdminEdit sets the admin's note on a booking and, when status differs
// from the booking's, moves it: to cancelled exactly as AdminCancel does
// (the place freed, the student told by notice and mail, with reason), or
// to finished once its slot has started (the place stays used, as when the
// slot ends). A cancelled or finished booking does not come back: the
// student books again, so that the limit and the places are checked. The
// note is for admins only; the student never sees it.
func (s *Service) AdminEdit(ctx context.Context, adminID, bookingID int64, status, note, reason string) (*booksmeta.Booking, error) {
	note = strings.TrimSpace(note)
	if utf8.RuneCountInString(note) > NoteMaxLen {
		return nil, booksmeta.Refuse(booksmeta.CodeInvalid, "notes", "Заметка слишком длинная: не больше 1000 символов.")
	}
	var b *booksmeta.Booking
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if b, err = s.adminBooking(ctx, tx, bookingID); err != nil {
			return err
		}
		if err := tx.SetBookingNote(ctx, b.ID, note); err != nil {
			return err
		}
		switch {
		case status == "" || status == b.Status:
			return nil
		case b.Status != booksmeta.BookingActive:
			return booksmeta.Refuse(booksmeta.CodeNotActive, "status",
				"Отменённое или завершённое бронирование не возвращается: пусть ученик забронирует время заново (так проверятся места и его лимит).")
		case status == booksmeta.BookingCancelled:
			n, err := s.CancelForAdmin(ctx, tx, []*booksmeta.Booking{b}, reason, adminID)
			if err != nil {
				return err
			}
			if n == 0 {
				return plain(booksmeta.CodeNotActive)
			}
			b.Status, b.CancelReason = booksmeta.BookingCancelled, reason
			return nil
		case status == booksmeta.BookingFinished:
			if tx.Now().Before(b.StartsAt) {
				return booksmeta.Refuse(booksmeta.CodeInvalid, "status",
					"Завершить можно только начавшееся бронирование. Чтобы освободить будущее время, отмените бронирование: ученик получит уведомление.")
			}
			if err := tx.FinishBooking(ctx, b.ID); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return plain(booksmeta.CodeNotActive)
				}
				return err
			}
			b.Status = booksmeta.BookingFinished
			return nil
		}
		return booksmeta.Refuse(booksmeta.CodeInvalid, "status", "Неизвестный статус: выберите «активно», «отменено» или «завершено».")
	})
	return b, err
}

// AdminDelete removes a booking for an admin. An active one is first
// cancelled exactly as AdminCancel does — the place freed, the student told
// by notice and mail, with reason — then removed, in one transaction; a
// cancelled or finished one is removed without telling anyone (it was told
// when it was cancelled). notified says whether the student was told.
func (s *Service) AdminDelete(ctx context.Context, adminID, bookingID int64, reason string) (b *booksmeta.Booking, notified bool, err error) {
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		if b, err = s.adminBooking(ctx, tx, bookingID); err != nil {
			return err
		}
		if b.Status == booksmeta.BookingActive {
			n, err := s.CancelForAdmin(ctx, tx, []*booksmeta.Booking{b}, reason, adminID)
			if err != nil {
				return err
			}
			notified = n > 0
		}
		if err := tx.DeleteBooking(ctx, b.ID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return refuse(booksmeta.CodeNotFound, msgNoBookingAdmin)
			}
			return err
		}
		return nil
	})
	return b, notified, err
}

// adminBooking reads a booking with its student's email and name.
func (s *Service) adminBooking(ctx context.Context, tx *store.Tx, id int64) (*booksmeta.Booking, error) {
	b, err := tx.BookingByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, refuse(booksmeta.CodeNotFound, msgNoBookingAdmin)
	}
	if err != nil {
		return nil, err
	}
	u, err := tx.UserByID(ctx, b.UserID)
	if err != nil {
		return nil, err
	}
	b.UserEmail, b.UserName = u.Email, u.Name()
	return b, nil
}
