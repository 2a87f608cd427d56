package cli

import (
	"booksmeta"

	"context"
	"fmt"

	"booksmeta/internal/schedule"
)

const slotsUsage = "как вызвать: booksmeta slots generate [--from ГГГГ-ММ-ДД] [--weeks N]"

func runSlots(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 || args[0] != "generate" {
		return usageError{slotsUsage}
	}
	fs := newFlags("slots generate", e)
	from := fs.String("from", "", "первый день, ГГГГ-ММ-ДД в часовом поясе школы (по умолчанию сегодня)")
	weeks := fs.Int("weeks", 0, "сколько недель заполнить, 1–52 (по умолчанию настройка schedule_weeks_ahead)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *weeks < 0 || *weeks > schedule.MaxWeeks {
		return usageError{fmt.Sprintf("--weeks — от 1 до %d", schedule.MaxWeeks)}
	}
	a, err := e.open(ctx, true)
	if err != nil {
		return err
	}
	defer a.Close()
	loc, err := a.Settings.Zone(ctx)
	if err != nil {
		return err
	}
	day := a.Schedule.Today(ctx)
	if *from != "" {
		if day, err = schedule.ParseDate(*from, loc); err != nil {
			return usageError{fmt.Sprintf("--from «%s»: нужна дата вида ГГГГ-ММ-ДД, например 2026-12-07", *from)}
		}
	}
	cfg, err := a.Schedule.Config(ctx)
	if err != nil {
		return scheduleErr(err)
	}
	n := *weeks
	if n == 0 {
		if n = cfg.WeeksAhead; n == 0 {
			return usageError{"настройка schedule_weeks_ahead равна 0: укажите --weeks N"}
		}
	}
	created, err := a.Schedule.Generate(ctx, day, n)
	if err != nil {
		return scheduleErr(err)
	}
	fmt.Fprintf(e.Stdout, "создано слотов: %d\n", created)
	last := day.AddDate(0, 0, 7*n-1)
	fmt.Fprintf(e.Stdout, "расписание: %s; дни с %s по %s (%s)\n", cfg.Describe(), day.Format("02.01.2006"), last.Format("02.01.2006"), loc)
	return nil
}

// scheduleErr keeps the schedule's own words (what to fix in the settings).
func scheduleErr(err error) error {
	if e := booksmeta.AsError(err); e != nil {
		return fmt.Errorf("недельное расписание не подходит: %s", e.Message)
	}
	return err
}
