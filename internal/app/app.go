// Package app wires Book Smeta together: configuration, database, settings,
// background jobs and HTTP. It is the only place that knows every part.
package app

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"booksmeta/internal/accounts"
	"booksmeta/internal/api"
	"booksmeta/internal/audit"
	"booksmeta/internal/auth"
	"booksmeta/internal/backup"
	"booksmeta/internal/booking"
	"booksmeta/internal/config"
	"booksmeta/internal/db"
	"booksmeta/internal/enrol"
	"booksmeta/internal/gcsync"
	"booksmeta/internal/grants"
	"booksmeta/internal/jobs"
	"booksmeta/internal/metrics"
	"booksmeta/internal/outbox"
	"booksmeta/internal/password"
	"booksmeta/internal/schedule"
	"booksmeta/internal/secretbox"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
	"booksmeta/internal/web"
	"booksmeta/internal/webhook"
)

// Version is set at build time with -ldflags "-X booksmeta/internal/app.Version=…".
var Version = "dev"

// App is one running Book Smeta process.
type App struct {
	Config    config.Config
	DB        *db.DB
	Store     *store.Store
	Box       *secretbox.Box
	Settings  *settings.Service
	Jobs      *jobs.Runner
	Metrics   *metrics.Metrics
	Log       *slog.Logger
	Enrol     *enrol.Service
	Processor *webhook.Processor
	Committer *webhook.Committer
	Rejects   *webhook.RejectLog
	Web       *web.Server
	API       *api.Server
	Auth      *auth.Service
	Accounts  *accounts.Service
	Booking   *booking.Service
	Schedule  *schedule.Service
	GetCourse *gcsync.Service
	Outbox    *outbox.Service
	Backups   *backup.Service
	Grants    *grants.Service
	Audit     *audit.Log

	// KeyCreated is set when this start generated the encryption key file.
	KeyCreated bool
	KeyPath    string

	now func() time.Time
}

// Option adjusts an App at Open, before any part runs.
type Option func(*App)

// WithClock replaces time.Now as the one clock every part reads (through
// Store.Now). It is fixed at Open, so tests move the clock they passed
// (clocktest.Clock) rather than assign a field while workers read it.
func WithClock(now func() time.Time) Option { return func(a *App) { a.now = now } }

// DataDir is where the key file lives: next to the SQLite file, or ./data.
func DataDir(cfg config.Config) string {
	if p := cfg.SQLitePath(); p != "" {
		return filepath.Dir(p)
	}
	return "data"
}

// Open connects to the database, migrates it when migrate is set (serve and
// migrate do; other commands refuse an unmigrated database) and builds the
// parts. Close releases them.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger, migrate bool, opts ...Option) (*App, error) {
	d, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, DB: d, Log: log, Metrics: metrics.New(), now: time.Now}
	for _, o := range opts {
		o(a)
	}
	if err := a.init(ctx, migrate); err != nil {
		d.Close()
		return nil, err
	}
	return a, nil
}

// init builds the parts in the order they depend on each other, each
// complete when built: the database and its schema, the store, the key and
// the settings with every part's keys; the job queue; the services that hold
// the rules; their jobs; last the transports, which only call the services.
func (a *App) init(ctx context.Context, migrate bool) error {
	for _, w := range a.Config.Warnings {
		a.Log.Warn("configuration warning", "problem", w)
	}
	if err := a.checkSchema(ctx, migrate); err != nil {
		return err
	}
	a.Store = store.New(a.DB, store.WithClock(a.now))
	if err := a.Store.Prepare(ctx); err != nil {
		return err
	}
	if err := a.openKey(ctx); err != nil {
		return err
	}
	a.Settings = settings.New(a.Store, a.Box, a.Config)
	booking.DefineSettings(a.Settings)
	schedule.DefineSettings(a.Settings)
	backup.DefineSettings(a.Settings)
	gcsync.DefineSettings(a.Settings)
	enrol.DefineSettings(a.Settings)
	grants.DefineSettings(a.Settings)
	outbox.DefineSettings(a.Settings)

	// The webhook committer answers GetCourse; the job runner gives way to
	// it while it holds deliveries.
	a.Committer = webhook.NewCommitter(a.Store)
	a.Jobs = jobs.New(a.Store, a.Log)
	// Every committed transaction that added jobs wakes the runner, so mail
	// and other acknowledged work start at once, not at the next poll or
	// sweep, and no caller has to remember to call Notify.
	a.Store.OnJobsCommitted = a.Jobs.Notify
	a.Jobs.Busy = a.Committer.Busy
	if a.DB.Dialect == db.SQLite {
		// SQLite has one writer: more workers only queue for it and take
		// turns away from the webhook committer, which answers senders.
		a.Jobs.Workers = 1
	}
	a.Jobs.Observe(a.Metrics.ObserveJob)

	a.buildServices()
	a.registerJobs()
	a.buildServers()
	return nil
}

// checkSchema migrates the database when migrate is set; otherwise it
// refuses a schema this program does not know, or one missing migrations.
func (a *App) checkSchema(ctx context.Context, migrate bool) error {
	if migrate {
		n, err := a.DB.Migrate(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			a.Log.Info("database migrated", "applied", n, "version", db.LatestVersion(a.DB.Dialect))
		}
		return nil
	}
	v, err := a.DB.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if latest := db.LatestVersion(a.DB.Dialect); v > latest {
		return fmt.Errorf("%w: база на версии %d, а эта программа знает версии до %d; запустите более новую версию booksmeta", db.ErrSchemaTooNew, v, latest)
	}
	if pending, err := a.DB.Pending(ctx); err != nil {
		return err
	} else if len(pending) > 0 {
		return fmt.Errorf("в базе не применены миграции %v: выполните booksmeta migrate (или запустите booksmeta serve — он применяет их сам)", pending)
	}
	return nil
}

// buildServices builds the parts that hold the rules, each after what it uses.
func (a *App) buildServices() {
	// One gate for all password hashing: sign-in, password changes and
	// links share the memory it bounds.
	gate := password.NewGate(password.DefaultSlots(), 3*time.Second)
	a.Audit = &audit.Log{Store: a.Store, Log: a.Log}
	a.Accounts = accounts.New(a.Store)
	a.Accounts.Gate = gate
	a.Auth = auth.New(a.Store, password.Hash)
	a.Auth.Gate, a.Auth.Devices, a.Auth.TrustedProxies = gate, a.Box, a.Config.TrustedProxies

	a.Booking = &booking.Service{Store: a.Store, Settings: a.Settings, Box: a.Box}
	a.Schedule = &schedule.Service{Store: a.Store, Settings: a.Settings, Box: a.Box, Booking: a.Booking, Log: a.Log}
	a.Outbox = &outbox.Service{Store: a.Store, Settings: a.Settings, Accounts: a.Accounts, Booking: a.Booking,
		BaseURL: a.Config.BaseURL, AppName: "Book Smeta", Log: a.Log, Notify: a.Jobs.Notify}
	a.Backups = &backup.Service{DB: a.DB, Settings: a.Settings, Log: a.Log, Now: func() time.Time { return a.Store.Now() },
		DatabaseURL: a.Config.DatabaseURL, DefaultFolder: filepath.Join(DataDir(a.Config), "backups")}

	a.Enrol = &enrol.Service{Defaults: a.Settings}
	a.Rejects = webhook.NewRejectLog(a.Store, a.Store.Now, a.Log)
	a.Processor = &webhook.Processor{Store: a.Store, Enrol: a.Enrol, Metrics: a.Metrics, Log: a.Log, Yield: a.Jobs.Yield,
		OnFailed: a.alertFailedEvent}
	a.GetCourse = a.newGetCourse()
	a.Grants = &grants.Service{Store: a.Store, Settings: a.Settings, Box: a.Box, Booking: a.Booking, Log: a.Log, Audit: a.Audit,
		Alert: a.alertAccess}
}

// buildServers builds the transports; they only call the services.
func (a *App) buildServers() {
	secure := strings.HasPrefix(a.Config.BaseURL, "https://")
	a.Web = &web.Server{Store: a.Store, Settings: a.Settings, Accounts: a.Accounts, Booking: a.Booking, Box: a.Box,
		Schedule: a.Schedule, GetCourse: a.GetCourse, Outbox: a.Outbox, Backups: a.Backups, Auth: a.Auth, Jobs: a.Jobs,
		Log: a.Log, BaseURL: a.Config.BaseURL, Version: Version, SecureCookies: secure, GetCourseTest: a.testGetCourse, Enrol: a.Enrol, Audit: a.Audit, Grants: a.Grants}
	a.API = &api.Server{Store: a.Store, Accounts: a.Accounts, Auth: a.Auth, Booking: a.Booking, Outbox: a.Outbox,
		Settings: a.Settings, Jobs: a.Jobs, Box: a.Box, Schedule: a.Schedule, Log: a.Log,
		SecureCookies: secure, GetCourseTest: a.testGetCourse, Enrol: a.Enrol, Audit: a.Audit, Grants: a.Grants}
}

// keyCheck is a stored value encrypted under the instance key, so that a
// changed or lost key is reported at start instead of as garbage later.
const keyCheck = "_key_check"

func (a *App) openKey(ctx context.Context) error {
	material := a.Config.SecretKey
	if material == "" {
		a.KeyPath = filepath.Join(DataDir(a.Config), "secret.key")
		m, created, err := secretbox.LoadOrCreateKeyFile(a.KeyPath)
		if err != nil {
			return err
		}
		material, a.KeyCreated = m, created
	}
	box, err := secretbox.New(material)
	if err != nil {
		return err
	}
	a.Box = box
	st, ok, err := a.Store.Setting(ctx, keyCheck)
	if err != nil {
		return err
	}
	if ok {
		if _, err := box.Open(st.Value); err != nil {
			where := "BOOKSMETA_SECRET_KEY"
			if a.KeyPath != "" {
				where = a.KeyPath
			}
			return fmt.Errorf("ключ шифрования (%s) не тот, с которым создана эта база: верните прежний файл ключа или прежний BOOKSMETA_SECRET_KEY, иначе сохранённые API-ключи и пароли не прочитать", where)
		}
		return nil
	}
	return a.Store.InTx(ctx, func(tx *store.Tx) error {
		return tx.PutSetting(ctx, store.Setting{Key: keyCheck, Value: box.Seal("booksmeta"), Secret: true}, 0)
	})
}

// Close stops the webhook committer (committing what it holds) and releases the database.
func (a *App) Close() error {
	if a.Committer != nil {
		a.Committer.Close()
	}
	if a.Rejects != nil {
		a.Rejects.Close()
	}
	return a.DB.Close()
}

// Handler is the whole HTTP surface.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	wh := &webhook.Handler{Store: a.Store, Secrets: a.Settings, Jobs: a.Jobs, Metrics: a.Metrics, Log: a.Log, Now: a.Store.Now, Committer: a.Committer, Rejects: a.Rejects}
	mux.Handle("/api/getcourse/webhook", wh)
	mux.Handle("/api/getcourse_webhook.php", wh)
	mux.HandleFunc("GET /healthz", a.health)
	mux.HandleFunc("GET /api/health.php", a.health)
	mux.Handle("GET /metrics", metricsAuth(a.Config.MetricsToken, a.Metrics.Handler()))
	a.API.Routes(mux)
	a.Web.Routes(mux)
	return recoverer(a.Log, a.Auth.Middleware(mux))
}

// Run serves HTTP on ln and runs background jobs until ctx is cancelled,
// then stops accepting, lets in-flight requests and jobs finish (bounded by
// grace) and returns.
func (a *App) Run(ctx context.Context, ln net.Listener, grace time.Duration) error {
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	// Access is reconciled at every start, not only at the next periodic
	// run: a slot that ended while the process was down is revoked now.
	// A failure here is only logged: the periodic run covers it.
	startCtx := context.WithoutCancel(ctx)
	if err := a.Store.InTx(startCtx, func(tx *store.Tx) error {
		_, err := tx.EnqueueJob(startCtx, &store.Job{Kind: grants.JobKind, MaxAttempts: 3})
		return err
	}); err != nil {
		a.Log.Error("queue the access sync at start", "err", err)
	}
	jobsCtx, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	jobsDone := make(chan struct{})
	go func() { a.Jobs.Run(jobsCtx); close(jobsDone) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	shCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if serr := srv.Shutdown(shCtx); serr != nil {
		a.Log.Warn("HTTP shutdown", "err", serr)
	}
	stopJobs()
	select {
	case <-jobsDone:
	case <-shCtx.Done():
		a.Log.Warn("background jobs still running at shutdown deadline; their leases will let another run retry them")
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// health answers ok only when the database both answers and takes a
// committed write: a read-only file or a lock held by another process lets
// a ping through while every payment would fail.
func (a *App) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	body := map[string]any{"status": "ok", "version": Version, "database": string(a.DB.Dialect), "time": time.Now().UTC().Format(time.RFC3339)}
	status := http.StatusOK
	// Reads through the read pool: SQLite's one write connection may be
	// waiting on the very lock this check is about, which is the second
	// question, not the first.
	var one int
	if err := a.DB.Read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		status = http.StatusServiceUnavailable
		body["status"], body["error"] = "error", "database unavailable"
		body["reason"] = "База данных не отвечает: проверьте, что она запущена и доступна (BOOKSMETA_DATABASE_URL)."
		a.Log.Error("health: database ping failed", "err", err)
	} else if err := a.Store.Heartbeat(ctx); err != nil {
		status = http.StatusServiceUnavailable
		body["status"], body["error"] = "error", "database not writable"
		body["reason"] = "База данных отвечает, но не принимает записи: проверьте права на файл базы и свободное место на диске, и не держит ли её другой процесс."
		a.Log.Error("health: database write failed", "err", err)
	}
	web.WriteJSON(w, status, body)
}

// PruneSessionsJob deletes expired sessions and stale sign-in counters.
const PruneSessionsJob = "prune_sessions"

func (a *App) pruneSessions(ctx context.Context, _ *store.Job) error {
	var sessions, counters int64
	err := a.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if sessions, err = tx.PruneSessions(ctx); err != nil {
			return err
		}
		counters, err = tx.PruneLoginFailures(ctx, tx.Now().Add(-auth.ThrottleWindow))
		return err
	})
	if err == nil && sessions+counters > 0 {
		a.Log.Info("pruned expired sessions", "sessions", sessions, "login_counters", counters)
	}
	return err
}

// metricsAuth requires "Authorization: Bearer token" when token is set;
// without one /metrics stays open, as before (bind it to a private address
// or let nginx refuse it).
func metricsAuth(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "Нужен токен: передайте заголовок Authorization: Bearer и значение BOOKSMETA_METRICS_TOKEN.", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("panic in HTTP handler", "path", r.URL.Path, "panic", p)
				http.Error(w, "Внутренняя ошибка сервера. Попробуйте ещё раз; если повторяется, сообщите администратору.", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}
