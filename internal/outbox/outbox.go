// Package outbox sends the rows of mail_outbox: one send_mail job per row,
// a periodic sweep for rows nothing is working on, retries with backoff on
// temporary SMTP errors, and no blind resend of a mail that may have left.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"time"

	"booksmeta/internal/accounts"
	"booksmeta/internal/booking"
	"booksmeta/internal/mail"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

// Job kinds.
const (
	JobSend  = "send_mail"
	JobSweep = "mail_sweep"
	// SweepEvery is how often queued rows without a job get one.
	SweepEvery = time.Minute
)

// ErrNotConfigured is returned by SendOne when SMTP is not set up: the row
// stays queued, no attempt counted.
var ErrNotConfigured = errors.New("outbox: SMTP is not configured, mail stays queued")

// ErrMailOff is returned by SendOne while the admin has switched sending
// off (MailEnabled): the row stays queued, no attempt counted.
var ErrMailOff = errors.New("outbox: sending is switched off, mail stays queued")

// MailEnabled switches sending on and off. Off, mail keeps being queued
// (nothing is lost) and leaves once it is switched on again: the sweep
// finds the queued rows. The test mail from the settings page is sent
// either way, since the admin asks for it to check the server.
const MailEnabled = "mail_enabled"

// DefineSettings declares the settings this package owns.
func DefineSettings(s *settings.Service) {
	s.Define(settings.Def{Key: MailEnabled, Type: settings.Bool, Default: "1",
		Reason: "Отправка писем — да или нет"})
}

// Enabled reports whether sending is switched on.
func (s *Service) Enabled(ctx context.Context) (bool, error) {
	return s.Settings.Bool(ctx, MailEnabled)
}

// Russian texts stored in last_error for the admin panel.
const (
	maybeSentRU = "Отправка прервалась (программа остановилась во время отправки): письмо возможно, уже отправлено — проверьте и нажмите «Отправить повторно», если получатель его не получил."
	unknownKind = "Письма такого типа («%s») программа пока не умеет отправлять."
)

// Service sends outbox rows.
type Service struct {
	Store    *store.Store
	Settings *settings.Service
	Accounts *accounts.Service
	// Booking says when access opens and until when a booking can be
	// cancelled, as the mails tell students.
	Booking *booking.Service
	BaseURL string
	AppName string
	Log     *slog.Logger
	// SenderOptions are passed to mail.NewSender (tests: timeouts, CAs).
	SenderOptions []mail.Option
	// Notify wakes the job runner after jobs are added; may be nil.
	Notify func()

	mu      sync.Mutex
	sending map[int64]*attempt // rows this process is sending now
}

// attempt is one send of a row in this process; others asking to send the
// same row meanwhile wait for it and share its outcome.
type attempt struct {
	done chan struct{}
	err  error
}

// Config builds the SMTP configuration from the settings. A failed read
// (a password that no longer decrypts) is an error, never an empty field
// that would send without authentication or look "not configured".
func (s *Service) Config(ctx context.Context) (mail.Config, error) {
	var c mail.Config
	var err error
	for _, f := range []struct {
		key string
		dst *string
	}{{settings.MailHost, &c.Host}, {settings.MailUsername, &c.Username}, {settings.MailPassword, &c.Password},
		{settings.MailEncryption, &c.Encryption}, {settings.MailFromEmail, &c.FromEmail}, {settings.MailFromName, &c.FromName}} {
		if *f.dst, err = s.Settings.String(ctx, f.key); err != nil {
			return mail.Config{}, err
		}
	}
	if c.Port, err = s.Settings.Int(ctx, settings.MailPort); err != nil {
		return mail.Config{}, err
	}
	return c, nil
}

// Configured reports whether mail can be sent at all; when not, the admin
// panel should say that mail waits in the queue.
func (s *Service) Configured(ctx context.Context) (bool, error) {
	c, err := s.Config(ctx)
	return err == nil && c.Configured(), err
}

// errMailSettings is the test's verdict when the mail settings cannot be read.
var errMailSettings = russianError{"Не удалось прочитать сохранённые настройки почты (возможно, сменился ключ шифрования BOOKSMETA_SECRET_KEY). Введите пароль почты заново и сохраните настройки."}

// renderer names the school as the general settings do (school_name),
// falling back to AppName.
func (s *Service) renderer(ctx context.Context) *mail.Renderer {
	name := s.AppName
	if v, err := s.Settings.String(ctx, settings.SchoolName); err == nil && v != "" {
		name = v
	}
	if name == "" {
		name = settings.ProductName
	}
	return mail.NewRenderer(name, s.BaseURL)
}

// MessageID is the Message-ID left part of an outbox row: the same on every
// retry, so a duplicate is recognisable.
func MessageID(id int64) string { return "outbox-" + strconv.FormatInt(id, 10) }

// SendOne sends outbox row id if it is queued. It returns nil when the row was
// sent or settled for good (failed, or not queued any more), ErrNotConfigured
// when SMTP is not set up, and another error when a retry should follow.
//
// A call while this process is already sending the row waits for that
// attempt and returns its outcome. Mail now leaves the moment it is queued,
// so a direct call (an admin's action, a test) can meet the row's own job
// mid-send; the row's 'sending' state then means "in progress here", not
// "left by a crash", and must not be failed as possibly delivered.
func (s *Service) SendOne(ctx context.Context, id int64) error {
	s.mu.Lock()
	if a, ok := s.sending[id]; ok {
		s.mu.Unlock()
		select {
		case <-a.done:
			return a.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.sending == nil {
		s.sending = map[int64]*attempt{}
	}
	a := &attempt{done: make(chan struct{})}
	s.sending[id] = a
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.sending, id)
		s.mu.Unlock()
		close(a.done)
	}()
	a.err = s.sendOne(ctx, id)
	return a.err
}

func (s *Service) sendOne(ctx context.Context, id int64) error {
	if on, err := s.Enabled(ctx); err != nil {
		return err
	} else if !on {
		return ErrMailOff
	}
	cfg, err := s.Config(ctx)
	if err != nil {
		return err
	}
	if !cfg.Configured() {
		return ErrNotConfigured
	}
	// Read before the row is claimed: a failed read is retried, while a
	// failed render fails the mail for good. The values are booking's rules.
	var times bookingTimes
	if times.opens, err = s.Booking.AccessOpensBefore(ctx); err != nil {
		return err
	}
	if times.cutoff, err = s.Booking.CancelCutoff(ctx); err != nil {
		return err
	}
	m, err := s.Store.ClaimMail(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		cur, err := s.Store.MailByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if cur.Status == store.MailSending {
			// Left mid-send by a crash (or a lost job lease): the server may
			// have accepted it. Never resend blindly.
			if ok, err := s.Store.MarkMailFailed(ctx, id, maybeSentRU); err != nil {
				return err
			} else if ok {
				s.Log.Warn("mail left in sending state marked failed, may have been delivered", "mail", id)
			}
		}
		return nil
	}
	if err != nil {
		return err
	}
	msg, err := s.render(ctx, m, times)
	if err != nil {
		var ru russianError
		text := "Не удалось подготовить письмо: " + err.Error()
		if errors.As(err, &ru) {
			text = ru.ru
		}
		s.Log.Error("render mail", "mail", id, "kind", m.Kind, "err", err)
		_, ferr := s.Store.MarkMailFailed(ctx, id, text)
		return ferr
	}
	msg.MessageID = MessageID(id)
	err = mail.NewSender(cfg, s.SenderOptions...).Send(ctx, msg)
	if err == nil {
		if err := s.Store.MarkMailSent(ctx, id, msg.Subject); err != nil {
			// Delivered but not recorded: the row stays 'sending' and the
			// next look at it fails it as "maybe sent" rather than resending.
			return fmt.Errorf("mark mail %d sent: %w", id, err)
		}
		s.Log.Info("mail sent", "mail", id, "kind", m.Kind, "attempt", m.Attempts)
		return nil
	}
	var se *mail.SendError
	if !errors.As(err, &se) {
		se = &mail.SendError{Kind: mail.ErrorTemporary, Temporary: true, Err: err}
	}
	switch {
	case se.MaybeDelivered:
		// The message was transmitted but not confirmed: retrying could send
		// it twice, so the admin decides.
		_, ferr := s.Store.MarkMailFailed(ctx, id, maybeSentRU+" "+se.Russian())
		s.Log.Warn("mail may have been delivered, not retrying", "mail", id, "err", se)
		return ferr
	case se.Temporary || se.AboutSettings():
		if rerr := s.Store.RequeueMail(ctx, id, se.Russian()); rerr != nil {
			return rerr
		}
		s.Log.Warn("mail send failed, will retry", "mail", id, "attempt", m.Attempts, "err", se)
		return fmt.Errorf("send mail %d: %w", id, se)
	default:
		_, ferr := s.Store.MarkMailFailed(ctx, id, se.Russian())
		s.Log.Warn("mail rejected", "mail", id, "err", se)
		return ferr
	}
}

// linkRefusal words why no link could be minted for the admin panel.
func linkRefusal(err error) error {
	switch {
	case errors.Is(err, accounts.ErrRecipientChanged):
		return russianError{err.Error()}
	case errors.Is(err, accounts.ErrLinkInvalid):
		return russianError{"Аккаунт отключён: письмо со ссылкой для входа не отправлено."}
	case errors.Is(err, store.ErrNotFound):
		return errUserGone
	}
	return err
}

type russianError struct{ ru string }

var errUserGone = russianError{"Пользователь удалён, письмо со ссылкой отправить некому."}

func (e russianError) Error() string { return e.ru }

// ErrNotResendable refuses a resend of a row that is queued or being sent.
var ErrNotResendable = russianError{"Письмо не найдено или ещё в очереди: повторно можно отправить только отправленное или неотправленное (с ошибкой) письмо."}

// Renderer is the renderer of this school's mail, for previews.
func (s *Service) Renderer(ctx context.Context) *mail.Renderer { return s.renderer(ctx) }

// firstOr is the student's first name, else the name the mail is addressed to.
func firstOr(first, to string) string {
	if first != "" {
		return first
	}
	return to
}

// PasswordResetTTL is how long a "forgot password" link works.
const PasswordResetTTL = 2 * time.Hour

type mailData struct {
	FirstName string `json:"first_name"`
	BookingID int64  `json:"booking_id"`
	StartsAt  string `json:"starts_at"`
	EndsAt    string `json:"ends_at"`
	By        string `json:"by"`
	Reason    string `json:"reason"`
	Deal      string `json:"deal"`
	Until     string `json:"until"`
	EventID   int64  `json:"event_id"`
	Event     string `json:"event"`
	Email     string `json:"email"`
	Error     string `json:"error"`
	Attempts  int    `json:"attempts"`
	Action    string `json:"action"`
	Account   string `json:"account"`
}

// bookingTimes are the settings booking mails quote.
type bookingTimes struct{ opens, cutoff time.Duration }

func (s *Service) render(ctx context.Context, m *store.OutboxMail, times bookingTimes) (mail.Message, error) {
	var d mailData
	if err := json.Unmarshal([]byte(m.Data), &d); err != nil {
		return mail.Message{}, fmt.Errorf("bad mail data: %w", err)
	}
	r := s.renderer(ctx)
	// An admin's edited template for the kind, when there is one, replaces
	// the built-in parts it fills.
	render := func(k mail.Kind, data any) (mail.Message, error) {
		t, ok, err := s.Store.MailTemplate(ctx, string(k))
		if err != nil {
			return mail.Message{}, err
		}
		if !ok {
			return r.Render(k, data)
		}
		return r.RenderWith(k, &mail.Template{Subject: t.Subject, HTML: t.HTML, Text: t.Text}, data)
	}
	var msg mail.Message
	var err error
	switch mail.Kind(m.Kind) {
	case mail.KindWelcome:
		if m.UserID == 0 {
			return mail.Message{}, russianError{"Ученик удалён, письмо со ссылкой отправить некому."}
		}
		// The link is minted now, when the mail leaves; only its hash is stored.
		tok, ierr := s.Accounts.IssueLinkTo(ctx, m.UserID, m.ToEmail, store.TokenSetPassword, accounts.WelcomeLinkTTL)
		if ierr != nil {
			return mail.Message{}, linkRefusal(ierr)
		}
		name := d.FirstName
		if name == "" {
			name = m.ToName
		}
		msg, err = render(mail.KindWelcome, mail.WelcomeData{Name: name, Email: m.ToEmail,
			SetPasswordURL: "/set-password?token=" + url.QueryEscape(tok), LinkValidFor: accounts.WelcomeLinkTTL})
	case mail.KindPasswordReset:
		if m.UserID == 0 {
			return mail.Message{}, errUserGone
		}
		tok, ierr := s.Accounts.IssueLinkTo(ctx, m.UserID, m.ToEmail, store.TokenReset, PasswordResetTTL)
		if ierr != nil {
			return mail.Message{}, linkRefusal(ierr)
		}
		msg, err = render(mail.KindPasswordReset, mail.PasswordResetData{Name: m.ToName, Email: m.ToEmail,
			ResetURL: "/set-password?token=" + url.QueryEscape(tok), ValidFor: PasswordResetTTL})
	case mail.KindAdminAlert:
		msg, err = render(mail.KindAdminAlert, mail.AdminAlertData{EventID: strconv.FormatInt(d.EventID, 10), Event: d.Event,
			Email: d.Email, Error: d.Error, Attempts: d.Attempts, LastTry: m.CreatedAt, Zone: s.Settings.Location(ctx),
			LogURL: "/admin/webhooks/" + strconv.FormatInt(d.EventID, 10)})
	case mail.KindPaymentRevoked:
		name := d.FirstName
		if name == "" {
			name = m.ToName
		}
		msg, err = render(mail.KindPaymentRevoked, mail.PaymentRevokedData{Name: name, Deal: d.Deal})
	case mail.KindAccessEnding:
		until, perr := time.Parse(time.RFC3339, d.Until)
		if perr != nil {
			return mail.Message{}, fmt.Errorf("bad access_ending data %q: %w", d.Until, perr)
		}
		msg, err = render(mail.KindAccessEnding, mail.AccessEndingData{Name: firstOr(d.FirstName, m.ToName), Until: until, Zone: s.Settings.Location(ctx)})
	case mail.KindAccessEnded:
		msg, err = render(mail.KindAccessEnded, mail.AccessEndedData{Name: firstOr(d.FirstName, m.ToName), Reason: d.Reason})
	case mail.KindAccessAlert:
		start, e1 := time.Parse(time.RFC3339, d.StartsAt)
		end, e2 := time.Parse(time.RFC3339, d.EndsAt)
		if err := errors.Join(e1, e2); err != nil {
			return mail.Message{}, fmt.Errorf("bad booking time: %w", err)
		}
		msg, err = render(mail.KindAccessAlert, mail.AccessAlertData{Action: d.Action, BookingID: d.BookingID, Email: d.Email,
			Account: d.Account, Slot: mail.Slot{Start: start, End: end, Zone: s.Settings.Location(ctx)}, Error: d.Error, Attempts: d.Attempts})
	case mail.KindBookingConfirmation, mail.KindBookingCancelled, mail.KindReminder:
		start, e1 := time.Parse(time.RFC3339, d.StartsAt)
		end, e2 := time.Parse(time.RFC3339, d.EndsAt)
		if err := errors.Join(e1, e2); err != nil {
			return mail.Message{}, fmt.Errorf("bad booking time: %w", err)
		}
		slot := mail.Slot{Start: start, End: end, Zone: s.Settings.Location(ctx)}
		switch mail.Kind(m.Kind) {
		case mail.KindReminder:
			msg, err = render(mail.KindReminder, mail.ReminderData{Name: m.ToName, BookingID: d.BookingID, Slot: slot,
				StartsIn:          time.Until(start).Round(time.Minute),
				AccessOpensBefore: times.opens})
		case mail.KindBookingConfirmation:
			msg, err = render(mail.KindBookingConfirmation, mail.BookingConfirmationData{Name: m.ToName, BookingID: d.BookingID, Slot: slot,
				AccessOpensBefore: times.opens, CancelCutoff: times.cutoff})
		default:
			msg, err = render(mail.KindBookingCancelled, mail.BookingCancelledData{Name: m.ToName, BookingID: d.BookingID, Slot: slot,
				By: mail.CancelledBy(d.By), Reason: d.Reason})
		}
	default:
		return mail.Message{}, russianError{fmt.Sprintf(unknownKind, m.Kind)}
	}
	if err != nil {
		return mail.Message{}, err
	}
	msg.To, msg.ToName = m.ToEmail, m.ToName
	return msg, nil
}

// HandleSend is the send_mail job: payload {"mail_id":N}. A temporary error
// is returned so the runner retries with backoff.
func (s *Service) HandleSend(ctx context.Context, j *store.Job) error {
	var p struct {
		MailID int64 `json:"mail_id"`
	}
	if err := json.Unmarshal([]byte(j.Payload), &p); err != nil || p.MailID == 0 {
		return fmt.Errorf("send_mail: bad payload %q", j.Payload)
	}
	err := s.SendOne(ctx, p.MailID)
	if errors.Is(err, ErrNotConfigured) || errors.Is(err, ErrMailOff) {
		// The sweep enqueues it again once mail is configured and on.
		return nil
	}
	return err
}

// enqueue adds the send_mail job for row m, keyed by its attempts so far;
// the key of a row never sent is the one QueueMail's own job has.
func (s *Service) enqueue(ctx context.Context, m *store.OutboxMail) (bool, error) {
	return s.Store.EnqueueMailJob(ctx, m.ID, store.MailJobKey(m.ID, m.Attempts), store.MailJobMaxAttempts)
}

// Sweep enqueues send_mail jobs for queued rows no pending job covers. Rows
// get their job when queued, so this is the safety net: rows queued by an
// older version, while mail was not configured or switched off (their job
// ran and left them queued), or whose job used up its retries. With mail not
// configured or off it does nothing: rows wait in the queue.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	if on, err := s.Configured(ctx); err != nil || !on {
		return 0, err
	}
	if on, err := s.Enabled(ctx); err != nil || !on {
		return 0, err
	}
	rows, err := s.Store.QueuedMailWithoutJob(ctx, 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range rows {
		ok, err := s.enqueue(ctx, m)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	if n > 0 && s.Notify != nil {
		s.Notify()
	}
	return n, nil
}

// HandleSweep is the periodic mail_sweep job.
func (s *Service) HandleSweep(ctx context.Context, _ *store.Job) error {
	_, err := s.Sweep(ctx)
	return err
}

// Resend queues a failed or sent mail again (the admin's «Отправить
// повторно») and schedules its job.
func (s *Service) Resend(ctx context.Context, id int64) error {
	m, err := s.Store.ResendMail(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotResendable
	}
	if err != nil {
		return err
	}
	if _, err := s.enqueue(ctx, m); err != nil {
		return err
	}
	if s.Notify != nil {
		s.Notify()
	}
	return nil
}

// SendTest sends the test message to to and returns the SMTP server's
// verdict in Russian as the error (nil when the server accepted it).
func (s *Service) SendTest(ctx context.Context, to string) error {
	return s.SendTestBy(ctx, to, "")
}

// SendTestBy is SendTest naming the admin who asked in the message.
func (s *Service) SendTestBy(ctx context.Context, to, requestedBy string) error {
	cfg, err := s.Config(ctx)
	if err != nil {
		s.Log.Error("mail test: read settings", "err", err)
		return errMailSettings
	}
	if err := cfg.Validate(); err != nil {
		return verdict(err)
	}
	snd := mail.NewSender(cfg, s.SenderOptions...)
	msg, err := s.renderer(ctx).Render(mail.KindTest, mail.TestData{Server: snd.Description(), RequestedBy: requestedBy,
		SentAt: s.Store.Now(), Zone: s.Settings.Location(ctx)})
	if err != nil {
		return err
	}
	msg.To = to
	if err := snd.Send(ctx, msg); err != nil {
		s.Log.Warn("test mail failed", "err", err)
		return verdict(err)
	}
	return nil
}

func verdict(err error) error {
	var se *mail.SendError
	if errors.As(err, &se) {
		return russianError{se.Russian()}
	}
	return err
}
