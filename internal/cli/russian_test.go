package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
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
// a missing webhook secret is a warning to the person starting it, and
// stopping is told to people in Russian and to the log in English.
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
		// No webhook secret in this world: the person starting it is told, in Russian, where to set one.
		if !strings.Contains(errOut, "Внимание: webhook-секрет не задан") || !strings.Contains(errOut, "Настройки → GetCourse API") {
			t.Errorf("no Russian warning about the missing webhook secret:\n%s", errOut)
		}
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

// englishSentence is three Latin words in a row; a variable, a path, a flag
// or a command such as "booksmeta restore" is fewer.
var englishSentence = regexp.MustCompile(`[A-Za-z]{2,}[ ,]+[A-Za-z]{2,}[ ,]+[A-Za-z]{2,}`)

// TestStartErrorsAreRussian: when a command cannot start because of the
// configuration, the database file, the key or the copy it was given, the
// one-line reason is Russian, names the variable or file to fix, and says
// what to do.
func TestStartErrorsAreRussian(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.db")
	if err := os.WriteFile(text, []byte("это заметки, а не база\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A database set up with one key, opened with another.
	keyed := newWorld(t)
	keyed.mustRun("", "migrate")
	keyed.env["BOOKSMETA_SECRET_KEY"] = "another-key"
	// A database whose key file was replaced.
	filed := newWorld(t, "BOOKSMETA_DATABASE_URL", "sqlite:"+filepath.Join(dir, "filed", "booksmeta.db"), "BOOKSMETA_SECRET_KEY", "")
	filed.mustRun("", "migrate")
	keyFile := filepath.Join(dir, "filed", "secret.key")
	if err := os.WriteFile(keyFile, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sqliteWorld := newWorld(t, "BOOKSMETA_DATABASE_URL", "sqlite:"+filepath.Join(dir, "live", "booksmeta.db"))

	for _, c := range []struct {
		name string
		w    *world
		args []string
		want []string
	}{
		{"time zone", newWorld(t, "BOOKSMETA_TIMEZONE", "Europe/Moskow"), []string{"migrate"},
			[]string{"BOOKSMETA_TIMEZONE", `"Europe/Moskow"`, "такого часового пояса нет", "Europe/Moscow"}},
		{"database URL", newWorld(t, "BOOKSMETA_DATABASE_URL", "mysql://root:hunter2@localhost/book_smeta"), []string{"migrate"},
			[]string{"BOOKSMETA_DATABASE_URL", "sqlite:ПУТЬ", "postgres://"}},
		{"bare path", newWorld(t, "BOOKSMETA_DATABASE_URL", "data/booksmeta.db"), []string{"version"},
			[]string{"BOOKSMETA_DATABASE_URL", "sqlite:data/booksmeta.db"}},
		{"numbers and proxies", newWorld(t, "MAIL_PORT", "abc", "BOOKSMETA_TRUSTED_PROXIES", "nginx"), []string{"migrate"},
			[]string{"MAIL_PORT", "целое число от 1 до 65535", "BOOKSMETA_TRUSTED_PROXIES", `"nginx"`, "; "}},
		{"text file as the database", newWorld(t, "BOOKSMETA_DATABASE_URL", "sqlite:"+text), []string{"migrate"},
			[]string{text, "не база SQLite", "BOOKSMETA_DATABASE_URL", "booksmeta restore"}},
		{"PostgreSQL not running", newWorld(t, "BOOKSMETA_DATABASE_URL", "postgres://school:hunter2@127.0.0.1:1/booksmeta?connect_timeout=5"), []string{"migrate"},
			[]string{"127.0.0.1:1", "не отвечает", "BOOKSMETA_DATABASE_URL"}},
		{"wrong BOOKSMETA_SECRET_KEY", keyed, []string{"migrate"},
			[]string{"ключ шифрования (BOOKSMETA_SECRET_KEY) не тот", "верните"}},
		{"replaced key file", filed, []string{"serve", "--addr", "127.0.0.1:0"},
			[]string{"ключ шифрования (" + keyFile + ") не тот"}},
		{"restore of a text file", sqliteWorld, []string{"restore", "--from", text},
			[]string{text, "не база SQLite", "booksmeta backup"}},
		{"restore of a missing file", sqliteWorld, []string{"restore", "--from", filepath.Join(dir, "absent.db")},
			[]string{filepath.Join(dir, "absent.db"), "такого файла или папки нет"}},
		{"address without a port", newWorld(t), []string{"serve", "--addr", "8080"},
			[]string{`"8080"`, "записан неверно", "ХОСТ:ПОРТ", ":8080"}},
		{"unknown flag", sqliteWorld, []string{"restore", "--form", text},
			[]string{"нет флага --form", "booksmeta restore -h"}},
	} {
		r := c.w.run("", c.args...)
		if r.code == 0 {
			t.Errorf("%s: booksmeta %v succeeded", c.name, c.args)
			continue
		}
		line := strings.TrimRight(r.stderr, "\n")
		if i := strings.LastIndex(line, "\n"); i >= 0 {
			line = line[i+1:] // serve logs its start in JSON first
		}
		prefix := "booksmeta " + c.args[0] + ": "
		if !strings.HasPrefix(line, prefix) {
			t.Errorf("%s: %q does not start with %q", c.name, line, prefix)
			continue
		}
		reason := strings.TrimPrefix(line, prefix)
		if !regexp.MustCompile(`[а-яё]{4,}`).MatchString(reason) || englishSentence.MatchString(reason) {
			t.Errorf("%s: not Russian: %q", c.name, reason)
		}
		for _, w := range c.want {
			if !strings.Contains(reason, w) {
				t.Errorf("%s: %q does not mention %q", c.name, reason, w)
			}
		}
		if strings.Contains(reason, "hunter2") {
			t.Errorf("%s: the password leaked: %q", c.name, reason)
		}
	}
}
