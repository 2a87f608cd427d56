package mail

import (
	"fmt"
	"strings"
	"time"
)

// The data structs below are everything a template can see. None of them has
// a field for a password, a server login or any other secret, so no template
// — default or edited by an admin — can put one into a message.

// WelcomeData is for a student whose account was just created after payment.
type WelcomeData struct {
	Name  string // first name or full name; may be empty
	Email string // the login, shown so the student knows which address to use
	// SetPasswordURL is the one-time link to choose a password.
	SetPasswordURL string
	LinkValidFor   time.Duration // 7 days by the product rules
	LoginURL       string        // default: BASE_URL/login
}

// Slot is the booked time. Start and End are shown in Zone, the school time
// zone; a nil Zone shows them in the location they carry.
type Slot struct {
	Start, End time.Time
	Zone       *time.Location
}

// BookingConfirmationData is sent when a student books a slot.
type BookingConfirmationData struct {
	Name      string
	BookingID int64
	Slot
	// AccessOpensBefore is how long before the start the access details
	// appear in the student's panel (access_opens_minutes_before).
	AccessOpensBefore time.Duration
	// CancelCutoff is how long before the start a student may still cancel
	// (cancel_cutoff_minutes); zero leaves it unsaid.
	CancelCutoff time.Duration
	BookingsURL  string // default: BASE_URL/bookings
}

// CancelledBy says who or what cancelled a booking.
type CancelledBy string

const (
	CancelledByStudent CancelledBy = "student"
	CancelledByAdmin   CancelledBy = "admin"
	CancelledByRefund  CancelledBy = "refund" // the payment was returned in GetCourse
)

// BookingCancelledData is sent whenever a booking is cancelled.
type BookingCancelledData struct {
	Name      string
	BookingID int64
	Slot
	By          CancelledBy
	Reason      string // the admin's words; used when By is CancelledByAdmin
	BookingsURL string // default: BASE_URL/bookings
}

// ByStudent, ByAdmin and ByRefund make the template conditions readable.
func (d BookingCancelledData) ByStudent() bool { return d.By == CancelledByStudent }
func (d BookingCancelledData) ByAdmin() bool   { return d.By == CancelledByAdmin }
func (d BookingCancelledData) ByRefund() bool  { return d.By == CancelledByRefund }

// ReminderData is sent a configurable time before the slot starts.
type ReminderData struct {
	Name      string
	BookingID int64
	Slot
	StartsIn          time.Duration // reminder_minutes_before
	AccessOpensBefore time.Duration
	AccessURL         string // the access panel; default: BASE_URL/bookings
}

// PasswordResetData carries a one-time link to choose a new password.
type PasswordResetData struct {
	Name     string
	Email    string
	ResetURL string
	ValidFor time.Duration
}

// PaymentRevokedData tells a student that their payment was cancelled or
// returned, so booking is closed and future bookings were cancelled.
type PaymentRevokedData struct {
	Name        string
	Deal        string // e.g. "№1042"; empty when GetCourse sent no number
	BookingsURL string // default: BASE_URL/bookings
}

// AccessEndingData reminds a student that their paid access ends soon.
type AccessEndingData struct {
	Name        string
	Until       time.Time
	Zone        *time.Location // the school's; nil: UTC
	BookingsURL string         // default: BASE_URL/bookings
}

// Date is the day access ends, in the school's zone.
func (d AccessEndingData) Date() string { return d.in().Format("02.01.2006") }

// Time is the hour access ends, in the school's zone.
func (d AccessEndingData) Time() string { return d.in().Format("15:04") }

func (d AccessEndingData) in() time.Time {
	if d.Zone == nil {
		return d.Until.UTC()
	}
	return d.Until.In(d.Zone)
}

// AccessEndedData tells a student their paid access has ended and why.
type AccessEndedData struct {
	Name        string
	Reason      string // Russian, one sentence
	BookingsURL string // default: BASE_URL/bookings
}

// AdminAlertData tells administrators that a GetCourse webhook keeps failing.
type AdminAlertData struct {
	EventID  string
	Event    string // e.g. "user_payment"
	Email    string // the student the event is about, if known
	Error    string // last processing error, as shown in the webhook log
	Attempts int
	LastTry  time.Time
	Zone     *time.Location
	LogURL   string // default: BASE_URL/admin/webhooks
}

// When is the last attempt in the school zone.
func (d AdminAlertData) When() string { return formatDateTime(d.LastTry, d.Zone) }

// AccessAlertData tells administrators that closing (or opening) a
// booking's server access keeps failing (SPEC §7). A revoke that fails
// leaves a student with access; Book Smeta keeps retrying it.
type AccessAlertData struct {
	Action    string // grant or revoke
	BookingID int64
	Email     string // the student's
	Account   string // the pool account, if any
	Slot
	Error    string // the provider's Russian reason
	Attempts int
	PageURL  string // default: BASE_URL/admin/access
}

// IsRevoke makes the template conditions readable.
func (d AccessAlertData) IsRevoke() bool { return d.Action == "revoke" }

// TestData is the test message sent from the settings page.
type TestData struct {
	Server      string // where it went, e.g. Sender.Description(); never credentials
	RequestedBy string // the admin who pressed the button
	SentAt      time.Time
	Zone        *time.Location
}

// When is SentAt in the school zone.
func (d TestData) When() string { return formatDateTime(d.SentAt, d.Zone) }

func (s Slot) start() time.Time {
	if s.Zone != nil {
		return s.Start.In(s.Zone)
	}
	return s.Start
}

func (s Slot) end() time.Time {
	if s.Zone != nil {
		return s.End.In(s.Zone)
	}
	return s.End.In(s.Start.Location())
}

// When is the whole slot with its zone: "27.11.2026, 10:00–11:00 (Москва, UTC+3)".
func (s Slot) When() string {
	return s.Date() + ", " + s.TimeRange() + " (" + s.ZoneLabel() + ")"
}

// Date is "27.11.2026".
func (s Slot) Date() string { return s.start().Format("02.01.2006") }

// Weekday is the Russian day name, "пятница".
func (s Slot) Weekday() string { return weekdaysRU[s.start().Weekday()] }

// StartTime is "10:00".
func (s Slot) StartTime() string { return s.start().Format("15:04") }

// TimeRange is "10:00–11:00", with the end date when the slot ends on a later day.
func (s Slot) TimeRange() string {
	st, en := s.start(), s.end()
	if st.Format("2006-01-02") != en.Format("2006-01-02") {
		return st.Format("15:04") + " – " + en.Format("02.01.2006, 15:04")
	}
	return st.Format("15:04") + "–" + en.Format("15:04")
}

// ZoneLabel is "Москва, UTC+3", with the offset in force at the slot start.
func (s Slot) ZoneLabel() string { return zoneLabel(s.start()) }

// AccessOpens is "за 15 минут до начала" for the templates.
func (d BookingConfirmationData) AccessOpens() string { return accessOpens(d.AccessOpensBefore) }

// AccessOpens is "за 15 минут до начала" for the templates.
func (d ReminderData) AccessOpens() string { return accessOpens(d.AccessOpensBefore) }

func accessOpens(d time.Duration) string {
	if d <= 0 {
		return "в момент начала"
	}
	return "за " + formatDuration(d) + " до начала"
}

var weekdaysRU = [...]string{"воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота"}

// zoneCitiesRU names the Russian zones the way people say them; other zones
// fall back to their IANA name.
var zoneCitiesRU = map[string]string{
	"Europe/Kaliningrad": "Калининград",
	"Europe/Moscow":      "Москва",
	"Europe/Simferopol":  "Симферополь",
	"Europe/Volgograd":   "Волгоград",
	"Europe/Kirov":       "Киров",
	"Europe/Astrakhan":   "Астрахань",
	"Europe/Saratov":     "Саратов",
	"Europe/Ulyanovsk":   "Ульяновск",
	"Europe/Samara":      "Самара",
	"Asia/Yekaterinburg": "Екатеринбург",
	"Asia/Omsk":          "Омск",
	"Asia/Novosibirsk":   "Новосибирск",
	"Asia/Barnaul":       "Барнаул",
	"Asia/Tomsk":         "Томск",
	"Asia/Novokuznetsk":  "Новокузнецк",
	"Asia/Krasnoyarsk":   "Красноярск",
	"Asia/Irkutsk":       "Иркутск",
	"Asia/Chita":         "Чита",
	"Asia/Yakutsk":       "Якутск",
	"Asia/Vladivostok":   "Владивосток",
	"Asia/Sakhalin":      "Сахалин",
	"Asia/Magadan":       "Магадан",
	"Asia/Srednekolymsk": "Среднеколымск",
	"Asia/Kamchatka":     "Камчатка",
	"Asia/Anadyr":        "Анадырь",
	"Europe/Minsk":       "Минск",
	"Asia/Almaty":        "Алматы",
	"Asia/Tashkent":      "Ташкент",
	"UTC":                "UTC",
}

func zoneLabel(t time.Time) string {
	_, offset := t.Zone()
	sign := "+"
	if offset < 0 {
		sign, offset = "-", -offset
	}
	utc := fmt.Sprintf("UTC%s%d", sign, offset/3600)
	if m := offset % 3600 / 60; m != 0 {
		utc += fmt.Sprintf(":%02d", m)
	}
	name := t.Location().String()
	if city, ok := zoneCitiesRU[name]; ok {
		name = city
	}
	if name == "UTC" || name == "" || name == "Local" {
		return utc
	}
	return name + ", " + utc
}

// formatDateTime is "27.11.2026, 10:00 (Москва, UTC+3)", or "" for a zero time.
func formatDateTime(t time.Time, zone *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if zone != nil {
		t = t.In(zone)
	}
	return t.Format("02.01.2006, 15:04") + " (" + zoneLabel(t) + ")"
}

// plural picks the Russian form for n: one (1, 21), few (2–4, 22–24), many.
func plural(n int, one, few, many string) string {
	m := n
	if m < 0 {
		m = -m
	}
	switch {
	case m%10 == 1 && m%100 != 11:
		return one
	case m%10 >= 2 && m%10 <= 4 && (m%100 < 12 || m%100 > 14):
		return few
	}
	return many
}

// formatDuration writes d in the accusative case, which is what every use
// needs: "действует 7 дней", "за 1 минуту", "через 1 час 30 минут".
func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "0 минут"
	}
	mins := int((d + 30*time.Second) / time.Minute)
	if mins == 0 {
		mins = 1
	}
	days, hours, minutes := mins/(24*60), mins%(24*60)/60, mins%60
	var parts []string
	if days > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", days, plural(days, "день", "дня", "дней")))
	}
	if hours > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", hours, plural(hours, "час", "часа", "часов")))
	}
	if minutes > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", minutes, plural(minutes, "минуту", "минуты", "минут")))
	}
	return strings.Join(parts, " ")
}
