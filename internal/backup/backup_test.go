package backup

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"booksmeta/internal/db"
)

func openDB(t *testing.T, path string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestBackupUnderWriteLoadRestores: a backup taken while writers insert in
// transactions of two rows each restores to a consistent database: it
// passes the integrity check and holds only whole transactions.
func TestBackupUnderWriteLoadRestores(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	live := filepath.Join(dir, "live.db")
	d := openDB(t, live)
	var stop atomic.Bool
	var wg sync.WaitGroup
	var written atomic.Int64
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				tx, err := d.Write.BeginTx(ctx, nil)
				if err != nil {
					continue
				}
				now := time.Now().UnixMilli()
				// Two rows per transaction: a consistent copy has an even count.
				for j := 0; j < 2; j++ {
					tx.ExecContext(ctx, `INSERT INTO jobs (kind, payload, run_at, created_at) VALUES ('load', '{}', $1, $1)`, now)
				}
				if tx.Commit() == nil {
					written.Add(2)
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	copyPath := filepath.Join(dir, "backups", "copy.db")
	if err := Backup(ctx, d, copyPath); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	d.Close()
	if st, _ := os.Stat(copyPath); st.Mode().Perm() != 0o600 {
		t.Fatalf("backup mode %v", st.Mode().Perm())
	}
	if err := Backup(ctx, openDB(t, live), copyPath); err == nil || !strings.Contains(err.Error(), copyPath+" уже есть: выберите другое имя") {
		t.Fatalf("overwriting a backup: %v", err)
	}
	restored := filepath.Join(dir, "restored.db")
	if err := Restore(ctx, copyPath, restored); err != nil {
		t.Fatal(err)
	}
	c, _ := sql.Open("sqlite", "file:"+restored)
	defer c.Close()
	var n int
	var ok string
	c.QueryRow("PRAGMA integrity_check").Scan(&ok)
	c.QueryRow("SELECT COUNT(*) FROM jobs WHERE kind = 'load'").Scan(&n)
	if ok != "ok" || n == 0 || n%2 != 0 || int64(n) > written.Load() {
		t.Fatalf("restored: integrity %q, %d rows (of %d written): must be whole transactions", ok, n, written.Load())
	}
}

func TestRestoreRefusesBadFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	target := filepath.Join(dir, "live.db")
	d := openDB(t, target)
	good := filepath.Join(dir, "good.db")
	if err := Backup(ctx, d, good); err != nil {
		t.Fatal(err)
	}
	// While the database is open (as by a running server) restore refuses.
	if err := Restore(ctx, good, target); err == nil || !strings.Contains(err.Error(), "остановите booksmeta serve") {
		t.Fatalf("restore over an open database: %v", err)
	}
	d.Close()

	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a database at all"), 0o600)
	if err := Restore(ctx, text, target); err == nil || !strings.Contains(err.Error(), text+" — не база SQLite") {
		t.Fatalf("text file: %v", err)
	}
	raw, _ := os.ReadFile(good)
	truncated := filepath.Join(dir, "truncated.db")
	os.WriteFile(truncated, raw[:len(raw)/2], 0o600)
	if err := Restore(ctx, truncated, target); err == nil || !strings.Contains(err.Error(), "возьмите другую копию") {
		t.Fatalf("a truncated backup: %v", err)
	}
	corrupt := filepath.Join(dir, "corrupt.db")
	bad := append([]byte(nil), raw...)
	for i := 4096; i < len(bad) && i < 4096*3; i++ {
		bad[i] ^= 0xFF
	}
	os.WriteFile(corrupt, bad, 0o600)
	if err := Restore(ctx, corrupt, target); err == nil || !strings.Contains(err.Error(), "повреждена") {
		t.Fatalf("a corrupt backup: %v", err)
	}
	if err := Restore(ctx, filepath.Join(dir, "absent.db"), target); err == nil || !strings.Contains(err.Error(), "такого файла или папки нет") || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing backup: %v", err)
	}
	if err := Restore(ctx, good, target); err != nil {
		t.Fatalf("a good backup over a stopped database: %v", err)
	}
}
