package ical

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestWrite(t *testing.T) {
	start := time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC)
	out := string(Write("Book Smeta", []Event{{UID: "booking-1@book-smeta", Start: start, End: start.Add(time.Hour),
		Summary: "Сервер; занятие, важное", Description: strings.Repeat("Длинное описание с кириллицей. ", 10) + "\nвторая строка"}}, start))
	if !strings.HasPrefix(out, "BEGIN:VCALENDAR\r\n") || !strings.HasSuffix(out, "END:VCALENDAR\r\n") {
		t.Fatalf("framing: %q", out)
	}
	for _, want := range []string{"DTSTART:20261127T070000Z", "DTEND:20261127T080000Z", `SUMMARY:Сервер\; занятие\, важное`, "UID:booking-1@book-smeta", `\nвторая`} {
		if !strings.Contains(strings.ReplaceAll(out, "\r\n ", ""), want) {
			t.Errorf("missing %q", want)
		}
	}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf("line longer than 75 octets: %d", len(l))
		}
		if !utf8.ValidString(l) {
			t.Errorf("folding split a character: %q", l)
		}
	}
	if strings.Contains(strings.ReplaceAll(out, "\r\n", ""), "\n") {
		t.Error("a bare LF in the output")
	}
}
