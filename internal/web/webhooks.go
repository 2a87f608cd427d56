package web

import (
	"booksmeta"

	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/audit"
	"booksmeta/internal/store"
	"booksmeta/internal/webhook"
)

const webhookPage = 50

// PruneDays are the ages the log can be pruned by, as in the PHP version.
var PruneDays = []int{7, 30, 90, 180, 365}

type option struct {
	Value, Label string
}

func outcomeOptions() []option {
	var out []option
	for _, o := range []string{booksmeta.OutcomeAccepted, booksmeta.OutcomeDuplicate, booksmeta.OutcomeRejected, booksmeta.OutcomeInvalid, booksmeta.OutcomeTooLarge} {
		out = append(out, option{o, outcomeLabel(o)})
	}
	return out
}

func stateOptions() []option {
	var out []option
	for _, st := range []string{booksmeta.StatePending, booksmeta.StateRetry, booksmeta.StateFailed, booksmeta.StateDone, booksmeta.StateIgnored} {
		out = append(out, option{st, stateLabel(st)})
	}
	return out
}

func (s *Server) webhookList(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	ctx := r.Context()
	q := r.URL.Query()
	loc := s.Settings.Location(ctx)
	f := store.WebhookFilter{Outcome: q.Get("outcome"), State: q.Get("state"),
		Event: strings.TrimSpace(q.Get("event")), Email: strings.TrimSpace(q.Get("email")), Limit: webhookPage + 1}
	f.BeforeID, _ = strconv.ParseInt(q.Get("before_id"), 10, 64)
	var problems []string
	if v := q.Get("from"); v != "" {
		if d, err := time.ParseInLocation("2006-01-02", v, loc); err == nil {
			f.From = d
		} else {
			problems = append(problems, "Дата «с» не распознана: выберите её в календаре поля.")
		}
	}
	if v := q.Get("to"); v != "" {
		if d, err := time.ParseInLocation("2006-01-02", v, loc); err == nil {
			f.To = d.AddDate(0, 0, 1)
		} else {
			problems = append(problems, "Дата «по» не распознана: выберите её в календаре поля.")
		}
	}
	es, err := s.Store.ListWebhooks(ctx, f)
	if err != nil {
		s.internalError(w, r, "list webhooks", err)
		return
	}
	d := s.adminData(r, "Журнал webhook", "webhooks")
	if len(es) > webhookPage {
		es = es[:webhookPage]
		next := url.Values{}
		for _, k := range []string{"outcome", "state", "event", "email", "from", "to"} {
			if v := q.Get(k); v != "" {
				next.Set(k, v)
			}
		}
		next.Set("before_id", strconv.FormatInt(es[len(es)-1].ID, 10))
		d["NextPage"] = "/admin/webhooks?" + next.Encode()
	}
	d["Events"], d["Loc"], d["Q"], d["Problems"] = es, loc, q, problems
	d["Outcomes"], d["States"], d["PruneDays"] = outcomeOptions(), stateOptions(), PruneDays
	d["Filtered"] = f.Outcome != "" || f.State != "" || f.Event != "" || f.Email != "" || !f.From.IsZero() || !f.To.IsZero()
	d["Paged"] = f.BeforeID > 0
	s.render(w, http.StatusOK, "webhooks", d)
}

// pretty indents JSON for reading; anything else is shown as it came.
// Either way the template escapes it: a body never becomes markup.
func pretty(s string) string {
	if s == "" || !json.Valid([]byte(s)) {
		return s
	}
	var b bytes.Buffer
	if json.Indent(&b, []byte(s), "", "  ") != nil {
		return s
	}
	return b.String()
}

func (s *Server) webhookDetailPage(w http.ResponseWriter, r *http.Request, status int, e *booksmeta.WebhookEvent, problem string) {
	d := s.adminData(r, "Запись журнала webhook #"+e.PublicID(), "webhooks")
	d["E"], d["Loc"], d["Problem"] = e, s.Settings.Location(r.Context()), problem
	d["Body"], d["Headers"], d["Payload"], d["Result"] = pretty(e.Body), pretty(e.Headers), pretty(e.Payload), pretty(e.Result)
	d["Rerunnable"] = e.Outcome == booksmeta.OutcomeAccepted
	d["Redacted"] = webhook.Redacted
	s.render(w, status, "webhook", d)
}

func (s *Server) webhookByPath(w http.ResponseWriter, r *http.Request) (*booksmeta.WebhookEvent, bool) {
	id, ok := pathID(r)
	if !ok {
		s.fail(w, r, http.StatusNotFound, "Запись не найдена", "В адресе неверный номер записи. Откройте запись из журнала webhook.")
		return nil, false
	}
	e, err := s.Store.WebhookByID(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, "Запись не найдена", "Записи журнала с таким номером нет: возможно, её удалили очисткой журнала.")
		return nil, false
	}
	if err != nil {
		s.internalError(w, r, "read webhook", err)
		return nil, false
	}
	return e, true
}

func (s *Server) webhookDetail(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	if e, ok := s.webhookByPath(w, r); ok {
		s.webhookDetailPage(w, r, http.StatusOK, e, "")
	}
}

func (s *Server) webhookRerun(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	e, ok := s.webhookByPath(w, r)
	if !ok {
		return
	}
	if e.Outcome != booksmeta.OutcomeAccepted {
		s.webhookDetailPage(w, r, http.StatusConflict, e, "Повторить можно только принятое событие. Отклонённые запросы и повторы не обрабатываются: исправьте причину (например, секрет) и попросите GetCourse отправить событие снова.")
		return
	}
	if err := webhook.Rerun(r.Context(), s.Store, e.ID); err != nil {
		s.internalError(w, r, "rerun webhook", err)
		return
	}
	if s.Jobs != nil {
		s.Jobs.Notify()
	}
	s.Log.Info("webhook rerun requested", "event_id", e.ID, "by", u.ID)
	s.record(r, audit.By(u, audit.WebhookRerun, audit.Webhook(e.ID), "Событие №"+strconv.FormatInt(e.ID, 10)+" ("+e.Event+", "+e.Email+") поставлено на повторную обработку."))
	http.Redirect(w, r, "/admin/webhooks/"+e.PublicID()+"?ok=rerun", http.StatusSeeOther)
}

func (s *Server) webhookPrune(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	days, _ := strconv.Atoi(r.PostFormValue("older_than_days"))
	valid := false
	for _, d := range PruneDays {
		valid = valid || d == days
	}
	if !valid {
		s.fail(w, r, http.StatusUnprocessableEntity, "Журнал не очищен", "Выберите возраст записей из списка: 7, 30, 90, 180 или 365 дней.")
		return
	}
	var n int64
	err := s.Store.InTx(r.Context(), func(tx *store.Tx) error {
		var err error
		n, err = tx.PruneWebhooks(r.Context(), tx.Now().AddDate(0, 0, -days))
		return err
	})
	if err != nil {
		s.internalError(w, r, "prune webhooks", err)
		return
	}
	s.Log.Info("webhook log pruned", "deleted", n, "older_than_days", days, "by", u.ID)
	s.record(r, audit.By(u, audit.WebhookPrune, "webhooks", "Из журнала webhook удалены записи старше "+strconv.Itoa(days)+" дн.: "+strconv.FormatInt(n, 10)+"."))
	http.Redirect(w, r, "/admin/webhooks?ok=pruned&n="+strconv.FormatInt(n, 10), http.StatusSeeOther)
}
