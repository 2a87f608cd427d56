// Package schedule is the school's timetable of server time: the weekly
// schedule kept in settings, the generator that turns it into slots (in the
// school time zone, safe across DST changes, idempotent, never bringing back
// a slot an admin deleted), and the admin's slot operations (create, edit,
// delete, deactivate a range) with their rules, all here and none in the
// SQL: a slot is made and moved only in the future, never onto or over
// another live slot (a deleted one at the same start gives way on create),
// its capacity never below the places taken; a change that would hit
// existing bookings is refused, or the bookings are cancelled explicitly
// (booking.CancelForAdmin), with the students told. Refusals are
// *booksmeta.Error: invalid with the field, not_found, or a slot_* code.
package schedule

import (
	"booksmeta"
	"errors"

	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/booking"
	"booksmeta/internal/config"
	"booksmeta/internal/jobs"
	"booksmeta/internal/secretbox"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

// Settings keys of the weekly schedule (SPEC §5). slot_duration_minutes is
// settings.SlotDurationMinutes (it has an environment variable).
const (
	Weekdays     = "schedule_weekdays"
	DayFrom      = "schedule_from"
	DayTo        = "schedule_to"
	SlotCapacity = "slot_capacity"
	WeeksAhead   = "schedule_weeks_ahead"
)

// Defaults (the old PHP cron: Monday to Friday, 09:00–17:00, one place).
const (
	DefaultWeekdays   = "1,2,3,4,5"
	DefaultFrom       = "09:00"
	DefaultTo         = "17:00"
	DefaultCapacity   = "1"
	DefaultWeeksAhead = "2"
)

// Limits.
const (
	MaxCapacity = 100
	MaxWeeks    = 52
)

// JobKind is the periodic job that keeps the horizon filled.
const JobKind = "generate_slots"

// JobEvery is how often it runs.
const JobEvery = 6 * time.Hour

// DefineSettings declares the schedule settings, each checked by Validate,
// and the check of the working day as a whole (ValidateChange) for Put.
func DefineSettings(s *settings.Service) {
	for _, d := range []settings.Def{
		{Key: Weekdays, Default: DefaultWeekdays},
		{Key: DayFrom, Default: DefaultFrom},
		{Key: DayTo, Default: DefaultTo},
		{Key: SlotCapacity, Default: DefaultCapacity},
		{Key: WeeksAhead, Default: DefaultWeeksAhead},
	} {
		key := d.Key
		d.Check = func(v string) error { return Validate(key, v) }
		s.Define(d)
	}
	// config reads only Settings: a Service of its own keeps this check
	// free of what the App builds later.
	sched := &Service{Settings: s}
	s.Relate(func(ctx context.Context, pending map[string]string) error {
		err := sched.ValidateChange(ctx, pending)
		var e *booksmeta.Error
		if errors.As(err, &e) {
			field := e.Field
			if _, ok := s.Lookup(field); !ok {
				field = DayFrom
			}
			return settings.Refuse(field, e.Message)
		}
		return err
	}, Keys()...)
}

// Keys lists the settings the schedule reads, slot length included.
func Keys() []string {
	return []string{Weekdays, DayFrom, DayTo, settings.SlotDurationMinutes, SlotCapacity, WeeksAhead}
}

// Validate checks one schedule value before it is saved; the error says in
// Russian what to write instead. Keys that are not the schedule's pass
// (their settings.Def covers them); empty values mean "use the default".
func Validate(key, value string) error {
	v := strings.TrimSpace(value)
	if v == "" {
		return nil
	}
	switch key {
	case Weekdays:
		_, err := parseWeekdays(v)
		return err
	case DayFrom:
		_, err := parseClock(v, false)
		return err
	case DayTo:
		_, err := parseClock(v, true)
		return err
	case SlotCapacity:
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > MaxCapacity {
			return fmt.Errorf("Мест в слоте — целое число от 1 до %d (сколько учеников одновременно работают на сервере)", MaxCapacity)
		}
	case WeeksAhead:
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > MaxWeeks {
			return fmt.Errorf("На сколько недель вперёд открывать запись — целое число от 0 до %d (0 — не создавать слоты автоматически)", MaxWeeks)
		}
	}
	return nil
}

// Config is the weekly schedule, resolved and checked.
type Config struct {
	Weekdays   [8]bool // ISO numbering: 1 Monday … 7 Sunday
	From, To   int     // minutes after midnight; To may be 1440 (24:00)
	Duration   time.Duration
	Capacity   int
	WeeksAhead int
	Location   *time.Location
}

// Slots is how many slots a day of the schedule has.
func (c Config) Slots() int {
	if c.Duration <= 0 {
		return 0
	}
	return (c.To - c.From) / int(c.Duration/time.Minute)
}

func parseWeekdays(v string) ([8]bool, error) {
	var days [8]bool
	bad := fmt.Errorf("Дни недели — номера от 1 (понедельник) до 7 (воскресенье) через запятую, например 1,2,3,4,5 или 1-5")
	any := false
	for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			return days, bad
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
				return days, bad
			}
		}
		if a < 1 || b > 7 || a > b {
			return days, bad
		}
		for d := a; d <= b; d++ {
			days[d], any = true, true
		}
	}
	if !any {
		return days, bad
	}
	return days, nil
}

func parseClock(v string, end bool) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(v), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	limit := 23*60 + 59
	if end {
		limit = 24 * 60
	}
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 || hh*60+mm > limit {
		if end {
			return 0, fmt.Errorf("Конец рабочего дня — время ЧЧ:ММ, например 17:00 (24:00 — до полуночи)")
		}
		return 0, fmt.Errorf("Начало рабочего дня — время ЧЧ:ММ, например 09:00")
	}
	return hh*60 + mm, nil
}

// check is the consistency of the whole schedule.
func (c Config) check() error {
	if c.From >= c.To {
		return fmt.Errorf("Начало рабочего дня (%s) должно быть раньше конца (%s): исправьте расписание в настройках", clock(c.From), clock(c.To))
	}
	if c.Slots() == 0 {
		return fmt.Errorf("Слот длиной %d мин. не помещается между %s и %s: уменьшите длительность слота или расширьте рабочий день",
			int(c.Duration/time.Minute), clock(c.From), clock(c.To))
	}
	return nil
}

// Service runs the schedule and the admin's slot operations.
type Service struct {
	Store    *store.Store
	Settings *settings.Service
	Box      *secretbox.Box
	// Booking cancels and notifies when a slot change hits bookings.
	Booking *booking.Service
	Log     *slog.Logger
}

// Config resolves the schedule from settings; a stored value that does not
// pass Validate, or a schedule that does not hold together, is a *booksmeta.Error
// (code "invalid") in Russian naming what to fix.
func (s *Service) Config(ctx context.Context) (Config, error) {
	return s.config(ctx, nil)
}

// config resolves the schedule with pending (not yet saved) values on top.
func (s *Service) config(ctx context.Context, pending map[string]string) (Config, error) {
	get := func(key, def string) (string, error) {
		v, ok := pending[key]
		if !ok {
			val, err := s.Settings.Get(ctx, key)
			if err != nil {
				return "", err
			}
			v = val.Value
		}
		v = strings.TrimSpace(v)
		if v == "" {
			v = def
		}
		if _, err := s.Settings.Validate(key, v); err != nil {
			_, msg, _ := settings.Refusal(err)
			return "", invalid(key, msg)
		}
		return v, nil
	}
	loc, err := s.Settings.Zone(ctx)
	if err != nil {
		return Config{}, err
	}
	c := Config{Location: loc}
	v, err := get(Weekdays, DefaultWeekdays)
	if err != nil {
		return c, err
	}
	c.Weekdays, _ = parseWeekdays(v)
	if v, err = get(DayFrom, DefaultFrom); err != nil {
		return c, err
	}
	c.From, _ = parseClock(v, false)
	if v, err = get(DayTo, DefaultTo); err != nil {
		return c, err
	}
	c.To, _ = parseClock(v, true)
	if v, err = get(settings.SlotDurationMinutes, "60"); err != nil {
		return c, err
	}
	n, _ := strconv.Atoi(v)
	c.Duration = time.Duration(n) * time.Minute
	if v, err = get(SlotCapacity, DefaultCapacity); err != nil {
		return c, err
	}
	c.Capacity, _ = strconv.Atoi(v)
	if v, err = get(WeeksAhead, DefaultWeeksAhead); err != nil {
		return c, err
	}
	c.WeeksAhead, _ = strconv.Atoi(v)
	if err := c.check(); err != nil {
		return c, invalid("schedule", err.Error())
	}
	return c, nil
}

// ValidateChange checks values an admin is about to save together with the
// saved ones (the working day must still hold at least one slot). Call it
// after Validate has passed every value.
func (s *Service) ValidateChange(ctx context.Context, values map[string]string) error {
	touches := false
	for _, k := range Keys() {
		if _, ok := values[k]; ok {
			touches = true
		}
	}
	if !touches {
		return nil
	}
	_, err := s.config(ctx, values)
	return err
}

// window is one slot of the schedule.
type window struct{ start, end time.Time }

// windows lists the schedule's slots on the days [first, first+days) (first
// is a calendar date; only its year, month and day count). A wall time the
// clocks skip has no slot; every slot lasts exactly Duration.
func (c Config) windows(y int, m time.Month, d, days int) []window {
	var out []window
	step := int(c.Duration / time.Minute)
	for i := 0; i < days; i++ {
		date := time.Date(y, m, d+i, 12, 0, 0, 0, time.UTC)
		iso := int(date.Weekday())
		if iso == 0 {
			iso = 7
		}
		if !c.Weekdays[iso] {
			continue
		}
		for min := c.From; min+step <= c.To; min += step {
			start, ok := Wall(date.Year(), date.Month(), date.Day(), min, c.Location)
			if !ok {
				continue
			}
			out = append(out, window{start, start.Add(c.Duration)})
		}
	}
	return out
}

// Generate creates the schedule's slots on the days from .. from+7·weeks
// (from is a date in the school zone: only its calendar date counts) and
// returns how many it created. Slots that already exist, were deleted by an
// admin, overlap an existing slot or would start in the past are skipped,
// so running it again creates nothing.
func (s *Service) Generate(ctx context.Context, from time.Time, weeks int) (int, error) {
	if weeks < 1 || weeks > MaxWeeks {
		return 0, invalid("weeks", fmt.Sprintf("Число недель — от 1 до %d.", MaxWeeks))
	}
	c, err := s.Config(ctx)
	if err != nil {
		return 0, err
	}
	y, m, d := from.Date()
	created := 0
	// One transaction per week: a long run never holds the writer for long,
	// and a run cut short is simply completed by the next one.
	for w := 0; w < weeks; w++ {
		err := s.Store.InTx(ctx, func(tx *store.Tx) error {
			n, err := insertWindows(ctx, tx, c, c.windows(y, m, d+7*w, 7), true)
			created += n
			return err
		})
		if err != nil {
			return created, err
		}
	}
	if created > 0 {
		s.log().Info("slots generated", "created", created, "from", fmt.Sprintf("%04d-%02d-%02d", y, m, d), "weeks", weeks)
	}
	return created, nil
}

func insertWindows(ctx context.Context, tx *store.Tx, c Config, ws []window, active bool) (int, error) {
	n := 0
	for _, w := range ws {
		if !w.start.After(tx.Now()) {
			continue
		}
		ok, err := insertIfAbsent(ctx, tx, &booksmeta.Slot{StartsAt: w.start, EndsAt: w.end, Capacity: c.Capacity,
			Active: active, Source: store.SlotSchedule})
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// Today is the current date in the school zone, as its midnight.
func (s *Service) Today(ctx context.Context) time.Time {
	now := s.Store.Now().In(s.Settings.Location(ctx))
	return dayStart(now.Year(), now.Month(), now.Day(), now.Location())
}

// AutoEnabled reports whether the periodic job fills the horizon: once an
// admin has set up the schedule (saved any of its settings in the panel) or
// generated slots from it once by hand. Until then a fresh installation
// does not fill its calendar with default hours nobody confirmed.
func (s *Service) AutoEnabled(ctx context.Context) (bool, error) {
	for _, k := range Keys() {
		v, err := s.Settings.Get(ctx, k)
		if err != nil {
			return false, err
		}
		if v.Source == config.SourcePanel {
			return true, nil
		}
	}
	return s.Store.HasScheduleSlots(ctx)
}

// FillHorizon creates the slots from today to schedule_weeks_ahead weeks
// ahead (the periodic job).
func (s *Service) FillHorizon(ctx context.Context) (int, error) {
	on, err := s.AutoEnabled(ctx)
	if err != nil || !on {
		return 0, err
	}
	c, err := s.Config(ctx)
	if err != nil {
		return 0, err
	}
	if c.WeeksAhead == 0 {
		return 0, nil
	}
	return s.Generate(ctx, s.Today(ctx), c.WeeksAhead)
}

// HandleJob is the generate_slots job. A schedule that does not hold
// together fails the run without retries (it needs an admin, not time).
func (s *Service) HandleJob(ctx context.Context, _ *store.Job) error {
	_, err := s.FillHorizon(ctx)
	if e := booksmeta.AsError(err); e != nil {
		return jobs.Permanent(fmt.Errorf("weekly schedule: %s", e.Message))
	}
	return err
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// weekdayNames is for messages: "пн, вт, ср".
var weekdayNames = [8]string{"", "пн", "вт", "ср", "чт", "пт", "сб", "вс"}

// Describe is the schedule in words: "пн, вт, ср, чт, пт 09:00–17:00, по 60 мин., мест: 1".
func (c Config) Describe() string {
	var days []string
	for d := 1; d <= 7; d++ {
		if c.Weekdays[d] {
			days = append(days, weekdayNames[d])
		}
	}
	return fmt.Sprintf("%s %s–%s, по %d мин., мест: %d", strings.Join(days, ", "), clock(c.From), clock(c.To),
		int(c.Duration/time.Minute), c.Capacity)
}
