// Package gcsync connects Book Smeta to the school's GetCourse account: it
// builds API clients from the current settings, meters the Export API in the
// database, records every outbound call, tests the connection, pushes
// students that admins create, and synchronises paid students.
//
// The sync never writes users itself. Every paid deal it finds becomes an
// accepted row in webhook_events plus a process_webhook job, exactly what the
// webhook intake commits for a user_payment, so both paths share one code
// path (enrol.Apply), one idempotency rule and one log.
package gcsync

import (
	"booksmeta"

	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/getcourse"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

// Job kinds.
const (
	// JobSync is the hourly tick that starts a sync when one is due, and the
	// one-off job that resumes a sync stopped by a limit or an outage.
	JobSync = "getcourse_sync"
	// JobExportPoll asks GetCourse whether the pending export is ready.
	JobExportPoll = "getcourse_export_poll"
)

// Settings of the sync, known to the panel only.
const (
	// SettingSyncHours is the period of the automatic sync; 0 switches it off.
	SettingSyncHours = "getcourse_sync_hours"
	// SettingSyncFirstDays is how far back the very first sync looks.
	SettingSyncFirstDays = "getcourse_sync_first_days"
	// SettingDeveloperKey is the Tech API developer key GetCourse issues to
	// integrators on request; with the school's API key it authorises a
	// set-uri subscription. A secret: stored encrypted, shown masked.
	SettingDeveloperKey = "getcourse_developer_key"
)

// DefineSettings declares the sync's settings.
func DefineSettings(s *settings.Service) {
	s.Define(settings.Def{Key: SettingSyncHours, Type: settings.Number, Default: "24", Min: 0, Max: 720,
		Reason: "Как часто сверять оплаты с GetCourse — число часов от 0 до 720 (0 — не сверять автоматически), обычно 24"})
	s.Define(settings.Def{Key: SettingSyncFirstDays, Type: settings.Number, Default: "30", Min: 1, Max: 3650,
		Reason: "За сколько дней назад искать оплаты при первой сверке — число от 1 до 3650, обычно 30"})
	s.Define(settings.Def{Key: SettingDeveloperKey, Secret: true, BoundTo: []string{settings.GetCourseAPIURL, settings.GetCourseAccount},
		Check: func(v string) error {
			if strings.ContainsAny(v, " \t\r\n") {
				return errors.New("В ключе разработчика не должно быть пробелов: скопируйте его заново")
			}
			return nil
		}})
}

// Processor applies an accepted webhook event now (webhook.Processor).
type Processor interface {
	Process(ctx context.Context, eventID int64, last bool) error
}

// Service is the GetCourse side of Book Smeta.
type Service struct {
	Store    *store.Store
	Settings *settings.Service
	Log      *slog.Logger
	Budget   *Budget

	// Processor applies the sync's events in-process when a caller asks for
	// it (the CLI, which runs no job workers); nil leaves them to the jobs.
	Processor Processor
	// Notify wakes the job runner after events were committed.
	Notify func()

	HTTPClient    *http.Client       // nil: the client's default (30 s timeout)
	ClientOptions []getcourse.Option // applied last; tests use them

	// PollInterval is the wait between export status requests. Every poll
	// costs one request of the allowance, hence 45 s rather than a few.
	PollInterval time.Duration
	// RetryAfter is the pause after an outage or a busy export slot.
	RetryAfter time.Duration
	// RateLimitPause is the pause after GetCourse's own 903 refusal.
	RateLimitPause time.Duration
	// Overlap re-reads this much before the cursor: payment dates are
	// filtered by day and GetCourse may stamp them late. Idempotency keys
	// make the re-read harmless.
	Overlap time.Duration
	// MaxExportAge abandons an export GetCourse never finishes.
	MaxExportAge time.Duration
	// Lease bounds how long a crashed process can block the sync.
	Lease time.Duration
	// BatchSize is how many export rows are committed per transaction.
	BatchSize int
}

// New returns a Service with production defaults.
func New(st *store.Store, set *settings.Service, log *slog.Logger) *Service {
	s := &Service{
		Store: st, Settings: set, Log: log,
		Budget:         NewBudget(st, getcourse.DefaultBudgetLimit, getcourse.DefaultBudgetWindow),
		PollInterval:   45 * time.Second,
		RetryAfter:     15 * time.Minute,
		RateLimitPause: time.Hour,
		Overlap:        24 * time.Hour,
		MaxExportAge:   6 * time.Hour,
		Lease:          3 * time.Minute,
		BatchSize:      100,
	}
	s.Budget.Zone = func() *time.Location { return s.zone(context.Background()) }
	return s
}

func (s *Service) now() time.Time { return s.Store.Now() }

func (s *Service) zone(ctx context.Context) *time.Location {
	if s.Settings != nil {
		if loc := s.Settings.Location(ctx); loc != nil {
			return loc
		}
	}
	return time.FixedZone("MSK", 3*60*60)
}

// errSettings is what people see when stored settings cannot be decrypted.
const errSettings = "Не удалось прочитать сохранённые настройки GetCourse (возможно, сменился ключ шифрования BOOKSMETA_SECRET_KEY). Введите API-ключ заново в настройках и сохраните их."

// Config reads the connection settings as they are now (panel, then
// environment, then .env).
func (s *Service) Config(ctx context.Context) (getcourse.Config, error) {
	var c getcourse.Config
	for _, f := range []struct {
		key string
		dst *string
	}{{settings.GetCourseAPIURL, &c.APIURL}, {settings.GetCourseAccount, &c.Account}, {settings.GetCourseAPIKey, &c.Key}} {
		v, err := s.Settings.Get(ctx, f.key)
		if err != nil {
			return getcourse.Config{}, err
		}
		*f.dst = strings.TrimSpace(v.Value)
	}
	return c, nil
}

// Configured reports whether account and key are set well enough to call the API.
func (s *Service) Configured(ctx context.Context) bool {
	c, err := s.Config(ctx)
	return err == nil && c.Validate() == nil
}

func (s *Service) client(c getcourse.Config) *getcourse.Client { return s.clientWith(c) }

// clientWith is client whose recorder also removes other secrets the
// request carries (the Tech API's developer key).
func (s *Service) clientWith(c getcourse.Config, secrets ...string) *getcourse.Client {
	opts := []getcourse.Option{
		getcourse.WithRecorder(&recorder{store: s.Store, log: s.Log, account: c.AccountName(), key: c.Key, extra: secrets}),
		getcourse.WithBudget(s.Budget),
	}
	if s.HTTPClient != nil {
		opts = append(opts, getcourse.WithHTTPClient(s.HTTPClient))
	}
	return getcourse.New(c, append(opts, s.ClientOptions...)...)
}

// TestConnection checks account, key and plan. override, when given, is what
// an admin typed but has not saved and replaces the saved values, except an
// empty or masked key ("••••…", as the panel shows it), which means the saved
// key.
func (s *Service) TestConnection(ctx context.Context, override *getcourse.Config) getcourse.Verdict {
	saved, err := s.Config(ctx)
	c := saved
	if override != nil {
		c = *override
		if k := strings.TrimSpace(c.Key); k == "" || strings.HasPrefix(k, "••••") {
			if err == nil && saved.Key != "" && !strings.EqualFold(c.BaseURL(), saved.BaseURL()) {
				// The saved key goes only where it was saved for: a test
				// against another address must bring its own key, or an
				// admin could point it at their server and read the key.
				return getcourse.Verdict{Kind: getcourse.KindNotConfigured, Message: "Вы проверяете другой адрес GetCourse, чем сохранён: введите API ключ заново — сохранённый ключ отправляется только на сохранённый адрес."}
			}
			c.Key = saved.Key
		} else {
			err = nil // the saved values are not needed
		}
	}
	if err != nil {
		s.Log.Error("getcourse test: read settings", "err", err)
		return getcourse.Verdict{Kind: getcourse.KindInternal, Message: errSettings}
	}
	v := s.client(c).TestConnection(ctx)
	s.Log.Info("getcourse connection test", "account", c.AccountName(), "ok", v.OK, "kind", string(v.Kind))
	return v
}

// ListCalls lists recorded outbound calls, newest first.
func (s *Service) ListCalls(ctx context.Context, f store.GetCourseCallFilter) ([]*store.GetCourseCall, error) {
	return s.Store.ListGetCourseCalls(ctx, f)
}

// PushResult is the outcome of adding a student to GetCourse.
type PushResult struct {
	OK              bool
	Kind            getcourse.Kind
	Message         string // Russian
	GetCourseUserID string
	// Uncertain means the request may have reached GetCourse before it
	// failed: the student may exist there now. Imports are not idempotent,
	// so the admin looks before trying again; nothing retries by itself.
	Uncertain bool
}

// PushUser adds (or, if the email is known there, updates) a student that an
// admin created by hand in GetCourse's users. It is called once, never
// retried, and recorded like every call.
func (s *Service) PushUser(ctx context.Context, u *booksmeta.User) PushResult {
	c, err := s.Config(ctx)
	if err != nil {
		s.Log.Error("getcourse push: read settings", "err", err)
		return PushResult{Kind: getcourse.KindInternal, Message: errSettings}
	}
	res, err := s.client(c).AddUser(ctx, getcourse.UserImport{
		User: getcourse.ImportUser{Email: u.Email, Phone: u.Phone, FirstName: u.FirstName, LastName: u.LastName},
		// refresh_if_exists: a student who already has a GetCourse account
		// gets the details typed here instead of a refusal.
		System: getcourse.ImportSystem{RefreshIfExists: true},
	})
	if err != nil {
		kind := getcourse.KindOf(err)
		out := PushResult{Kind: kind, Message: getcourse.Russian(err)}
		switch kind {
		case getcourse.KindTimeout, getcourse.KindNetwork, getcourse.KindCanceled, getcourse.KindServer, getcourse.KindBadResponse:
			out.Uncertain = true
			out.Message += " Неизвестно, успел ли GetCourse сохранить ученика. Прежде чем повторять, найдите " + u.Email + " в GetCourse (раздел «Пользователи»)."
		}
		s.Log.Warn("getcourse push user failed", "user_id", u.ID, "kind", string(kind), "err", err)
		return out
	}
	out := PushResult{OK: true}
	if res.UserID != 0 {
		out.GetCourseUserID = strconv.FormatInt(res.UserID, 10)
		if err := s.Store.SetUserGetCourseID(ctx, u.ID, out.GetCourseUserID); err != nil {
			s.Log.Error("getcourse push: store GetCourse id", "user_id", u.ID, "err", err)
		}
	}
	switch strings.ToLower(res.UserStatus) {
	case "updated":
		out.Message = "Ученик " + u.Email + " уже был в GetCourse: его данные обновлены."
	case "exists":
		out.Message = "Ученик " + u.Email + " уже был в GetCourse; его данные там не менялись."
	default:
		out.Message = "Ученик " + u.Email + " добавлен в GetCourse."
	}
	s.Log.Info("getcourse push user", "user_id", u.ID, "getcourse_user_id", out.GetCourseUserID, "status", res.UserStatus)
	return out
}

// SyncStatus is what the panel shows about the sync.
type SyncStatus struct {
	Configured  bool
	Account     string
	EveryHours  int                    // 0: automatic sync off
	State       *store.GetCourseSync   // nil before the first run
	Export      *store.GetCourseExport // nil when no export is pending
	BudgetUsed  int
	BudgetLimit int
	NextRunAt   time.Time // zero when off or not configured
}

// Status reports the sync's progress and the allowance used.
func (s *Service) Status(ctx context.Context) (SyncStatus, error) {
	c, err := s.Config(ctx)
	if err != nil {
		return SyncStatus{}, err
	}
	hours, err := s.Settings.Int(ctx, SettingSyncHours)
	if err != nil {
		return SyncStatus{}, err
	}
	out := SyncStatus{Configured: c.Validate() == nil, Account: c.AccountName(), EveryHours: hours, BudgetLimit: s.Budget.Limit}
	if out.Account == "" {
		return out, nil
	}
	if out.State, err = s.Store.GetCourseSyncState(ctx, out.Account); errors.Is(err, store.ErrNotFound) {
		out.State = nil
	} else if err != nil {
		return out, err
	}
	if out.Export, err = s.Store.GetCourseExport(ctx, out.Account, exportKind); errors.Is(err, store.ErrNotFound) {
		out.Export = nil
	} else if err != nil {
		return out, err
	}
	if out.BudgetUsed, err = s.Budget.Used(ctx, out.Account); err != nil {
		return out, err
	}
	if out.Configured && out.EveryHours > 0 {
		now := s.now()
		switch {
		case out.Export != nil:
			out.NextRunAt = out.Export.NextPollAt
		case out.State != nil && out.State.RetryAt.After(now):
			out.NextRunAt = out.State.RetryAt
		case out.State != nil && !out.State.LastRunAt.IsZero():
			out.NextRunAt = out.State.LastRunAt.Add(time.Duration(out.EveryHours) * time.Hour)
		}
		if out.NextRunAt.Before(now) {
			// The hourly tick starts it.
			out.NextRunAt = now.Truncate(time.Hour).Add(time.Hour)
		}
	}
	return out, nil
}

func newOwner() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
