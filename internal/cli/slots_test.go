package cli_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/cli"
	"booksmeta/internal/dbtest"
)

func TestSlotsGenerate(t *testing.T) {
	env := map[string]string{
		"BOOKSMETA_DATABASE_URL": dbtest.URL(t),
		"BOOKSMETA_SECRET_KEY":   "test-secret-key",
		"BOOKSMETA_TIMEZONE":     "Europe/Moscow",
	}
	dotenv := filepath.Join(t.TempDir(), "none.env")
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := cli.Run(context.Background(), &cli.Env{Args: args, Getenv: func(k string) string { return env[k] },
			Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(""), Dotenv: dotenv})
		return code, out.String(), errb.String()
	}
	loc, _ := time.LoadLocation("Europe/Moscow")
	mon := time.Now().In(loc).AddDate(0, 0, 8)
	for mon.Weekday() != time.Monday {
		mon = mon.AddDate(0, 0, 1)
	}
	from := mon.Format("2006-01-02")
	code, out, errs := run("slots", "generate", "--from", from, "--weeks", "2")
	if code != 0 || !strings.HasPrefix(out, "создано слотов: 80\n") {
		t.Fatalf("first run: %d %q %q", code, out, errs)
	}
	code, out, _ = run("slots", "generate", "--from", from, "--weeks", "2")
	if code != 0 || !strings.HasPrefix(out, "создано слотов: 0\n") {
		t.Fatalf("re-run: %d %q", code, out)
	}
	for _, bad := range [][]string{
		{"slots", "generate", "--from", "01.12.2026", "--weeks", "1"},
		{"slots", "generate", "--weeks", "99"},
		{"slots"},
		{"slots", "generate", "extra"},
	} {
		code, _, errs := run(bad...)
		if code != 2 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || errs == "" {
			t.Fatalf("%v: exit %d, stderr %q", bad, code, errs)
		}
	}
}
