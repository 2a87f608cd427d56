package db_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"booksmeta/internal/db"
)

// TestSQLiteFilesPrivate: the database and its -wal and -shm files hold
// password hashes and sealed secrets, and are created readable by the owner
// only, whatever the umask.
func TestSQLiteFilesPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "data", "booksmeta.db")
	d, err := db.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := st.Mode().Perm(); m != 0o600 {
			t.Errorf("%s is %o, want 600", filepath.Base(p), m)
		}
	}
}
