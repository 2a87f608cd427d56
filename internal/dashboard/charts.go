package dashboard

import (
	"fmt"
	"strconv"
	"strings"
)

// DayChart draws the bookings per day; the marked bar is today.
func DayChart(days []DayCount) BarChart {
	c := BarChart{ID: "chart-days", Title: "Бронирований по дням", LabelEvery: 7}
	total, peak, peakDay := 0, 0, ""
	for _, d := range days {
		label := d.Day.Format("02.01")
		title := d.Day.Format("02.01.2006") + ": " + Count(d.Count, "бронирование", "бронирования", "бронирований")
		if d.Today {
			title += " (сегодня)"
		}
		c.Bars = append(c.Bars, Bar{Label: label, Value: float64(d.Count), Title: title, Mark: d.Today})
		total += d.Count
		if d.Count > peak {
			peak, peakDay = d.Count, d.Day.Format("02.01.2006")
		}
	}
	// An even top keeps the scale's middle line a whole number of bookings.
	c.Max = float64(max(2, peak+peak%2))
	if len(days) > 0 {
		c.Title = "Бронирований по дням, " + days[0].Day.Format("02.01.2006") + " — " + days[len(days)-1].Day.Format("02.01.2006")
	}
	c.Desc = "Всего " + Count(total, "бронирование", "бронирования", "бронирований") + " за " + Count(len(days), "день", "дня", "дней") + "."
	if peak > 0 {
		c.Desc += " Больше всего — " + strconv.Itoa(peak) + " (" + peakDay + ")."
	}
	c.Desc += " Сегодняшний день выделен цветом."
	return c
}

// HourChart draws utilisation by hour of day, 00 to 23, in percent.
func HourChart(hours [24]HourUse) BarChart {
	c := BarChart{ID: "chart-hours", Title: "Загрузка сервера по часам суток за 30 дней", Max: 100, Unit: "%", LabelEvery: 3}
	var idle []string
	for _, h := range hours {
		title := HourRange(h.Hour) + ": "
		if h.OfferedSeatMn == 0 {
			title += "слотов не было"
		} else {
			title += fmt.Sprintf("%d %% (занято %s из %s место-часов)", h.Percent, SeatHours(h.BookedSeatMn), SeatHours(h.OfferedSeatMn))
			if h.BookedSeatMn == 0 {
				idle = append(idle, fmt.Sprintf("%02d", h.Hour))
			}
		}
		c.Bars = append(c.Bars, Bar{Label: fmt.Sprintf("%02d", h.Hour), Value: float64(h.Percent), Title: title})
	}
	c.Desc = "Доля занятых мест от открытых в каждом часе суток, по времени школы."
	if len(idle) > 0 {
		c.Desc += " Слоты были, но никто не бронировал в часы: " + strings.Join(idle, ", ") + "."
	}
	return c
}

// HourRange is "09:00–10:00".
func HourRange(h int) string { return fmt.Sprintf("%02d:00–%02d:00", h, (h+1)%24) }

// SeatHours shows seat-minutes as seat-hours for people: "3", "2,5", "0,3".
func SeatHours(mn int) string {
	if mn%60 == 0 {
		return strconv.Itoa(mn / 60)
	}
	s := strconv.FormatFloat(float64(mn)/60, 'f', 1, 64)
	return strings.Replace(s, ".", ",", 1)
}

// Count is n with the Russian noun form that fits it: 1 день, 2 дня, 5 дней.
func Count(n int, one, few, many string) string {
	w := many
	switch m10, m100 := n%10, n%100; {
	case m10 == 1 && m100 != 11:
		w = one
	case m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14):
		w = few
	}
	return strconv.Itoa(n) + " " + w
}
