package api

import (
	"context"
	"time"

	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

// DashboardData is what an owner looks at first; the admin page shows the same.
type DashboardData struct {
	Students       int            `json:"students"`
	PaidStudents   int            `json:"paid_students"`
	Admins         int            `json:"admins"`
	WebhooksToday  map[string]int `json:"webhooks_today"`
	FailedEvents   int            `json:"failed_events"`
	UnverifiedMode bool           `json:"unverified_mode"`
}

// Dashboard gathers the numbers; "today" is the school's day.
func Dashboard(ctx context.Context, st *store.Store, set *settings.Service) (DashboardData, error) {
	var d DashboardData
	var err error
	if d.Students, d.PaidStudents, d.Admins, err = st.CountUsers(ctx); err != nil {
		return d, err
	}
	now := st.Now().In(set.Location(ctx))
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	if d.WebhooksToday, err = st.CountWebhooksByOutcome(ctx, midnight); err != nil {
		return d, err
	}
	failed, err := st.ListWebhooks(ctx, store.WebhookFilter{Outcome: store.OutcomeAccepted, State: store.StateFailed, Limit: 1000})
	if err != nil {
		return d, err
	}
	d.FailedEvents = len(failed)
	secret, err := set.WebhookSecret(ctx)
	d.UnverifiedMode = secret == ""
	return d, err
}
