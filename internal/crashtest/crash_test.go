package crashtest

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"booksmeta/internal/dbtest"
	"booksmeta/internal/password"
)

func migrate(t *testing.T, dir, dbURL string) {
	t.Helper()
	cmd := exec.Command(binary, "migrate")
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), "BOOKSMETA_DATABASE_URL="+dbURL, "BOOKSMETA_SECRET_KEY=crash-test-key")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
}

// resendAll re-delivers every acknowledged event; each must be recognised
// as already stored.
func resendAll(t *testing.T, url string, emails []string) {
	t.Helper()
	var wg sync.WaitGroup
	var bad atomic.Int64
	var first atomic.Value
	ch := make(chan string)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range ch {
				if a, ok := sendEvent(url, e); !ok || !a.Duplicate {
					bad.Add(1)
					first.CompareAndSwap(nil, e)
				}
			}
		}()
	}
	for _, e := range emails {
		ch <- e
	}
	close(ch)
	wg.Wait()
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d of %d acknowledged events were lost or not recognised as duplicates (e.g. %v)", n, len(emails), first.Load())
	}
}

// TestKillDuringWebhookLoad: SIGKILL the server while 16 senders post
// webhooks; after a restart every event that got a 200 is stored (a resend
// is a duplicate) and is processed.
func TestKillDuringWebhookLoad(t *testing.T) {
	dir, dbURL := t.TempDir(), dbtest.URL(t)
	s := start(t, dir, dbURL)
	stop := make(chan struct{})
	var acked []string
	done := make(chan struct{})
	go func() { acked = load([]string{s.url}, 16, stop); close(done) }()
	time.Sleep(1500 * time.Millisecond)
	s.kill()
	time.Sleep(200 * time.Millisecond)
	close(stop)
	<-done
	if len(acked) < 50 {
		t.Fatalf("only %d events acknowledged before the kill: the load did not run\n%s", len(acked), s.logs)
	}
	t.Logf("%d events acknowledged before SIGKILL", len(acked))

	s2 := start(t, dir, dbURL)
	resendAll(t, s2.url, acked)
	rdb := openDB(t, dbURL)
	waitFor(t, 90*time.Second, "every accepted event processed", func() (bool, string) {
		var pending, users int
		rdb.QueryRow(`SELECT COUNT(*) FROM webhook_events WHERE outcome = 'accepted' AND state <> 'done'`).Scan(&pending)
		rdb.QueryRow(`SELECT COUNT(*) FROM users WHERE email IN (` + quote(acked) + `)`).Scan(&users)
		return pending == 0 && users == len(acked), fmt.Sprintf("%d not processed, %d of %d students", pending, users, len(acked))
	})
	var welcome int
	rdb.QueryRow(`SELECT COUNT(*) FROM mail_outbox WHERE kind = 'welcome'`).Scan(&welcome)
	var accepted int
	rdb.QueryRow(`SELECT COUNT(*) FROM webhook_events WHERE outcome = 'accepted'`).Scan(&accepted)
	if welcome != accepted {
		t.Fatalf("%d welcome mails for %d accepted payments: processing ran twice or not at all", welcome, accepted)
	}
}

// TestKillDuringBookings: SIGKILL the server while students race for slots
// of capacity 2; after a restart no slot is over capacity and every slot's
// counter matches its active bookings.
func TestKillDuringBookings(t *testing.T) {
	dir, dbURL := t.TempDir(), dbtest.URL(t)
	migrate(t, dir, dbURL)
	wdb := openWriteDB(t, dbURL)
	hash := password.HashWith("crash-password", password.Params{Time: 1, Memory: 1024, Threads: 1})
	now := time.Now().UnixMilli()
	const students, slots = 24, 30
	for i := range students {
		if _, err := wdb.Exec(`INSERT INTO users (email, role, password_hash, paid, active, booking_limit, created_at, updated_at)
			VALUES ($1, 'student', $2, TRUE, TRUE, 1000, $3, $3)`, fmt.Sprintf("b%d@crash.example.ru", i), hash, now); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Now().Add(48 * time.Hour).Truncate(time.Hour)
	for i := range slots {
		st := base.Add(time.Duration(i) * time.Hour)
		if _, err := wdb.Exec(`INSERT INTO slots (starts_at, ends_at, capacity, created_at, updated_at) VALUES ($1,$2,2,$3,$3)`,
			st.UnixMilli(), st.Add(time.Hour).UnixMilli(), now); err != nil {
			t.Fatal(err)
		}
	}
	var first int64
	wdb.QueryRow("SELECT MIN(id) FROM slots").Scan(&first)
	s := start(t, dir, dbURL)
	type student struct {
		c    *http.Client
		csrf string
	}
	var ss []student
	for i := range students {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		resp, err := c.Post(s.url+"/api/v1/auth/login", "application/json", strings.NewReader(fmt.Sprintf(`{"email":"b%d@crash.example.ru","password":"crash-password"}`, i)))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("login: %v %v", err, resp)
		}
		var body struct {
			CSRF string `json:"csrf_token"`
		}
		decode(resp, &body)
		ss = append(ss, student{c, body.CSRF})
	}
	stop := make(chan struct{})
	var made atomic.Int64
	var wg sync.WaitGroup
	for i, st := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", s.url+"/api/v1/bookings", strings.NewReader(fmt.Sprintf(`{"slot_id":%d}`, first+int64((i/3+n)%slots))))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-CSRF-Token", st.csrf)
				resp, err := st.c.Do(req)
				if err != nil {
					continue
				}
				if resp.StatusCode == 201 {
					made.Add(1)
				}
				resp.Body.Close()
			}
		}()
	}
	time.Sleep(time.Second)
	s.kill()
	close(stop)
	wg.Wait()
	if made.Load() == 0 {
		t.Fatalf("no booking was made before the kill\n%s", s.logs)
	}
	start(t, dir, dbURL)
	rdb := openDB(t, dbURL)
	var over, drift, active int
	rdb.QueryRow(`SELECT COUNT(*) FROM slots WHERE booked > capacity`).Scan(&over)
	rdb.QueryRow(`SELECT COUNT(*) FROM slots s WHERE s.booked <> (SELECT COUNT(*) FROM bookings b WHERE b.slot_id = s.id AND b.status = 'active')`).Scan(&drift)
	rdb.QueryRow(`SELECT COUNT(*) FROM bookings WHERE status = 'active'`).Scan(&active)
	if over != 0 || drift != 0 {
		t.Fatalf("after the crash: %d slots over capacity, %d slots whose counter drifted", over, drift)
	}
	if active < int(made.Load()) {
		t.Fatalf("%d bookings were confirmed with 201 but only %d are stored", made.Load(), active)
	}
	t.Logf("%d bookings confirmed before SIGKILL, %d stored", made.Load(), active)
}

// TestTwoInstancesOnPostgres: two serve processes share one PostgreSQL;
// webhooks go to both (the same events to both, too), one is killed under
// load; nothing acknowledged is lost, nothing is processed twice, and the
// periodic jobs ran once, not once per instance.
func TestTwoInstancesOnPostgres(t *testing.T) {
	if !dbtest.Postgres() {
		t.Skip("several instances need PostgreSQL: set " + dbtest.EnvPostgres)
	}
	dir, dbURL := t.TempDir(), dbtest.URL(t)
	migrate(t, dir, dbURL)
	a, b := start(t, dir, dbURL), start(t, dir, dbURL)
	stop := make(chan struct{})
	var acked []string
	done := make(chan struct{})
	go func() { acked = load([]string{a.url, b.url}, 16, stop); close(done) }()
	// The same 50 events delivered to both instances at once.
	var wg sync.WaitGroup
	for i := range 50 {
		for _, u := range []string{a.url, b.url} {
			wg.Add(1)
			go func() { defer wg.Done(); sendEvent(u, fmt.Sprintf("both-%d@crash.example.ru", i)) }()
		}
	}
	wg.Wait()
	time.Sleep(time.Second)
	a.kill()
	time.Sleep(time.Second)
	close(stop)
	<-done
	resendAll(t, b.url, acked)
	rdb := openDB(t, dbURL)
	waitFor(t, 90*time.Second, "every accepted event processed", func() (bool, string) {
		var pending int
		rdb.QueryRow(`SELECT COUNT(*) FROM webhook_events WHERE outcome = 'accepted' AND state <> 'done'`).Scan(&pending)
		return pending == 0, fmt.Sprintf("%d not processed", pending)
	})
	var users, both, welcome, accepted, prune int
	rdb.QueryRow(`SELECT COUNT(*) FROM users WHERE email IN (` + quote(acked) + `)`).Scan(&users)
	rdb.QueryRow(`SELECT COUNT(*) FROM users WHERE email LIKE 'both-%'`).Scan(&both)
	rdb.QueryRow(`SELECT COUNT(*) FROM mail_outbox WHERE kind = 'welcome'`).Scan(&welcome)
	rdb.QueryRow(`SELECT COUNT(*) FROM webhook_events WHERE outcome = 'accepted'`).Scan(&accepted)
	rdb.QueryRow(`SELECT COUNT(*) FROM jobs WHERE kind = 'prune_jobs'`).Scan(&prune)
	if users != len(acked) || both != 50 || welcome != accepted || prune != 1 {
		t.Fatalf("students %d/%d, double-delivered %d/50, welcome mails %d for %d events, prune_jobs runs %d (want 1)",
			users, len(acked), both, welcome, accepted, prune)
	}
}

// TestGracefulShutdown: SIGTERM under load stops accepting, finishes what is
// in flight and exits 0 within 10 s; every acknowledged event is stored.
func TestGracefulShutdown(t *testing.T) {
	dir, dbURL := t.TempDir(), dbtest.URL(t)
	s := start(t, dir, dbURL)
	stop := make(chan struct{})
	var acked []string
	done := make(chan struct{})
	go func() { acked = load([]string{s.url}, 8, stop); close(done) }()
	time.Sleep(time.Second)
	began := time.Now()
	s.cmd.Process.Signal(syscall.SIGTERM)
	err := s.cmd.Wait()
	took := time.Since(began)
	close(stop)
	<-done
	if err != nil || took > 10*time.Second {
		t.Fatalf("exit after SIGTERM: %v after %s\n%s", err, took, s.logs)
	}
	t.Logf("stopped in %s after SIGTERM; %d events acknowledged", took.Round(time.Millisecond), len(acked))
	s2 := start(t, dir, dbURL)
	resendAll(t, s2.url, acked)
}
