package securitytest

import (
	"database/sql"
	"net/http"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/app"
	"booksmeta/internal/apptest"
	"booksmeta/internal/dbtest"
	"booksmeta/internal/store"
)

// TestHealthzNeedsWrites: while another process holds the database's write
// lock, a ping still answers but no payment could be stored: /healthz says
// 503 with a reason (it used to say ok).
func TestHealthzNeedsWrites(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	if st, body := s.Do(t, "GET", "/healthz", nil, ""); st != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("healthy: %d %s", st, body)
	}
	var other *sql.DB
	var err error
	if dbtest.Postgres() {
		other = s.DB.Write
	} else {
		other, err = sql.Open("sqlite", "file:"+s.DB.Path+"?_txlock=immediate&_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
	}
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if dbtest.Postgres() {
		if _, err := tx.Exec(`LOCK TABLE settings IN EXCLUSIVE MODE`); err != nil {
			t.Fatal(err)
		}
	}
	st, body := s.Do(t, "GET", "/healthz", nil, "")
	if st != http.StatusServiceUnavailable || !strings.Contains(body, "не принимает записи") {
		t.Fatalf("database not writable: %d %s", st, body)
	}
	tx.Rollback()
	if st, _ := s.Do(t, "GET", "/healthz", nil, ""); st != 200 {
		t.Fatalf("after the lock is released: %d", st)
	}
}

// TestMetricsToken: with BOOKSMETA_METRICS_TOKEN set, /metrics wants it as
// a bearer token; without the setting it stays open.
func TestMetricsToken(t *testing.T) {
	open := apptest.Start(t, apptest.Options{})
	if st, _ := open.Do(t, "GET", "/metrics", nil, ""); st != 200 {
		t.Fatalf("metrics without a token setting: %d", st)
	}
	s := apptest.Start(t, apptest.Options{Env: map[string]string{"BOOKSMETA_METRICS_TOKEN": "metrics-token-123"}})
	for _, h := range []string{"", "Bearer wrong", "metrics-token-123", "Bearer metrics-token-1234"} {
		hdr := http.Header{}
		if h != "" {
			hdr.Set("Authorization", h)
		}
		if st, body := s.Do(t, "GET", "/metrics", hdr, ""); st != http.StatusUnauthorized || strings.Contains(body, "go_goroutines") {
			t.Fatalf("Authorization %q: %d", h, st)
		}
	}
	if st, body := s.Do(t, "GET", "/metrics", http.Header{"Authorization": {"Bearer metrics-token-123"}}, ""); st != 200 || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("right token: %d", st)
	}
}

// TestExpiredSessionsPruned: the periodic prune_sessions job deletes
// expired sessions (nothing called PruneSessions before) and keeps live ones.
func TestExpiredSessionsPruned(t *testing.T) {
	s := apptest.Start(t, apptest.Options{NoJobs: true})
	u, err := s.Accounts.EnsureSuperAdmin(ctx, "boss@example.ru", "password123")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		for id, exp := range map[string]time.Time{"expired": now.Add(-time.Hour), "live": now.Add(time.Hour)} {
			if err := tx.InsertSession(ctx, &store.Session{ID: id, UserID: u.ID, CSRFToken: "x", ExpiresAt: exp}, "", ""); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.Jobs.EnqueuePeriodic(ctx)
	for s.Jobs.RunOne(ctx, "test") {
	}
	var ids []string
	rows, err := s.DB.Read.Query(`SELECT id FROM sessions ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	if strings.Join(ids, ",") != "live" {
		t.Fatalf("sessions after %s: %v", app.PruneSessionsJob, ids)
	}
}
