// Package dashboard is the read model an owner looks at first: counts of
// students and webhook events, bookings per day, utilisation, students near
// their limit. The API sends it as JSON and the admin page shows it; it
// holds no rule, it only reads.
package dashboard

import (
	"booksmeta"

	"context"
	"time"

	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

// Data is what an owner looks at first; the admin page shows the same.
type Data struct {
	Students       int            `json:"students"`
	PaidStudents   int            `json:"paid_students"`
	Admins         int            `json:"admins"`
	WebhooksToday  map[string]int `json:"webhooks_today"`
	FailedEvents   int            `json:"failed_events"`
	UnverifiedMode bool           `json:"unverified_mode"`
	// BookingsPerDay covers the last 14 and the next 14 school days.
	BookingsPerDay []DayCount `json:"bookings_per_day"`
	// Utilisation is taken places over capacity of open slots, in percent.
	UtilisationPast30 int `json:"utilisation_past_30_days"`
	UtilisationNext14 int `json:"utilisation_next_14_days"`
	// UtilisationByHour is the last 30 days by hour of day (school zone):
	// when the server is busy and when it stands idle.
	UtilisationByHour [24]HourUse `json:"utilisation_by_hour_30_days"`
	NearLimit         []NearLimit `json:"near_limit"`
}

// DayCount is the bookings of one school day.
type DayCount struct {
	Date  string `json:"date"`
	Count int    `json:"count"`
	Today bool   `json:"today,omitempty"`
	// Day is the school-zone midnight of Date, for the page's labels.
	Day time.Time `json:"-"`
}

// NearLimit is a student who has (almost) used their booking allowance.
type NearLimit struct {
	UserID   int64  `json:"user_id"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Upcoming int    `json:"upcoming"`
	Limit    int    `json:"limit"`
}

// Build gathers the numbers; "today" is the school's day.
func Build(ctx context.Context, st *store.Store, set *settings.Service) (Data, error) {
	var d Data
	var err error
	if d.Students, d.PaidStudents, d.Admins, err = st.CountUsers(ctx); err != nil {
		return d, err
	}
	now := st.Now().In(set.Location(ctx))
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	if d.WebhooksToday, err = st.CountWebhooksByOutcome(ctx, midnight); err != nil {
		return d, err
	}
	failed, err := st.ListWebhooks(ctx, store.WebhookFilter{Outcome: booksmeta.OutcomeAccepted, State: booksmeta.StateFailed, Limit: 1000})
	if err != nil {
		return d, err
	}
	d.FailedEvents = len(failed)
	secret, err := set.WebhookSecret(ctx)
	if err != nil {
		return d, err
	}
	d.UnverifiedMode = secret == ""
	from, to := midnight.AddDate(0, 0, -14), midnight.AddDate(0, 0, 14)
	starts, err := st.BookingStartsBetween(ctx, from, to)
	if err != nil {
		return d, err
	}
	d.BookingsPerDay = PerDay(starts, from, 28, midnight)
	pct := func(a, b int) int {
		if b == 0 {
			return 0
		}
		return a * 100 / b
	}
	b, c, err := st.Utilisation(ctx, midnight.AddDate(0, 0, -30), st.Now())
	if err != nil {
		return d, err
	}
	d.UtilisationPast30 = pct(b, c)
	loads, err := st.SlotLoads(ctx, midnight.AddDate(0, 0, -30), st.Now())
	if err != nil {
		return d, err
	}
	d.UtilisationByHour = ByHour(loads, now.Location())
	if b, c, err = st.Utilisation(ctx, st.Now(), midnight.AddDate(0, 0, 14)); err != nil {
		return d, err
	}
	d.UtilisationNext14 = pct(b, c)
	near, err := st.NearLimit(ctx, 20)
	if err != nil {
		return d, err
	}
	for _, u := range near {
		d.NearLimit = append(d.NearLimit, NearLimit{UserID: u.ID, Email: u.Email, Name: u.Name(), Upcoming: u.UpcomingBookings, Limit: u.BookingLimit})
	}
	return d, nil
}
