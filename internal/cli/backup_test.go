package cli_test

import (
	"booksmeta"

	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"booksmeta/internal/dbtest"
	"booksmeta/internal/store"
)

// TestNewerSchemaIsRefused: a database migrated by a newer booksmeta makes
// an older serve and migrate stop with a clear one-line reason, and change
// nothing.
func TestNewerSchemaIsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.mustRun("", "migrate")
	st := w.store()
	if _, err := st.DB().Write.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)"); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"migrate"}, {"serve", "--addr", "127.0.0.1:0"}} {
		cmd := args[0]
		r := w.run("", args...)
		if r.code == 0 {
			t.Fatalf("%s started on a newer database", cmd)
		}
		oneLine(t, r.stderr, "схема базы новее этой программы", "9999", "booksmeta "+cmd, "запустите более новую версию booksmeta")
	}
	if r := w.mustRun("", "version"); !strings.Contains(r.stdout, "в базе 9999") {
		t.Fatalf("version: %q", r.stdout)
	}
	var n int
	st.DB().Read.QueryRow("SELECT COUNT(*) FROM schema_migrations WHERE version = 9999").Scan(&n)
	if n != 1 {
		t.Fatal("the newer version row was touched")
	}
}

// TestBackupAndRestoreCommands: backup writes a checked copy; restore
// refuses a file that is not a database and a truncated copy, and puts a
// good copy back.
func TestBackupAndRestoreCommands(t *testing.T) {
	if dbtest.Postgres() {
		w := newWorld(t)
		w.mustRun("", "migrate")
		r := w.run("", "backup", "--to", filepath.Join(t.TempDir(), "x.db"))
		if r.code == 0 {
			t.Fatal("backup of PostgreSQL claimed success")
		}
		oneLine(t, r.stderr, "pg_dump")
		return
	}
	t.Parallel()
	w := newWorld(t)
	w.mustRun("", "migrate")
	st := w.store()
	ctx := context.Background()
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertUser(ctx, &booksmeta.User{Email: "kept@example.com", Role: booksmeta.RoleStudent, Active: true, BookingLimit: 3})
	}); err != nil {
		t.Fatal(err)
	}
	st.DB().Close()
	dir := t.TempDir()
	good := filepath.Join(dir, "copy.db")
	if r := w.mustRun("", "backup", "--to", good); !strings.Contains(r.stdout, "целостность в порядке") || !strings.Contains(r.stdout, "BOOKSMETA_SECRET_KEY") {
		t.Fatalf("backup printed %q", r.stdout)
	}
	if r := w.run("", "backup"); r.code != 2 {
		t.Fatalf("backup without --to: exit %d", r.code)
	}
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("hello, not a database"), 0o600)
	r := w.run("", "restore", "--from", text)
	if r.code != 1 {
		t.Fatalf("restore of a text file: exit %d", r.code)
	}
	oneLine(t, r.stderr, text+" — не база SQLite")
	raw, _ := os.ReadFile(good)
	cut := filepath.Join(dir, "cut.db")
	os.WriteFile(cut, raw[:len(raw)/3], 0o600)
	if r := w.run("", "restore", "--from", cut); r.code != 1 {
		t.Fatalf("restore of a truncated copy: exit %d\n%s", r.code, r.stdout)
	}
	// The database was not touched by the refusals; now put the copy back
	// after the student is gone.
	st2 := w.store()
	if _, err := st2.DB().Write.Exec("DELETE FROM users WHERE email = 'kept@example.com'"); err != nil {
		t.Fatal(err)
	}
	st2.DB().Close()
	w.mustRun("", "restore", "--from", good)
	if _, err := w.store().UserByEmail(ctx, "kept@example.com"); err != nil {
		t.Fatalf("restored database lacks the student: %v", err)
	}
}
