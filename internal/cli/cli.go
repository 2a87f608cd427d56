// Package cli is the booksmeta command line: one file per command.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"booksmeta/internal/app"
	"booksmeta/internal/config"
)

// Env is what a command runs with; main passes the real ones, tests their own.
type Env struct {
	Args   []string
	Getenv config.Getenv
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Dotenv is the .env path; "" means ".env" in the working directory.
	Dotenv string
	// Ready, when set, receives the listen address once serve accepts connections (tests).
	Ready func(addr string)
	// Program is how the program was started (os.Args[0]), so that the
	// commands it suggests work when pasted: "go run ./cmd/booksmeta" under
	// go run, else this path. "" means "booksmeta" (on the PATH).
	Program string
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *Env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "HTTP-сервер и фоновые задачи (применяет миграции)", runServe},
		{"migrate", "применить миграции базы данных и выйти", runMigrate},
		{"admin", "admin create --email E [--password-stdin]: создать или сбросить суперадминистратора", runAdmin},
		{"secret", "напечатать новый webhook-секрет (64 hex-символа)", runSecret},
		{"webhook", "webhook send: отправить подписанный тестовый webhook", runWebhook},
		{"slots", "slots generate --from ДАТА --weeks N: создать слоты по недельному расписанию", runSlots},
		{"getcourse", "getcourse test | getcourse sync: проверить подключение к GetCourse / синхронизировать оплативших", runGetCourse},
		{"dev", "dev fake-getcourse [--process-url URL] | dev deliver --email E [--shape techapi|process-get|process-post]: фейковый GetCourse со страницей заказов / одно уведомление, как от GetCourse", runDev},
		{"bench", "bench webhook|booking|enrol: нагрузочный замер (см. BENCHMARKS.md)", runBench},
		{"version", "версия программы и схемы базы данных", runVersion},
		{"backup", "backup --to ФАЙЛ: резервная копия базы SQLite на ходу", runBackup},
		{"restore", "restore --from ФАЙЛ: проверить копию и вернуть её на место (serve должен быть остановлен)", runRestore},
		{"import-legacy", "import-legacy --mysql DSN [--dry-run]: перенести данные из PHP-версии", runImportLegacy},
	}
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// Run executes the command line and returns the exit status.
func Run(ctx context.Context, e *Env) int {
	if len(e.Args) == 0 || e.Args[0] == "-h" || e.Args[0] == "--help" || e.Args[0] == "help" {
		usage(e.Stdout)
		if len(e.Args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == e.Args[0] {
			err := c.run(ctx, e, e.Args[1:])
			if err == nil {
				return 0
			}
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			fmt.Fprintln(e.Stderr, "booksmeta "+c.name+": "+oneLine(err.Error()))
			var u usageError
			if errors.As(err, &u) {
				return 2
			}
			return 1
		}
	}
	fmt.Fprintf(e.Stderr, "booksmeta: неизвестная команда «%s»; список команд: %s help\n", e.Args[0], e.command())
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Book Smeta — бронирование времени на сервере для учеников GetCourse.\n\nКоманды:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
}

// oneLine keeps the failure reason on one line, as SPEC §1 asks.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (e *Env) config() (config.Config, error) {
	path := e.Dotenv
	if path == "" {
		path = ".env"
	}
	return config.Load(e.Getenv, path)
}

func (e *Env) logger() *slog.Logger {
	if f, ok := e.Stderr.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return slog.New(slog.NewTextHandler(e.Stderr, nil))
		}
	}
	return slog.New(slog.NewJSONHandler(e.Stderr, nil))
}

// open loads config and opens the app; migrate as in app.Open.
func (e *Env) open(ctx context.Context, migrate bool) (*app.App, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	return app.Open(ctx, cfg, e.logger(), migrate)
}

// command is how to start this program again, for the commands it suggests:
// "go run ./cmd/booksmeta" when it was started by go run (the binary then
// lives in a go-build temporary folder and is gone afterwards), else the
// path it was started by.
func (e *Env) command() string {
	p := filepath.ToSlash(e.Program)
	switch {
	case p == "" || !strings.Contains(p, "/"):
		return "booksmeta"
	case strings.Contains(p, "/go-build") && strings.Contains(p, "/exe/"):
		return "go run ./cmd/booksmeta"
	}
	return e.Program
}

// newFlags makes a command's flags. The flag package writes its own English
// error before calling Usage, so its output goes nowhere; Usage points it at
// stderr, and parse prints the Russian help there when -h was asked for and
// turns errors into Russian one-line reasons.
func newFlags(name string, e *Env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() { fs.SetOutput(e.Stderr) }
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printFlags(fs.Output(), fs)
			return err
		}
		return usageError{flagError(fs, err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("лишний аргумент «%s»; флаги команды: booksmeta %s -h", fs.Arg(0), fs.Name())}
	}
	return nil
}

var (
	reFlagUndefined = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)
	reFlagNoValue   = regexp.MustCompile(`^flag needs an argument: -+(.+)$`)
	reFlagBadValue  = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for flag -+([^:]+)`)
)

// flagError words the flag package's English errors in Russian.
func flagError(fs *flag.FlagSet, err error) string {
	help := "; флаги команды: booksmeta " + fs.Name() + " -h"
	msg := err.Error()
	if m := reFlagUndefined.FindStringSubmatch(msg); m != nil {
		return "нет флага --" + m[1] + help
	}
	if m := reFlagNoValue.FindStringSubmatch(msg); m != nil {
		return "после --" + m[1] + " нужно значение" + help
	}
	if m := reFlagBadValue.FindStringSubmatch(msg); m != nil {
		return "--" + m[2] + " «" + m[1] + "»: такое значение не подходит" + help
	}
	return msg + help
}

// printFlags is the Russian help of a command's flags.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Использование: booksmeta %s [флаги]\n\nФлаги:\n", fs.Name())
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		arg := map[string]string{"string": " ТЕКСТ", "int": " ЧИСЛО", "uint": " ЧИСЛО", "float": " ЧИСЛО", "duration": " ВРЕМЯ", "value": " ЗНАЧЕНИЕ"}[kind]
		if arg == "" && kind != "" {
			arg = " " + kind
		}
		fmt.Fprintf(w, "  --%s%s\n      %s", f.Name, arg, usage)
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "0s" {
			fmt.Fprintf(w, " (по умолчанию %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func decodeJSON(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
