package app

import (
	"booksmeta"

	"context"
	"time"

	"booksmeta/internal/outbox"
)

// initOutbox builds the mail outbox sender and registers its jobs: the
// send_mail job each row gets in the transaction that queues it, and a
// periodic sweep, the safety net that gives every queued row without a
// pending job one (rows queued by an older version, or before mail was
// configured).
func (a *App) initOutbox() {
	a.Outbox = &outbox.Service{Store: a.Store, Settings: a.Settings, Accounts: a.Accounts,
		BaseURL: a.Config.BaseURL, AppName: "Book Smeta", Log: a.Log, Notify: a.Jobs.Notify}
	a.API.Outbox = a.Outbox
	a.Jobs.Handle(outbox.JobSend, a.Outbox.HandleSend)
	a.Jobs.Handle(outbox.JobSweep, a.Outbox.HandleSweep)
	a.Jobs.Every(outbox.JobSweep, outbox.SweepEvery)
	a.Jobs.Handle(outbox.ReminderJob, a.Outbox.HandleReminders)
	a.Jobs.Every(outbox.ReminderJob, 5*time.Minute)
	a.Processor.OnFailed = func(ctx context.Context, e *booksmeta.WebhookEvent) {
		if err := a.Outbox.QueueAdminAlert(ctx, e); err != nil {
			a.Log.Error("queue admin alert", "event_id", e.ID, "err", err)
		}
	}
}
