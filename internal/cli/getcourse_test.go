package cli_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/cli"
	"booksmeta/internal/db"
	"booksmeta/internal/dbtest"
	"booksmeta/internal/getcourse/getcoursetest"
	"booksmeta/internal/store"
	"booksmeta/internal/syncbuf"
)

// gcRun runs one command with env as the whole environment.
func gcRun(t *testing.T, ctx context.Context, env map[string]string, ready func(string), args ...string) (int, string, string) {
	t.Helper()
	var out, errb syncbuf.Buffer
	code := cli.Run(ctx, &cli.Env{
		Args:   args,
		Getenv: func(k string) string { return env[k] },
		Stdin:  strings.NewReader(""),
		Stdout: &out,
		Stderr: &errb,
		Dotenv: filepath.Join(t.TempDir(), "absent.env"),
		Ready:  ready,
	})
	return code, out.String(), errb.String()
}

func gcEnv(t *testing.T, apiURL, key string) map[string]string {
	return map[string]string{
		"BOOKSMETA_DATABASE_URL": dbtest.URL(t),
		// Set so that no key file lands in the package folder on PostgreSQL.
		"BOOKSMETA_SECRET_KEY": "cli-test-secret-key",
		"GETCOURSE_API_URL":    apiURL,
		"GETCOURSE_API_KEY":    key,
	}
}

func oneLineReason(t *testing.T, stderr string, want ...string) {
	t.Helper()
	s := strings.TrimRight(stderr, "\n")
	if s == "" || strings.Contains(s, "\n") {
		t.Fatalf("want a one-line reason on stderr, got %q", stderr)
	}
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Fatalf("stderr %q does not mention %q", s, w)
		}
	}
}

func TestGetCourseTestCommand(t *testing.T) {
	fake := getcoursetest.New(getcoursetest.WithKey("cli-gc-key-123"), getcoursetest.WithGroups("Ученики"))
	defer fake.Close()
	ctx := context.Background()

	code, out, errOut := gcRun(t, ctx, gcEnv(t, fake.URL(), "cli-gc-key-123"), nil, "getcourse", "test")
	if code != 0 || !strings.Contains(out, "Подключение к GetCourse работает") || errOut != "" {
		t.Fatalf("ok: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}

	code, out, errOut = gcRun(t, ctx, gcEnv(t, fake.URL(), "wrong-key"), nil, "getcourse", "test")
	if code != 1 || out != "" {
		t.Fatalf("wrong key: exit %d stdout %q", code, out)
	}
	oneLineReason(t, errOut, "GetCourse не принял API-ключ", "Настройки аккаунта → API")
	if strings.Contains(errOut, "wrong-key") {
		t.Fatalf("the key is printed: %q", errOut)
	}

	code, _, errOut = gcRun(t, ctx, gcEnv(t, "", ""), nil, "getcourse", "test")
	if code != 1 {
		t.Fatalf("not configured: exit %d", code)
	}
	oneLineReason(t, errOut, "Не указан аккаунт GetCourse")

	if code, _, _ := gcRun(t, ctx, gcEnv(t, "", ""), nil, "getcourse"); code != 2 {
		t.Fatalf("getcourse without a subcommand: exit %d", code)
	}
}

func TestGetCourseSyncCommand(t *testing.T) {
	fake := getcoursetest.New(getcoursetest.WithKey("cli-gc-key-123"), getcoursetest.WithDeals(
		getcoursetest.Deal{UserEmail: "anna@example.ru", Title: "10 часов", Status: "payed", Cost: 1200000, CreatedAt: time.Now().Add(-2 * time.Hour)},
		getcoursetest.Deal{UserEmail: "petr@example.ru", Title: "5 часов", Status: "payed", Cost: 600000, CreatedAt: time.Now().Add(-3 * time.Hour)},
	))
	defer fake.Close()
	ctx := context.Background()
	env := gcEnv(t, fake.URL(), "cli-gc-key-123")

	code, out, errOut := gcRun(t, ctx, env, nil, "getcourse", "sync", "--poll", "10ms")
	if code != 0 || errOut != "" {
		t.Fatalf("sync: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	for _, want := range []string{"Аккаунт GetCourse", "Выгрузка №", "ещё готовится", "оплаченных заказов — 2", "новых — 2", "Применено событий: 2"} {
		if !strings.Contains(out, want) {
			t.Fatalf("stdout lacks %q:\n%s", want, out)
		}
	}
	d, err := db.Open(ctx, env["BOOKSMETA_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	st := store.New(d)
	for _, email := range []string{"anna@example.ru", "petr@example.ru"} {
		u, err := st.UserByEmail(ctx, email)
		if err != nil || !u.Paid || !u.Active {
			t.Fatalf("%s: %+v %v", email, u, err)
		}
	}

	code, out, _ = gcRun(t, ctx, env, nil, "getcourse", "sync", "--poll", "10ms")
	if code != 0 || !strings.Contains(out, "новых — 0, уже учтённых раньше — 2") {
		t.Fatalf("re-run: exit %d\n%s", code, out)
	}

	// GetCourse's own limit: exit 1 with the reason; the export is kept.
	fake.SetRateLimit(1, 2*time.Hour)
	code, _, errOut = gcRun(t, ctx, env, nil, "getcourse", "sync", "--poll", "10ms")
	if code != 1 {
		t.Fatalf("rate limited: exit %d", code)
	}
	oneLineReason(t, errOut, "100 запросов", "сохранена")
}

// TestDevFakeGetCourse starts the demo server and points the connection test
// at it, with the URL and key the command prints.
func TestDevFakeGetCourse(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	var out, errOut string
	done := make(chan int, 1)
	go func() {
		var code int
		code, out, errOut = gcRun(t, ctx, nil, func(a string) { addr <- a }, "dev", "fake-getcourse", "--addr", "127.0.0.1:0")
		done <- code
	}()
	var a string
	select {
	case a = <-addr:
	case code := <-done:
		t.Fatalf("dev fake-getcourse exited %d: %s", code, errOut)
	case <-time.After(10 * time.Second):
		t.Fatal("dev fake-getcourse did not start")
	}
	api := "http://" + a + "/pl/api"
	code, vout, verr := gcRun(t, context.Background(), gcEnv(t, api, "demo-secret-key"), nil, "getcourse", "test")
	if code != 0 || !strings.Contains(vout, "Групп в аккаунте: 2") {
		t.Fatalf("test against the demo: exit %d %q %q", code, vout, verr)
	}
	code, _, verr = gcRun(t, context.Background(), gcEnv(t, api, "demo-read-only-key"), nil, "getcourse", "test")
	if code != 0 {
		t.Fatalf("read-only key must pass the connection test: %q", verr)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("dev fake-getcourse exit %d: %s", code, errOut)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("dev fake-getcourse did not stop")
	}
	for _, want := range []string{"GETCOURSE_API_URL=" + api, "GETCOURSE_API_KEY=demo-secret-key", "demo-read-only-key"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
}
