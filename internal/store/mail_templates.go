package store

import (
	"context"
	"database/sql"
)

// MailTemplate is an admin's override of one message kind.
type MailTemplate struct {
	Kind, Subject, HTML, Text string
}

// MailTemplate reads the override of kind; ok is false when there is none.
func (s *Store) MailTemplate(ctx context.Context, kind string) (MailTemplate, bool, error) {
	t := MailTemplate{Kind: kind}
	err := s.read().QueryRowContext(ctx, `SELECT subject, html, text FROM mail_templates WHERE kind = $1`, kind).Scan(&t.Subject, &t.HTML, &t.Text)
	if err == sql.ErrNoRows {
		return t, false, nil
	}
	return t, err == nil, err
}

// PutMailTemplate saves an override.
func (t *Tx) PutMailTemplate(ctx context.Context, m MailTemplate, by int64) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO mail_templates (kind, subject, html, text, updated_at, updated_by) VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (kind) DO UPDATE SET subject = excluded.subject, html = excluded.html, text = excluded.text,
		updated_at = excluded.updated_at, updated_by = excluded.updated_by`, m.Kind, m.Subject, m.HTML, m.Text, ms(t.now), by)
	return err
}

// DeleteMailTemplate removes an override: the built-in text applies again.
func (t *Tx) DeleteMailTemplate(ctx context.Context, kind string) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM mail_templates WHERE kind = $1`, kind)
	return err
}
