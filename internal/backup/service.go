package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"booksmeta/internal/db"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

// Settings keys of the scheduled backup.
const (
	Enabled = "backup_enabled" // "0" or "1"
	Time    = "backup_time"    // "03:00" in the school zone
	Keep    = "backup_keep"    // copies kept
	Dir     = "backup_dir"     // folder of the copies
)

// JobKind is the periodic job that takes the daily copy when it is due.
const JobKind = "backup"

// JobEvery is how often the job looks whether the daily copy is due.
const JobEvery = 10 * time.Minute

// DefaultDir is where copies go unless backup_dir says otherwise.
const DefaultDir = "data/backups"

// DefineSettings declares the backup settings.
func DefineSettings(s *settings.Service) {
	s.Define(settings.Def{Key: Enabled, Type: settings.Bool, Default: "0",
		Reason: "Автоматическое копирование: «да» — включено, «нет» — выключено (подходят также 1/0, вкл/выкл)"})
	s.Define(settings.Def{Key: Time, Default: "03:00", Required: true, Reason: "Время копирования — в виде ЧЧ:ММ, например 03:00",
		Check: func(v string) error {
			if _, err := time.Parse("15:04", v); err != nil {
				return errors.New("Время копирования — в виде ЧЧ:ММ, например 03:00")
			}
			return nil
		}})
	s.Define(settings.Def{Key: Keep, Type: settings.Number, Default: "7", Min: 1, Max: 365, Required: true,
		Reason: "Хранить копий — число от 1 до 365"})
	s.Define(settings.Def{Key: Dir, Default: DefaultDir, Required: true, Reason: "Укажите папку для копий, например data/backups"})
}

// Service takes copies on demand and on schedule.
type Service struct {
	DB       *db.DB
	Settings *settings.Service
	Log      *slog.Logger
	Now      func() time.Time
	// DatabaseURL is shown (without its password) in the pg_dump advice.
	DatabaseURL string
	// DefaultFolder replaces the default "data/backups" (app sets it next
	// to the database file).
	DefaultFolder string

	mu sync.Mutex // one copy at a time
}

// Supported reports whether this database is backed up by this program
// (SQLite); PostgreSQL is pg_dump's job.
func (s *Service) Supported() bool { return s.DB.Dialect == db.SQLite }

// PgDump is the pg_dump command for this database, password removed.
func (s *Service) PgDump() string { return PgDumpCommand(s.DatabaseURL) }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Folder is the folder copies are written to.
func (s *Service) Folder(ctx context.Context) (string, error) {
	d, err := s.Settings.String(ctx, Dir)
	if err != nil {
		return "", err
	}
	if d == "" || d == DefaultDir {
		if s.DefaultFolder != "" {
			return s.DefaultFolder, nil
		}
		return DefaultDir, nil
	}
	return d, nil
}

// Copy is one backup file.
type Copy struct {
	Name    string
	Path    string
	Size    int64
	ModTime time.Time
	Auto    bool
}

const (
	namePrefix = "booksmeta-"
	nameSuffix = ".db"
)

// fileName names a copy taken at t (school time), "auto" or "manual".
func fileName(kind string, t time.Time) string {
	return namePrefix + kind + "-" + t.Format("20060102-150405") + nameSuffix
}

// List returns the copies in the backup folder, newest first. Only files
// this program names are listed (and ever deleted by retention).
func (s *Service) List(ctx context.Context) ([]Copy, error) {
	dir, err := s.Folder(ctx)
	if err != nil {
		return nil, err
	}
	return ListDir(dir)
}

// ListDir lists the copies in dir, newest first.
func ListDir(dir string) ([]Copy, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Copy
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasPrefix(n, namePrefix) || !strings.HasSuffix(n, nameSuffix) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, Copy{Name: n, Path: filepath.Join(dir, n), Size: fi.Size(), ModTime: fi.ModTime(),
			Auto: strings.HasPrefix(n, namePrefix+"auto-")})
	}
	// Newest first by the time in the name (the school's clock when it was
	// taken), whatever touched the files since.
	stamp := func(c Copy) string {
		n := strings.TrimPrefix(strings.TrimPrefix(c.Name, namePrefix+"auto-"), namePrefix+"manual-")
		return n
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := stamp(out[i]), stamp(out[j])
		if a != b {
			return a > b
		}
		return out[i].ModTime.After(out[j].ModTime)
	})
	return out, nil
}

// Prune keeps the newest keep copies in dir and deletes older ones.
func Prune(dir string, keep int) (int, error) {
	if keep < 1 {
		keep = 1
	}
	cs, err := ListDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for i, c := range cs {
		if i < keep {
			continue
		}
		if err := os.Remove(c.Path); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// TakeNow takes a copy immediately ("manual", from the admin panel).
func (s *Service) TakeNow(ctx context.Context) (Copy, error) {
	return s.take(ctx, "manual")
}

func (s *Service) take(ctx context.Context, kind string) (Copy, error) {
	if !s.Supported() {
		return Copy{}, ErrNotSQLite
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dir, err := s.Folder(ctx)
	if err != nil {
		return Copy{}, err
	}
	keep, err := s.Settings.Int(ctx, Keep)
	if err != nil {
		return Copy{}, err
	}
	loc, err := s.Settings.Zone(ctx)
	if err != nil {
		return Copy{}, err
	}
	t := s.now().In(loc)
	path := filepath.Join(dir, fileName(kind, t))
	for i := 2; ; i++ { // two copies within one second
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			break
		}
		path = filepath.Join(dir, strings.TrimSuffix(fileName(kind, t), nameSuffix)+"-"+strconv.Itoa(i)+nameSuffix)
	}
	if err := Backup(ctx, s.DB, path); err != nil {
		return Copy{}, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return Copy{}, err
	}
	s.Log.Info("backup written", "path", path, "bytes", fi.Size(), "kind", kind)
	if removed, err := Prune(dir, keep); err != nil {
		s.Log.Warn("backup retention", "err", err)
	} else if removed > 0 {
		s.Log.Info("old backups removed", "count", removed)
	}
	return Copy{Name: filepath.Base(path), Path: path, Size: fi.Size(), ModTime: fi.ModTime(), Auto: kind == "auto"}, nil
}

// Due reports whether the daily automatic copy should be taken now: the
// schedule is on, the school's clock is past backup_time, and no automatic
// copy of today exists yet.
func (s *Service) Due(ctx context.Context) (bool, error) {
	if !s.Supported() {
		return false, nil
	}
	if on, err := s.Settings.Bool(ctx, Enabled); err != nil || !on {
		return false, err
	}
	loc, err := s.Settings.Zone(ctx)
	if err != nil {
		return false, err
	}
	now := s.now().In(loc)
	hhmm, err := s.Settings.String(ctx, Time)
	if err != nil {
		return false, err
	}
	at, err := time.Parse("15:04", hhmm)
	if err != nil {
		return false, fmt.Errorf("backup time %q: %w", hhmm, err)
	}
	dueAt := time.Date(now.Year(), now.Month(), now.Day(), at.Hour(), at.Minute(), 0, 0, loc)
	if now.Before(dueAt) {
		return false, nil
	}
	cs, err := s.List(ctx)
	if err != nil {
		return false, err
	}
	today := namePrefix + "auto-" + now.Format("20060102")
	for _, c := range cs {
		if strings.HasPrefix(c.Name, today) {
			return false, nil
		}
	}
	return true, nil
}

// HandleJob is the periodic job: it takes the daily copy when due.
func (s *Service) HandleJob(ctx context.Context, _ *store.Job) error {
	due, err := s.Due(ctx)
	if err != nil || !due {
		return err
	}
	if _, err := s.take(ctx, "auto"); err != nil {
		return fmt.Errorf("scheduled backup: %w", err)
	}
	return nil
}

// PgDumpCommand is the pg_dump command for a PostgreSQL URL, with the
// password taken out (pg_dump reads it from ~/.pgpass or PGPASSWORD).
func PgDumpCommand(databaseURL string) string {
	target := "\"$BOOKSMETA_DATABASE_URL\""
	if databaseURL != "" {
		if u, err := url.Parse(databaseURL); err == nil && u.Host != "" {
			if u.User != nil {
				u.User = url.User(u.User.Username())
			}
			target = "'" + u.String() + "'"
		}
	}
	return "pg_dump --format=custom --file=booksmeta-$(date +%Y%m%d-%H%M).dump " + target
}
