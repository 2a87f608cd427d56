package crashtest

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"booksmeta/internal/access/accesstest"
	"booksmeta/internal/apptest"
	"booksmeta/internal/dbtest"
	"booksmeta/internal/password"
)

// TestKillDuringSlotThenRestartRevokes: Book Smeta grants a pool account
// over SSH for a booking, is killed with SIGKILL during the slot, and is
// started again only after the slot ended. The account, still open while
// nothing ran, is closed by the restarted process: a crash never leaves
// access open.
func TestKillDuringSlotThenRestartRevokes(t *testing.T) {
	d := accesstest.StartSSHD(t, "")
	acct := accesstest.TestPrefix() + "01"
	accesstest.AddUser(t, acct)

	dir, dbURL := t.TempDir(), dbtest.URL(t)
	migrate(t, dir, dbURL)
	wdb := openWriteDB(t, dbURL)
	hash := password.HashWith("crash-password", password.Params{Time: 1, Memory: 1024, Threads: 1})
	now := time.Now()
	for _, u := range []struct{ email, role string }{{"boss@crash.example.ru", "super_admin"}, {"anna@crash.example.ru", "student"}} {
		if _, err := wdb.Exec(`INSERT INTO users (email, role, password_hash, paid, active, booking_limit, created_at, updated_at)
			VALUES ($1, $2, $3, TRUE, TRUE, 5, $4, $4)`, u.email, u.role, hash, now.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	// A slot that starts in 10 s and ends 12 s later; its access window is
	// open already (15 minutes before the start by default).
	starts, ends := now.Add(10*time.Second), now.Add(22*time.Second)
	var slotID int64
	if err := wdb.QueryRow(`INSERT INTO slots (starts_at, ends_at, capacity, created_at, updated_at) VALUES ($1,$2,1,$3,$3) RETURNING id`,
		starts.UnixMilli(), ends.UnixMilli(), now.UnixMilli()).Scan(&slotID); err != nil {
		t.Fatal(err)
	}

	s := start(t, dir, dbURL)
	boss := apptest.NewClientAt(t, s.url)
	boss.Login("boss@crash.example.ru", "crash-password")
	if st, m := boss.Do("PATCH", "/api/v1/admin/settings", map[string]string{
		"access_provider": "ssh", "access_ssh_host": "127.0.0.1", "access_ssh_port": strconv.Itoa(d.Port), "access_ssh_user": "root",
		"access_ssh_private_key": d.ClientPEM, "access_ssh_host_key": d.HostLine, "access_ssh_preset": "linux", "access_accounts": acct,
	}); st != http.StatusOK {
		t.Fatalf("settings: %d %v", st, m)
	}
	anna := apptest.NewClientAt(t, s.url)
	anna.Login("anna@crash.example.ru", "crash-password")
	st, m := anna.Do("POST", "/api/v1/bookings", map[string]any{"slot_id": slotID})
	if st != http.StatusCreated {
		t.Fatalf("book: %d %v", st, m)
	}
	bookingID := int64(m["id"].(float64))
	var pass string
	waitFor(t, 20*time.Second, "the grant", func() (bool, string) {
		st, m := anna.Do("GET", fmt.Sprintf("/api/v1/bookings/%d/access", bookingID), nil)
		pass, _ = m["password"].(string)
		return st == http.StatusOK, fmt.Sprint(st, m)
	})
	if !d.LoginWorks(t, acct, ssh.Password(pass)) {
		t.Fatal("the granted password does not log in during the slot")
	}

	s.kill()
	time.Sleep(time.Until(ends) + time.Second)
	if !d.LoginWorks(t, acct, ssh.Password(pass)) {
		t.Fatal("the account closed with nothing running: the test proves nothing")
	}
	start(t, dir, dbURL)
	waitFor(t, 30*time.Second, "the revoke after the restart", func() (bool, string) {
		return !d.LoginWorks(t, acct, ssh.Password(pass)), "the password still logs in"
	})
	rdb := openDB(t, dbURL)
	waitFor(t, 20*time.Second, "the revoke recorded", func() (bool, string) {
		var state string
		rdb.QueryRow(`SELECT state FROM access_grants WHERE booking_id = $1`, bookingID).Scan(&state)
		return state == "revoked", "grant state " + state
	})
}
