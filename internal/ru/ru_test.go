package ru_test

import (
	"testing"
	"time"

	"booksmeta/internal/ru"
)

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                  "0 с",
		-time.Second:                       "0 с",
		300 * time.Microsecond:             "меньше 1 мс",
		time.Millisecond:                   "1 мс",
		1499 * time.Microsecond:            "1 мс",
		999 * time.Millisecond:             "999 мс",
		time.Second:                        "1 с",
		2500 * time.Millisecond:            "2,5 с",
		9960 * time.Millisecond:            "10 с",
		42 * time.Second:                   "42 с",
		time.Minute:                        "1 мин",
		4*time.Minute + 5*time.Second:      "4 мин 5 с",
		time.Hour:                          "1 ч",
		2*time.Hour + 5*time.Minute + 40e9: "2 ч 6 мин",
	} {
		if got := ru.Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}
