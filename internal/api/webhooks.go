package api

import (
	"booksmeta"

	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"booksmeta/internal/audit"
	"booksmeta/internal/store"
	"booksmeta/internal/webhook"
)

type webhookOut struct {
	ID          int64           `json:"id"`
	ReceivedAt  string          `json:"received_at"`
	Method      string          `json:"method"`
	Path        string          `json:"path"`
	RemoteAddr  string          `json:"remote_addr"`
	Auth        string          `json:"auth"`
	Outcome     string          `json:"outcome"`
	HTTPStatus  int             `json:"http_status"`
	Reason      string          `json:"reason,omitempty"`
	Event       string          `json:"event"`
	Email       string          `json:"email"`
	DuplicateOf int64           `json:"duplicate_of,omitempty"`
	State       string          `json:"state,omitempty"`
	Attempts    int             `json:"attempts"`
	LastError   string          `json:"last_error,omitempty"`
	Result      string          `json:"result,omitempty"`
	ProcessedAt string          `json:"processed_at,omitempty"`
	ContentType string          `json:"content_type,omitempty"`
	Headers     json.RawMessage `json:"headers,omitempty"`
	Query       string          `json:"query,omitempty"`
	Body        string          `json:"body,omitempty"`
	BodySize    int             `json:"body_size"`
}

func (s *Server) webhookJSON(r *http.Request, e *booksmeta.WebhookEvent, detail bool) webhookOut {
	o := webhookOut{ID: e.ID, ReceivedAt: s.timeJSON(r.Context(), e.ReceivedAt), Method: e.Method, Path: e.Path,
		RemoteAddr: e.RemoteAddr, Auth: e.Auth, Outcome: e.Outcome, HTTPStatus: e.HTTPStatus, Reason: e.Reason,
		Event: e.Event, Email: e.Email, DuplicateOf: e.DuplicateOf, State: e.State, Attempts: e.Attempts,
		LastError: e.LastError, Result: e.Result, ProcessedAt: s.timeJSON(r.Context(), e.ProcessedAt), BodySize: e.BodySize}
	if detail {
		o.ContentType, o.Headers, o.Query, o.Body = e.ContentType, json.RawMessage(e.Headers), e.Query, e.Body
	}
	return o
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	q := r.URL.Query()
	f := store.WebhookFilter{Outcome: q.Get("outcome"), State: q.Get("state"), Event: q.Get("event"), Email: q.Get("email")}
	f.Limit, _ = strconv.Atoi(q.Get("limit"))
	f.BeforeID, _ = strconv.ParseInt(q.Get("before_id"), 10, 64)
	loc := s.Settings.Location(r.Context())
	if d, err := time.ParseInLocation("2006-01-02", q.Get("from"), loc); err == nil {
		f.From = d
	}
	if d, err := time.ParseInLocation("2006-01-02", q.Get("to"), loc); err == nil {
		f.To = d.AddDate(0, 0, 1)
	}
	es, err := s.Store.ListWebhooks(r.Context(), f)
	if err != nil {
		s.failErr(w, err)
		return
	}
	out := make([]webhookOut, 0, len(es))
	for _, e := range es {
		out = append(out, s.webhookJSON(r, e, false))
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": out})
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	e, err := s.Store.WebhookByID(r.Context(), id)
	if err != nil {
		s.failErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.webhookJSON(r, e, true))
}

func (s *Server) rerunWebhook(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	e, err := s.Store.WebhookByID(r.Context(), id)
	if err != nil {
		s.failErr(w, err)
		return
	}
	if e.Outcome != booksmeta.OutcomeAccepted {
		fail(w, http.StatusConflict, "not_rerunnable", "Повторить можно только принятое событие; отклонённые и повторы не обрабатываются. Попросите GetCourse отправить событие снова.")
		return
	}
	if err := webhook.Rerun(r.Context(), s.Store, id); err != nil {
		s.failErr(w, err)
		return
	}
	s.Jobs.Notify()
	s.Log.Info("webhook rerun requested", "event_id", id, "by", u.ID)
	s.record(r, audit.By(u, audit.WebhookRerun, audit.Webhook(id), "Событие №"+itoa(id)+" поставлено на повторную обработку."))
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "state": booksmeta.StatePending})
}

func (s *Server) pruneWebhooks(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	var in struct {
		OlderThanDays int `json:"older_than_days"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.OlderThanDays < 1 || in.OlderThanDays > 3650 {
		fail(w, http.StatusUnprocessableEntity, "invalid", "Укажите возраст записей в днях: от 1 до 3650.")
		return
	}
	var n int64
	err := s.Store.InTx(r.Context(), func(tx *store.Tx) error {
		var err error
		n, err = tx.PruneWebhooks(r.Context(), tx.Now().AddDate(0, 0, -in.OlderThanDays))
		return err
	})
	if err != nil {
		s.failErr(w, err)
		return
	}
	s.Log.Info("webhook log pruned", "deleted", n, "older_than_days", in.OlderThanDays, "by", u.ID)
	s.record(r, audit.By(u, audit.WebhookPrune, "webhooks", "Из журнала webhook удалены записи старше "+strconv.Itoa(in.OlderThanDays)+" дн.: "+itoa(n)+"."))
	writeJSON(w, http.StatusOK, map[string]any{"deleted": n})
}
