// Package backup copies a live SQLite database consistently (VACUUM INTO,
// never a file copy of a busy database) and puts a checked copy back.
package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"booksmeta/internal/db"
	"booksmeta/internal/ru"
)

// ErrNotSQLite is returned for PostgreSQL: backups there are pg_dump's job.
var ErrNotSQLite = errors.New("копию базы PostgreSQL делает pg_dump, например: pg_dump --format=custom --file=booksmeta.dump \"$BOOKSMETA_DATABASE_URL\"")

// Backup writes a consistent copy of the live database to path and checks it.
func Backup(ctx context.Context, d *db.DB, path string) error {
	if d.Dialect != db.SQLite {
		return ErrNotSQLite
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s уже есть: выберите другое имя файла (копия никогда не пишется поверх)", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return ru.FileError("не удалось создать папку для копии "+dir, err)
		}
	}
	// VACUUM INTO reads one consistent snapshot while writers go on (WAL).
	if _, err := d.Write.ExecContext(ctx, "VACUUM INTO $1", path); err != nil {
		os.Remove(path)
		return ru.FileError("не удалось записать копию в "+path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return err
	}
	if _, err := Check(ctx, path); err != nil {
		os.Remove(path)
		return fmt.Errorf("новая копия не прошла проверку и удалена: %w", err)
	}
	return nil
}

// Check opens a backup file read-only and verifies it: an SQLite file that
// passes integrity_check and carries a schema this program knows. It
// returns the schema version.
func Check(ctx context.Context, path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, ru.FileError("не удалось открыть копию "+path, err)
	}
	head := make([]byte, 16)
	_, err = io.ReadFull(f, head)
	f.Close()
	if err != nil || string(head) != "SQLite format 3\x00" {
		return 0, fmt.Errorf("%s — не база SQLite (не тот файл или он повреждён): укажите файл копии, который сделал booksmeta backup", path)
	}
	c, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=query_only(1)")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var res string
	if err := c.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return 0, ru.Reason(path+" повреждена: проверка целостности не прошла; возьмите другую копию", err)
	}
	if res != "ok" {
		return 0, fmt.Errorf("%s повреждена (проверка целостности: %q): возьмите другую копию", path, res)
	}
	var v sql.NullInt64
	if err := c.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("%s — база SQLite, но не Book Smeta (нет таблицы schema_migrations): укажите копию, которую сделал booksmeta backup", path)
	}
	if latest := db.LatestVersion(db.SQLite); int(v.Int64) > latest {
		return 0, fmt.Errorf("%w: копию %s сделала более новая версия Book Smeta (схема %d, эта программа знает до %d); восстановите её более новой версией booksmeta", db.ErrSchemaTooNew, path, v.Int64, latest)
	}
	return int(v.Int64), nil
}

// Restore replaces the database at dbPath with the checked backup at from.
// The server must be stopped: a database that is in use is refused.
func Restore(ctx context.Context, from, dbPath string) error {
	if _, err := Check(ctx, from); err != nil {
		return err
	}
	lock, err := lockExclusive(dbPath)
	if err != nil {
		return err
	}
	defer lock.Close()
	tmp := dbPath + ".restore-tmp"
	if err := copyFile(from, tmp); err != nil {
		os.Remove(tmp)
		return ru.FileError("не удалось скопировать "+from+" в "+tmp, err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(dbPath + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, dbPath); err != nil {
		os.Remove(tmp)
		return ru.FileError("не удалось поставить копию на место "+dbPath, err)
	}
	return syncDir(filepath.Dir(dbPath))
}

// lockExclusive takes the database's lock file exclusively: every process
// that has the database open holds it shared, so this fails while a server
// (or any other command) uses the database. Close the file to release it.
func lockExclusive(dbPath string) (*os.File, error) {
	f, err := os.OpenFile(db.LockPath(dbPath), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, ru.FileError("не удалось открыть файл блокировки базы "+db.LockPath(dbPath), err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, errors.New("база сейчас открыта: сначала остановите booksmeta serve (и другие команды booksmeta), потом повторите restore")
	}
	return f, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
