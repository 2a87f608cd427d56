// Package ru words things for people in Russian, each in one place: how a
// duration reads in the panel («1 мс», «2,5 с», «4 мин 5 с») and what a
// failed file operation means (FileError).
package ru

import (
	"strconv"
	"strings"
	"time"
)

// Duration is d for people: milliseconds under a second, seconds with one
// decimal under ten, whole seconds under a minute, then minutes and hours.
func Duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0 с"
	case d < time.Millisecond:
		return "меньше 1 мс"
	case d < time.Second:
		return strconv.FormatInt(d.Round(time.Millisecond).Milliseconds(), 10) + " мс"
	case d < 10*time.Second:
		s := strconv.FormatFloat(d.Round(100*time.Millisecond).Seconds(), 'f', 1, 64)
		return strings.Replace(strings.TrimSuffix(s, ".0"), ".", ",", 1) + " с"
	case d < time.Minute:
		return strconv.Itoa(int(d.Round(time.Second).Seconds())) + " с"
	case d < time.Hour:
		d = d.Round(time.Second)
		return join(int(d/time.Minute), "мин", int(d%time.Minute/time.Second), "с")
	}
	d = d.Round(time.Minute)
	return join(int(d/time.Hour), "ч", int(d%time.Hour/time.Minute), "мин")
}

func join(a int, ua string, b int, ub string) string {
	s := strconv.Itoa(a) + " " + ua
	if b > 0 {
		s += " " + strconv.Itoa(b) + " " + ub
	}
	return s
}
