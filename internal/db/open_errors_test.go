package db_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"booksmeta/internal/db"
	"booksmeta/internal/dbtest"
)

// An English sentence: three Latin words in a row (a path or an SQL name
// is one word).
var englishSentence = regexp.MustCompile(`[A-Za-z]{2,} [A-Za-z]{2,} [A-Za-z]{2,}`)

func russian(t *testing.T, err error, names ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !regexp.MustCompile(`[а-яё]{4,}`).MatchString(msg) || englishSentence.MatchString(msg) {
		t.Errorf("not a Russian message: %q", msg)
	}
	for _, n := range names {
		if !strings.Contains(msg, n) {
			t.Errorf("%q does not name %s", msg, n)
		}
	}
}

// TestOpenErrorsSayWhatToDo: a file that is not a database, an unreachable
// PostgreSQL and a folder that cannot be made are told in Russian, naming
// the file or variable.
func TestOpenErrorsSayWhatToDo(t *testing.T) {
	ctx := context.Background()
	text := filepath.Join(t.TempDir(), "notes.db")
	if err := os.WriteFile(text, []byte("это не база, а заметки\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := db.Open(ctx, "sqlite:"+text)
	russian(t, err, text, "не база SQLite", "BOOKSMETA_DATABASE_URL", "booksmeta restore")

	_, err = db.Open(ctx, "postgres://school:hunter2@127.0.0.1:1/booksmeta?connect_timeout=5")
	russian(t, err, "127.0.0.1:1", "не отвечает", "BOOKSMETA_DATABASE_URL")
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the password leaked: %q", err)
	}

	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = db.Open(ctx, "sqlite:"+filepath.Join(blocker, "data", "b.db"))
	russian(t, err, blocker, "не удалось создать папку")

	_, err = db.Open(ctx, "sqlite:")
	russian(t, err, "BOOKSMETA_DATABASE_URL", "sqlite:data/booksmeta.db")
}

// TestSchemaTooNew: a database migrated by a newer program is refused in
// Russian, and the refusal is still db.ErrSchemaTooNew.
func TestSchemaTooNew(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write.Exec("INSERT INTO schema_migrations(version, name, applied_at) VALUES (9999, '9999_future.sql', 0)"); err != nil {
		t.Fatal(err)
	}
	_, err = d.Migrate(ctx)
	if !errors.Is(err, db.ErrSchemaTooNew) {
		t.Fatalf("want ErrSchemaTooNew, got %v", err)
	}
	russian(t, err, "9999", "более новую версию booksmeta")
}
