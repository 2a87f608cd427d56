package web

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"booksmeta/internal/booking"
	"booksmeta/internal/store"
)

// The calendar's filters, as the PHP version had them (by date and by part
// of day), plus what it lacked: the next free time and free hours per day
// for two weeks ahead. Filters are GET parameters, so they work without
// JavaScript, survive a reload and can be shared as a link.

// dayPart is a part of the day; a slot belongs to the part its start falls
// in, in the school's time zone.
type dayPart struct {
	Value, Label string
	From, To     int // hours, [From, To)
}

var dayParts = []dayPart{
	{"morning", "Утро", 6, 12},
	{"day", "День", 12, 18},
	{"evening", "Вечер", 18, 24},
	{"night", "Ночь", 0, 6},
}

func partByValue(v string) *dayPart {
	for i := range dayParts {
		if dayParts[i].Value == v {
			return &dayParts[i]
		}
	}
	return nil
}

// Bounds is how the part is shown: "06:00–12:00".
func (p dayPart) Bounds() string {
	return twoDigits(p.From) + ":00–" + twoDigits(p.To) + ":00"
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// has reports whether a slot starting at t (any zone) is in the part; nil
// is the whole day.
func (p *dayPart) has(t time.Time, loc *time.Location) bool {
	if p == nil {
		return true
	}
	h := t.In(loc).Hour()
	return h >= p.From && h < p.To
}

// calFilter is what the calendar shows: a week (Date zero) or one day, and
// optionally one part of the day.
type calFilter struct {
	Week time.Time // Monday of the week shown, or of Date's week
	Date time.Time // one day; zero: the whole week
	Part *dayPart
}

func parseCalFilter(q url.Values, now time.Time, loc *time.Location) calFilter {
	f := calFilter{Week: weekStart(now, loc), Part: partByValue(q.Get("part"))}
	if d, err := time.ParseInLocation("2006-01-02", q.Get("week"), loc); err == nil {
		f.Week = weekStart(d, loc)
	}
	if d, err := time.ParseInLocation("2006-01-02", q.Get("date"), loc); err == nil {
		f.Date, f.Week = d, weekStart(d, loc)
	}
	return f
}

func (f calFilter) partValue() string {
	if f.Part == nil {
		return ""
	}
	return f.Part.Value
}

// url is the calendar's address for a week or a day, keeping the part of day.
func (f calFilter) url(week, date time.Time) string {
	q := url.Values{}
	if !date.IsZero() {
		q.Set("date", date.Format("2006-01-02"))
	} else if !week.IsZero() {
		q.Set("week", week.Format("2006-01-02"))
	}
	if p := f.partValue(); p != "" {
		q.Set("part", p)
	}
	if len(q) == 0 {
		return "/"
	}
	return "/?" + q.Encode()
}

// calendarBack is where a booking form returns to, refusal code attached:
// the same week or day and part the student booked from.
func calendarBack(week, date, part, code string) string {
	q := url.Values{"err": {code}}
	for k, v := range map[string]string{"week": week, "date": date, "part": part} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return "/?" + q.Encode() + "#booking-error"
}

// freeDay is one day of the two-week strip.
type freeDay struct {
	Date    time.Time
	Label   string // "Чт, 03.12.2026"
	Minutes int
	Hours   string // "3 ч"; empty when nothing is free
	URL     string
	Today   bool
}

// freeDaysAhead is how many days the strip of free hours covers.
const freeDaysAhead = 14

// freeDays sums, for each of the next two weeks from today, the bookable time
// left in the part of day chosen (all of it by default).
func (s *Server) freeDays(ctx context.Context, userID int64, now time.Time, loc *time.Location, f calFilter) ([]freeDay, error) {
	t := now.In(loc)
	today := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	end := today.AddDate(0, 0, freeDaysAhead)
	free, err := s.Store.FreeSlots(ctx, userID, now, end, 0)
	if err != nil {
		return nil, err
	}
	days := make([]freeDay, freeDaysAhead)
	index := map[string]int{}
	for i := range days {
		d := today.AddDate(0, 0, i)
		days[i] = freeDay{Date: d, Label: shortDay(d, loc), URL: f.url(time.Time{}, d), Today: i == 0}
		index[d.Format("2006-01-02")] = i
	}
	for _, sl := range free {
		i, ok := index[sl.StartsAt.In(loc).Format("2006-01-02")]
		if !ok || !f.Part.has(sl.StartsAt, loc) {
			continue
		}
		days[i].Minutes += int(sl.EndsAt.Sub(sl.StartsAt).Minutes())
	}
	for i := range days {
		if days[i].Minutes > 0 {
			days[i].Hours = booking.HoursText(days[i].Minutes)
		}
	}
	return days, nil
}

// nextFreeView is the earliest time the student could book.
type nextFreeView struct {
	Start, End time.Time
	Label      string // "Чт, 03.12.2026, 10:00–11:00"
	URL        string
}

// nextFreeBatch is how many free slots one look-up reads while searching
// for the first one in the chosen part of day.
const nextFreeBatch = 200

// nextFree finds the earliest bookable slot in the chosen part of day; nil
// when there is none in the schedule.
func (s *Server) nextFree(ctx context.Context, userID int64, now time.Time, loc *time.Location, f calFilter) (*nextFreeView, error) {
	after := now
	for {
		batch, err := s.Store.FreeSlots(ctx, userID, after, time.Time{}, nextFreeBatch)
		if err != nil {
			return nil, err
		}
		for _, sl := range batch {
			if f.Part.has(sl.StartsAt, loc) {
				return nextFreeOf(sl, loc, f), nil
			}
		}
		if len(batch) < nextFreeBatch {
			return nil, nil
		}
		// Slots sharing the last start time are in the same part of day,
		// so none of them matched either: skipping past it loses nothing.
		after = batch[len(batch)-1].StartsAt
	}
}

func nextFreeOf(sl store.FreeSlot, loc *time.Location, f calFilter) *nextFreeView {
	t := sl.StartsAt.In(loc)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	label := shortDay(t, loc) + ", " + t.Format("15:04") + "–" + sl.EndsAt.In(loc).Format("15:04")
	return &nextFreeView{Start: sl.StartsAt, End: sl.EndsAt, Label: label, URL: f.url(time.Time{}, day) + "#slot-" + strconv.FormatInt(sl.ID, 10)}
}

// shortDay is a day as people read it here: "Чт, 03.12.2026".
func shortDay(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return weekdays[t.Weekday()] + ", " + t.Format("02.01.2006")
}
