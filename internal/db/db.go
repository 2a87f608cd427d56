// Package db opens the embedded SQLite or the PostgreSQL database and applies
// the embedded migrations. The rest of the program sees one *DB whatever the
// dialect; package store holds the SQL.
package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"modernc.org/sqlite"               // registers "sqlite"
)

// Dialect names the SQL flavour; store uses it for the few statements that differ.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB holds a write handle and a read handle. For SQLite the write handle has
// exactly one connection, because SQLite has one writer anyway and a single
// connection turns lock contention (SQLITE_BUSY) into orderly queueing in Go;
// readers use a separate pool and never block on it thanks to WAL.
// For PostgreSQL both are the same pool.
type DB struct {
	Dialect Dialect
	Write   *sql.DB
	Read    *sql.DB
	// Path is the SQLite file path, empty for PostgreSQL.
	Path string
	// lock is held shared while the database is open, so `booksmeta
	// restore` can tell that a server (or any command) is using it.
	lock *os.File
}

// LockPath is the lock file next to an SQLite database.
func LockPath(dbPath string) string { return dbPath + ".lock" }

// Open opens url ("sqlite:PATH" or "postgres://…"). For SQLite the folder is
// created when missing.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	switch {
	case strings.HasPrefix(rawURL, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite:"), "//"))
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		return openPostgres(ctx, rawURL)
	}
	return nil, fmt.Errorf("BOOKSMETA_DATABASE_URL = %q — такую базу программа не знает; укажите sqlite:ПУТЬ или postgres://ПОЛЬЗОВАТЕЛЬ:ПАРОЛЬ@ХОСТ/БАЗА", redactURL(rawURL))
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("в BOOKSMETA_DATABASE_URL после sqlite: нет пути к файлу; укажите, например, sqlite:data/booksmeta.db")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, withReason("не удалось создать папку для базы "+dir, err)
		}
	}
	// The file holds password hashes and sealed secrets: create it 0600.
	// SQLite gives the -wal and -shm files the database file's mode, so
	// they follow; left to SQLite the file would be 0644 under the usual umask.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, withReason("не удалось создать базу SQLite "+path, err)
	}
	// synchronous(FULL): every commit is fsynced before we answer 200.
	// _txlock=immediate: a write transaction takes the write lock at BEGIN,
	// so two writers never deadlock on a lock upgrade.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	d := &DB{Dialect: SQLite, Write: w, Read: r, Path: path}
	if d.lock, err = os.OpenFile(LockPath(path), os.O_RDWR|os.O_CREATE, 0o600); err == nil {
		if err := syscall.Flock(int(d.lock.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
			d.Close()
			return nil, fmt.Errorf("база %s сейчас восстанавливается из копии (booksmeta restore): повторите через минуту", path)
		}
	}
	if err := d.Ping(ctx); err != nil {
		d.Close()
		return nil, sqliteError(path, err)
	}
	return d, nil
}

func openPostgres(ctx context.Context, rawURL string) (*DB, error) {
	p, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, err
	}
	p.SetMaxOpenConns(20)
	p.SetMaxIdleConns(20)
	p.SetConnMaxIdleTime(5 * time.Minute)
	d := &DB{Dialect: Postgres, Write: p, Read: p}
	if err := d.Ping(ctx); err != nil {
		p.Close()
		return nil, postgresError(rawURL, err)
	}
	return d, nil
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.Write.PingContext(ctx); err != nil {
		return err
	}
	var one int
	return d.Read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Close closes both handles.
func (d *DB) Close() error {
	err := d.Write.Close()
	if d.Read != d.Write {
		err = errors.Join(err, d.Read.Close())
	}
	if d.lock != nil {
		d.lock.Close() // closing releases the flock
	}
	return err
}

// describe is prefix and the reason for people: for SQLite the file's
// state (read-only, full disk…), else the driver's words.
func (d *DB) describe(prefix string, err error) error {
	if d.Dialect == SQLite {
		var se *sqlite.Error
		if errors.As(err, &se) {
			return reason{prefix + ": " + sqliteError(d.Path, err).Error(), err}
		}
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// redactURL hides the password of a database URL for error messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(адрес не разобрать)"
	}
	return u.Redacted()
}

//go:embed migrations
var migrationsFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func migrations(d Dialect) ([]migration, error) {
	dir := "migrations/" + string(d)
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("bad migration file name %s", e.Name())
		}
		b, err := fs.ReadFile(migrationsFS, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{v, e.Name(), string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// LatestVersion is the schema version this binary knows.
func LatestVersion(d Dialect) int {
	ms, _ := migrations(d)
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// ErrSchemaTooNew means the database was migrated by a newer binary.
var ErrSchemaTooNew = errors.New("схема базы новее этой программы")

// Migrate applies every migration not yet applied, each in its own
// transaction. On PostgreSQL an advisory lock keeps two starting instances
// from migrating at once.
func (d *DB) Migrate(ctx context.Context) (applied int, err error) {
	ms, err := migrations(d.Dialect)
	if err != nil {
		return 0, err
	}
	conn, err := d.Write.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if d.Dialect == Postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(727274001)"); err != nil {
			return 0, err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(727274001)")
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return 0, d.describe("не удалось создать таблицу schema_migrations", err)
	}
	current, err := currentVersion(ctx, conn)
	if err != nil {
		return 0, err
	}
	if latest := LatestVersion(d.Dialect); current > latest {
		return 0, fmt.Errorf("%w: база на версии %d, а эта программа знает версии до %d; запустите более новую версию booksmeta", ErrSchemaTooNew, current, latest)
	}
	// Each migration not yet recorded is applied, not only those above the
	// highest: a migration numbered below one already applied (two branches
	// of work landing in either order) must not be skipped.
	done, err := appliedVersions(ctx, conn)
	if err != nil {
		return 0, err
	}
	for _, m := range ms {
		if done[m.version] {
			continue
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return applied, err
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return applied, d.describe("миграция "+m.name+" не применилась", err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations(version, name, applied_at) VALUES ($1, $2, $3)",
			m.version, m.name, time.Now().Unix()); err != nil {
			tx.Rollback()
			return applied, err
		}
		if err := tx.Commit(); err != nil {
			return applied, d.describe("миграция "+m.name+" не применилась", err)
		}
		applied++
	}
	return applied, nil
}

// SchemaVersion reports the applied schema version (0 for an empty database).
func (d *DB) SchemaVersion(ctx context.Context) (int, error) {
	conn, err := d.Read.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	return currentVersion(ctx, conn)
}

func appliedVersions(ctx context.Context, conn *sql.Conn) (map[int]bool, error) {
	rows, err := conn.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out[v] = true
	}
	return out, rows.Err()
}

// Pending lists the migrations this program knows that the database lacks.
func (d *DB) Pending(ctx context.Context) ([]int, error) {
	ms, err := migrations(d.Dialect)
	if err != nil {
		return nil, err
	}
	conn, err := d.Read.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if v, err := currentVersion(ctx, conn); err != nil || v == 0 {
		out := make([]int, 0, len(ms))
		for _, m := range ms {
			out = append(out, m.version)
		}
		return out, err
	}
	applied, err := appliedVersions(ctx, conn)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, m := range ms {
		if !applied[m.version] {
			out = append(out, m.version)
		}
	}
	return out, nil
}

func currentVersion(ctx context.Context, conn *sql.Conn) (int, error) {
	var v sql.NullInt64
	err := conn.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") || strings.Contains(err.Error(), "does not exist") {
			return 0, nil
		}
		return 0, err
	}
	return int(v.Int64), nil
}
