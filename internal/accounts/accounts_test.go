package accounts_test

import (
	"booksmeta"

	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"booksmeta/internal/accounts"
	"booksmeta/internal/clocktest"
	"booksmeta/internal/dbtest"
	"booksmeta/internal/password"
	"booksmeta/internal/store"
)

type fixture struct {
	st  *store.Store
	acc *accounts.Service
	clk *clocktest.Clock
	ctx context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clk := clocktest.At(time.Now().UTC())
	st := store.New(dbtest.Open(t), store.WithClock(clk.Now))
	acc := accounts.New(st)
	acc.Hash = func(pw string) string { return password.HashWith(pw, password.Params{Time: 1, Memory: 64, Threads: 1}) }
	return &fixture{st: st, acc: acc, clk: clk, ctx: context.Background()}
}

func (f *fixture) user(t *testing.T, email string) *booksmeta.User {
	t.Helper()
	u, err := f.st.UserByEmail(f.ctx, email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return u
}

func (f *fixture) student(t *testing.T, email string, mutate func(*booksmeta.User)) *booksmeta.User {
	t.Helper()
	u := &booksmeta.User{Email: email, Role: booksmeta.RoleStudent, Active: true, Paid: true, BookingLimit: 3, FirstName: "Иван"}
	if mutate != nil {
		mutate(u)
	}
	if err := f.st.InTx(f.ctx, func(tx *store.Tx) error { return tx.InsertUser(f.ctx, u) }); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestEnsureSuperAdminCreates(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	u, err := f.acc.EnsureSuperAdmin(f.ctx, "  Admin@Smeta-School.RU ", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	got := f.user(t, "admin@smeta-school.ru")
	if got.ID != u.ID || got.Email != "admin@smeta-school.ru" || got.Role != booksmeta.RoleSuperAdmin || !got.Active || !got.IsAdmin() {
		t.Fatalf("admin %+v", got)
	}
	if !password.Verify(got.PasswordHash, "correct horse battery") || password.Verify(got.PasswordHash, "wrong password") {
		t.Fatal("password not set as given")
	}
	if n, _ := f.st.CountAdmins(f.ctx); n != 1 {
		t.Fatalf("CountAdmins %d", n)
	}

	// No password: the account exists with none (a link sets it later).
	u2, err := f.acc.EnsureSuperAdmin(f.ctx, "second@smeta-school.ru", "")
	if err != nil || u2.PasswordHash != "" || u2.Role != booksmeta.RoleSuperAdmin {
		t.Fatalf("no-password admin %+v %v", u2, err)
	}
}

func TestEnsureSuperAdminPromotesAndResets(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	old := f.acc.Hash("old password 1")
	s := f.student(t, "teacher@smeta-school.ru", func(u *booksmeta.User) {
		u.Active, u.DeactivatedByAdmin, u.PasswordHash = false, true, old
	})

	// Promote without a password: role and activity change, the password stays.
	u, err := f.acc.EnsureSuperAdmin(f.ctx, "TEACHER@smeta-school.ru", "")
	if err != nil {
		t.Fatal(err)
	}
	got := f.user(t, "teacher@smeta-school.ru")
	if u.ID != s.ID || got.Role != booksmeta.RoleSuperAdmin || !got.Active || got.DeactivatedByAdmin || got.PasswordHash != old {
		t.Fatalf("promoted %+v", got)
	}
	if got.FirstName != "Иван" || !got.Paid || got.BookingLimit != 3 {
		t.Fatalf("promotion lost other fields: %+v", got)
	}

	// Again with a password: reset.
	if _, err := f.acc.EnsureSuperAdmin(f.ctx, "teacher@smeta-school.ru", "new password 2"); err != nil {
		t.Fatal(err)
	}
	got = f.user(t, "teacher@smeta-school.ru")
	if !password.Verify(got.PasswordHash, "new password 2") || password.Verify(got.PasswordHash, "old password 1") {
		t.Fatal("password not reset")
	}
	var n int
	f.st.DB().Read.QueryRowContext(f.ctx, "SELECT COUNT(*) FROM users").Scan(&n)
	if n != 1 {
		t.Fatalf("%d users, want 1", n)
	}
}

func TestEnsureSuperAdminRefusesBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, e := range []string{"", "not-an-email", "a@b", "Admin <admin@example.ru>", "two@@example.ru", "space in@example.ru"} {
		if _, err := f.acc.EnsureSuperAdmin(f.ctx, e, "long enough pw"); !errors.Is(err, accounts.ErrBadEmail) {
			t.Errorf("email %q: %v", e, err)
		}
	}
	if _, err := f.acc.EnsureSuperAdmin(f.ctx, "admin@example.ru", "short"); !errors.Is(err, password.ErrTooShort) {
		t.Errorf("short password: %v", err)
	}
	if n, _ := f.st.CountAdmins(f.ctx); n != 0 {
		t.Fatalf("a refused call created %d admins", n)
	}
	if e, err := accounts.ValidEmail(" Anna.Ivanova+gc@Mail.RU "); err != nil || e != "anna.ivanova+gc@mail.ru" {
		t.Errorf("ValidEmail %q %v", e, err)
	}
}

func TestSetPasswordWithLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.student(t, "anna@example.ru", nil)
	tok, err := f.acc.IssueLink(f.ctx, s.ID, store.TokenSetPassword, accounts.WelcomeLinkTTL)
	if err != nil || len(tok) < 40 {
		t.Fatalf("token %q %v", tok, err)
	}
	// Only the hash is stored.
	var stored string
	f.st.DB().Read.QueryRowContext(f.ctx, "SELECT token_hash FROM password_tokens").Scan(&stored)
	if stored == "" || stored == tok || strings.Contains(stored, tok) {
		t.Fatalf("token stored as %q", stored)
	}

	u, err := f.acc.LinkUser(f.ctx, tok)
	if err != nil || u.ID != s.ID {
		t.Fatalf("LinkUser %+v %v", u, err)
	}
	// Looking does not use the link up.
	if _, err := f.acc.LinkUser(f.ctx, tok); err != nil {
		t.Fatalf("second look: %v", err)
	}
	// A too-short password is refused and leaves the link usable.
	if _, err := f.acc.SetPasswordWithLink(f.ctx, tok, "short"); !errors.Is(err, password.ErrTooShort) {
		t.Fatalf("short: %v", err)
	}
	u, err = f.acc.SetPasswordWithLink(f.ctx, tok, "мой новый пароль")
	if err != nil || u.ID != s.ID {
		t.Fatalf("set: %+v %v", u, err)
	}
	if got := f.user(t, "anna@example.ru"); !password.Verify(got.PasswordHash, "мой новый пароль") {
		t.Fatal("password not set")
	}
	// Used: both look-up and a second use are refused, and the password stays.
	if _, err := f.acc.LinkUser(f.ctx, tok); !errors.Is(err, accounts.ErrLinkInvalid) {
		t.Fatalf("LinkUser after use: %v", err)
	}
	if _, err := f.acc.SetPasswordWithLink(f.ctx, tok, "attacker password"); !errors.Is(err, accounts.ErrLinkInvalid) {
		t.Fatalf("second use: %v", err)
	}
	if got := f.user(t, "anna@example.ru"); !password.Verify(got.PasswordHash, "мой новый пароль") {
		t.Fatal("second use changed the password")
	}
	// Garbage and empty tokens.
	for _, bad := range []string{"", "nope", tok[:len(tok)-1], tok + "x"} {
		if _, err := f.acc.LinkUser(f.ctx, bad); !errors.Is(err, accounts.ErrLinkInvalid) {
			t.Errorf("LinkUser(%q): %v", bad, err)
		}
	}
}

func TestExpiredLinkRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.student(t, "boris@example.ru", nil)
	tok, err := f.acc.IssueLink(f.ctx, s.ID, store.TokenReset, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(59 * time.Minute)
	if _, err := f.acc.LinkUser(f.ctx, tok); err != nil {
		t.Fatalf("link refused before it expired: %v", err)
	}
	f.clk.Advance(time.Minute)
	if _, err := f.acc.LinkUser(f.ctx, tok); !errors.Is(err, accounts.ErrLinkInvalid) {
		t.Fatalf("LinkUser at expiry: %v", err)
	}
	if _, err := f.acc.SetPasswordWithLink(f.ctx, tok, "long enough pw"); !errors.Is(err, accounts.ErrLinkInvalid) {
		t.Fatalf("SetPassword after expiry: %v", err)
	}
	if got := f.user(t, "boris@example.ru"); got.PasswordHash != "" {
		t.Fatal("expired link set a password")
	}
}

func TestUsingOneLinkKillsTheOthers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.student(t, "a@example.ru", nil)
	b := f.student(t, "b@example.ru", nil)
	older, _ := f.acc.IssueLink(f.ctx, a.ID, store.TokenSetPassword, accounts.WelcomeLinkTTL)
	newer, _ := f.acc.IssueLink(f.ctx, a.ID, store.TokenReset, accounts.AdminLinkTTL)
	otherUser, _ := f.acc.IssueLink(f.ctx, b.ID, store.TokenSetPassword, accounts.WelcomeLinkTTL)

	if _, err := f.acc.SetPasswordWithLink(f.ctx, newer, "password via newer"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.acc.SetPasswordWithLink(f.ctx, older, "password via older"); !errors.Is(err, accounts.ErrLinkInvalid) {
		t.Fatalf("older link still works: %v", err)
	}
	if !password.Verify(f.user(t, "a@example.ru").PasswordHash, "password via newer") {
		t.Fatal("older link changed the password")
	}
	// Another user's link is not touched.
	if u, err := f.acc.LinkUser(f.ctx, otherUser); err != nil || u.ID != b.ID {
		t.Fatalf("other user's link: %+v %v", u, err)
	}

	// The other way round: using the older one kills a newer one too.
	c := f.student(t, "c@example.ru", nil)
	first, _ := f.acc.IssueLink(f.ctx, c.ID, store.TokenSetPassword, accounts.WelcomeLinkTTL)
	second, _ := f.acc.IssueLink(f.ctx, c.ID, store.TokenSetPassword, accounts.WelcomeLinkTTL)
	if _, err := f.acc.SetPasswordWithLink(f.ctx, first, "password via first"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.acc.LinkUser(f.ctx, second); !errors.Is(err, accounts.ErrLinkInvalid) {
		t.Fatalf("newer link survived: %v", err)
	}
}

func TestConcurrentUsesOfOneLinkOnlyOneWins(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.student(t, "race@example.ru", nil)
	tok, _ := f.acc.IssueLink(f.ctx, s.ID, store.TokenSetPassword, accounts.WelcomeLinkTTL)
	const n = 8
	var wg sync.WaitGroup
	var wins atomic.Int32
	winner := make(chan string, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			pw := fmt.Sprintf("password number %d", i)
			_, err := f.acc.SetPasswordWithLink(f.ctx, tok, pw)
			switch {
			case err == nil:
				wins.Add(1)
				winner <- pw
			case !errors.Is(err, accounts.ErrLinkInvalid):
				t.Errorf("use %d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent uses of one link succeeded, want 1", wins.Load())
	}
	if pw := <-winner; !password.Verify(f.user(t, "race@example.ru").PasswordHash, pw) {
		t.Fatal("stored password is not the winner's")
	}
}

func TestSetupToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok, err := f.acc.NewSetupToken(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !f.acc.SetupTokenValid(f.ctx, tok) {
		t.Fatal("fresh setup token invalid")
	}
	for _, bad := range []string{"", "x", tok + "x"} {
		if f.acc.SetupTokenValid(f.ctx, bad) {
			t.Errorf("SetupTokenValid(%q)", bad)
		}
	}
	// Only the hash is stored.
	st, ok, _ := f.st.Setting(f.ctx, "_setup_token")
	if !ok || strings.Contains(st.Value, tok) {
		t.Fatalf("setup token stored as %q", st.Value)
	}
	// A new token (the next serve start) replaces the old one.
	tok2, _ := f.acc.NewSetupToken(f.ctx)
	if f.acc.SetupTokenValid(f.ctx, tok) || !f.acc.SetupTokenValid(f.ctx, tok2) {
		t.Fatal("new setup token did not replace the old one")
	}
	// A student existing does not matter; an admin does.
	f.student(t, "student@example.ru", nil)
	if !f.acc.SetupTokenValid(f.ctx, tok2) {
		t.Fatal("a student invalidated the setup token")
	}

	// Bad input to CreateFirstAdmin leaves the token usable.
	if _, err := f.acc.CreateFirstAdmin(f.ctx, tok2, "owner@example.ru", ""); !errors.Is(err, password.ErrTooShort) {
		t.Fatalf("empty password: %v", err)
	}
	if _, err := f.acc.CreateFirstAdmin(f.ctx, tok2, "owner@", "long enough pw"); !errors.Is(err, accounts.ErrBadEmail) {
		t.Fatalf("bad email: %v", err)
	}
	if _, err := f.acc.CreateFirstAdmin(f.ctx, "wrong", "owner@example.ru", "long enough pw"); err == nil || errors.Is(err, accounts.ErrAdminExists) {
		t.Fatalf("wrong token: %v", err)
	}
	if !f.acc.SetupTokenValid(f.ctx, tok2) {
		t.Fatal("refused attempts used up the token")
	}

	u, err := f.acc.CreateFirstAdmin(f.ctx, tok2, "Owner@Example.ru", "owner password 1")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != booksmeta.RoleSuperAdmin || u.Email != "owner@example.ru" || !password.Verify(f.user(t, "owner@example.ru").PasswordHash, "owner password 1") {
		t.Fatalf("first admin %+v", u)
	}
	// Consumed: invalid, gone from the table, and a second use says an admin exists.
	if f.acc.SetupTokenValid(f.ctx, tok2) {
		t.Fatal("setup token still valid after use")
	}
	if _, ok, _ := f.st.Setting(f.ctx, "_setup_token"); ok {
		t.Fatal("setup token row left behind")
	}
	if _, err := f.acc.CreateFirstAdmin(f.ctx, tok2, "intruder@example.ru", "intruder pw 1"); !errors.Is(err, accounts.ErrAdminExists) {
		t.Fatalf("second CreateFirstAdmin: %v", err)
	}
	// Even a freshly issued token is useless while an admin exists.
	tok3, _ := f.acc.NewSetupToken(f.ctx)
	if f.acc.SetupTokenValid(f.ctx, tok3) {
		t.Fatal("setup token valid although an admin exists")
	}
	if _, err := f.st.UserByEmail(f.ctx, "intruder@example.ru"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("intruder account created")
	}
}

func TestSetupTokenDiesWhenAdminCreatedOtherwiseOrExpires(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok, _ := f.acc.NewSetupToken(f.ctx)
	f.clk.Advance(accounts.SetupTokenTTL - time.Second)
	if !f.acc.SetupTokenValid(f.ctx, tok) {
		t.Fatal("token invalid before its TTL")
	}
	f.clk.Advance(time.Second)
	if f.acc.SetupTokenValid(f.ctx, tok) {
		t.Fatal("token valid after its TTL")
	}
	if _, err := f.acc.CreateFirstAdmin(f.ctx, tok, "late@example.ru", "long enough pw"); err == nil || errors.Is(err, accounts.ErrAdminExists) {
		t.Fatalf("expired token: %v", err)
	}

	g := newFixture(t)
	tok, _ = g.acc.NewSetupToken(g.ctx)
	// `booksmeta admin create` meanwhile.
	if _, err := g.acc.EnsureSuperAdmin(g.ctx, "cli@example.ru", "cli password 1"); err != nil {
		t.Fatal(err)
	}
	if g.acc.SetupTokenValid(g.ctx, tok) {
		t.Fatal("setup token valid after an admin was created from the command line")
	}
	if _, err := g.acc.CreateFirstAdmin(g.ctx, tok, "web@example.ru", "web password 1"); !errors.Is(err, accounts.ErrAdminExists) {
		t.Fatalf("CreateFirstAdmin: %v", err)
	}
}

// TestLookAlikeEmails: addresses made to pass for others are refused, and
// normalising never merges one into an ASCII address (issue 13: the Kelvin
// sign lowercased to "k" merged "Kate" with "kate").
func TestLookAlikeEmails(t *testing.T) {
	for _, e := range []string{"\u212Aate@example.ru", "ａｎｎａ@example.ru", "ﬁlip@example.ru", "аnna@example.ru", "anna@ехample.ru", "miſha@example.ru"} {
		if _, err := accounts.ValidEmail(e); !errors.Is(err, accounts.ErrLookAlikeEmail) {
			t.Errorf("%q: %v, want a look-alike refusal", e, err)
		}
		if n := store.NormalizeEmail(e); isASCII(n) {
			t.Errorf("%q normalises to the ASCII address %q", e, n)
		}
	}
	if n := store.NormalizeEmail(" \u212Aate@Example.RU "); n != "\u212Aate@example.ru" {
		t.Errorf("Kelvin sign normalised to %q", n)
	}
	for _, e := range []string{"Anna.Petrova+kurs@Example.ru", "иван@почта.рф", "ИВАН@ПОЧТА.РФ", "o'brien@example.com"} {
		if _, err := accounts.ValidEmail(e); err != nil {
			t.Errorf("%q refused: %v", e, err)
		}
	}
	if got, _ := accounts.ValidEmail("ИВАН@ПОЧТА.РФ"); got != "иван@почта.рф" {
		t.Errorf("Cyrillic address normalised to %q", got)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
