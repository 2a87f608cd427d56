package store

import (
	"booksmeta"

	"context"
	"strconv"
)

// deliveryCond keeps only requests that reached the webhook endpoint: rows
// the GetCourse sync made and history imported from the PHP version were
// never sent by GetCourse, so they say nothing about the school's process or
// subscription.
const deliveryCond = `auth NOT IN ('` + booksmeta.AuthSync + `', 'legacy')`

// RecentDeliveries lists the last limit requests to the webhook endpoint,
// newest first, whatever became of them.
func (s *Store) RecentDeliveries(ctx context.Context, limit int) ([]*booksmeta.WebhookEvent, error) {
	if limit <= 0 || limit > 100 {
		limit = 10
	}
	return collect(scanWebhook)(s.read().QueryContext(ctx, "SELECT "+webhookCols+" FROM webhook_events WHERE "+
		deliveryCond+" ORDER BY id DESC LIMIT "+strconv.Itoa(limit)))
}

// LastAcceptedDelivery is the newest accepted request to the webhook
// endpoint that carries data (a "test" event has no fields to report on),
// or ErrNotFound.
func (s *Store) LastAcceptedDelivery(ctx context.Context) (*booksmeta.WebhookEvent, error) {
	return scanWebhook(s.read().QueryRowContext(ctx, "SELECT "+webhookCols+" FROM webhook_events WHERE "+
		deliveryCond+" AND outcome = $1 AND event <> 'test' ORDER BY id DESC LIMIT 1", booksmeta.OutcomeAccepted))
}
