package cli_test

import (
	"strings"
	"testing"

	"booksmeta/internal/dbtest"
)

// TestBenchEnrol runs the enrol benchmark briefly, signed and with the
// secret in the query: every acknowledged payment's welcome mail reaches the
// benchmark's SMTP server and the figures are printed. How fast is for
// BENCHMARKS.md, not for a test.
func TestBenchEnrol(t *testing.T) {
	w := newWorld(t)
	for _, extra := range [][]string{nil, {"--secret-in-query"}} {
		args := append([]string{"bench", "enrol", "--rate", "20", "--duration", "1s", "--database", dbtest.URL(t)}, extra...)
		r := w.mustRun("", args...)
		for _, want := range []string{"платежей 20  подтверждено 20  отклонено 0  приветственных писем 20", "зачисление  всего 20  p50 ", "цель p99 < 2s"} {
			if !strings.Contains(r.stdout, want) {
				t.Fatalf("%v: no %q in:\n%s", args, want, r.stdout)
			}
		}
	}
	if r := w.run("", "bench", "enrol", "--rate", "0"); r.code != 2 {
		t.Fatalf("--rate 0: exit %d", r.code)
	}
}
