package outbox

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"booksmeta/internal/booking"
	"booksmeta/internal/store"
)

// ReminderJob is the periodic job that queues reminders.
const ReminderJob = "mail_reminders"

// QueueReminders queues one "reminder" mail for every active booking that
// starts within reminder_minutes_before (default 60). The dedupe key makes
// each reminder once, however often the job runs and on how many instances.
func (s *Service) QueueReminders(ctx context.Context) (int, error) {
	before, err := s.Settings.Minutes(ctx, booking.ReminderMinutesBefore)
	if err != nil || before <= 0 {
		return 0, err
	}
	queued := 0
	err = s.Store.InTx(ctx, func(tx *store.Tx) error {
		bs, err := tx.BookingsToRemind(ctx, tx.Now().Add(before))
		if err != nil {
			return err
		}
		for _, b := range bs {
			data, _ := json.Marshal(map[string]any{"booking_id": b.ID, "starts_at": b.StartsAt.Format(time.RFC3339), "ends_at": b.EndsAt.Format(time.RFC3339)})
			ok, err := tx.QueueMail(ctx, &store.OutboxMail{Kind: "reminder", ToEmail: b.UserEmail, ToName: b.UserName, UserID: b.UserID,
				Data: string(data), DedupeKey: "reminder:" + strconv.FormatInt(b.ID, 10)})
			if err != nil {
				return err
			}
			if ok {
				queued++
			}
		}
		return nil
	})
	return queued, err
}

// HandleReminders is the ReminderJob handler.
func (s *Service) HandleReminders(ctx context.Context, _ *store.Job) error {
	n, err := s.QueueReminders(ctx)
	if n > 0 {
		s.Log.Info("reminders queued", "count", n)
		if _, serr := s.Sweep(ctx); serr != nil {
			s.Log.Warn("sweep after reminders", "err", serr)
		}
	}
	return err
}
