package outbox

import (
	"booksmeta"

	"context"
	"encoding/json"
	"fmt"

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
