package dashboard

import (
	"time"

	"booksmeta/internal/store"
)

// PerDay counts booking starts per school day for days days from from (a
// midnight in the school zone); today marks the row of that midnight.
func PerDay(starts []time.Time, from time.Time, days int, today time.Time) []DayCount {
	loc := from.Location()
	perDay := map[string]int{}
	for _, t := range starts {
		perDay[t.In(loc).Format(time.DateOnly)]++
	}
	out := make([]DayCount, 0, days)
	for i := range days {
		day := from.AddDate(0, 0, i)
		k := day.Format(time.DateOnly)
		out = append(out, DayCount{Date: k, Count: perDay[k], Today: day.Equal(today), Day: day})
	}
	return out
}

// HourUse is the load of one hour of the day (school zone) summed over many
// days: seat-minutes offered by open slots and seat-minutes taken.
type HourUse struct {
	Hour          int `json:"hour"`
	OfferedSeatMn int `json:"offered_seat_minutes"`
	BookedSeatMn  int `json:"booked_seat_minutes"`
	// Percent is booked over offered, rounded down; 0 when nothing was offered.
	Percent int `json:"percent"`
}

// ByHour spreads every slot over the hours of the day it covers in loc, by
// the minutes it spends in each (a 09:30–10:30 slot gives half to 9 and half
// to 10), weighted by its capacity (offered) and its taken places (booked).
// Seat-minutes keep the sums exact; people see them as seat-hours.
func ByHour(slots []store.SlotLoad, loc *time.Location) [24]HourUse {
	var out [24]HourUse
	for h := range out {
		out[h].Hour = h
	}
	for _, s := range slots {
		for t := s.StartsAt; t.Before(s.EndsAt); {
			lt := t.In(loc)
			// The next full hour of the local clock, counted from t itself
			// rather than built with time.Date: on the night the clock goes
			// back, 02:00 names two instants and time.Date may pick either.
			into := time.Duration(lt.Minute())*time.Minute + time.Duration(lt.Second())*time.Second + time.Duration(lt.Nanosecond())
			next := t.Add(time.Hour - into)
			if next.After(s.EndsAt) {
				next = s.EndsAt
			}
			mins := int(next.Sub(t) / time.Minute)
			out[lt.Hour()].OfferedSeatMn += mins * s.Capacity
			out[lt.Hour()].BookedSeatMn += mins * min(s.Booked, s.Capacity)
			t = next
		}
	}
	for h := range out {
		if out[h].OfferedSeatMn > 0 {
			out[h].Percent = out[h].BookedSeatMn * 100 / out[h].OfferedSeatMn
		}
	}
	return out
}
