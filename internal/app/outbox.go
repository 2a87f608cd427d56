package app

import (
	"booksmeta"

	"context"
)

// alertFailedEvent mails the admins about a webhook event that failed for good.
func (a *App) alertFailedEvent(ctx context.Context, e *booksmeta.WebhookEvent) {
	if err := a.Outbox.QueueAdminAlert(ctx, e); err != nil {
		a.Log.Error("queue admin alert", "event_id", e.ID, "err", err)
	}
}
