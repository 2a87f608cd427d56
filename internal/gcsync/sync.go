package gcsync

import (
	"booksmeta"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/enrol"
	"booksmeta/internal/getcourse"
	"booksmeta/internal/ru"
	"booksmeta/internal/store"
	"booksmeta/internal/webhook"
)

// exportKind is the one export the sync uses: paid deals.
const exportKind = string(getcourse.ExportDeals)

// Sync states stored in getcourse_sync.state.
const (
	StateExporting   = "exporting"
	StateDone        = "done"
	StateRateLimited = "rate_limited"
	StateWaiting     = "waiting"
	StateError       = "error"
	StateFailed      = "failed"
	StateInterrupted = "interrupted"
)

// Progress is one step of a sync, for people watching it.
type Progress struct {
	Stage    string // account, start, export_started, waiting, busy, rows, saving, applied, done, stopped
	Message  string // Russian, one line
	ExportID int64
	Done     int
	Total    int
}

// SyncOptions adjust one Sync.
type SyncOptions struct {
	Progress func(Progress)
	// ProcessNow applies the new events in this process before returning,
	// for a caller that runs no job workers. They are queued as jobs
	// anyway; a job finding its event applied does nothing.
	ProcessNow bool
}

// Report sums up one sync.
type Report struct {
	ExportID int64
	Since    time.Time
	Rows     int // rows in the export
	New      int // events committed now
	Known    int // paid deals already recorded by a webhook or an earlier sync
	Skipped  int // rows that are not a usable paid deal
	Applied  int // ProcessNow: events applied
	Failed   int // ProcessNow: events that could not be applied (see the webhook log)
	Message  string
}

// StopError is a sync that stopped before it was done. Message says why in
// Russian; RetryAt, when set, is when the server tries again by itself.
type StopError struct {
	Kind    getcourse.Kind
	Message string
	RetryAt time.Time
	Err     error
}

func (e *StopError) Error() string {
	if e.Err == nil {
		return "getcourse sync stopped: " + string(e.Kind)
	}
	return "getcourse sync stopped: " + e.Err.Error()
}

func (e *StopError) Unwrap() error { return e.Err }

// Russian explains a Sync error to people.
func Russian(err error) string {
	var se *StopError
	if errors.As(err, &se) {
		return se.Message
	}
	return getcourse.Russian(err)
}

type outcome int

const (
	outWait    outcome = iota // call again at until
	outBusy                   // another process holds the lease; call again at until
	outDone                   // the export was consumed (by us, or by another process)
	outStopped                // see stop
)

type stepResult struct {
	out      outcome
	until    time.Time
	exportID int64 // the export to keep following; 0 lets the next step start one
	polls    int
	byOther  bool
	stop     *StopError
}

type stepOpts struct {
	follow     int64     // continue only this export; never start a new one
	began      time.Time // a sync that succeeded after this did our work
	processNow bool
	say        func(Progress)
	rep        *Report
}

// Sync runs one synchronisation to its end: it starts an export of deals
// paid since the last run (or picks up the pending one, after a restart),
// waits for it, and turns every paid deal into a user_payment event. It
// returns a *StopError when the sync cannot go on now (limits, outages,
// settings); the pending export stays recorded for the next run.
func (s *Service) Sync(ctx context.Context, opts SyncOptions) (Report, error) {
	say := opts.Progress
	if say == nil {
		say = func(Progress) {}
	}
	var rep Report
	cfg, err := s.Config(ctx)
	if err != nil {
		return rep, &StopError{Kind: getcourse.KindInternal, Message: errSettings, Err: err}
	}
	if err := cfg.Validate(); err != nil {
		return rep, &StopError{Kind: getcourse.KindNotConfigured, Message: getcourse.Russian(err), Err: err}
	}
	say(Progress{Stage: "account", Message: fmt.Sprintf("Аккаунт GetCourse: %s (%s).", cfg.AccountName(), cfg.BaseURL())})
	o := &stepOpts{say: say, rep: &rep, processNow: opts.ProcessNow, began: s.now()}
	busySaid := false
	for {
		r := s.step(ctx, cfg, o)
		switch r.out {
		case outDone:
			if r.byOther {
				s.reportFromState(ctx, cfg.AccountName(), &rep)
				say(Progress{Stage: "done", ExportID: rep.ExportID, Message: rep.Message})
			}
			return rep, nil
		case outStopped:
			return rep, r.stop
		case outBusy:
			if !busySaid {
				say(Progress{Stage: "busy", Message: "Синхронизацию сейчас выполняет другой процесс Book Smeta (например, сервер); ждём, пока он закончит шаг…"})
				busySaid = true
			}
		case outWait:
			o.follow = r.exportID
		}
		if err := s.sleepUntil(ctx, r.until); err != nil {
			msg := "Синхронизация прервана."
			if o.follow != 0 {
				msg += fmt.Sprintf(" Выгрузка №%d не потеряется: следующая синхронизация продолжит её.", o.follow)
			}
			return rep, &StopError{Kind: getcourse.KindCanceled, Message: msg, Err: err}
		}
	}
}

func (s *Service) sleepUntil(ctx context.Context, t time.Time) error {
	d := t.Sub(s.now())
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

func (s *Service) reportFromState(ctx context.Context, account string, rep *Report) {
	st, err := s.Store.GetCourseSyncState(ctx, account)
	if err != nil {
		rep.Message = "Выгрузку обработал другой процесс Book Smeta."
		return
	}
	rep.Rows, rep.New, rep.Known, rep.Skipped = st.RowsFound, st.EventsNew, st.EventsKnown, st.RowsSkipped
	rep.Message = "Выгрузку обработал другой процесс Book Smeta. " + st.Message
}

// step does one unit of work under the account's lease: start an export,
// poll the pending one, or consume it. Each unit is short, so the server's
// jobs and a CLI run interleave safely and a crash loses at most one unit.
func (s *Service) step(ctx context.Context, cfg getcourse.Config, o *stepOpts) stepResult {
	account := cfg.AccountName()
	owner := newOwner()
	ok, err := s.Store.LockGetCourseSync(ctx, account, owner, s.Lease)
	if err != nil {
		return s.stop(ctx, nil, nil, err, o)
	}
	if !ok {
		return stepResult{out: outBusy, until: s.now().Add(min(s.PollInterval, 2*time.Second)), exportID: o.follow}
	}
	defer func() {
		if err := s.Store.UnlockGetCourseSync(context.WithoutCancel(ctx), account, owner); err != nil {
			s.Log.Warn("getcourse sync: release lease", "err", err)
		}
	}()
	st, err := s.Store.GetCourseSyncState(ctx, account)
	if err != nil {
		return s.stop(ctx, nil, nil, err, o)
	}
	ex, err := s.Store.GetCourseExport(ctx, account, exportKind)
	if errors.Is(err, store.ErrNotFound) {
		ex = nil
	} else if err != nil {
		return s.stop(ctx, st, nil, err, o)
	}
	if o.follow != 0 && (ex == nil || ex.ExportID != o.follow) {
		return stepResult{out: outDone, exportID: o.follow, byOther: true}
	}
	if ex == nil && !o.began.IsZero() && st.LastOKAt.After(o.began) {
		// Another process finished a sync while we waited for the lease:
		// a second export now would only repeat it.
		return stepResult{out: outDone, byOther: true}
	}
	cl := s.client(cfg)
	if ex == nil {
		return s.start(ctx, cl, st, o)
	}
	return s.poll(ctx, cl, owner, st, ex, o)
}

func (s *Service) save(ctx context.Context, st *store.GetCourseSync, ex *store.GetCourseExport) error {
	// Detached: a cancelled run must still record what GetCourse already
	// did for it, above all an export id it would otherwise lose.
	ctx = context.WithoutCancel(ctx)
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		if ex != nil {
			if err := tx.PutGetCourseExport(ctx, ex); err != nil {
				return err
			}
		}
		return tx.PutGetCourseSync(ctx, st)
	})
}

func (s *Service) start(ctx context.Context, cl *getcourse.Client, st *store.GetCourseSync, o *stepOpts) stepResult {
	now := s.now()
	// The export asks by the school's calendar date: a guessed zone could
	// skip a day of payments.
	zone, err := s.Settings.Zone(ctx)
	if err != nil {
		return s.stop(ctx, st, nil, err, o)
	}
	from := st.CursorAt.Add(-s.Overlap)
	if st.CursorAt.IsZero() {
		days, err := s.Settings.Int(ctx, SettingSyncFirstDays)
		if err != nil {
			return s.stop(ctx, st, nil, err, o)
		}
		from = now.AddDate(0, 0, -days)
	}
	o.rep.Since = from
	o.say(Progress{Stage: "start", Message: "Ищем в GetCourse заказы, оплаченные с " + from.In(zone).Format("02.01.2006") + "."})
	id, err := cl.StartExport(ctx, getcourse.ExportDeals, url.Values{
		"status":         {"payed"},
		"payed_at[from]": {from.In(zone).Format("2006-01-02")},
	})
	if err != nil {
		return s.stop(ctx, st, nil, err, o)
	}
	ex := &store.GetCourseExport{Account: st.Account, Kind: exportKind, ExportID: id, From: from, To: now,
		StartedAt: now, NextPollAt: now.Add(s.PollInterval)}
	st.LastRunAt, st.State, st.ErrorKind, st.RetryAt = now, StateExporting, "", time.Time{}
	st.Message = fmt.Sprintf("Выгрузка №%d запущена; GetCourse готовит её.", id)
	if err := s.save(ctx, st, ex); err != nil {
		return s.stop(ctx, nil, nil, err, o)
	}
	o.rep.ExportID = id
	s.Log.Info("getcourse export started", "account", st.Account, "export_id", id, "since", from)
	o.say(Progress{Stage: "export_started", ExportID: id, Message: fmt.Sprintf("Выгрузка №%d запущена в GetCourse.", id)})
	return stepResult{out: outWait, until: ex.NextPollAt, exportID: id}
}

func (s *Service) poll(ctx context.Context, cl *getcourse.Client, owner string, st *store.GetCourseSync, ex *store.GetCourseExport, o *stepOpts) stepResult {
	now := s.now()
	o.rep.ExportID, o.rep.Since = ex.ExportID, ex.From
	if now.Before(ex.NextPollAt) {
		// Someone polled a moment ago; asking again would only cost allowance.
		return stepResult{out: outWait, until: ex.NextPollAt, exportID: ex.ExportID, polls: ex.Polls}
	}
	if now.Sub(ex.StartedAt) > s.MaxExportAge {
		st.State, st.ErrorKind = StateWaiting, ""
		st.Message = fmt.Sprintf("GetCourse не подготовил выгрузку №%d за %d ч; запрашиваем новую.", ex.ExportID, int(s.MaxExportAge.Hours()))
		err := s.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
			if err := tx.DeleteGetCourseExport(ctx, ex.Account, ex.Kind, ex.ExportID); err != nil {
				return err
			}
			return tx.PutGetCourseSync(ctx, st)
		})
		if err != nil {
			return s.stop(ctx, st, ex, err, o)
		}
		s.Log.Warn("getcourse export abandoned", "account", ex.Account, "export_id", ex.ExportID, "age", now.Sub(ex.StartedAt))
		o.say(Progress{Stage: "waiting", ExportID: ex.ExportID, Message: st.Message})
		return stepResult{out: outWait, until: now}
	}
	exp, err := cl.ExportResult(ctx, ex.ExportID)
	switch {
	case errors.Is(err, getcourse.KindNotReady):
		ex.Polls++
		ex.LastPolledAt, ex.NextPollAt = now, now.Add(s.PollInterval)
		st.State, st.ErrorKind, st.RetryAt = StateExporting, "", time.Time{}
		st.Message = fmt.Sprintf("GetCourse ещё готовит выгрузку №%d (проверок: %d).", ex.ExportID, ex.Polls)
		if err := s.save(ctx, st, ex); err != nil {
			return s.stop(ctx, st, ex, err, o)
		}
		o.say(Progress{Stage: "waiting", ExportID: ex.ExportID, Message: fmt.Sprintf("Выгрузка №%d ещё готовится, проверим снова через %s.", ex.ExportID, seconds(s.PollInterval))})
		return stepResult{out: outWait, until: ex.NextPollAt, exportID: ex.ExportID, polls: ex.Polls}
	case errors.Is(err, getcourse.KindExportEmpty):
		exp = &getcourse.Export{}
	case err != nil:
		return s.stop(ctx, st, ex, err, o)
	}
	return s.consume(ctx, owner, st, ex, exp, o)
}

func seconds(d time.Duration) string { return ru.Duration(d) }

// consume turns the export's paid deals into events, then moves the cursor.
// Batches commit on their own: a crash midway leaves the export pending, and
// the re-run finds the committed rows by their idempotency keys.
func (s *Service) consume(ctx context.Context, owner string, st *store.GetCourseSync, ex *store.GetCourseExport, exp *getcourse.Export, o *stepOpts) stepResult {
	now := s.now()
	items, skipped := dealEvents(exp)
	o.rep.Rows, o.rep.Skipped = len(exp.Items), skipped
	o.say(Progress{Stage: "rows", ExportID: ex.ExportID, Total: len(exp.Items),
		Message: fmt.Sprintf("Выгрузка №%d получена: оплаченных заказов — %d.", ex.ExportID, len(exp.Items))})
	var ids []int64
	batch := max(s.BatchSize, 1)
	for i := 0; i < len(items); i += batch {
		part := items[i:min(i+batch, len(items))]
		var newIDs []int64
		known := 0
		err := s.Store.InTx(ctx, func(tx *store.Tx) error {
			newIDs, known = nil, 0
			for _, it := range part {
				seen, err := tx.DealKnownPaid(ctx, it.dealKey)
				if err != nil {
					return err
				}
				if seen {
					known++
					continue
				}
				rec := it.record(now, ex.ExportID)
				inserted, err := tx.InsertAcceptedWebhook(ctx, rec)
				if err != nil {
					return err
				}
				if !inserted {
					known++
					continue
				}
				if _, err := tx.EnqueueJob(ctx, &store.Job{Kind: webhook.JobKind,
					Payload: `{"event_id":` + strconv.FormatInt(rec.ID, 10) + `}`, MaxAttempts: 8}); err != nil {
					return err
				}
				newIDs = append(newIDs, rec.ID)
			}
			return nil
		})
		if err != nil {
			return s.stop(ctx, st, ex, err, o)
		}
		ids = append(ids, newIDs...)
		o.rep.New += len(newIDs)
		o.rep.Known += known
		if _, err := s.Store.LockGetCourseSync(ctx, ex.Account, owner, s.Lease); err != nil {
			return s.stop(ctx, st, ex, err, o)
		}
		o.say(Progress{Stage: "saving", ExportID: ex.ExportID, Done: i + len(part), Total: len(items),
			Message: fmt.Sprintf("Проверено заказов: %d из %d (новых: %d, уже учтённых: %d).", i+len(part), len(items), o.rep.New, o.rep.Known)})
	}
	if len(ids) > 0 && s.Notify != nil {
		s.Notify()
	}

	st.CursorAt, st.LastOKAt, st.LastFinishedAt = ex.To, now, now
	st.State, st.ErrorKind, st.RetryAt = StateDone, "", time.Time{}
	st.RowsFound, st.EventsNew, st.EventsKnown, st.RowsSkipped = o.rep.Rows, o.rep.New, o.rep.Known, o.rep.Skipped
	st.Message = summary(o.rep)
	err := s.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		if err := tx.DeleteGetCourseExport(ctx, ex.Account, ex.Kind, ex.ExportID); err != nil {
			return err
		}
		return tx.PutGetCourseSync(ctx, st)
	})
	if err != nil {
		return s.stop(ctx, st, ex, err, o)
	}
	s.Log.Info("getcourse sync done", "account", ex.Account, "export_id", ex.ExportID, "rows", o.rep.Rows,
		"new", o.rep.New, "known", o.rep.Known, "skipped", o.rep.Skipped)
	if o.processNow {
		s.applyNow(ctx, ids, o)
	}
	o.rep.Message = st.Message
	if o.processNow && len(ids) > 0 {
		o.rep.Message += fmt.Sprintf(" Применено сразу: %d, с ошибкой: %d.", o.rep.Applied, o.rep.Failed)
	}
	o.say(Progress{Stage: "done", ExportID: ex.ExportID, Message: o.rep.Message})
	return stepResult{out: outDone, exportID: ex.ExportID}
}

func summary(r *Report) string {
	msg := fmt.Sprintf("Синхронизация завершена: оплаченных заказов — %d, новых — %d, уже учтённых раньше — %d.", r.Rows, r.New, r.Known)
	if r.Skipped > 0 {
		msg += fmt.Sprintf(" Пропущено строк без номера заказа или не в статусе «Завершен»: %d.", r.Skipped)
	}
	return msg
}

func (s *Service) applyNow(ctx context.Context, ids []int64, o *stepOpts) {
	if s.Processor == nil || len(ids) == 0 {
		return
	}
	for _, id := range ids {
		if err := s.Processor.Process(ctx, id, false); err != nil {
			o.rep.Failed++
			continue
		}
		o.rep.Applied++
	}
	msg := fmt.Sprintf("Применено событий: %d.", o.rep.Applied)
	if o.rep.Failed > 0 {
		msg += fmt.Sprintf(" Не удалось применить: %d — причины в журнале webhook (способ получения «sync»).", o.rep.Failed)
	}
	o.say(Progress{Stage: "applied", Done: o.rep.Applied, Total: len(ids), Message: msg})
}

// stop records why the sync cannot go on and decides when it is tried again.
func (s *Service) stop(ctx context.Context, st *store.GetCourseSync, ex *store.GetCourseExport, err error, o *stepOpts) stepResult {
	now := s.now()
	kind := getcourse.KindOf(err)
	se := &StopError{Kind: kind, Err: err}
	state := StateFailed
	msg := getcourse.Russian(err)
	switch kind {
	case getcourse.KindRateLimited:
		state, se.RetryAt = StateRateLimited, now.Add(s.RateLimitPause)
	case getcourse.KindBudgetExhausted:
		state, se.RetryAt = StateRateLimited, now.Add(s.RateLimitPause)
		var ge *getcourse.Error
		if errors.As(err, &ge) && !ge.RetryAt.IsZero() {
			se.RetryAt = ge.RetryAt
		}
	case getcourse.KindExportBusy:
		state, se.RetryAt = StateWaiting, now.Add(s.RetryAfter)
	case getcourse.KindNetwork, getcourse.KindTimeout, getcourse.KindServer, getcourse.KindInternal:
		state, se.RetryAt = StateError, now.Add(s.RetryAfter)
	case getcourse.KindCanceled:
		state = StateInterrupted
	case "":
		if ctx.Err() != nil {
			kind, state = getcourse.KindCanceled, StateInterrupted
			msg = "Синхронизация прервана."
		} else {
			kind, state, se.RetryAt = getcourse.KindInternal, StateError, now.Add(s.RetryAfter)
			msg = "Синхронизация остановлена из-за ошибки базы данных Book Smeta."
		}
		se.Kind = kind
	}
	keep := ex != nil
	if ex != nil && (kind == getcourse.KindAPI || kind == getcourse.KindBadResponse) {
		// The export id itself is unusable (GetCourse no longer knows it, or
		// answers garbage for it): waiting on it would never end.
		keep = false
		msg += fmt.Sprintf(" Выгрузка №%d отброшена; следующая синхронизация запросит новую.", ex.ExportID)
	} else if ex != nil {
		msg += fmt.Sprintf(" Выгрузка №%d сохранена: следующая синхронизация продолжит её, новую запускать не придётся.", ex.ExportID)
	}
	if !se.RetryAt.IsZero() && kind != getcourse.KindBudgetExhausted {
		msg += " Следующая попытка — после " + se.RetryAt.In(s.zone(ctx)).Format("15:04") + "."
	}
	se.Message = msg
	if st != nil {
		st.State, st.Message, st.ErrorKind, st.RetryAt, st.LastFinishedAt = state, msg, string(kind), se.RetryAt, now
		serr := s.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
			if ex != nil && !keep {
				if err := tx.DeleteGetCourseExport(ctx, ex.Account, ex.Kind, ex.ExportID); err != nil {
					return err
				}
			}
			return tx.PutGetCourseSync(ctx, st)
		})
		if serr != nil {
			s.Log.Error("getcourse sync: record stop", "err", serr)
		}
	}
	account := ""
	if st != nil {
		account = st.Account
	}
	s.Log.Warn("getcourse sync stopped", "account", account, "kind", string(kind), "retry_at", se.RetryAt, "err", err)
	o.say(Progress{Stage: "stopped", Message: msg})
	r := stepResult{out: outStopped, stop: se}
	if keep {
		r.exportID = ex.ExportID
	}
	return r
}

// syncItem is one paid deal of an export, ready to become an event.
type syncItem struct {
	dealKey string // as enrol keys deals, so webhooks and the sync meet
	idemKey string
	label   string
	event   enrol.Event
	body    string
}

// dealEvents maps export rows to user_payment events. Rows are read by
// column title: GetCourse splices custom columns in per account.
func dealEvents(exp *getcourse.Export) (items []syncItem, skipped int) {
	costCol := ""
	for _, f := range exp.Fields {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(f)), "стоимость") {
			costCol = f
			break
		}
	}
	for i, r := range exp.Rows() {
		if !enrol.StatusPaid(getcourse.DealStatusCode(r.First("Статус", "status"))) {
			skipped++
			continue
		}
		ev := enrol.Event{
			Name:            enrol.EventUserPayment,
			Email:           r.First("Email", "E-mail", "email"),
			Phone:           r.First("Телефон", "phone"),
			GetCourseUserID: r.First("ID пользователя", "user_id"),
			DealID:          r.First("ID заказа", "id"),
			DealNumber:      r.First("Номер", "number"),
			Status:          "payed",
			ProductTitle:    r.First("Title", "Состав заказа", "Предложение"),
			Source:          enrol.SourceSync,
		}
		// The offers, for tariffs and the «Тарифы» page (SPEC §8).
		ev.OfferIDs = strings.FieldsFunc(r.First("ID предложения", "ID предложений", "offer_id"), func(c rune) bool { return c == ',' || c == ' ' })
		ev.FirstName, ev.LastName = splitName(r.First("Пользователь", "Имя"))
		if costCol != "" {
			ev.Cost = money(r.Get(costCol))
		}
		it := syncItem{event: ev}
		switch {
		case ev.DealID != "":
			it.dealKey, it.idemKey, it.label = "id:"+ev.DealID, "sync:deal:"+ev.DealID+":paid", "id "+ev.DealID
		case ev.DealNumber != "":
			it.dealKey, it.idemKey = "n:"+ev.DealNumber, "sync:deal:n"+ev.DealNumber+":paid"
		default:
			// Without an id nothing makes the row idempotent.
			skipped++
			continue
		}
		if ev.DealNumber != "" {
			it.label = "№" + ev.DealNumber
		}
		row := map[string]string{}
		for j, f := range exp.Fields {
			if j < len(exp.Items[i]) && strings.TrimSpace(exp.Items[i][j]) != "" {
				row[f] = exp.Items[i][j]
			}
		}
		b, _ := json.Marshal(row)
		it.body = string(b)
		items = append(items, it)
	}
	return items, skipped
}

// record is the webhook_events row the intake would have committed for this
// payment, marked as coming from the sync.
func (it syncItem) record(now time.Time, exportID int64) *booksmeta.WebhookEvent {
	payload, _ := json.Marshal(it.event)
	return &booksmeta.WebhookEvent{
		ReceivedAt: now, Method: "SYNC", Path: "getcourse:export/" + strconv.FormatInt(exportID, 10),
		ContentType: "application/json", Headers: "{}", Body: it.body, BodySize: len(it.body),
		Auth: booksmeta.AuthSync, Outcome: booksmeta.OutcomeAccepted,
		Reason: fmt.Sprintf("Найдено синхронизацией с GetCourse: заказ %s оплачен (выгрузка №%d).", it.label, exportID),
		Event:  it.event.Name, Email: store.NormalizeEmail(it.event.Email), IdempotencyKey: it.idemKey,
		Payload: string(payload), State: booksmeta.StatePending,
	}
}

// splitName reads "Имя Фамилия" as GetCourse prints a user; an email in its
// place (users without a name) is no name at all.
func splitName(full string) (first, last string) {
	full = strings.TrimSpace(full)
	if full == "" || strings.Contains(full, "@") {
		return "", ""
	}
	first, last, _ = strings.Cut(full, " ")
	return first, strings.TrimSpace(last)
}

// money rewrites "12 000,00 руб." as "12000.00", the way webhooks send costs.
func money(s string) string {
	k, err := getcourse.ParseMoney(s)
	if err != nil || strings.TrimSpace(s) == "" {
		return strings.TrimSpace(s)
	}
	sign := ""
	if k < 0 {
		sign, k = "-", -k
	}
	return fmt.Sprintf("%s%d.%02d", sign, k/100, k%100)
}
