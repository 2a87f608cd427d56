// Package booking holds the rules of SPEC §6, each in this package only:
// who may book which slot (paid, active, maintenance mode, not in the past,
// not twice), capacity and per-student limits enforced inside one
// transaction, the cancellation cut-off (CanCancel, CancelCutoff), cancel
// and notify (Cancel for the student; CancelForAdmin for an admin's single
// booking and for the schedule's slot changes), the access window (Window,
// Access) and finishing ended bookings. Refusals are *booksmeta.Error with
// the texts written here; Message gives a page the same text after a
// redirect.
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

	"booksmeta/internal/access"
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
	// MaxAdvanceDays is how many days ahead students may book: 0 is today
	// only, N is up to the end of the school's day N days from today.
	MaxAdvanceDays = "max_advance_days"
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
	s.Define(settings.Def{Key: MaxAdvanceDays, Type: settings.Number, Default: "60", Min: 0, Max: 365,
		Reason: "На сколько дней вперёд можно бронировать — целое число от 0 до 365 (0 — только на сегодня), обычно 60"})
}

func refuse(code, msg string) error { return booksmeta.Refuse(code, "", msg) }

// The refusal texts with no numbers in them; limitMessage, tooLateMessage
// and maintenanceMessage build the others.
var plainMessages = map[string]string{
	booksmeta.CodeInactive:      "Ваш аккаунт отключён, бронировать нельзя. Если это ошибка, напишите в школу.",
	booksmeta.CodeNotPaid:       "Бронирование доступно после оплаты курса. Если вы уже оплатили, подождите несколько минут или напишите в школу.",
	booksmeta.CodeSlotInPast:    "Это время уже прошло: выберите другое.",
	booksmeta.CodeAlreadyBooked: "Вы уже забронировали это время: оно есть в разделе «Мои бронирования».",
	booksmeta.CodeSlotFull:      "На это время мест больше нет: выберите другое.",
	booksmeta.CodeNotActive:     "Это бронирование уже отменено или завершено: отменять нечего.",
}

const (
	msgNoSlot         = "Такого времени нет в расписании: обновите календарь."
	msgNoBooking      = "Бронирование не найдено."
	msgNoBookingAdmin = "Бронирование не найдено: возможно, его удалили вместе с пользователем. Обновите список."
)

func plain(code string) error { return refuse(code, plainMessages[code]) }

func limitMessage(upcoming, limit int) string {
	if limit == 0 {
		return "Для вашего аккаунта бронирование не предусмотрено (лимит 0). Напишите в школу, чтобы его увеличили."
	}
	return fmt.Sprintf("У вас уже %d из %d предстоящих бронирований. Отмените одно или дождитесь, когда оно пройдёт.", upcoming, limit)
}

func tooLateMessage(cutoff time.Duration) string {
	return fmt.Sprintf("Отменить можно не позднее чем за %s до начала. Если не сможете прийти, напишите в школу.", Span(cutoff))
}

func tooFarMessage(days int) string {
	if days == 0 {
		return "Бронировать можно только на сегодня: выберите время сегодня."
	}
	return fmt.Sprintf("Бронировать можно не дальше чем на %d %s вперёд: выберите время пораньше.", days, pluralDays(days))
}

func pluralDays(n int) string {
	switch {
	case n%10 == 1 && n%100 != 11:
		return "день"
	case n%10 >= 2 && n%10 <= 4 && (n%100 < 10 || n%100 >= 20):
		return "дня"
	}
	return "дней"
}

// BookableUntil is the first instant students may no longer book at, seen
// at now: midnight, in the school's zone, after the last day of
// MaxAdvanceDays. The calendar hides free slots from it on; Book refuses them.
func (s *Service) BookableUntil(ctx context.Context, now time.Time) (time.Time, error) {
	days, err := s.Settings.Int(ctx, MaxAdvanceDays)
	if err != nil {
		return time.Time{}, err
	}
	return bookableUntil(now, days, s.Settings.Location(ctx)), nil
}

// AdvanceLimit is BookableUntil with the rule in words for the calendar:
// the last day students may book.
func (s *Service) AdvanceLimit(ctx context.Context, now time.Time) (time.Time, string, error) {
	days, err := s.Settings.Int(ctx, MaxAdvanceDays)
	if err != nil {
		return time.Time{}, "", err
	}
	loc := s.Settings.Location(ctx)
	until := bookableUntil(now, days, loc)
	if days == 0 {
		return until, "Бронировать можно только на сегодня.", nil
	}
	last := until.AddDate(0, 0, -1).Format("02.01.2006")
	return until, fmt.Sprintf("Бронировать можно не дальше чем на %d %s вперёд: последний день — %s.", days, pluralDays(days), last), nil
}

func bookableUntil(now time.Time, days int, loc *time.Location) time.Time {
	d := now.In(loc)
	return time.Date(d.Year(), d.Month(), d.Day()+days+1, 0, 0, 0, 0, loc)
}

func (s *Service) maintenanceMessage(ctx context.Context) (string, error) {
	msg, err := s.Settings.String(ctx, MaintenanceMessage)
	if err != nil || msg != "" {
		return msg, err
	}
	return "Сейчас идут технические работы на сервере: бронирование временно недоступно, попробуйте позже.", nil
}

// Op is an action whose refusal a page shows after a redirect.
type Op int

// The actions: the same code can mean different things (not_found is "no
// such time" when booking and "no such booking" when cancelling).
const (
	OpBook Op = iota
	OpCancel
	OpAdminCancel
)

// Message is the text of refusal code of op for u as things stand now.
// Pages redirect after a refused form with only the code in the address, so
// that a link cannot put words on the page; the page shows this, the very
// text Book, Cancel or AdminCancel gave. Unknown codes give "".
func (s *Service) Message(ctx context.Context, u *booksmeta.User, op Op, code string) (string, error) {
	switch {
	case code == booksmeta.CodeNotFound && op == OpBook:
		return msgNoSlot, nil
	case code == booksmeta.CodeNotFound && op == OpCancel:
		return msgNoBooking, nil
	case code == booksmeta.CodeNotFound:
		return msgNoBookingAdmin, nil
	case code == booksmeta.CodeLimitReached:
		n, err := s.Store.CountUpcoming(ctx, u.ID)
		return limitMessage(n, u.BookingLimit), err
	case code == booksmeta.CodeTooLate:
		cutoff, err := s.CancelCutoff(ctx)
		return tooLateMessage(cutoff), err
	case code == booksmeta.CodeMaintenance:
		return s.maintenanceMessage(ctx)
	case code == booksmeta.CodeTooFarAhead:
		days, err := s.Settings.Int(ctx, MaxAdvanceDays)
		return tooFarMessage(days), err
	case code == booksmeta.CodeHoursUsedUp:
		a, err := s.Allowance(ctx, u.ID)
		return hoursUsedUpMessage(a), err
	case code == booksmeta.CodeAccessEnded:
		a, err := s.Allowance(ctx, u.ID)
		return accessEndedMessage(a, s.Settings.Location(ctx)), err
	}
	return plainMessages[code], nil
}

// Service applies the rules.
type Service struct {
	Store    *store.Store
	Settings *settings.Service
	Box      *secretbox.Box
}

// Book books slotID for userID, or refuses with a *booksmeta.Error.
func (s *Service) Book(ctx context.Context, userID, slotID int64) (*booksmeta.Booking, error) {
	if on, err := s.Maintenance(ctx); err != nil {
		return nil, err
	} else if on {
		msg, err := s.maintenanceMessage(ctx)
		if err != nil {
			return nil, err
		}
		return nil, refuse(booksmeta.CodeMaintenance, msg)
	}
	days, err := s.Settings.Int(ctx, MaxAdvanceDays)
	if err != nil {
		return nil, err
	}
	loc := s.Settings.Location(ctx)
	var b *booksmeta.Booking
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		u, err := tx.LockUser(ctx, userID)
		if err != nil {
			return err
		}
		switch {
		case !u.Active:
			return plain(booksmeta.CodeInactive)
		case !u.Paid:
			return plain(booksmeta.CodeNotPaid)
		}
		sl, err := tx.SlotByID(ctx, slotID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (!sl.DeletedAt.IsZero() || !sl.Active)) {
			return refuse(booksmeta.CodeNotFound, msgNoSlot)
		}
		if err != nil {
			return err
		}
		if sl.Started(tx.Now()) {
			return plain(booksmeta.CodeSlotInPast)
		}
		if !sl.StartsAt.Before(bookableUntil(tx.Now(), days, loc)) {
			return refuse(booksmeta.CodeTooFarAhead, tooFarMessage(days))
		}
		if dup, err := tx.HasActiveBooking(ctx, userID, slotID); err != nil {
			return err
		} else if dup {
			return plain(booksmeta.CodeAlreadyBooked)
		}
		n, err := tx.CountUpcomingBookings(ctx, userID)
		if err != nil {
			return err
		}
		if u.BookingsLeft(n) == 0 {
			return refuse(booksmeta.CodeLimitReached, limitMessage(n, u.BookingLimit))
		}
		al, err := allowance(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := checkAllowance(al, sl, s.Settings.Location(ctx)); err != nil {
			return err
		}
		ok, err := tx.TakePlace(ctx, slotID)
		if err != nil {
			return err
		}
		if !ok {
			return plain(booksmeta.CodeSlotFull)
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

// CancelCutoff is how long before the start a student may still cancel.
func (s *Service) CancelCutoff(ctx context.Context) (time.Duration, error) {
	return s.Settings.Minutes(ctx, CancelCutoffMinutes)
}

// CanCancel reports whether the student may still cancel b at now: the
// pages ask it to offer the button, Cancel asks it to refuse.
func (s *Service) CanCancel(ctx context.Context, b *booksmeta.Booking, now time.Time) (bool, error) {
	cutoff, err := s.CancelCutoff(ctx)
	return canCancel(b, now, cutoff), err
}

func canCancel(b *booksmeta.Booking, now time.Time, cutoff time.Duration) bool {
	return !now.Add(cutoff).After(b.StartsAt)
}

// Cancel cancels the student's own upcoming booking, up to the cut-off.
func (s *Service) Cancel(ctx context.Context, userID, bookingID int64) (*booksmeta.Booking, error) {
	cutoff, err := s.CancelCutoff(ctx)
	if err != nil {
		return nil, err
	}
	var b *booksmeta.Booking
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		b, err = tx.BookingByID(ctx, bookingID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && b.UserID != userID) {
			return refuse(booksmeta.CodeNotFound, msgNoBooking)
		}
		if err != nil {
			return err
		}
		if b.Status != booksmeta.BookingActive {
			return plain(booksmeta.CodeNotActive)
		}
		if !canCancel(b, tx.Now(), cutoff) {
			return refuse(booksmeta.CodeTooLate, tooLateMessage(cutoff))
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
				return refuse(booksmeta.CodeNotFound, msgNoBookingAdmin)
			}
			return err
		}
		notActive := plain(booksmeta.CodeNotActive)
		if b.Status != booksmeta.BookingActive {
			return notActive
		}
		u, err := tx.UserByID(ctx, b.UserID)
		if err != nil {
			return err
		}
		b.UserEmail, b.UserName = u.Email, u.Name()
		if n, err := s.CancelForAdmin(ctx, tx, []*booksmeta.Booking{b}, reason, adminID); err != nil {
			return err
		} else if n == 0 { // cancelled by someone else since it was read
			return notActive
		}
		b.Status, b.CancelReason = booksmeta.BookingCancelled, reason
		return nil
	})
	return b, err
}

// CancelForAdmin is cancel-and-notify on an admin's behalf, for one booking
// (AdminCancel) or every booking a slot change hits (package schedule),
// inside the caller's transaction: each place is freed, each student gets
// one notice listing their cancelled times and a booking_cancelled mail per
// booking. bs carry the student's email and name. Bookings cancelled
// meanwhile are skipped; it returns how many it cancelled.
func (s *Service) CancelForAdmin(ctx context.Context, tx *store.Tx, bs []*booksmeta.Booking, reason string, by int64) (int, error) {
	loc := s.Settings.Location(ctx)
	var order []int64
	times := map[int64][]string{}
	n := 0
	for _, b := range bs {
		if err := tx.CancelBooking(ctx, b, by, reason); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			return n, err
		}
		n++
		if _, ok := times[b.UserID]; !ok {
			order = append(order, b.UserID)
		}
		times[b.UserID] = append(times[b.UserID], When(b.StartsAt, b.EndsAt, loc))
		name := b.UserName
		if name == "" {
			name = b.UserEmail
		}
		if _, err := tx.QueueMail(ctx, &store.OutboxMail{Kind: "booking_cancelled", ToEmail: b.UserEmail, ToName: name, UserID: b.UserID,
			Data: mailData(b, "admin", reason), DedupeKey: "booking_cancelled:" + strconv.FormatInt(b.ID, 10)}); err != nil {
			return n, err
		}
	}
	for _, uid := range order {
		ts := times[uid]
		body := "Администратор отменил ваше бронирование на " + ts[0] + "."
		if len(ts) > 1 {
			body = "Администратор отменил ваши бронирования: " + strings.Join(ts, "; ") + "."
		}
		if reason != "" {
			body += " Причина: " + reason
		}
		body += " Выберите другое время в календаре."
		if err := tx.AddNotice(ctx, &booksmeta.Notice{UserID: uid, Kind: "booking_cancelled", Title: "Бронирование отменено", Body: body}); err != nil {
			return n, err
		}
	}
	return n, nil
}

// When is a slot's time for people: "01.12.2026 09:00–10:00 (Europe/Moscow)".
func When(start, end time.Time, loc *time.Location) string {
	st, en := start.In(loc), end.In(loc)
	return st.Format("02.01.2006 15:04") + "–" + en.Format("15:04") + " (" + loc.String() + ")"
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

// AccessOpensBefore is how long before the start access to the server
// opens; the mails say it.
func (s *Service) AccessOpensBefore(ctx context.Context) (time.Duration, error) {
	return s.Settings.Minutes(ctx, AccessOpensMinutesBefore)
}

// Window returns when access to a booking opens and closes.
func (s *Service) Window(ctx context.Context, b *booksmeta.Booking) (opens, closes time.Time, err error) {
	before, err := s.AccessOpensBefore(ctx)
	return b.StartsAt.Add(-before), b.EndsAt, err
}

// Access returns the server details for the booker inside the window:
// another user's booking is "not found", outside the window "not open".
func (s *Service) Access(ctx context.Context, userID, bookingID int64) (*Access, error) {
	b, err := s.Store.BookingByID(ctx, bookingID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && b.UserID != userID) {
		return nil, refuse(booksmeta.CodeNotFound, msgNoBooking)
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
		return nil, refuse(booksmeta.CodeNotOpen, "Бронирование отменено: доступа к серверу по нему нет.")
	}
	if now.Before(opens) || !now.Before(closes) {
		loc := s.Settings.Location(ctx)
		return nil, refuse(booksmeta.CodeNotOpen, fmt.Sprintf("Доступ к серверу открыт с %s до %s (%s).",
			opens.In(loc).Format("02.01.2006 15:04"), closes.In(loc).Format("15:04"), loc.String()))
	}
	a := &Access{OpensAt: opens, ClosesAt: closes}
	provider, err := s.Settings.String(ctx, access.KeyProvider)
	if err != nil {
		return nil, err
	}
	p := strings.ToLower(strings.TrimSpace(provider))
	shared := p == "" || p == access.Static
	// A grant that is still open is what the student has, whatever the
	// provider now; a closed one decides only under a provider that grants
	// (after a switch to static the shared account is shown again).
	g, err := s.Store.LatestGrant(ctx, b.ID)
	switch {
	case err == nil && (!shared || g.State == booksmeta.GrantGranted || g.State == booksmeta.GrantPending):
		return s.grantedAccess(a, g)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	if !shared {
		return nil, refuse(booksmeta.CodeAccessPending, msgAccessPending)
	}
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

const msgAccessPending = "Доступ к серверу готовится: обычно это занимает меньше минуты, страница обновится сама. Если доступ не появится через 5 минут, напишите в школу."

// grantedAccess answers from a provider's grant: its credentials while it
// is open, "being prepared" until it is, and "closed" once it was taken back.
func (s *Service) grantedAccess(a *Access, g *booksmeta.AccessGrant) (*Access, error) {
	switch g.State {
	case booksmeta.GrantPending:
		return nil, refuse(booksmeta.CodeAccessPending, msgAccessPending)
	case booksmeta.GrantGranted:
		c, err := access.OpenCredentials(s.Box, g.Credentials)
		if err != nil {
			return nil, err
		}
		a.Host, a.Login, a.Password, a.Instructions = c.Host, c.Login, c.Password, c.Instructions
		return a, nil
	}
	// The revoke reason is written for the admin; the student is told what
	// to do.
	return nil, refuse(booksmeta.CodeNotOpen, "Доступ к серверу по этому бронированию закрыт. Если это ошибка, напишите в школу.")
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

// Span words a rule's duration as its refusals say it («2 часа», «90 мин.»),
// so a page that states the rule in advance uses the same words.
func Span(d time.Duration) string {
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
