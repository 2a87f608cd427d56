package cli_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

var latin = regexp.MustCompile(`[A-Za-z]{4,}`)

// Every message for people is Russian: refusals of the command line, the
// flag package's own errors, the help of a command's flags.
func TestMessagesAreRussian(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, "неизвестная команда «frobnicate»; список команд: booksmeta help"},
		{[]string{"admin", "create"}, "укажите --email"},
		{[]string{"admin", "delete"}, "как вызвать: booksmeta admin create"},
		{[]string{"migrate", "--no-such-flag"}, "нет флага --no-such-flag; флаги команды: booksmeta migrate -h"},
		{[]string{"slots", "generate", "--weeks", "много"}, "--weeks «много»: такое значение не подходит"},
		{[]string{"slots", "generate", "--weeks"}, "после --weeks нужно значение"},
		{[]string{"slots", "generate", "--weeks", "99"}, "--weeks — от 1 до 52"},
		{[]string{"secret", "extra"}, "лишний аргумент «extra»"},
		{[]string{"backup"}, "укажите --to ФАЙЛ"},
	} {
		r := w.run("", c.args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d", c.args, r.code)
		}
		oneLine(t, r.stderr, c.want)
		if strings.Contains(r.stderr, "flag provided") || strings.Contains(r.stderr, "usage") || strings.Contains(r.stderr, "required") {
			t.Errorf("%v: English left in %q", c.args, r.stderr)
		}
	}

	r := w.run("", "admin", "create", "-h")
	if r.code != 0 {
		t.Fatalf("-h: exit %d", r.code)
	}
	for _, want := range []string{"Использование: booksmeta admin create [флаги]", "--email ТЕКСТ", "адрес почты администратора (обязательно)", "--password-stdin"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("help lacks %q:\n%s", want, r.stderr)
		}
	}
	// Only the flag names and placeholders are Latin in the help.
	for _, line := range strings.Split(r.stderr, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "--") && latin.MatchString(strings.ReplaceAll(l, "booksmeta admin create", "")) {
			t.Errorf("English in help: %q", l)
		}
	}

	r = w.mustRun("", "migrate")
	if !strings.Contains(r.stdout, "база данных на версии схемы") {
		t.Errorf("migrate: %q", r.stdout)
	}
	r = w.mustRun("pass word 12\n", "admin", "create", "--email", "boss@example.ru", "--password-stdin")
	if !strings.Contains(r.stdout, "суперадминистратор boss@example.ru готов; войдите на https://book.example.ru/login") {
		t.Errorf("admin create: %q", r.stdout)
	}
}

// The banner suggests a command that works for the way serve was started,
// and stopping is told to people in Russian and to the log in English.
func TestServeBannerAndShutdown(t *testing.T) {
	t.Parallel()
	for program, want := range map[string]string{
		"/tmp/go-build3310/b001/exe/booksmeta": "или выполните: go run ./cmd/booksmeta admin create --email ВАШ_EMAIL",
		"./booksmeta":                          "или выполните: ./booksmeta admin create --email ВАШ_EMAIL",
		"booksmeta":                            "или выполните: booksmeta admin create --email ВАШ_EMAIL",
	} {
		w := newWorld(t, "BOOKSMETA_ADDR", "127.0.0.1:0")
		w.program = program
		srv := w.serve()
		out := srv.stdout.String()
		if !strings.Contains(out, want) || !strings.Contains(out, "Book Smeta запущен: https://book.example.ru") {
			t.Errorf("%s: banner:\n%s", program, out)
		}
		if _, code := srv.stop(t); code != 0 {
			t.Fatalf("serve exit %d", code)
		}
		errOut := srv.stderr.String()
		if !strings.HasSuffix(strings.TrimSpace(errOut), "Book Smeta остановлен.") {
			t.Errorf("no Russian stop line at the end of stderr:\n%s", errOut)
		}
		logged := false
		for _, line := range strings.Split(errOut, "\n") {
			var rec struct{ Msg string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "shutdown complete" {
				logged = true
			}
		}
		if !logged {
			t.Errorf("no JSON log line \"shutdown complete\":\n%s", errOut)
		}
	}
}
