package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/audit"
	"booksmeta/internal/backup"
	"booksmeta/internal/gcsync"
	"booksmeta/internal/jobs"
	"booksmeta/internal/store"
)

// registerAuditJobs wraps the backup and GetCourse sync jobs so that what they did is recorded. The wrappers only
// look at the outcome: the jobs themselves know nothing of the trail.
func (a *App) registerAuditJobs(j *jobs.Runner) {
	j.Handle(backup.JobKind, a.auditedBackup)
	j.Handle(gcsync.JobSync, a.auditedSync(a.GetCourse.HandleSyncJob))
	j.Handle(gcsync.JobExportPoll, a.auditedSync(a.GetCourse.HandlePollJob))
}

// auditedBackup runs the daily backup job and records a copy it took or
// failed to take; the hourly checks that find nothing due leave no entry.
func (a *App) auditedBackup(ctx context.Context, job *store.Job) error {
	due, err := a.Backups.Due(ctx)
	if err != nil || !due {
		return err
	}
	if err := a.Backups.HandleJob(ctx, job); err != nil {
		a.Audit.Record(ctx, audit.System(audit.BackupFailed, "backup", "Ежедневная резервная копия не сделана: "+backupReason(err)))
		return err
	}
	if cs, err := a.Backups.List(ctx); err == nil && len(cs) > 0 {
		c := newest(cs)
		a.Audit.Record(ctx, audit.System(audit.BackupRun, "backup:"+c.Name, "Сделана ежедневная резервная копия "+c.Name+" ("+sizeText(c.Size)+")."))
	}
	return nil
}

func newest(cs []backup.Copy) backup.Copy {
	n := cs[0]
	for _, c := range cs[1:] {
		if c.ModTime.After(n.ModTime) {
			n = c
		}
	}
	return n
}

// backupReason words a failed copy for the admin without a path's insides.
func backupReason(err error) string {
	if errors.Is(err, backup.ErrNotSQLite) {
		return "копии из панели делаются только для SQLite."
	}
	return "ошибка записи копии (подробности в журнале сервера). Проверьте папку для копий и свободное место."
}

// auditedSync runs a GetCourse sync step and records a run that ended
// (well or not) during it; steps that only wait leave no entry.
func (a *App) auditedSync(h jobs.Handler) jobs.Handler {
	return func(ctx context.Context, job *store.Job) error {
		before := a.syncFinished(ctx)
		err := h(ctx, job)
		cfg, cerr := a.GetCourse.Config(ctx)
		if cerr != nil {
			return err
		}
		st, serr := a.Store.GetCourseSyncState(ctx, cfg.AccountName())
		if serr != nil || st.LastFinishedAt.IsZero() || st.LastFinishedAt.Equal(before) {
			return err
		}
		if st.State == gcsync.StateDone {
			a.Audit.Record(ctx, audit.System(audit.SyncRun, "getcourse:"+cfg.AccountName(), fmt.Sprintf(
				"Синхронизация с GetCourse завершена: найдено оплаченных заказов %d, новых событий %d, уже известных %d, пропущено строк %d.",
				st.RowsFound, st.EventsNew, st.EventsKnown, st.RowsSkipped)))
		} else {
			a.Audit.Record(ctx, audit.System(audit.SyncFailed, "getcourse:"+cfg.AccountName(), "Синхронизация с GetCourse не завершена: "+st.Message))
		}
		return err
	}
}

func (a *App) syncFinished(ctx context.Context) time.Time {
	cfg, err := a.GetCourse.Config(ctx)
	if err != nil {
		return time.Time{}
	}
	st, err := a.Store.GetCourseSyncState(ctx, cfg.AccountName())
	if err != nil {
		return time.Time{}
	}
	return st.LastFinishedAt
}

// sizeText writes a size for people: «12,3 МБ».
func sizeText(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " Б"
	}
	v, i := float64(n), -1
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	return strings.Replace(s, ".", ",", 1) + " " + []string{"КБ", "МБ", "ГБ", "ТБ"}[i]
}
