package outbox

import (
	"booksmeta"

	"context"
	"encoding/json"
	"fmt"
	"time"

	"booksmeta/internal/mail"

	"booksmeta/internal/store"
)

// QueueAdminAlert tells every active administrator that a webhook event
// could not be processed and needs them; once per event and admin.
func (s *Service) QueueAdminAlert(ctx context.Context, e *booksmeta.WebhookEvent) error {
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		admins, err := tx.ActiveAdmins(ctx)
		if err != nil {
			return err
		}
		data, _ := json.Marshal(map[string]any{"event_id": e.ID, "event": e.Event, "email": e.Email,
			"error": e.LastError, "attempts": e.Attempts})
		for _, a := range admins {
			if _, err := tx.QueueMail(ctx, &store.OutboxMail{Kind: "admin_alert", ToEmail: a.Email, ToName: a.Name(), UserID: a.ID,
				Data: string(data), DedupeKey: fmt.Sprintf("admin_alert:%d:%d", e.ID, a.ID)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && s.Notify != nil {
		s.Notify()
	}
	return err
}

// AccessAlert is what QueueAccessAlert tells the admins about a booking
// whose server access cannot be closed (or opened).
type AccessAlert struct {
	Action     string // grant or revoke
	GrantID    int64
	BookingID  int64
	Email      string
	Account    string
	Start, End time.Time
	Error      string // Russian
	Attempts   int
}

// QueueAccessAlert queues, inside tx, one mail to every active admin; the
// dedupe key makes a grant's alert one per admin, however often it is asked.
func (s *Service) QueueAccessAlert(ctx context.Context, tx *store.Tx, a AccessAlert) error {
	admins, err := tx.ActiveAdmins(ctx)
	if err != nil {
		return err
	}
	data, err := json.Marshal(map[string]any{"action": a.Action, "booking_id": a.BookingID, "email": a.Email, "account": a.Account,
		"starts_at": a.Start.Format(time.RFC3339), "ends_at": a.End.Format(time.RFC3339), "error": a.Error, "attempts": a.Attempts})
	if err != nil {
		return err
	}
	for _, ad := range admins {
		if _, err := tx.QueueMail(ctx, &store.OutboxMail{Kind: string(mail.KindAccessAlert), ToEmail: ad.Email, ToName: ad.Name(), UserID: ad.ID,
			Data: string(data), DedupeKey: fmt.Sprintf("access_alert:%d:%s:%d", a.GrantID, a.Action, ad.ID)}); err != nil {
			return err
		}
	}
	return nil
}
