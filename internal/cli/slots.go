package cli

import (
	"booksmeta"

	"context"
	"fmt"

	"booksmeta/internal/schedule"
)

const slotsUsage = "usage: booksmeta slots generate [--from YYYY-MM-DD] [--weeks N]"

func runSlots(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 || args[0] != "generate" {
		return usageError{slotsUsage}
	}
	fs := newFlags("slots generate", e)
	from := fs.String("from", "", "first day, YYYY-MM-DD in the school time zone (default: today)")
	weeks := fs.Int("weeks", 0, "how many weeks to fill, 1–52 (default: the schedule_weeks_ahead setting)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *weeks < 0 || *weeks > schedule.MaxWeeks {
		return usageError{fmt.Sprintf("--weeks must be between 1 and %d", schedule.MaxWeeks)}
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
			return usageError{fmt.Sprintf("--from %q: expected a date as YYYY-MM-DD", *from)}
		}
	}
	cfg, err := a.Schedule.Config(ctx)
	if err != nil {
		return scheduleErr(err)
	}
	n := *weeks
	if n == 0 {
		if n = cfg.WeeksAhead; n == 0 {
			return usageError{"schedule_weeks_ahead is 0: pass --weeks N"}
		}
	}
	created, err := a.Schedule.Generate(ctx, day, n)
	if err != nil {
		return scheduleErr(err)
	}
	fmt.Fprintf(e.Stdout, "created %d slots\n", created)
	last := day.AddDate(0, 0, 7*n-1)
	fmt.Fprintf(e.Stdout, "schedule: %s; days %s to %s (%s)\n", cfg.Describe(), day.Format("2006-01-02"), last.Format("2006-01-02"), loc)
	return nil
}

// scheduleErr keeps the schedule's own words (what to fix in the settings).
func scheduleErr(err error) error {
	if e := booksmeta.AsError(err); e != nil {
		return fmt.Errorf("the weekly schedule cannot be used: %s", e.Message)
	}
	return err
}
