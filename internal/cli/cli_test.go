package cli_test

import (
	"booksmeta"

	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/accounts"
	"booksmeta/internal/cli"
	"booksmeta/internal/db"
	"booksmeta/internal/dbtest"
	"booksmeta/internal/password"
	"booksmeta/internal/store"
	"booksmeta/internal/syncbuf"
)

// result is one finished command.
type result struct {
	code           int
	stdout, stderr string
}

// world is one installation: a database and the environment that points at it.
type world struct {
	t   *testing.T
	env map[string]string
	url string
	// program is os.Args[0] as the commands see it; "" means on the PATH.
	program string
}

func newWorld(t *testing.T, extra ...string) *world {
	t.Helper()
	u := dbtest.URL(t)
	w := &world{t: t, url: u, env: map[string]string{
		"BOOKSMETA_DATABASE_URL": u,
		// Set so that no key file lands in the package folder on PostgreSQL.
		"BOOKSMETA_SECRET_KEY": "cli-test-secret-key",
		"BOOKSMETA_BASE_URL":   "https://book.example.ru",
	}}
	for i := 0; i+1 < len(extra); i += 2 {
		w.env[extra[i]] = extra[i+1]
	}
	return w
}

func (w *world) cliEnv(stdin string, args ...string) (*cli.Env, *syncbuf.Buffer, *syncbuf.Buffer) {
	var out, errb syncbuf.Buffer
	env := w.env
	return &cli.Env{
		Args:    args,
		Program: w.program,
		Getenv:  func(k string) string { return env[k] },
		Stdin:   strings.NewReader(stdin),
		Stdout:  &out,
		Stderr:  &errb,
		// Never the .env of whatever folder the tests run in.
		Dotenv: filepath.Join(w.t.TempDir(), "absent.env"),
	}, &out, &errb
}

func (w *world) run(stdin string, args ...string) result {
	w.t.Helper()
	e, out, errb := w.cliEnv(stdin, args...)
	code := cli.Run(context.Background(), e)
	return result{code, out.String(), errb.String()}
}

func (w *world) mustRun(stdin string, args ...string) result {
	w.t.Helper()
	r := w.run(stdin, args...)
	if r.code != 0 {
		w.t.Fatalf("booksmeta %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// store opens the world's database directly (it must be migrated).
func (w *world) store() *store.Store {
	w.t.Helper()
	d, err := db.Open(context.Background(), w.url)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { d.Close() })
	return store.New(d)
}

func cheapAccounts(st *store.Store) *accounts.Service {
	a := accounts.New(st)
	a.Hash = func(pw string) string { return password.HashWith(pw, password.Params{Time: 1, Memory: 64, Threads: 1}) }
	return a
}

// oneLine checks SPEC §1: a failure is a one-line reason on stderr.
func oneLine(t *testing.T, stderr string, want ...string) {
	t.Helper()
	s := strings.TrimRight(stderr, "\n")
	if s == "" || strings.Contains(s, "\n") {
		t.Errorf("want a one-line reason on stderr, got %q", stderr)
	}
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("stderr %q does not mention %q", s, w)
		}
	}
}

func TestSecret(t *testing.T) {
	t.Parallel()
	w := &world{t: t, env: map[string]string{}}
	hex64 := regexp.MustCompile(`^[0-9a-f]{64}\n$`)
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		r := w.mustRun("", "secret")
		if !hex64.MatchString(r.stdout) || r.stderr != "" {
			t.Fatalf("secret printed %q (stderr %q)", r.stdout, r.stderr)
		}
		if seen[r.stdout] {
			t.Fatal("secret repeated")
		}
		seen[r.stdout] = true
	}
	if r := w.run("", "secret", "extra"); r.code != 2 {
		t.Fatalf("secret with an argument: exit %d", r.code)
	}
}

func TestUnknownCommandAndUsage(t *testing.T) {
	t.Parallel()
	w := &world{t: t, env: map[string]string{}}
	r := w.run("", "frobnicate")
	if r.code != 2 || r.stdout != "" {
		t.Fatalf("unknown command: %+v", r)
	}
	oneLine(t, r.stderr, "frobnicate")
	if r := w.run(""); r.code != 2 || !strings.Contains(r.stdout, "serve") {
		t.Fatalf("no command: %+v", r)
	}
	r = w.run("", "help")
	if r.code != 0 {
		t.Fatalf("help: %+v", r)
	}
	for _, c := range []string{"serve", "migrate", "admin", "secret", "webhook"} {
		if !strings.Contains(r.stdout, c) {
			t.Errorf("help does not list %s", c)
		}
	}
	if r := w.run("", "admin", "delete"); r.code != 2 {
		t.Fatalf("admin delete: %+v", r)
	}
	if r := w.run("", "webhook"); r.code != 2 {
		t.Fatalf("webhook without send: %+v", r)
	}
	if r := w.run("", "migrate", "--no-such-flag"); r.code != 2 {
		t.Fatalf("bad flag: %+v", r)
	}
}

func TestBadConfigurationIsAOneLineError(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "BOOKSMETA_TIMEZONE", "Europe/Moskow", "MAIL_PORT", "abc")
	r := w.run("", "migrate")
	if r.code != 1 {
		t.Fatalf("exit %d", r.code)
	}
	oneLine(t, r.stderr, "Europe/Moskow", "MAIL_PORT")

	w = newWorld(t, "BOOKSMETA_DATABASE_URL", "mysql://root:hunter2@localhost/book_smeta")
	r = w.run("", "migrate")
	if r.code != 1 || strings.Contains(r.stderr, "hunter2") {
		t.Fatalf("mysql URL: %+v", r)
	}
	oneLine(t, r.stderr, "BOOKSMETA_DATABASE_URL")
}

func schemaVersion() int {
	if dbtest.Postgres() {
		return db.LatestVersion(db.Postgres)
	}
	return db.LatestVersion(db.SQLite)
}

func TestMigrateThenVersion(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	n := schemaVersion()
	if n < 1 {
		t.Fatal("no migrations embedded")
	}
	r := w.mustRun("", "version")
	if !strings.Contains(r.stdout, fmt.Sprintf("в базе 0, в программе %d", n)) {
		t.Fatalf("version before migrate: %q", r.stdout)
	}
	r = w.mustRun("", "migrate")
	if !strings.Contains(r.stdout, fmt.Sprintf("версии схемы %d", n)) {
		t.Fatalf("migrate printed %q", r.stdout)
	}
	r = w.mustRun("", "version")
	if !strings.Contains(r.stdout, fmt.Sprintf("в базе %d, в программе %d", n, n)) || !strings.Contains(r.stdout, "booksmeta ") {
		t.Fatalf("version printed %q", r.stdout)
	}
	// Migrating again is a no-op.
	if r := w.mustRun("", "migrate"); !strings.Contains(r.stdout, fmt.Sprintf("версии схемы %d", n)) {
		t.Fatalf("second migrate printed %q", r.stdout)
	}
}

func TestAdminCreateWithPasswordStdin(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.mustRun("first password 1\n", "admin", "create", "--email", "Owner@Example.RU", "--password-stdin")
	if !strings.Contains(r.stdout, "owner@example.ru") || !strings.Contains(r.stdout, "https://book.example.ru/login") {
		t.Fatalf("stdout %q", r.stdout)
	}
	st := w.store()
	u, err := st.UserByEmail(context.Background(), "owner@example.ru")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != booksmeta.RoleSuperAdmin || !u.Active || !password.Verify(u.PasswordHash, "first password 1") {
		t.Fatalf("admin %+v", u)
	}

	// Again: resets the password (no trailing newline, CRLF tolerated), one account.
	w.mustRun("second password 2\r\n", "admin", "create", "--email", "owner@example.ru", "--password-stdin")
	u, _ = st.UserByEmail(context.Background(), "owner@example.ru")
	if !password.Verify(u.PasswordHash, "second password 2") {
		t.Fatal("password not reset")
	}
	w.mustRun("third password 3", "admin", "create", "--email", "owner@example.ru", "--password-stdin")
	u, _ = st.UserByEmail(context.Background(), "owner@example.ru")
	if !password.Verify(u.PasswordHash, "third password 3") {
		t.Fatal("password without newline not taken")
	}
	if n, _ := st.CountAdmins(context.Background()); n != 1 {
		t.Fatalf("%d admins", n)
	}

	// Mistakes.
	if r := w.run("", "admin", "create", "--password-stdin"); r.code != 2 {
		t.Fatalf("no --email: %+v", r)
	} else {
		oneLine(t, r.stderr, "--email")
	}
	r = w.run("short\n", "admin", "create", "--email", "x@example.ru", "--password-stdin")
	if r.code != 1 {
		t.Fatalf("short password: %+v", r)
	}
	oneLine(t, r.stderr, "Пароль")
	r = w.run("", "admin", "create", "--email", "x@example.ru", "--password-stdin")
	if r.code != 1 {
		t.Fatalf("empty stdin: %+v", r)
	}
	oneLine(t, r.stderr, "на стандартном вводе нет пароля")
	r = w.run("long enough pw\n", "admin", "create", "--email", "not-an-email", "--password-stdin")
	if r.code != 1 {
		t.Fatalf("bad email: %+v", r)
	}
	oneLine(t, r.stderr, "Email")
	if _, err := st.UserByEmail(context.Background(), "x@example.ru"); err == nil {
		t.Fatal("a refused admin create made an account")
	}
}

var linkRE = regexp.MustCompile(`https://book\.example\.ru/set-password\?token=([A-Za-z0-9_-]+)`)

func TestAdminCreatePrintsAWorkingLink(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.mustRun("", "admin", "create", "--email", "boss@example.ru")
	m := linkRE.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no set-password link in %q", r.stdout)
	}
	acc := cheapAccounts(w.store())
	ctx := context.Background()
	u, err := acc.LinkUser(ctx, m[1])
	if err != nil || u.Email != "boss@example.ru" || u.Role != booksmeta.RoleSuperAdmin {
		t.Fatalf("LinkUser: %+v %v", u, err)
	}
	if _, err := acc.SetPasswordWithLink(ctx, m[1], "boss password 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := acc.LinkUser(ctx, m[1]); err == nil {
		t.Fatal("link works twice")
	}
	// A second run prints a new link; the old password stays until it is used.
	r = w.mustRun("", "admin", "create", "--email", "boss@example.ru")
	m2 := linkRE.FindStringSubmatch(r.stdout)
	if m2 == nil || m2[1] == m[1] {
		t.Fatalf("second link %q", r.stdout)
	}
	u, _ = acc.Store.UserByEmail(ctx, "boss@example.ru")
	if !password.Verify(u.PasswordHash, "boss password 1") {
		t.Fatal("printing a link reset the password")
	}
}

// server is `booksmeta serve` running in a goroutine.
type server struct {
	addr   string
	stdout *syncbuf.Buffer
	stderr *syncbuf.Buffer
	cancel context.CancelFunc
	done   chan struct{} // closed when serve returned, code then set
	code   int
}

func (w *world) serve() *server {
	w.t.Helper()
	e, out, errb := w.cliEnv("", "serve")
	ready := make(chan string, 1)
	e.Ready = func(addr string) { ready <- addr }
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{stdout: out, stderr: errb, cancel: cancel, done: make(chan struct{})}
	go func() { s.code = cli.Run(ctx, e); close(s.done) }()
	w.t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
		}
	})
	select {
	case s.addr = <-ready:
	case <-s.done:
		w.t.Fatalf("serve exited with %d before listening\nstdout: %s\nstderr: %s", s.code, out, errb)
	case <-time.After(15 * time.Second):
		w.t.Fatalf("serve did not become ready\nstderr: %s", errb)
	}
	return s
}

// stop cancels serve and reports how long it took to return, and its code.
func (s *server) stop(t *testing.T) (time.Duration, int) {
	t.Helper()
	start := time.Now()
	s.cancel()
	select {
	case <-s.done:
		return time.Since(start), s.code
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop within 10 s of cancel")
	}
	return 0, 0
}

type webhookAnswer struct {
	Success   bool   `json:"success"`
	EventID   string `json:"event_id"`
	Duplicate bool   `json:"duplicate"`
	Error     string `json:"error"`
}

// answer parses webhook send's output: "METHOD STATUS\nBODY".
func answer(t *testing.T, stdout string) (status string, a webhookAnswer) {
	t.Helper()
	first, body, _ := strings.Cut(stdout, "\n")
	if err := json.Unmarshal([]byte(strings.TrimSpace(body)), &a); err != nil {
		t.Fatalf("answer body is not JSON: %q", stdout)
	}
	return first, a
}

const whSecret = "3b8f0c2d4e6a8b0c1d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c"

func TestServeAndWebhookSend(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "BOOKSMETA_ADDR", "127.0.0.1:0", "GETCOURSE_WEBHOOK_SECRET", whSecret)
	srv := w.serve()
	if _, port, err := net.SplitHostPort(srv.addr); err != nil || port == "0" {
		t.Fatalf("Ready got %q", srv.addr)
	}
	base := "http://" + srv.addr

	// No administrator yet: serve printed a working one-time setup link.
	m := regexp.MustCompile(`https://book\.example\.ru/setup\?token=([A-Za-z0-9_-]+)`).FindStringSubmatch(srv.stdout.String())
	if m == nil {
		t.Fatalf("no setup link in stdout %q", srv.stdout)
	}
	acc := cheapAccounts(w.store())
	if !acc.SetupTokenValid(context.Background(), m[1]) {
		t.Fatal("printed setup token is not valid")
	}

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ok"`) {
		t.Fatalf("healthz %d %s", resp.StatusCode, body)
	}

	url := base + "/api/getcourse/webhook"
	// The secret comes from the configuration when --secret is not given.
	r := w.mustRun("", "webhook", "send", "--url", url, "--event", "user_payment", "--email", "student@example.ru", "--first-name", "Анна")
	status, a := answer(t, r.stdout)
	if !strings.Contains(status, "200") || !a.Success || a.Duplicate || a.EventID == "" {
		t.Fatalf("first send: %q", r.stdout)
	}
	r = w.mustRun("", "webhook", "send", "--url", url, "--event", "user_payment", "--email", "student@example.ru", "--first-name", "Анна")
	status, a2 := answer(t, r.stdout)
	if !strings.Contains(status, "200") || !a2.Success || !a2.Duplicate || a2.EventID != a.EventID {
		t.Fatalf("second identical send: %q (first id %s)", r.stdout, a.EventID)
	}

	// With --secret given explicitly, and as the GET a GetCourse process makes.
	r = w.mustRun("", "webhook", "send", "--url", url, "--secret", whSecret, "--event", "test", "--id", "evt-cli-1")
	if status, a := answer(t, r.stdout); !strings.Contains(status, "200") || a.Duplicate {
		t.Fatalf("explicit secret: %q", r.stdout)
	}
	r = w.mustRun("", "webhook", "send", "--url", url, "--get", "--event", "user_registered", "--email", "get@example.ru")
	if status, _ := answer(t, r.stdout); !strings.HasPrefix(status, "GET ") || !strings.Contains(status, "200") {
		t.Fatalf("GET send: %q", r.stdout)
	}

	// A wrong secret: 401 shown, exit 1, one-line reason.
	r = w.run("", "webhook", "send", "--url", url, "--secret", "wrong-secret", "--event", "test")
	status, a = answer(t, r.stdout)
	if r.code != 1 || !strings.Contains(status, "401") || a.Success || a.Error != "invalid_signature" {
		t.Fatalf("wrong secret: %+v", r)
	}
	oneLine(t, r.stderr, "401")

	// The paid student really landed in the database (processed in the background).
	st := w.store()
	deadline := time.Now().Add(5 * time.Second)
	for {
		u, err := st.UserByEmail(context.Background(), "student@example.ru")
		if err == nil && u.Paid && u.Active && u.FirstName == "Анна" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("student not created by the webhook: %+v %v", u, err)
		}
		time.Sleep(10 * time.Millisecond)
	}

	took, code := srv.stop(t)
	if code != 0 || took > 5*time.Second {
		t.Fatalf("serve stopped with %d after %v\nstderr: %s", code, took, srv.stderr)
	}
	if _, err := net.DialTimeout("tcp", srv.addr, time.Second); err == nil {
		t.Fatal("still listening after stop")
	}

	// Nobody listening: a clear failure.
	r = w.run("", "webhook", "send", "--url", url, "--event", "test")
	if r.code != 1 {
		t.Fatalf("send to a stopped server: %+v", r)
	}
	oneLine(t, r.stderr, "нет связи с")
}

func TestServeStopsPromptlyWithAnOpenConnection(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "BOOKSMETA_ADDR", "127.0.0.1:0")
	w.mustRun("admin password 1\n", "admin", "create", "--email", "admin@example.ru", "--password-stdin")
	srv := w.serve()
	if strings.Contains(srv.stdout.String(), "/setup?token=") {
		t.Fatalf("setup link printed although an admin exists: %q", srv.stdout)
	}
	// An idle keep-alive connection must not hold shutdown up.
	c := &http.Client{Transport: &http.Transport{}}
	resp, err := c.Get("http://" + srv.addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took, code := srv.stop(t)
	if code != 0 || took > 3*time.Second {
		t.Fatalf("serve stopped with %d after %v", code, took)
	}
}

func TestServeOnABusyPort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	w := newWorld(t, "BOOKSMETA_ADDR", ln.Addr().String())
	r := w.run("", "serve")
	if r.code != 1 {
		t.Fatalf("exit %d", r.code)
	}
	// serve logs to stderr too; the reason is the last line.
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	oneLine(t, lines[len(lines)-1], "booksmeta serve:", ln.Addr().String(), "уже занят", "BOOKSMETA_ADDR")
}
