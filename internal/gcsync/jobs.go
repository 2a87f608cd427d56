package gcsync

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"booksmeta/internal/jobs"
	"booksmeta/internal/store"
)

// tick is how often the periodic job looks whether a sync is due. The period
// itself is a setting that the panel may change at any time, so the runner
// ticks hourly and the handler decides.
const tick = time.Hour

// chainLost is how late a pending export's poll may be before the hourly
// tick assumes its poll job is gone (failed for good, pruned) and steps in.
const chainLost = 10 * time.Minute

// Retention of the call log.
const callsKept = 90 * 24 * time.Hour

// Register adds the sync's job handlers and the hourly tick to r.
func (s *Service) Register(r *jobs.Runner) {
	r.Handle(JobSync, s.HandleSyncJob)
	r.Handle(JobExportPoll, s.HandlePollJob)
	r.Every(JobSync, tick)
}

type jobArgs struct {
	Resume   bool  `json:"resume,omitempty"`
	ExportID int64 `json:"export_id,omitempty"`
}

// HandleSyncJob runs the hourly tick (start a sync when one is due) and the
// resume jobs scheduled after a stop. Errors from GetCourse are recorded in
// the sync state and answered with a scheduled retry, never with a job error:
// the job runner's quick retries would only spend the allowance.
func (s *Service) HandleSyncJob(ctx context.Context, j *store.Job) error {
	var arg jobArgs
	_ = json.Unmarshal([]byte(j.Payload), &arg)
	cfg, err := s.Config(ctx)
	if err != nil {
		return err
	}
	if cfg.Validate() != nil {
		return nil
	}
	now := s.now()
	account := cfg.AccountName()
	if !arg.Resume {
		s.prune(ctx)
		hours, err := s.Settings.Int(ctx, SettingSyncHours)
		if err != nil {
			return err
		}
		if hours <= 0 {
			return nil
		}
		st, err := s.Store.GetCourseSyncState(ctx, account)
		if errors.Is(err, store.ErrNotFound) {
			st = nil
		} else if err != nil {
			return err
		}
		if st != nil && st.RetryAt.After(now) {
			return nil // a stop scheduled its own retry; GetCourse asked us to wait
		}
		ex, err := s.Store.GetCourseExport(ctx, account, exportKind)
		switch {
		case err == nil:
			// The export's poll jobs carry it; step in only when that chain
			// broke (a job failed for good, say).
			if now.Sub(ex.NextPollAt) < chainLost {
				return nil
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		case st != nil && !st.LastRunAt.IsZero() && now.Sub(st.LastRunAt) < time.Duration(hours)*time.Hour-chainLost:
			// Not due. The tick fires on the hour and the last run started a
			// little after one, hence the slack.
			return nil
		}
	}
	r := s.step(ctx, cfg, &stepOpts{say: func(Progress) {}, rep: &Report{}})
	return s.followUp(ctx, r, 0)
}

// HandlePollJob polls the export named in the payload, if it is still the
// pending one.
func (s *Service) HandlePollJob(ctx context.Context, j *store.Job) error {
	var arg jobArgs
	if err := json.Unmarshal([]byte(j.Payload), &arg); err != nil || arg.ExportID == 0 {
		return jobs.Permanent(errors.New("bad " + JobExportPoll + " payload " + strconv.Quote(j.Payload)))
	}
	cfg, err := s.Config(ctx)
	if err != nil {
		return err
	}
	if cfg.Validate() != nil {
		return nil
	}
	ex, err := s.Store.GetCourseExport(ctx, cfg.AccountName(), exportKind)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if ex.ExportID != arg.ExportID {
		return nil
	}
	r := s.step(ctx, cfg, &stepOpts{follow: arg.ExportID, say: func(Progress) {}, rep: &Report{}})
	return s.followUp(ctx, r, arg.ExportID)
}

// followUp schedules what comes after a step run by a job. Unique keys make
// two chains that reach the same state merge into one.
func (s *Service) followUp(ctx context.Context, r stepResult, follow int64) error {
	switch r.out {
	case outWait:
		if r.exportID == 0 {
			return s.schedule(ctx, JobSync, jobArgs{Resume: true}, r.until, JobSync+":resume@"+msKey(r.until))
		}
		return s.schedule(ctx, JobExportPoll, jobArgs{ExportID: r.exportID}, r.until,
			JobExportPoll+":"+strconv.FormatInt(r.exportID, 10)+":"+strconv.Itoa(r.polls))
	case outBusy:
		// The lease holder carries the sync; a poll chain must not die
		// because a CLI run held the lease at this moment.
		if follow != 0 {
			return s.schedule(ctx, JobExportPoll, jobArgs{ExportID: follow}, r.until,
				JobExportPoll+":"+strconv.FormatInt(follow, 10)+":busy@"+msKey(r.until))
		}
	case outStopped:
		if r.stop.RetryAt.IsZero() {
			return nil
		}
		if r.exportID != 0 {
			return s.schedule(ctx, JobExportPoll, jobArgs{ExportID: r.exportID}, r.stop.RetryAt,
				JobExportPoll+":"+strconv.FormatInt(r.exportID, 10)+":retry@"+msKey(r.stop.RetryAt))
		}
		return s.schedule(ctx, JobSync, jobArgs{Resume: true}, r.stop.RetryAt, JobSync+":resume@"+msKey(r.stop.RetryAt))
	}
	return nil
}

func msKey(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func (s *Service) schedule(ctx context.Context, kind string, arg jobArgs, at time.Time, key string) error {
	payload, _ := json.Marshal(arg)
	return s.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		_, err := tx.EnqueueJob(ctx, &store.Job{Kind: kind, Payload: string(payload), UniqueKey: key, RunAt: at, MaxAttempts: 3})
		return err
	})
}

func (s *Service) prune(ctx context.Context) {
	now := s.now()
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		return tx.PruneGetCourse(ctx, now.Add(-callsKept), now.Add(-2*s.Budget.Window))
	})
	if err != nil {
		s.Log.Warn("getcourse: prune call log", "err", err)
	}
}

// RequestSync queues a sync to run in the background now, whatever the
// schedule (the panel's "synchronise now"). A pending export is continued,
// not restarted.
func (s *Service) RequestSync(ctx context.Context) error {
	now := s.now()
	if err := s.schedule(ctx, JobSync, jobArgs{Resume: true}, now, JobSync+":manual@"+msKey(now)); err != nil {
		return err
	}
	if s.Notify != nil {
		s.Notify()
	}
	return nil
}
