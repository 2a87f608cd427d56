package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"booksmeta/internal/app"
	"booksmeta/internal/gcsync"
)

const getcourseUsage = "как вызвать: booksmeta getcourse test | booksmeta getcourse sync [--poll 45s]"

func runGetCourse(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 {
		return usageError{getcourseUsage}
	}
	switch args[0] {
	case "test":
		return runGetCourseTest(ctx, e, args[1:])
	case "sync":
		return runGetCourseSync(ctx, e, args[1:])
	}
	return usageError{getcourseUsage}
}

// openQuiet opens the app logging errors only: these commands speak to
// people (progress on stdout, the one-line reason on stderr), and a sync that
// stops logs a warning that would repeat that reason in English.
func (e *Env) openQuiet(ctx context.Context) (*app.App, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	// Migrating is what serve does at start anyway; it lets the commands
	// work on a fresh installation before the first serve.
	return app.Open(ctx, cfg, log, true)
}

func runGetCourseTest(ctx context.Context, e *Env, args []string) error {
	if err := parse(newFlags("getcourse test", e), args); err != nil {
		return err
	}
	a, err := e.openQuiet(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	v := a.GetCourse.TestConnection(ctx, nil)
	if !v.OK {
		return errors.New(v.Message)
	}
	fmt.Fprintln(e.Stdout, v.Message)
	return nil
}

func runGetCourseSync(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("getcourse sync", e)
	poll := fs.Duration("poll", 0, "пауза между проверками готовности выгрузки (по умолчанию 45s; каждая проверка — один из 100 запросов за 2 часа, поэтому короче — только для фейкового сервера)")
	if err := parse(fs, args); err != nil {
		return err
	}
	a, err := e.openQuiet(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if *poll > 0 {
		a.GetCourse.PollInterval = *poll
	}
	rep, err := a.GetCourse.Sync(ctx, gcsync.SyncOptions{
		// This process runs no job workers: apply the events here, so the
		// students exist when the command ends even if no server runs.
		ProcessNow: true,
		Progress: func(p gcsync.Progress) {
			if p.Stage != "stopped" && p.Stage != "done" {
				fmt.Fprintln(e.Stdout, p.Message)
			}
		},
	})
	if err != nil {
		return errors.New(gcsync.Russian(err))
	}
	fmt.Fprintln(e.Stdout, rep.Message)
	return nil
}
