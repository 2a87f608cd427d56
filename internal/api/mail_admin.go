package api

import (
	"booksmeta"

	"errors"
	"net/http"
	"strconv"

	"booksmeta/internal/accounts"
	"booksmeta/internal/audit"
	"booksmeta/internal/outbox"
	"booksmeta/internal/store"
)

func (s *Server) mailRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/admin/mail", s.admin(s.listMail))
	mux.Handle("POST /api/v1/admin/mail/{id}/resend", s.admin(s.resendMail))
	mux.Handle("POST /api/v1/admin/mail/test", s.admin(s.testMail))
}

type mailOut struct {
	ID        int64  `json:"id"`
	Kind      string `json:"kind"`
	To        string `json:"to"`
	Status    string `json:"status"`
	Subject   string `json:"subject,omitempty"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error,omitempty"`
	CreatedAt string `json:"created_at"`
	SentAt    string `json:"sent_at,omitempty"`
}

func (s *Server) listMail(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	rows, err := s.Store.ListMail(r.Context(), store.MailFilter{Status: r.URL.Query().Get("status"), Limit: limit, Offset: offset})
	if err != nil {
		s.failErr(w, err)
		return
	}
	counts, err := s.Store.MailCounts(r.Context())
	if err != nil {
		s.failErr(w, err)
		return
	}
	out := make([]mailOut, 0, len(rows))
	for _, m := range rows {
		// The rendered body is not kept; data holds no secret but is not
		// needed here, so only the envelope is listed.
		out = append(out, mailOut{ID: m.ID, Kind: m.Kind, To: m.ToEmail, Status: m.Status, Subject: m.Subject, Attempts: m.Attempts,
			LastError: m.LastError, CreatedAt: s.timeJSON(r.Context(), m.CreatedAt), SentAt: s.timeJSON(r.Context(), m.SentAt)})
	}
	configured, err := s.Outbox.Configured(r.Context())
	if err != nil {
		s.failErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"mail": out, "counts": counts, "configured": configured})
}

func (s *Server) resendMail(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if err := s.Outbox.Resend(r.Context(), id); err != nil {
		if errors.Is(err, outbox.ErrNotResendable) {
			fail(w, http.StatusConflict, "not_resendable", err.Error())
			return
		}
		s.failErr(w, err)
		return
	}
	s.Log.Info("mail resend requested", "mail_id", id, "by", u.ID)
	s.record(r, audit.By(u, audit.MailResend, audit.Mail(id), "Письмо поставлено на повторную отправку."))
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "status": store.MailQueued})
}

func (s *Server) testMail(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	var in struct {
		To string `json:"to"`
	}
	if !decode(w, r, &in) {
		return
	}
	to, err := accounts.ValidEmail(in.To)
	if err != nil {
		s.failErr(w, booksmeta.Refuse(booksmeta.CodeInvalid, "to", "Укажите адрес, на который отправить тестовое письмо."))
		return
	}
	if err := s.Outbox.SendTestBy(r.Context(), to, u.Email); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "message": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "message": "Тестовое письмо отправлено на " + to + ". Проверьте почту (и папку «Спам»)."})
}
