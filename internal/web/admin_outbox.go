package web

import (
	"booksmeta"

	"errors"
	"net/http"

	"booksmeta/internal/audit"
	"booksmeta/internal/outbox"
	"booksmeta/internal/store"
)

// outboxPage lists the mail outbox: what is queued, sent or failed (with
// the mail server's answer), and lets an admin send a message again.
func (s *Server) outboxPage(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	ctx := r.Context()
	status := r.URL.Query().Get("status")
	rows, err := s.Store.ListMail(ctx, store.MailFilter{Status: status, Limit: 200})
	if err != nil {
		s.internalError(w, r, "list mail", err)
		return
	}
	counts, err := s.Store.MailCounts(ctx)
	if err != nil {
		s.internalError(w, r, "count mail", err)
		return
	}
	d := s.adminData(r, "Почта: очередь писем", "mail")
	d["Mail"], d["Counts"], d["Status"], d["Loc"] = rows, counts, status, s.Settings.Location(ctx)
	if d["Configured"], err = s.Outbox.Configured(ctx); err != nil {
		s.internalError(w, r, "read mail settings", err)
		return
	}
	if d["Enabled"], err = s.Outbox.Enabled(ctx); err != nil {
		s.internalError(w, r, "read mail switch", err)
		return
	}
	switch r.URL.Query().Get("ok") {
	case "resent":
		d["Flash"] = "Письмо снова поставлено в очередь."
	}
	if r.URL.Query().Get("err") == "resend" {
		d["Error"] = outbox.ErrNotResendable.Error()
	}
	s.render(w, http.StatusOK, "admin_outbox", d)
}

func (s *Server) outboxResend(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.Outbox.Resend(r.Context(), id); err != nil {
		if errors.Is(err, outbox.ErrNotResendable) {
			http.Redirect(w, r, "/admin/mail?err=resend", http.StatusSeeOther)
			return
		}
		s.internalError(w, r, "resend mail", err)
		return
	}
	s.Log.Info("mail resend requested", "mail_id", id, "by", u.ID)
	s.record(r, audit.By(u, audit.MailResend, audit.Mail(id), "Письмо поставлено на повторную отправку."))
	http.Redirect(w, r, "/admin/mail?ok=resent", http.StatusSeeOther)
}

// mailKindLabel names a message kind in Russian.
func mailKindLabel(k string) string {
	if l, ok := map[string]string{"welcome": "приветствие", "booking_confirmation": "подтверждение брони", "booking_cancelled": "отмена брони",
		"reminder": "напоминание", "password_reset": "смена пароля", "admin_alert": "предупреждение админу", "payment_revoked": "оплата отменена"}[k]; ok {
		return l
	}
	return k
}

// mailStatusLabel names an outbox status in Russian.
func mailStatusLabel(st string) string {
	if l, ok := map[string]string{store.MailQueued: "в очереди", store.MailSending: "отправляется", store.MailSent: "отправлено", store.MailFailed: "ошибка"}[st]; ok {
		return l
	}
	return st
}
