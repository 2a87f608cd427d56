package secretbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestSealOpen(t *testing.T) {
	b, err := New("passphrase")
	if err != nil {
		t.Fatal(err)
	}
	s := b.Seal("api-key-123")
	if strings.Contains(s, "api-key-123") || !strings.HasPrefix(s, "v1:") {
		t.Fatalf("sealed value leaks or lacks prefix: %q", s)
	}
	if s == b.Seal("api-key-123") {
		t.Fatal("two seals of the same value must differ (random nonce)")
	}
	got, err := b.Open(s)
	if err != nil || got != "api-key-123" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other, _ := New(strings.Repeat("ab", 32))
	if _, err := other.Open(s); err != ErrWrongKey {
		t.Fatalf("wrong key: got %v", err)
	}
	if v, err := b.Open(""); v != "" || err != nil {
		t.Fatalf("empty stays empty: %q %v", v, err)
	}
	if _, err := b.Open("plain"); err == nil {
		t.Fatal("unprefixed value must be refused")
	}
}

func TestKeyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "secret.key")
	k1, created, err := LoadOrCreateKeyFile(p)
	if err != nil || !created || len(k1) != 64 {
		t.Fatalf("create: %q %v %v", k1, created, err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	k2, created, err := LoadOrCreateKeyFile(p)
	if err != nil || created || k2 != k1 {
		t.Fatalf("reload: %q %v %v", k2, created, err)
	}
}

// TestKeyFileErrorsAreRussian: a key file that cannot be made is told in
// Russian with its path, and the cause stays reachable.
func TestKeyFileErrorsAreRussian(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(blocker, "secret.key")
	_, _, err := LoadOrCreateKeyFile(p)
	if err == nil || !strings.Contains(err.Error(), "файл ключа") || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "не папка") {
		t.Fatalf("got %v", err)
	}
	if !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("the cause is lost: %v", err)
	}
	if _, err := New("  "); err == nil || !strings.Contains(err.Error(), "ключ шифрования пуст") {
		t.Errorf("empty key: %v", err)
	}
}
