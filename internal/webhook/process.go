package webhook

import (
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
	OnFailed func(ctx context.Context, e *store.WebhookEvent)
}

// HandleJob decodes the job and processes its event.
func (p *Processor) HandleJob(ctx context.Context, j *store.Job) error {
	var arg struct {
		EventID int64 `json:"event_id"`
	}
	if err := json.Unmarshal([]byte(j.Payload), &arg); err != nil || arg.EventID == 0 {
		return jobs.Permanent(fmt.Errorf("bad %s payload %q", JobKind, j.Payload))
	}
	return p.Process(ctx, arg.EventID, j.Attempts >= j.MaxAttempts)
}

// Process applies one event exactly once in effect: the event's state is
// checked and set in the same transaction as its effects, so a job run twice
// (a crash after commit, before the job was marked done) changes nothing.
// last says whether this is the final attempt, to mark the event failed
// rather than retrying.
func (p *Processor) Process(ctx context.Context, id int64, last bool) error {
	var out enrol.Outcome
	already := false
	err := p.Store.InTx(ctx, func(tx *store.Tx) error {
		e, err := tx.WebhookByID(ctx, id)
		if err != nil {
			return err
		}
		if e.Outcome != store.OutcomeAccepted || e.State == store.StateDone || e.State == store.StateIgnored {
			already = true
			return nil
		}
		var ev enrol.Event
		if err := json.Unmarshal([]byte(e.Payload), &ev); err != nil {
			return &enrol.RuleError{Message: "Сохранённые данные события повреждены и не могут быть обработаны."}
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
	state, msg := store.StateRetry, "Временная ошибка, повторим автоматически: "+err.Error()
	if rule {
		state, msg = store.StateFailed, err.Error()
	} else if last {
		state, msg = store.StateFailed, "Не удалось обработать после нескольких попыток: "+err.Error()+". Исправьте причину и нажмите «Повторить»."
	}
	if ferr := p.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		return tx.FinishWebhook(ctx, id, state, "", msg)
	}); ferr != nil {
		p.Log.Error("webhook: record processing failure", "event_id", id, "err", ferr)
	}
	p.Metrics.WebhookProcess.WithLabelValues(state).Inc()
	p.Log.Warn("webhook processing failed", "event_id", id, "state", state, "err", err)
	if state == store.StateFailed && p.OnFailed != nil {
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
		_, err := tx.EnqueueJob(ctx, &store.Job{Kind: JobKind, Payload: `{"event_id":` + strconv.FormatInt(id, 10) + `}`, MaxAttempts: 8})
		return err
	})
}
