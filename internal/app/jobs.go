package app

import (
	"context"
	"time"

	"booksmeta/internal/audit"
	"booksmeta/internal/backup"
	"booksmeta/internal/enrol"
	"booksmeta/internal/grants"
	"booksmeta/internal/outbox"
	"booksmeta/internal/schedule"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
	"booksmeta/internal/webhook"
)

// registerJobs gives the job runner every background job, with how often
// the periodic ones run.
func (a *App) registerJobs() {
	j := a.Jobs
	j.Handle(webhook.JobKind, a.Processor.HandleJob)
	j.Handle("prune_jobs", func(ctx context.Context, _ *store.Job) error {
		_, err := a.Store.PruneJobs(ctx, a.Store.Now().Add(-7*24*time.Hour))
		return err
	})
	j.Every("prune_jobs", 24*time.Hour)
	j.Handle("prune_webhook_log", func(ctx context.Context, _ *store.Job) error {
		days, err := a.Settings.Int(ctx, settings.WebhookLogKeepDays)
		if err != nil {
			return err
		}
		n, err := webhook.PruneLog(ctx, a.Store, days)
		if n > 0 {
			a.Log.Info("webhook log pruned", "deleted", n, "keep_days", days)
		}
		return err
	})
	j.Every("prune_webhook_log", time.Hour)
	j.Handle("finish_bookings", func(ctx context.Context, _ *store.Job) error {
		_, err := a.Booking.FinishEnded(ctx)
		return err
	})
	j.Every("finish_bookings", time.Minute)
	j.Handle(schedule.JobKind, a.Schedule.HandleJob)
	j.Every(schedule.JobKind, schedule.JobEvery)
	j.Handle(backup.JobKind, a.Backups.HandleJob)
	j.Every(backup.JobKind, backup.JobEvery)
	j.Handle(PruneSessionsJob, a.pruneSessions)
	j.Every(PruneSessionsJob, time.Hour)
	// Each queued row gets its send_mail job in the transaction that queues
	// it; the periodic sweep is the safety net that gives every queued row
	// without a pending job one (rows queued by an older version, or before
	// mail was configured).
	j.Handle(outbox.JobSend, a.Outbox.HandleSend)
	j.Handle(outbox.JobSweep, a.Outbox.HandleSweep)
	j.Every(outbox.JobSweep, outbox.SweepEvery)
	j.Handle(outbox.ReminderJob, a.Outbox.HandleReminders)
	j.Every(outbox.ReminderJob, 5*time.Minute)
	// Tariffs: access that ends on time, and the reminder before (SPEC §8).
	j.Handle(enrol.JobAccess, func(ctx context.Context, _ *store.Job) error {
		return a.Enrol.HandleAccessJob(ctx, a.Store, a.Settings)
	})
	j.Every(enrol.JobAccess, 5*time.Minute)
	// Server access follows the bookings (SPEC §7); the store queues a
	// sync on every change, this is the safety net.
	j.Handle(grants.JobKind, a.Grants.HandleJob)
	j.Every(grants.JobKind, grants.Every)
	j.Handle("prune_access_attempts", func(ctx context.Context, _ *store.Job) error {
		return a.Store.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.PruneGrantAttempts(ctx, a.Store.Now().AddDate(-1, 0, 0))
			return err
		})
	})
	j.Every("prune_access_attempts", 24*time.Hour)
	a.GetCourse.Register(j)
	// The audit trail keeps a year (issue 17); backups and syncs record
	// what they did through wrappers around their jobs.
	j.Handle(audit.PruneJob, a.Audit.HandlePruneJob)
	j.Every(audit.PruneJob, 24*time.Hour)
	a.registerAuditJobs(j)
}
