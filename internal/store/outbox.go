package store

import (
	"context"
	"database/sql"
	"time"
)

// Mail statuses.
const (
	MailQueued  = "queued"
	MailSending = "sending"
	MailSent    = "sent"
	MailFailed  = "failed"
)

// OutboxMail is one email to send. Its content is rendered at send time from
// Kind and Data, so links (such as a set-password token) are minted only when
// the message actually leaves.
type OutboxMail struct {
	ID        int64
	Kind      string
	ToEmail   string
	ToName    string
	UserID    int64
	Data      string // JSON, never a secret
	DedupeKey string
	Status    string
	Subject   string
	Attempts  int
	LastError string
	CreatedAt time.Time
	SentAt    time.Time
}

// QueueMail adds m to the outbox unless a mail with the same DedupeKey exists
// (a welcome mail is sent once per student). It reports whether it queued.
// The row's send_mail job is added in the same transaction, so the mail
// leaves as soon as the transaction commits (InTx then wakes the runner),
// and a rolled-back mail has no job either.
func (t *Tx) QueueMail(ctx context.Context, m *OutboxMail) (bool, error) {
	var uid, key any
	if m.UserID != 0 {
		uid = m.UserID
	}
	if m.DedupeKey != "" {
		key = m.DedupeKey
	}
	if m.Data == "" {
		m.Data = "{}"
	}
	m.Status, m.CreatedAt, m.Attempts = MailQueued, t.now, 0
	err := t.q.QueryRowContext(ctx, `INSERT INTO mail_outbox (kind, to_email, to_name, user_id, data, dedupe_key, status, created_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
		m.Kind, NormalizeEmail(m.ToEmail), m.ToName, uid, m.Data, key, m.Status, ms(t.now)).Scan(&m.ID)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := t.enqueueMailJob(ctx, m.ID); err != nil {
		return false, err
	}
	return true, nil
}

// MailByUser lists a user's outbox rows, newest first.
func (s *Store) MailByUser(ctx context.Context, userID int64) ([]*OutboxMail, error) {
	return collect(scanMail)(s.read().QueryContext(ctx, `SELECT `+mailCols+` FROM mail_outbox WHERE user_id = $1 ORDER BY id DESC`, userID))
}
