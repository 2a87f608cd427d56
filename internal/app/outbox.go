package app

import (
	"booksmeta"
	"booksmeta/internal/grants"
	"booksmeta/internal/outbox"
	"booksmeta/internal/store"

	"context"
)

// alertFailedEvent mails the admins about a webhook event that failed for good.
func (a *App) alertFailedEvent(ctx context.Context, e *booksmeta.WebhookEvent) {
	if err := a.Outbox.QueueAdminAlert(ctx, e); err != nil {
		a.Log.Error("queue admin alert", "event_id", e.ID, "err", err)
	}
}

// alertAccess mails the admins, once per grant, that its access cannot be
// closed (or opened); in the transaction that records the failure.
func (a *App) alertAccess(ctx context.Context, tx *store.Tx, al grants.Alert) error {
	a.Log.Error("access alert queued", "booking", al.Grant.BookingID, "action", al.Action)
	return a.Outbox.QueueAccessAlert(ctx, tx, outbox.AccessAlert{Action: al.Action, GrantID: al.Grant.ID, BookingID: al.Grant.BookingID,
		Email: al.Email, Account: al.Grant.Login, Start: al.Grant.StartsAt, End: al.Grant.EndsAt, Error: al.Message, Attempts: al.Grant.Attempts + 1})
}
