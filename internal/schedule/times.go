package schedule

import (
	"fmt"
	"strings"
	"time"
)

// Wall returns the instant at which clocks in loc show the given date and
// time of day (minutes after midnight; 1440 is the next midnight). ok is
// false when that wall time does not exist (the hour skipped when clocks go
// forward). A wall time that happens twice (the hour repeated when clocks go
// back) resolves to its first occurrence, so a slot in that hour is made
// once.
func Wall(year int, month time.Month, day, minutes int, loc *time.Location) (t time.Time, ok bool) {
	h, m := minutes/60, minutes%60
	naive := time.Date(year, month, day, h, m, 0, 0, time.UTC) // the wall reading, as if in UTC
	want := naive
	var best time.Time
	// The offsets in force around that day are the only candidates.
	for _, probe := range []time.Duration{-36 * time.Hour, -12 * time.Hour, 0, 12 * time.Hour, 36 * time.Hour} {
		_, off := naive.Add(probe).In(loc).Zone()
		cand := naive.Add(-time.Duration(off) * time.Second)
		w := cand.In(loc)
		if sameWall(w, want) && (best.IsZero() || cand.Before(best)) {
			best = cand
		}
	}
	if best.IsZero() {
		return time.Date(year, month, day, h, m, 0, 0, loc), false
	}
	return best.In(loc), true
}

func sameWall(t, naive time.Time) bool {
	y, mo, d := t.Date()
	ny, nmo, nd := naive.Date()
	return y == ny && mo == nmo && d == nd && t.Hour() == naive.Hour() && t.Minute() == naive.Minute() && t.Second() == naive.Second()
}

var localLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"}

// ParseTime reads an instant: RFC 3339 with an offset, or a wall time
// "YYYY-MM-DDTHH:MM" (seconds optional, a space instead of T allowed) in
// loc, the school zone. A wall time the clocks skip is an error; one they
// show twice is its first occurrence. Errors are Russian sentences.
func ParseTime(v string, loc *time.Location) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, fmt.Errorf("время не указано: нужно, например, 2026-12-01T09:00")
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, layout := range localLayouts {
		naive, err := time.Parse(layout, v)
		if err != nil {
			continue
		}
		y, m, d := naive.Date()
		t, ok := Wall(y, m, d, naive.Hour()*60+naive.Minute(), loc)
		if !ok {
			return time.Time{}, fmt.Errorf("времени %s в часовом поясе %s не существует (в эту ночь часы переводят вперёд): выберите другое время", naive.Format("02.01.2006 15:04"), loc)
		}
		return t.Add(time.Duration(naive.Second()) * time.Second), nil
	}
	return time.Time{}, fmt.Errorf("не удалось прочитать время %q: укажите его как 2026-12-01T09:00 (часовой пояс школы) или в формате RFC 3339", v)
}

// ParseDate reads a "YYYY-MM-DD" date and returns its midnight in loc
// (or the first instant of the day when midnight is skipped).
func ParseDate(v string, loc *time.Location) (time.Time, error) {
	d, err := time.Parse("2006-01-02", strings.TrimSpace(v))
	if err != nil {
		return time.Time{}, fmt.Errorf("дата %q записана неверно: нужен формат ГГГГ-ММ-ДД, например 2026-12-01", v)
	}
	return dayStart(d.Year(), d.Month(), d.Day(), loc), nil
}

// dayStart is the first instant of a calendar day in loc.
func dayStart(y int, m time.Month, d int, loc *time.Location) time.Time {
	if t, ok := Wall(y, m, d, 0, loc); ok {
		return t
	}
	return time.Date(y, m, d, 0, 0, 0, 0, loc) // midnight skipped: Go moves it to the first real instant
}

// clock formats minutes after midnight as "09:00" ("24:00" for the end of day).
func clock(minutes int) string { return fmt.Sprintf("%02d:%02d", minutes/60, minutes%60) }
