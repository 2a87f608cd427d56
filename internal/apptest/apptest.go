// Package apptest starts a whole Book Smeta (database, jobs, HTTP) for
// end-to-end tests, on SQLite or PostgreSQL as dbtest decides.
package apptest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/app"
	"booksmeta/internal/clocktest"
	"booksmeta/internal/config"
	"booksmeta/internal/dbtest"
	"booksmeta/internal/password"
	"booksmeta/internal/syncbuf"
)

// Server is a running app.
type Server struct {
	*app.App
	URL  string
	HTTP *httptest.Server
	// Clock is the app's clock: Set, Advance and Real move it while the
	// app runs, safely for its workers.
	Clock *clocktest.Clock
}

// Options adjust the app.
type Options struct {
	Env map[string]string
	// NoJobs leaves background workers stopped so tests drive them with RunOne.
	NoJobs bool
	// Log receives the app's log (JSON lines); nil discards it.
	Log *syncbuf.Buffer
	// Clock is the app's clock; nil gives one that follows the system clock.
	Clock *clocktest.Clock
	// Setup changes parts after Open, before HTTP and jobs start: the only
	// time a test may replace a part's field (a hook, a gate), since
	// handlers and workers read them unlocked once running.
	Setup func(*app.App)
}

// Start starts an app; everything stops when t ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	env := map[string]string{
		"BOOKSMETA_DATABASE_URL": dbtest.URL(t),
		"BOOKSMETA_SECRET_KEY":   "test-secret-key",
	}
	for k, v := range o.Env {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) string { return env[k] }, "")
	if err != nil {
		t.Fatal(err)
	}
	var w io.Writer = io.Discard
	if os.Getenv("BOOKSMETA_TEST_LOG") != "" {
		w = os.Stderr
	}
	var h slog.Handler = slog.NewTextHandler(w, nil)
	if o.Log != nil {
		h = slog.NewJSONHandler(io.MultiWriter(w, o.Log), &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	clk := o.Clock
	if clk == nil {
		clk = clocktest.New()
	}
	a, err := app.Open(context.Background(), cfg, slog.New(h), true, app.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	cheap := func(pw string) string { return password.HashWith(pw, password.Params{Time: 1, Memory: 64, Threads: 1}) }
	a.Accounts.Hash, a.Auth.Hash = cheap, cheap
	a.Jobs.Poll = 20 * time.Millisecond
	a.Jobs.BackoffBase = 10 * time.Millisecond
	a.Jobs.BackoffMax = 50 * time.Millisecond
	if o.Setup != nil {
		o.Setup(a)
	}
	hs := httptest.NewUnstartedServer(a.Handler())
	hs.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	if !o.NoJobs {
		go func() { a.Jobs.Run(ctx); close(done) }()
	} else {
		close(done)
	}
	t.Cleanup(func() {
		hs.Close()
		cancel()
		<-done
		a.Close()
	})
	return &Server{App: a, URL: hs.URL, HTTP: hs, Clock: clk}
}

// Do sends a request and returns status and body.
func (s *Server) Do(t testing.TB, method, path string, header http.Header, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// WaitFor polls cond until it holds or the timeout passes.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
