package web

import (
	"booksmeta"

	"net/http"

	"booksmeta/internal/audit"
	"booksmeta/internal/mail"
	"booksmeta/internal/store"
)

// Mail templates: an admin edits the Russian text of each message kind,
// previews it with sample data, or goes back to the built-in text.

func knownMailKind(k string) bool {
	for _, info := range mail.Kinds() {
		if string(info.Kind) == k {
			return true
		}
	}
	return false
}

func (s *Server) templatesList(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	type row struct {
		mail.KindInfo
		Edited bool
	}
	var rows []row
	for _, k := range mail.Kinds() {
		_, edited, err := s.Store.MailTemplate(r.Context(), string(k.Kind))
		if err != nil {
			s.internalError(w, r, "read mail template", err)
			return
		}
		rows = append(rows, row{k, edited})
	}
	d := s.adminData(r, "Почта: шаблоны писем", "mail")
	d["Kinds"] = rows
	if r.URL.Query().Get("ok") == "saved" {
		d["Flash"] = "Шаблон сохранён."
	}
	if r.URL.Query().Get("ok") == "reset" {
		d["Flash"] = "Возвращён стандартный текст."
	}
	s.render(w, http.StatusOK, "admin_templates", d)
}

func (s *Server) templatePage(w http.ResponseWriter, r *http.Request, status int, kind string, t mail.Template, preview *mail.Message, errMsg string) {
	d := s.adminData(r, "Шаблон письма", "mail")
	for _, k := range mail.Kinds() {
		if string(k.Kind) == kind {
			d["Info"] = k
		}
	}
	d["Kind"], d["T"], d["Preview"], d["Error"] = kind, t, preview, errMsg
	s.render(w, status, "admin_template", d)
}

func (s *Server) templateEdit(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	kind := r.PathValue("kind")
	if !knownMailKind(kind) {
		s.notFound(w, r)
		return
	}
	t, err := mail.DefaultTemplate(mail.Kind(kind))
	if err != nil {
		s.internalError(w, r, "default template", err)
		return
	}
	if o, ok, err := s.Store.MailTemplate(r.Context(), kind); err != nil {
		s.internalError(w, r, "read mail template", err)
		return
	} else if ok {
		if o.Subject != "" {
			t.Subject = o.Subject
		}
		if o.HTML != "" {
			t.HTML = o.HTML
		}
		if o.Text != "" {
			t.Text = o.Text
		}
	}
	s.templatePage(w, r, http.StatusOK, kind, t, nil, "")
}

func (s *Server) templateSave(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	kind := r.PathValue("kind")
	if !knownMailKind(kind) {
		s.notFound(w, r)
		return
	}
	ctx := r.Context()
	if r.PostFormValue("action") == "reset" {
		if err := s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteMailTemplate(ctx, kind) }); err != nil {
			s.internalError(w, r, "reset mail template", err)
			return
		}
		s.record(r, audit.By(u, audit.MailTemplateUpdate, audit.MailTemplate(kind), "Шаблон письма «"+mailKindLabel(kind)+"» возвращён к исходному."))
		http.Redirect(w, r, "/admin/mail-templates?ok=reset", http.StatusSeeOther)
		return
	}
	t := mail.Template{Subject: r.PostFormValue("subject"), HTML: r.PostFormValue("html"), Text: r.PostFormValue("text")}
	rnd := s.Outbox.Renderer()
	if err := rnd.ValidateTemplate(mail.Kind(kind), t); err != nil {
		s.templatePage(w, r, http.StatusUnprocessableEntity, kind, t, nil, err.Error())
		return
	}
	if r.PostFormValue("action") == "preview" {
		msg, err := rnd.RenderWith(mail.Kind(kind), &t, mail.SampleData(mail.Kind(kind)))
		if err != nil {
			s.templatePage(w, r, http.StatusUnprocessableEntity, kind, t, nil, err.Error())
			return
		}
		s.templatePage(w, r, http.StatusOK, kind, t, &msg, "")
		return
	}
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		return tx.PutMailTemplate(ctx, store.MailTemplate{Kind: kind, Subject: t.Subject, HTML: t.HTML, Text: t.Text}, u.ID)
	})
	if err != nil {
		s.internalError(w, r, "save mail template", err)
		return
	}
	s.Log.Info("mail template saved", "kind", kind, "by", u.ID)
	s.record(r, audit.By(u, audit.MailTemplateUpdate, audit.MailTemplate(kind), "Изменён шаблон письма «"+mailKindLabel(kind)+"», тема: «"+t.Subject+"»."))
	http.Redirect(w, r, "/admin/mail-templates?ok=saved", http.StatusSeeOther)
}
