// Package grants makes server access follow the bookings (SPEC §7): it opens
// access through the configured provider (package access) when a booking's
// window opens, and takes it back when the slot ends, the booking is
// cancelled or deleted, or the student loses paid access or is deactivated.
//
// It is a reconciler, not a set of event handlers: Sync compares what is
// granted (the access_grants rows) with what should be (the bookings now)
// and acts on the difference. The store queues a sync in every transaction
// that changes a booking or a student's standing, so changes take effect in
// seconds; the periodic run and the run at start make sure a crash, a
// restart or a provider outage never leaves access open — a grant row is
// written before the provider is called and is only closed once the
// provider confirmed the revoke.
//
// Several workers and instances may sync at once: each provider call holds
// a lease on its grant row, so one grant is acted on by one worker at a time.
package grants

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"booksmeta"
	"booksmeta/internal/access"
	"booksmeta/internal/audit"
	"booksmeta/internal/booking"
	"booksmeta/internal/secretbox"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

// JobKind is the sync job; Every is its periodic run, the safety net behind
// the syncs the store queues on each change.
const (
	JobKind = store.AccessSyncJob
	Every   = time.Minute
)

// alertAfter is how many failed attempts in a row make the admins be told:
// at the backoff below, about half a minute of failing.
const alertAfter = 3

// Service reconciles grants with bookings.
type Service struct {
	Store    *store.Store
	Settings *settings.Service
	Box      *secretbox.Box
	Booking  *booking.Service
	Log      *slog.Logger
	// Alert tells the admins that a grant's action keeps failing; it is
	// called once per grant, in the transaction that records the failure.
	Alert func(ctx context.Context, tx *store.Tx, a Alert) error
	// Audit records each grant, revoke and alert in the audit trail, in
	// the transaction that records the outcome; nil records nothing.
	Audit interface {
		RecordTx(ctx context.Context, tx *store.Tx, e audit.Entry) error
	}
	// Lease bounds one provider call's hold on its grant; after it another
	// worker may take the grant up (the first one died).
	Lease time.Duration
	// BackoffBase is the wait after the first failure; it doubles up to
	// BackoffMax.
	BackoffBase, BackoffMax time.Duration
}

// Alert is what the admins are told about a failing grant.
type Alert struct {
	Grant   *booksmeta.AccessGrant
	Action  string // grant or revoke
	Email   string // the student's
	Message string // the provider's Russian reason
}

func (s *Service) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return 2 * time.Minute
}

func (s *Service) backoff(attempts int) time.Duration {
	base, top := s.BackoffBase, s.BackoffMax
	if base <= 0 {
		base = 5 * time.Second
	}
	if top <= 0 {
		top = 5 * time.Minute
	}
	d := base
	for i := 1; i < attempts && d < top; i++ {
		d *= 2
	}
	return min(d, top)
}

// HandleJob is the job handler of JobKind.
func (s *Service) HandleJob(ctx context.Context, _ *store.Job) error { return s.Sync(ctx) }

// Config reads the provider's configuration from the settings.
func (s *Service) Config(ctx context.Context) (access.Config, error) {
	var firstErr error
	get := func(key string) string {
		v, err := s.Settings.String(ctx, key)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	}
	c, err := access.ConfigFrom(get)
	if firstErr != nil {
		return c, firstErr
	}
	return c, err
}

// Sync brings grants in line with the bookings: it starts revoking what is
// no longer current, adds grants for bookings whose window is open, and
// then calls the provider for every grant whose next action is due.
func (s *Service) Sync(ctx context.Context) error {
	cfg, cfgErr := s.Config(ctx)
	before, err := s.Booking.AccessOpensBefore(ctx)
	if err != nil {
		return err
	}
	if err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockAccess(ctx); err != nil {
			return err
		}
		// With the settings unreadable, the provider is not known: grants
		// then close only for their bookings' sake.
		provider := ""
		if cfgErr == nil {
			provider = cfg.Provider
		}
		if err := s.closeStale(ctx, tx, provider); err != nil {
			return err
		}
		if cfgErr != nil || cfg.Provider == access.Static {
			// Static access is the shared account shown in the window,
			// nothing to open; a broken configuration is reported by the
			// panel and by the grants that cannot be revoked.
			return nil
		}
		if err := s.openDue(ctx, tx, cfg.Provider, before); err != nil {
			return err
		}
		// The next window opens on time, not at the periodic run after it;
		// the key makes one job per opening, however many syncs ask.
		next, err := tx.NextWindowOpening(ctx, tx.Now(), before)
		if err != nil || next.IsZero() {
			return err
		}
		_, err = tx.EnqueueJob(ctx, &store.Job{Kind: JobKind, RunAt: next, MaxAttempts: 3,
			UniqueKey: JobKind + "@open@" + strconv.FormatInt(next.UnixMilli(), 10)})
		return err
	}); err != nil {
		return err
	}
	// Bounded, so that one run cannot spin on a grant that fails at once;
	// the rest waits for the next run.
	for round := 0; round < 10; round++ {
		due, err := s.Store.DueGrants(ctx, 50)
		if err != nil {
			return err
		}
		if len(due) == 0 {
			return nil
		}
		for _, g := range due {
			if err := s.work(ctx, cfg, cfgErr, g); err != nil {
				return err
			}
		}
	}
	return nil
}

// closeStale moves every open grant whose booking is no longer current to
// revoking, with the reason the admin sees.
func (s *Service) closeStale(ctx context.Context, tx *store.Tx, provider string) error {
	open, err := tx.OpenGrants(ctx)
	if err != nil {
		return err
	}
	now := tx.Now()
	for _, o := range open {
		reason := staleReason(o, now)
		if reason == "" && provider != "" && o.Grant.Provider != provider {
			// The school chose another way of access: this one closes, and
			// the booking follows the new provider (a new grant, or the
			// shared account for static).
			reason = "Способ доступа изменён на «" + provider + "»."
		}
		if reason == "" {
			continue
		}
		closed, err := tx.CloseUnstartedGrant(ctx, o.Grant.ID, reason)
		if err != nil {
			return err
		}
		if closed {
			continue
		}
		if err := tx.StartRevoke(ctx, o.Grant.ID, reason); err != nil {
			return err
		}
	}
	return nil
}

// staleReason says why a grant's booking is no longer current, or "" when
// it still is. This is the one place that decides when access must end.
func staleReason(o store.OpenGrant, now time.Time) string {
	switch {
	case o.BookingStatus == "":
		return "Бронирование удалено."
	case o.BookingStatus == booksmeta.BookingCancelled:
		return "Бронирование отменено."
	case !now.Before(o.Grant.EndsAt) || o.BookingStatus == booksmeta.BookingFinished:
		return "Время брони закончилось."
	case !o.UserActive:
		return "Аккаунт ученика отключён."
	case !o.UserPaid:
		return "У ученика больше нет оплаченного доступа."
	}
	return ""
}

func (s *Service) openDue(ctx context.Context, tx *store.Tx, provider string, before time.Duration) error {
	cands, err := tx.BookingsToGrant(ctx, tx.Now(), before)
	if err != nil {
		return err
	}
	for _, c := range cands {
		g := &booksmeta.AccessGrant{BookingID: c.Booking.ID, UserID: c.Booking.UserID, SlotID: c.Booking.SlotID,
			Provider: provider, StartsAt: c.Booking.StartsAt, EndsAt: c.Booking.EndsAt}
		if err := tx.InsertGrant(ctx, g); err != nil {
			return err
		}
		// The revoke at the slot's end is due then, not at the next
		// periodic run after it.
		if _, err := tx.EnqueueJob(ctx, &store.Job{Kind: JobKind, RunAt: g.EndsAt, MaxAttempts: 3}); err != nil {
			return err
		}
	}
	return nil
}

// work claims one due grant and makes its provider call.
func (s *Service) work(ctx context.Context, cfg access.Config, cfgErr error, due *booksmeta.AccessGrant) error {
	var g *booksmeta.AccessGrant
	var seatErr error
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		g, err = tx.ClaimGrant(ctx, due.ID, tx.Now().Add(s.lease()))
		if errors.Is(err, store.ErrNotFound) {
			g = nil
			return nil
		}
		if err != nil || g.State != booksmeta.GrantPending || g.Login != "" || len(cfg.Accounts) == 0 {
			return err
		}
		// The seat is chosen under the access lock, so two grants at once
		// never get the same account.
		if err := tx.LockAccess(ctx); err != nil {
			return err
		}
		held, err := tx.HeldLogins(ctx)
		if err != nil {
			return err
		}
		seats, err := cfg.Accounts.Seats(1, held)
		if err != nil {
			seatErr = err
			return nil
		}
		g.Login = seats[0]
		return tx.SetGrantLogin(ctx, g.ID, g.Login)
	})
	if err != nil || g == nil {
		return err
	}
	if seatErr != nil {
		return s.failed(ctx, g, "grant", seatErr, 0)
	}
	action := "grant"
	if g.State == booksmeta.GrantRevoking {
		action = "revoke"
	}
	if cfgErr != nil {
		return s.failed(ctx, g, action, cfgErr, 0)
	}
	pcfg := cfg
	pcfg.Provider = g.Provider
	p, err := access.New(pcfg)
	if err != nil {
		return s.failed(ctx, g, action, err, 0)
	}
	if action == "grant" {
		return s.grant(ctx, p, g)
	}
	return s.revoke(ctx, p, g)
}

func (s *Service) grant(ctx context.Context, p access.Provider, g *booksmeta.AccessGrant) error {
	u, err := s.Store.UserByID(ctx, g.UserID)
	if errors.Is(err, store.ErrNotFound) {
		// Deleted meanwhile: the next sync revokes.
		return s.release(ctx, g)
	}
	if err != nil {
		return err
	}
	start := time.Now()
	creds, err := p.Grant(ctx, access.GrantRequest{BookingID: g.BookingID, SlotID: g.SlotID, Login: g.Login,
		StartsAt: g.StartsAt, EndsAt: g.EndsAt, Student: access.Student{Email: u.Email, Name: u.Name()}, Seq: g.Seq})
	took := time.Since(start)
	if err != nil {
		return s.failed(ctx, g, "grant", err, took)
	}
	sealed, err := access.SealCredentials(s.Box, creds)
	if err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		opened, err := tx.GrantSucceeded(ctx, g.ID, sealed)
		if err != nil {
			return err
		}
		msg := "Доступ выдан"
		if g.Login != "" {
			msg += ": учётная запись " + g.Login
		}
		if !opened {
			msg += "; бронирование тем временем перестало действовать, доступ будет сразу закрыт"
		}
		s.Log.Info("access granted", "booking", g.BookingID, "grant", g.ID, "login", g.Login, "provider", g.Provider, "ms", took.Milliseconds())
		if err := s.record(ctx, tx, audit.AccessGrant, g, msg+"."); err != nil {
			return err
		}
		return tx.AddGrantAttempt(ctx, &booksmeta.AccessAttempt{GrantID: g.ID, BookingID: g.BookingID, Action: "grant", OK: true,
			Message: msg + ".", Duration: took})
	})
}

func (s *Service) revoke(ctx context.Context, p access.Provider, g *booksmeta.AccessGrant) error {
	start := time.Now()
	err := p.Revoke(ctx, access.RevokeRequest{BookingID: g.BookingID, Login: g.Login, Seq: g.Seq})
	took := time.Since(start)
	if err != nil {
		return s.failed(ctx, g, "revoke", err, took)
	}
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RevokeSucceeded(ctx, g.ID); err != nil {
			return err
		}
		s.Log.Info("access revoked", "booking", g.BookingID, "grant", g.ID, "login", g.Login, "provider", g.Provider, "ms", took.Milliseconds())
		if err := s.record(ctx, tx, audit.AccessRevoke, g, strings.TrimSpace("Доступ закрыт. "+g.RevokeReason)); err != nil {
			return err
		}
		return tx.AddGrantAttempt(ctx, &booksmeta.AccessAttempt{GrantID: g.ID, BookingID: g.BookingID, Action: "revoke", OK: true,
			Message: "Доступ закрыт. " + g.RevokeReason, Duration: took})
	})
}

// failed records a failed call and when to try again. Revokes are retried
// whatever the error, forever: giving up on one leaves a student with
// access. After alertAfter failures in a row the admins are told, once.
func (s *Service) failed(ctx context.Context, g *booksmeta.AccessGrant, action string, cause error, took time.Duration) error {
	msg := access.Message(cause)
	level := slog.LevelWarn
	if action == "revoke" {
		level = slog.LevelError
	}
	// The error text is the package's English, which never holds a
	// password or a key (access.Error).
	s.Log.Log(ctx, level, "access "+action+" failed", "booking", g.BookingID, "grant", g.ID, "login", g.Login, "err", cause)
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		next := tx.Now().Add(s.backoff(g.Attempts + 1))
		attempts, err := tx.GrantFailed(ctx, g.ID, msg, next)
		if err != nil {
			return err
		}
		// The retry is a job due then, durable like the failure it follows.
		if _, err := tx.EnqueueJob(ctx, &store.Job{Kind: JobKind, RunAt: next, MaxAttempts: 3}); err != nil {
			return err
		}
		if err := tx.AddGrantAttempt(ctx, &booksmeta.AccessAttempt{GrantID: g.ID, BookingID: g.BookingID, Action: action,
			Message: msg, Duration: took}); err != nil {
			return err
		}
		if s.Alert == nil || (attempts < alertAfter && access.Retryable(cause)) {
			return nil
		}
		first, err := tx.MarkGrantAlerted(ctx, g.ID)
		if err != nil || !first {
			return err
		}
		email := ""
		if u, err := tx.UserByID(ctx, g.UserID); err == nil {
			email = u.Email
		}
		what := "Выдать доступ"
		if action == "revoke" {
			what = "Закрыть доступ"
		}
		if err := s.record(ctx, tx, audit.AccessFailed, g, fmt.Sprintf("%s не удаётся (попыток: %d), администраторы предупреждены: %s", what, attempts, msg)); err != nil {
			return err
		}
		return s.Alert(ctx, tx, Alert{Grant: g, Action: action, Email: email, Message: msg})
	})
}

func (s *Service) record(ctx context.Context, tx *store.Tx, action string, g *booksmeta.AccessGrant, summary string) error {
	if s.Audit == nil {
		return nil
	}
	return s.Audit.RecordTx(ctx, tx, audit.System(action, audit.Booking(g.BookingID), summary))
}

func (s *Service) release(ctx context.Context, g *booksmeta.AccessGrant) error {
	return s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.ReleaseGrant(ctx, g.ID) })
}
