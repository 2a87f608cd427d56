package webhook

import (
	"booksmeta"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"booksmeta/internal/enrol"
	"booksmeta/internal/jobs"
	"booksmeta/internal/metrics"
	"booksmeta/internal/store"
)

// Processor applies accepted events; it is the handler of JobKind jobs.
type Processor struct {
	Store   *store.Store
	Enrol   *enrol.Service
	Metrics *metrics.Metrics
	Log     *slog.Logger
	// OnFailed is told about an event that ended failed (a rule refused it,
	// or its retries ran out): administrators are alerted through it.
	OnFailed func(ctx context.Context, e *booksmeta.WebhookEvent)
	// Yield, when set, is called between the events of a batch, so that
	// processing gives way to a burst of incoming webhooks.
	Yield func(ctx context.Context)
}

// processingPayload is the payload of a JobKind job: one event (an admin's
// re-run) or every event a group commit accepted.
func processingPayload(ids []int64) string {
	if len(ids) == 1 {
		return `{"event_id":` + strconv.FormatInt(ids[0], 10) + `}`
	}
	b := append(make([]byte, 0, 16+len(ids)*8), `{"event_ids":[`...)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, "]}"...))
}

// enqueueProcessing adds the job that processes ids, in the transaction that
// accepted them: one job per commit, not per event, so a burst costs the
// single SQLite writer one job row and one claim instead of hundreds.
func enqueueProcessing(ctx context.Context, tx *store.Tx, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.EnqueueJob(ctx, &store.Job{Kind: JobKind, Payload: processingPayload(ids), MaxAttempts: 8})
	return err
}

// HandleJob decodes the job and processes its events. In a batch every
// event is tried; one that fails for a passing reason makes the job fail
// after the others are done, so the retry repeats only what is unfinished
// (finished events are skipped by Process).
func (p *Processor) HandleJob(ctx context.Context, j *store.Job) error {
	var arg struct {
		EventID  int64   `json:"event_id"`
		EventIDs []int64 `json:"event_ids"`
	}
	if err := json.Unmarshal([]byte(j.Payload), &arg); err != nil || (arg.EventID == 0) == (len(arg.EventIDs) == 0) {
		return jobs.Permanent(fmt.Errorf("bad %s payload %q", JobKind, j.Payload))
	}
	last := j.Attempts >= j.MaxAttempts
	if arg.EventID != 0 {
		return p.Process(ctx, arg.EventID, last)
	}
	var retry error
	for i, id := range arg.EventIDs {
		if i > 0 && p.Yield != nil {
			p.Yield(ctx)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// A permanent outcome (a rule refused the event, or it was pruned)
		// is already recorded on the event; it does not fail the batch.
		if err := p.Process(ctx, id, last); err != nil && !jobs.IsPermanent(err) && retry == nil {
			retry = err
		}
	}
	return retry
}

// Process applies one event exactly once in effect: the event's state is
// checked and set in the same transaction as its effects, so a job run twice
// (a crash after commit, before the job was marked done) changes nothing.
// last says whether this is the final attempt, to mark the event failed
// rather than retrying.
func (p *Processor) Process(ctx context.Context, id int64, last bool) error {
	// Events of one deal take effect in the order they arrived, even when
	// several workers hold them: a refund processed before its payment would
	// leave the payment to open access again.
	for {
		e, err := p.Store.WebhookByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return jobs.Permanent(fmt.Errorf("webhook event %d not found", id))
		}
		if err != nil {
			return err
		}
		earlier, err := p.Store.EarliestUnfinishedBefore(ctx, e)
		if err != nil {
			return err
		}
		if earlier == 0 {
			break
		}
		if err := p.Process(ctx, earlier, last); err != nil && !jobs.IsPermanent(err) {
			return fmt.Errorf("earlier event %d of the same deal: %w", earlier, err)
		}
	}
	var out enrol.Outcome
	already := false
	err := p.Store.InTx(ctx, func(tx *store.Tx) error {
		e, err := tx.LockWebhook(ctx, id)
		if err != nil {
			return err
		}
		if e.Outcome != booksmeta.OutcomeAccepted || e.State == booksmeta.StateDone || e.State == booksmeta.StateIgnored {
			already = true
			return nil
		}
		var ev enrol.Event
		if err := json.Unmarshal([]byte(e.Payload), &ev); err != nil {
			return enrol.RuleError("Сохранённые данные события повреждены и не могут быть обработаны.")
		}
		if out, err = p.Enrol.Apply(ctx, tx, ev, id); err != nil {
			return err
		}
		return tx.FinishWebhook(ctx, id, out.State, out.Summary, "")
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Pruned from the log before it ran: nothing left to do.
		return jobs.Permanent(fmt.Errorf("webhook event %d not found", id))
	case err == nil:
		if !already {
			p.Metrics.WebhookProcess.WithLabelValues(out.State).Inc()
			p.Log.Info("webhook processed", "event_id", id, "state", out.State, "user_id", out.UserID)
		}
		return nil
	}
	rule := enrol.IsRuleError(err)
	state, msg := booksmeta.StateRetry, "Временная ошибка, повторим автоматически: "+err.Error()
	if rule {
		state, msg = booksmeta.StateFailed, err.Error()
	} else if last {
		state, msg = booksmeta.StateFailed, "Не удалось обработать после нескольких попыток: "+err.Error()+". Исправьте причину и нажмите «Повторить»."
	}
	if ferr := p.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		return tx.FinishWebhook(ctx, id, state, "", msg)
	}); ferr != nil {
		p.Log.Error("webhook: record processing failure", "event_id", id, "err", ferr)
	}
	p.Metrics.WebhookProcess.WithLabelValues(state).Inc()
	p.Log.Warn("webhook processing failed", "event_id", id, "state", state, "err", err)
	if state == booksmeta.StateFailed && p.OnFailed != nil {
		if e, gerr := p.Store.WebhookByID(context.WithoutCancel(ctx), id); gerr == nil {
			p.OnFailed(context.WithoutCancel(ctx), e)
		}
	}
	if rule {
		return jobs.Permanent(err)
	}
	return err
}

// Rerun puts an accepted event back in the queue, after an admin fixed what
// made it fail.
func Rerun(ctx context.Context, s *store.Store, id int64) error {
	return s.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.ResetWebhookForRerun(ctx, id); err != nil {
			return err
		}
		return enqueueProcessing(ctx, tx, []int64{id})
	})
}
