package web

import (
	"booksmeta"

	"net/http"

	"booksmeta/internal/audit"
	"booksmeta/internal/mail"
	"booksmeta/internal/store"
)

// Mail templates: an admin edits the subject and text of each message kind
// with named placeholders ({Имя}), sees what every placeholder holds and a
// preview with sample data, or goes back to the built-in text.

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

// placeholderRow is one line of the editor's list: the token to type, what
// it holds and what it gives for the sample.
type placeholderRow struct {
	Token, Description, Sample string
}

// templateView is what the editor shows besides the form.
type templateView struct {
	Kind    string
	T       mail.Template
	Preview *mail.Message
	// PreviewError is why the typed text does not render; Error is the
	// same refusal shown at the top when «Сохранить» was refused.
	PreviewError, Error string
	// Legacy is a stored template in the old Go syntax that could not be
	// converted: it still goes out as it is until the admin saves.
	Legacy *mail.Template
}

func (s *Server) templatePage(w http.ResponseWriter, r *http.Request, status int, v templateView) {
	d := s.adminData(r, "Шаблон письма", "mail")
	kind := mail.Kind(v.Kind)
	for _, k := range mail.Kinds() {
		if k.Kind == kind {
			d["Info"] = k
		}
	}
	rnd := s.Outbox.Renderer(r.Context())
	var rows []placeholderRow
	for _, p := range mail.Placeholders(kind) {
		rows = append(rows, placeholderRow{Token: p.Token(), Description: p.Description, Sample: rnd.Sample(kind, p)})
	}
	// Every view previews what is in the form, so the admin sees the
	// message before pressing anything.
	if v.Preview == nil && v.PreviewError == "" {
		if err := rnd.ValidateTemplate(kind, v.T); err != nil {
			v.PreviewError = err.Error()
		} else if msg, err := rnd.RenderWith(kind, &v.T, mail.SampleData(kind)); err != nil {
			v.PreviewError = err.Error()
		} else {
			v.Preview = &msg
		}
	}
	d["Kind"], d["T"], d["Preview"], d["PreviewError"], d["Error"], d["Legacy"], d["Placeholders"] =
		v.Kind, v.T, v.Preview, v.PreviewError, v.Error, v.Legacy, rows
	s.render(w, status, "admin_template", d)
}

func (s *Server) templateEdit(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	kind := r.PathValue("kind")
	if !knownMailKind(kind) {
		s.notFound(w, r)
		return
	}
	def, err := mail.DefaultTemplate(mail.Kind(kind))
	if err != nil {
		s.internalError(w, r, "default template", err)
		return
	}
	v := templateView{Kind: kind, T: mail.Template{Subject: def.Subject, Text: def.Text}}
	o, ok, err := s.Store.MailTemplate(r.Context(), kind)
	if err != nil {
		s.internalError(w, r, "read mail template", err)
		return
	}
	if ok {
		// A template stored in the old Go syntax is shown in placeholders
		// when it only printed values; otherwise the form starts from the
		// built-in text and the old one is shown beside it (it keeps being
		// sent until the admin saves).
		subject, okS := mail.ConvertLegacy(mail.Kind(kind), o.Subject)
		text, okT := mail.ConvertLegacy(mail.Kind(kind), o.Text)
		if okS && subject != "" {
			v.T.Subject = subject
		}
		if okT && text != "" {
			v.T.Text = text
		}
		if !okS || !okT || o.HTML != "" {
			v.Legacy = &mail.Template{Subject: o.Subject, HTML: o.HTML, Text: o.Text}
		}
	}
	s.templatePage(w, r, http.StatusOK, v)
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
	// The HTML version is made from the text, so none is taken from the
	// form; saving also drops an old hand-written one.
	t := mail.Template{Subject: r.PostFormValue("subject"), Text: r.PostFormValue("text")}
	v := templateView{Kind: kind, T: t}
	rnd := s.Outbox.Renderer(ctx)
	if err := rnd.ValidateTemplate(mail.Kind(kind), t); err != nil {
		v.PreviewError = err.Error()
		if r.PostFormValue("action") != "preview" {
			v.Error = err.Error()
		}
		s.templatePage(w, r, http.StatusUnprocessableEntity, v)
		return
	}
	if r.PostFormValue("action") == "preview" {
		s.templatePage(w, r, http.StatusOK, v)
		return
	}
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		return tx.PutMailTemplate(ctx, store.MailTemplate{Kind: kind, Subject: t.Subject, Text: t.Text}, u.ID)
	})
	if err != nil {
		s.internalError(w, r, "save mail template", err)
		return
	}
	s.Log.Info("mail template saved", "kind", kind, "by", u.ID)
	s.record(r, audit.By(u, audit.MailTemplateUpdate, audit.MailTemplate(kind), "Изменён шаблон письма «"+mailKindLabel(kind)+"», тема: «"+t.Subject+"»."))
	http.Redirect(w, r, "/admin/mail-templates?ok=saved", http.StatusSeeOther)
}
