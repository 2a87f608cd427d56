// Package booking holds the rules of SPEC §6: who may book which slot,
// capacity and per-student limits enforced inside one transaction, the
// cancellation cut-off, the access window, and finishing ended bookings.
package booking

import (
	"booksmeta"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/secretbox"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

// Settings keys (SPEC §5).
const (
	ServerHost               = "server_host"
	ServerLogin              = "server_login"
	ServerPassword           = "server_password"
	ServerInstructions       = "server_instructions"
	AccessOpensMinutesBefore = "access_opens_minutes_before"
	CancelCutoffMinutes      = "cancel_cutoff_minutes"
	ReminderMinutesBefore    = "reminder_minutes_before"
	MaintenanceMode          = "maintenance_mode"
	MaintenanceMessage       = "maintenance_message"
)

// DefineSettings declares the booking settings.
func DefineSettings(s *settings.Service) {
	s.Define(settings.Def{Key: ServerHost, Check: func(v string) error {
		if strings.ContainsAny(v, " \t\r\n") {
			return errors.New("Адрес сервера пишется без пробелов, например rdp.school.ru или rdp.school.ru:3389")
		}
		return nil
	}})
	s.Define(settings.Def{Key: ServerLogin})
	s.Define(settings.Def{Key: ServerPassword, Secret: true})
	s.Define(settings.Def{Key: ServerInstructions, Multiline: true})
	s.Define(settings.Def{Key: AccessOpensMinutesBefore, Type: settings.Number, Default: "15", Min: 0, Max: 1440,
		Reason: "За сколько минут до начала открывается доступ — целое число от 0 до 1440 (сутки), обычно 15"})
	s.Define(settings.Def{Key: CancelCutoffMinutes, Type: settings.Number, Default: "120", Min: 0, Max: 43200,
		Reason: "За сколько минут до начала ещё можно отменить бронь — целое число от 0 до 43200 (30 дней), обычно 120"})
	s.Define(settings.Def{Key: ReminderMinutesBefore, Type: settings.Number, Default: "60", Min: 0, Max: 10080,
		Reason: "За сколько минут до начала напомнить — целое число от 0 до 10080 (неделя); 0 — не напоминать"})
	s.Define(settings.Def{Key: MaintenanceMode, Type: settings.Bool, Default: "0",
		Reason: "Режим обслуживания: «да» — включён, «нет» — выключен (подходят также 1/0, вкл/выкл, on/off, true/false)"})
	s.Define(settings.Def{Key: MaintenanceMessage, Multiline: true, MaxLen: 2000})
}

// Refusal codes (SPEC §5).
const (
	CodeSlotFull      = "slot_full"
	CodeLimitReached  = "limit_reached"
	CodeAlreadyBooked = "already_booked"
	CodeSlotInPast    = "slot_in_past"
	CodeNotPaid       = "not_paid"
	CodeInactive      = "inactive"
	CodeTooLate       = "too_late"
	CodeNotFound      = "not_found"
	CodeNotOpen       = "access_not_open"
	CodeNotActive     = "not_active"
	CodeMaintenance   = "maintenance"
)

// RuleError is a refusal; Message tells the student what to do.
type RuleError struct {
	Code    string
	Message string
}

func (e *RuleError) Error() string { return e.Message }

func refuse(code, msg string) error { return &RuleError{Code: code, Message: msg} }

// Service applies the rules.
type Service struct {
	Store    *store.Store
	Settings *settings.Service
	Box      *secretbox.Box
}

// Book books slotID for userID, or refuses with a RuleError.
func (s *Service) Book(ctx context.Context, userID, slotID int64) (*booksmeta.Booking, error) {
	if on, err := s.Maintenance(ctx); err != nil {
		return nil, err
	} else if on {
		msg, err := s.Settings.String(ctx, MaintenanceMessage)
		if err != nil {
			return nil, err
		}
		if msg == "" {
			msg = "Сейчас идут технические работы на сервере: бронирование временно недоступно, попробуйте позже."
		}
		return nil, refuse(CodeMaintenance, msg)
	}
	var b *booksmeta.Booking
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		u, err := tx.LockUser(ctx, userID)
		if err != nil {
			return err
		}
		switch {
		case !u.Active:
			return refuse(CodeInactive, "Ваш аккаунт отключён, бронировать нельзя. Если это ошибка, напишите в школу.")
		case !u.Paid:
			return refuse(CodeNotPaid, "Бронирование доступно после оплаты курса. Если вы уже оплатили, подождите несколько минут или напишите в школу.")
		}
		sl, err := tx.SlotByID(ctx, slotID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (!sl.DeletedAt.IsZero() || !sl.Active)) {
			return refuse(CodeNotFound, "Такого времени нет в расписании: обновите календарь.")
		}
		if err != nil {
			return err
		}
		if !sl.StartsAt.After(tx.Now()) {
			return refuse(CodeSlotInPast, "Это время уже прошло: выберите другое.")
		}
		if dup, err := tx.HasActiveBooking(ctx, userID, slotID); err != nil {
			return err
		} else if dup {
			return refuse(CodeAlreadyBooked, "Вы уже забронировали это время: оно есть в разделе «Мои бронирования».")
		}
		n, err := tx.CountUpcomingBookings(ctx, userID)
		if err != nil {
			return err
		}
		if u.BookingLimit == 0 {
			return refuse(CodeLimitReached, "Для вашего аккаунта бронирование не предусмотрено (лимит 0). Напишите в школу, чтобы его увеличили.")
		}
		if n >= u.BookingLimit {
			return refuse(CodeLimitReached, fmt.Sprintf("У вас уже %d из %d предстоящих бронирований. Отмените одно или дождитесь, когда оно пройдёт.", n, u.BookingLimit))
		}
		ok, err := tx.TakePlace(ctx, slotID)
		if err != nil {
			return err
		}
		if !ok {
			return refuse(CodeSlotFull, "На это время мест больше нет: выберите другое.")
		}
		if b, err = tx.InsertBooking(ctx, slotID, userID); err != nil {
			return err
		}
		if err := tx.AddNotice(ctx, &booksmeta.Notice{UserID: userID, Kind: "booking_made", Title: "Бронирование подтверждено",
			Body: "Доступ к серверу откроется незадолго до начала — в разделе «Мои бронирования»."}); err != nil {
			return err
		}
		_, err = tx.QueueMail(ctx, &store.OutboxMail{Kind: "booking_confirmation", ToEmail: u.Email, ToName: u.Name(), UserID: u.ID,
			Data: mailData(b, "", ""), DedupeKey: "booking_confirmation:" + strconv.FormatInt(b.ID, 10)})
		return err
	})
	return b, err
}

func mailData(b *booksmeta.Booking, by, reason string) string {
	d, _ := json.Marshal(map[string]any{"booking_id": b.ID, "starts_at": b.StartsAt.Format(time.RFC3339),
		"ends_at": b.EndsAt.Format(time.RFC3339), "by": by, "reason": reason})
	return string(d)
}

// Maintenance reports whether maintenance mode is on: students cannot book,
// while admins and the webhook intake keep working (payments are never refused).
func (s *Service) Maintenance(ctx context.Context) (bool, error) {
	return s.Settings.Bool(ctx, MaintenanceMode)
}

// Cancel cancels the student's own upcoming booking, up to the cut-off.
func (s *Service) Cancel(ctx context.Context, userID, bookingID int64) (*booksmeta.Booking, error) {
	cutoff, err := s.Settings.Minutes(ctx, CancelCutoffMinutes)
	if err != nil {
		return nil, err
	}
	var b *booksmeta.Booking
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		b, err = tx.BookingByID(ctx, bookingID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && b.UserID != userID) {
			return refuse(CodeNotFound, "Бронирование не найдено.")
		}
		if err != nil {
			return err
		}
		if b.Status != booksmeta.BookingActive {
			return refuse(CodeNotActive, "Это бронирование уже отменено или завершено.")
		}
		if tx.Now().Add(cutoff).After(b.StartsAt) {
			return refuse(CodeTooLate, fmt.Sprintf("Отменить можно не позднее чем за %s до начала. Если не сможете прийти, напишите в школу.", human(cutoff)))
		}
		if err := tx.CancelBooking(ctx, b, userID, "Отменено учеником"); err != nil {
			return err
		}
		b.Status = booksmeta.BookingCancelled
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		_, err = tx.QueueMail(ctx, &store.OutboxMail{Kind: "booking_cancelled", ToEmail: u.Email, ToName: u.Name(), UserID: u.ID,
			Data: mailData(b, "student", ""), DedupeKey: "booking_cancelled:" + strconv.FormatInt(b.ID, 10)})
		return err
	})
	return b, err
}

// AdminCancel cancels any active booking with a reason the student is told.
func (s *Service) AdminCancel(ctx context.Context, adminID, bookingID int64, reason string) (*booksmeta.Booking, error) {
	var b *booksmeta.Booking
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if b, err = tx.BookingByID(ctx, bookingID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return refuse(CodeNotFound, "Бронирование не найдено.")
			}
			return err
		}
		if b.Status != booksmeta.BookingActive {
			return refuse(CodeNotActive, "Это бронирование уже отменено или завершено.")
		}
		if err := tx.CancelBooking(ctx, b, adminID, reason); err != nil {
			return err
		}
		b.Status, b.CancelReason = booksmeta.BookingCancelled, reason
		u, err := tx.UserByID(ctx, b.UserID)
		if err != nil {
			return err
		}
		body := "Администратор отменил ваше бронирование."
		if reason != "" {
			body += " Причина: " + reason
		}
		if err := tx.AddNotice(ctx, &booksmeta.Notice{UserID: u.ID, Kind: "booking_cancelled", Title: "Бронирование отменено", Body: body}); err != nil {
			return err
		}
		_, err = tx.QueueMail(ctx, &store.OutboxMail{Kind: "booking_cancelled", ToEmail: u.Email, ToName: u.Name(), UserID: u.ID,
			Data: mailData(b, "admin", reason), DedupeKey: "booking_cancelled:" + strconv.FormatInt(b.ID, 10)})
		return err
	})
	return b, err
}

// Access is what the booker gets for the booked hour.
type Access struct {
	Host         string
	Login        string
	Password     string
	Instructions string
	OpensAt      time.Time
	ClosesAt     time.Time
}

// Window returns when access to a booking opens and closes.
func (s *Service) Window(ctx context.Context, b *booksmeta.Booking) (opens, closes time.Time, err error) {
	before, err := s.Settings.Minutes(ctx, AccessOpensMinutesBefore)
	return b.StartsAt.Add(-before), b.EndsAt, err
}

// Access returns the server details for the booker inside the window:
// another user's booking is "not found", outside the window "not open".
func (s *Service) Access(ctx context.Context, userID, bookingID int64) (*Access, error) {
	b, err := s.Store.BookingByID(ctx, bookingID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && b.UserID != userID) {
		return nil, refuse(CodeNotFound, "Бронирование не найдено.")
	}
	if err != nil {
		return nil, err
	}
	opens, closes, err := s.Window(ctx, b)
	if err != nil {
		return nil, err
	}
	now := s.Store.Now()
	if b.Status == booksmeta.BookingCancelled {
		return nil, refuse(CodeNotOpen, "Бронирование отменено: доступа к серверу по нему нет.")
	}
	if now.Before(opens) || !now.Before(closes) {
		loc := s.Settings.Location(ctx)
		return nil, refuse(CodeNotOpen, fmt.Sprintf("Доступ к серверу открыт с %s до %s (%s).",
			opens.In(loc).Format("02.01.2006 15:04"), closes.In(loc).Format("15:04"), loc.String()))
	}
	a := &Access{OpensAt: opens, ClosesAt: closes}
	if a.Host, err = s.Settings.String(ctx, ServerHost); err != nil {
		return nil, err
	}
	if a.Instructions, err = s.Settings.String(ctx, ServerInstructions); err != nil {
		return nil, err
	}
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		sl, err := tx.SlotByID(ctx, b.SlotID)
		if err != nil {
			return err
		}
		// Per-slot credentials (as the PHP version had) win over the shared account.
		if sl.ServerLogin != "" || sl.ServerPassword != "" {
			if a.Login, err = s.Box.Open(sl.ServerLogin); err != nil {
				return err
			}
			a.Password, err = s.Box.Open(sl.ServerPassword)
			return err
		}
		if a.Login, err = s.Settings.String(ctx, ServerLogin); err != nil {
			return err
		}
		a.Password, err = s.Settings.String(ctx, ServerPassword)
		return err
	})
	return a, err
}

// FinishEnded marks bookings whose slot has ended finished (a job, not a page view).
func (s *Service) FinishEnded(ctx context.Context) (int64, error) {
	var n int64
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		n, err = tx.FinishEndedBookings(ctx)
		return err
	})
	return n, err
}

func human(d time.Duration) string {
	if d%time.Hour == 0 {
		h := int(d.Hours())
		switch {
		case h%10 == 1 && h%100 != 11:
			return fmt.Sprintf("%d час", h)
		case h%10 >= 2 && h%10 <= 4 && (h%100 < 10 || h%100 >= 20):
			return fmt.Sprintf("%d часа", h)
		}
		return fmt.Sprintf("%d часов", h)
	}
	return fmt.Sprintf("%d мин.", int(d.Minutes()))
}
