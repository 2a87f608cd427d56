package grants_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"booksmeta"
	"booksmeta/internal/access"
	"booksmeta/internal/access/accesstest"
	"booksmeta/internal/apptest"
)

// With the ssh provider against a real OpenSSH server and real local
// accounts: each student of a two-seat slot gets their own pool account,
// whose granted password logs in during the booking and not before or
// after; a cancellation closes one seat at once and leaves the other open;
// the slot's end closes the rest. On SQLite and PostgreSQL alike.
func TestSSHPasswordWorksOnlyDuringTheBooking(t *testing.T) {
	d := accesstest.StartSSHD(t, "")
	pre := accesstest.TestPrefix()
	a1, a2 := pre+"01", pre+"02"
	accesstest.AddUser(t, a1)
	accesstest.AddUser(t, a2)
	s := start(t, map[string]string{
		access.KeyProvider: access.SSH, access.KeySSHHost: "127.0.0.1", access.KeySSHPort: strconv.Itoa(d.Port),
		access.KeySSHUser: "root", access.KeySSHPrivateKey: d.ClientPEM, access.KeySSHHostKey: d.HostLine,
		access.KeySSHPreset: access.PresetLinux, access.KeyAccounts: a1 + "-" + a2,
		"server_host": "rdp.school.example",
	})
	ctx := context.Background()
	sl := slot(t, s, s.Clock.Now().Add(5*time.Minute), time.Hour, 2)

	guess, _ := access.NewPassword(a1)
	if d.LoginWorks(t, a1, ssh.Password(guess)) {
		t.Fatal("a pool account logs in before any booking")
	}
	anna := student(t, s, "anna@example.ru", true)
	annaC := s.NewClient(t)
	annaC.Login(anna.Email, pw)
	annaB := book(t, annaC, sl)
	annaAcc := waitAccess(t, annaC, annaB)
	boris := student(t, s, "boris@example.ru", true)
	borisC := s.NewClient(t)
	borisC.Login(boris.Email, pw)
	borisB := book(t, borisC, sl)
	borisAcc := waitAccess(t, borisC, borisB)

	annaLogin, annaPass := fmt.Sprint(annaAcc["login"]), fmt.Sprint(annaAcc["password"])
	borisLogin, borisPass := fmt.Sprint(borisAcc["login"]), fmt.Sprint(borisAcc["password"])
	if annaLogin == borisLogin || (annaLogin != a1 && annaLogin != a2) || (borisLogin != a1 && borisLogin != a2) {
		t.Fatalf("seats: anna %s, boris %s, pool %s-%s", annaLogin, borisLogin, a1, a2)
	}
	if annaAcc["host"] != "rdp.school.example" {
		t.Fatalf("the student is shown host %v, want the server_host", annaAcc["host"])
	}
	if !d.LoginWorks(t, annaLogin, ssh.Password(annaPass)) || !d.LoginWorks(t, borisLogin, ssh.Password(borisPass)) {
		t.Fatal("a granted password does not log in during the booking")
	}

	// A third student finds no seat left: the slot is full, the rules say so.
	vera := student(t, s, "vera@example.ru", true)
	veraC := s.NewClient(t)
	veraC.Login(vera.Email, pw)
	if st, m := veraC.Do("POST", "/api/v1/bookings", map[string]any{"slot_id": sl.ID}); st != http.StatusConflict || m["error"] != booksmeta.CodeSlotFull {
		t.Fatalf("third booking of a two-seat slot: %d %v", st, m)
	}

	// Boris cancels (the admin does it for him, inside the cut-off): his
	// account closes at once, Anna's stays open.
	if st, m := admin(t, s).Do("POST", fmt.Sprintf("/api/v1/admin/bookings/%d/cancel", borisB), map[string]string{"reason": "по просьбе ученика"}); st != http.StatusOK {
		t.Fatalf("admin cancel: %d %v", st, m)
	}
	waitState(t, s, borisB, booksmeta.GrantRevoked)
	if d.LoginWorks(t, borisLogin, ssh.Password(borisPass)) {
		t.Fatal("the cancelled booking's password still logs in")
	}
	if !d.LoginWorks(t, annaLogin, ssh.Password(annaPass)) {
		t.Fatal("cancelling one seat closed the other")
	}

	// The slot ends.
	s.Clock.Set(sl.EndsAt)
	if err := s.Grants.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	waitState(t, s, annaB, booksmeta.GrantRevoked)
	if d.LoginWorks(t, annaLogin, ssh.Password(annaPass)) {
		t.Fatal("the password logs in after the booking ended")
	}
	if st, _ := accessOf(t, annaC, annaB); st == http.StatusOK {
		t.Fatal("access is shown after the slot")
	}
	g, err := s.Store.LatestGrant(ctx, annaB)
	if err != nil || g.Credentials != "" {
		t.Fatalf("the revoked grant keeps its sealed credentials: %v %q", err, g.Credentials)
	}
}

// A server whose host key is not the pinned one is refused: nothing is
// granted, the admin sees the reason, the student sees access being
// prepared.
func TestSSHWrongHostKeyRefused(t *testing.T) {
	d := accesstest.StartSSHD(t, "")
	other := accesstest.StartSSHD(t, "")
	pre := accesstest.TestPrefix()
	accesstest.AddUser(t, pre+"01")
	s := start(t, map[string]string{
		access.KeyProvider: access.SSH, access.KeySSHHost: "127.0.0.1", access.KeySSHPort: strconv.Itoa(d.Port),
		access.KeySSHUser: "root", access.KeySSHPrivateKey: d.ClientPEM, access.KeySSHHostKey: other.HostLine,
		access.KeySSHPreset: access.PresetLinux, access.KeyAccounts: pre + "01",
	})
	sl := slot(t, s, s.Clock.Now().Add(5*time.Minute), time.Hour, 1)
	admin(t, s)
	boss, err := s.Store.UserByEmail(context.Background(), "boss@school.example")
	if err != nil {
		t.Fatal(err)
	}
	anna := student(t, s, "anna@example.ru", true)
	c := s.NewClient(t)
	c.Login(anna.Email, pw)
	id := book(t, c, sl)
	var g *booksmeta.AccessGrant
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if g, _ = s.Store.LatestGrant(context.Background(), id); g != nil && g.LastError != "" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if g == nil || g.State != booksmeta.GrantPending || g.LastError == "" {
		t.Fatalf("grant against a wrong host key: %+v", g)
	}
	if !strings.Contains(strings.ToLower(g.LastError), "ключ") {
		t.Fatalf("the admin's reason does not speak of the host key: %q", g.LastError)
	}
	if st, m := accessOf(t, c, id); st != http.StatusConflict || m["error"] != booksmeta.CodeAccessPending {
		t.Fatalf("student's access: %d %v", st, m)
	}
	// Retrying cannot fix a wrong key: the admins are told at once, and
	// once, however many retries follow.
	apptest.WaitFor(t, 15*time.Second, "more attempts", func() bool {
		g, _ := s.Store.LatestGrant(context.Background(), id)
		return g != nil && g.Attempts >= 3
	})
	mails, err := s.Store.MailByUser(context.Background(), boss.ID)
	if err != nil {
		t.Fatal(err)
	}
	alerts := 0
	for _, m := range mails {
		if m.Kind == "access_alert" {
			alerts++
		}
	}
	if alerts != 1 {
		t.Fatalf("%d access alerts to the admin, want 1", alerts)
	}
}
