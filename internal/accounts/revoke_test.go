package accounts_test

import (
	"errors"
	"testing"
	"time"

	"booksmeta/internal/accounts"
	"booksmeta/internal/store"
)

// TestEnsureSuperAdminPasswordRevokes: `booksmeta admin create` with a
// password (the command-line route) kills the account's open links and
// sessions, like every other way of setting a password.
func TestEnsureSuperAdminPasswordRevokes(t *testing.T) {
	f := newFixture(t)
	u, err := f.acc.EnsureSuperAdmin(f.ctx, "boss@example.ru", "first password 1")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.acc.IssueLink(f.ctx, u.ID, store.TokenSetPassword, accounts.AdminLinkTTL)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.InTx(f.ctx, func(tx *store.Tx) error {
		return tx.InsertSession(f.ctx, &store.Session{ID: "s1", UserID: u.ID, CSRFToken: "x", ExpiresAt: f.clk.Now().Add(time.Hour)}, "", "")
	}); err != nil {
		t.Fatal(err)
	}
	// Without a password nothing is revoked.
	if _, err := f.acc.EnsureSuperAdmin(f.ctx, "boss@example.ru", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.acc.LinkUser(f.ctx, tok); err != nil {
		t.Fatalf("a promotion without a password killed the link: %v", err)
	}
	if _, err := f.acc.EnsureSuperAdmin(f.ctx, "boss@example.ru", "second password 2"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.acc.LinkUser(f.ctx, tok); !errors.Is(err, accounts.ErrLinkInvalid) {
		t.Fatalf("link after a password set from the command line: %v", err)
	}
	if _, _, err := f.st.SessionWithUser(f.ctx, "s1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session after a password set from the command line: %v", err)
	}
}
