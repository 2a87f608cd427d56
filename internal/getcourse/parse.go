package getcourse

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// ParseMoney reads an amount as GetCourse prints it — "12 000,00 руб.",
// "12 000 ₽", "1500.5", "-300" — into kopecks (hundredths of the unit). Groups
// of digits may be separated by spaces, non-breaking spaces (U+00A0, U+202F)
// or thin spaces; a comma or a dot is the decimal separator, and when both
// appear the last one is. An empty cell is 0.
func ParseMoney(s string) (int64, error) {
	var b strings.Builder
	for _, r := range s {
		if !unicode.IsSpace(r) && r != '\u00a0' && r != '\u202f' && r != '\u2009' && r != '\'' {
			b.WriteRune(r)
		}
	}
	t := b.String()
	// Currency words and signs around the number: "руб.", "₽", "RUB", "$".
	start := strings.IndexFunc(t, func(r rune) bool { return unicode.IsDigit(r) || r == '-' })
	if start < 0 {
		if strings.TrimSpace(t) == "" || t == "—" || t == "-" {
			return 0, nil
		}
		return 0, fmt.Errorf("getcourse: no amount in %q", s)
	}
	end := strings.LastIndexFunc(t, unicode.IsDigit)
	if end < start {
		return 0, fmt.Errorf("getcourse: no amount in %q", s)
	}
	t = t[start : end+1]
	neg := strings.HasPrefix(t, "-")
	t = strings.TrimPrefix(t, "-")

	intPart, frac := t, ""
	if i := strings.LastIndexAny(t, ",."); i >= 0 {
		// Kopecks have at most two digits, so three after the last separator
		// ("1.234.567", "12,000") are a thousands group, not a fraction.
		if len(t)-i-1 <= 2 {
			intPart, frac = t[:i], t[i+1:]
		}
	}
	intPart = strings.NewReplacer(",", "", ".", "").Replace(intPart)
	for len(frac) < 2 {
		frac += "0"
	}
	if intPart == "" {
		intPart = "0"
	}
	whole, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("getcourse: bad amount %q", s)
	}
	cents, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("getcourse: bad amount %q", s)
	}
	v := whole*100 + cents
	if neg {
		v = -v
	}
	return v, nil
}

// timeLayouts are the date forms seen in GetCourse exports and webhooks.
var timeLayouts = [...]string{
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
	"02.01.2006 15:04:05",
	"02.01.2006 15:04",
	"02.01.2006",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
}

// ErrNoTime is returned by ParseTime for an empty cell, which in an export
// means "never" (an unpaid deal has no payment date).
var ErrNoTime = errors.New("getcourse: empty date")

// ParseTime reads a GetCourse date. Dates without an offset are in the
// account's zone loc (nil means UTC); RFC 3339 times keep their own offset.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0000-00-00 00:00:00" || s == "0000-00-00" {
		return time.Time{}, ErrNoTime
	}
	if loc == nil {
		loc = time.UTC
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02 15:04:05Z07:00", s); err == nil {
		return t, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("getcourse: unknown date format %q", s)
}
