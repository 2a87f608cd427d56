package store

import (
	"context"
	"database/sql"
	"strconv"
)

// Sending side of the outbox. A row moves queued → sending (claimed, one
// attempt counted) → sent, failed, or back to queued after a temporary error.
// The claim is a conditional UPDATE, so two instances never take one row.

const mailCols = `id, kind, to_email, to_name, COALESCE(user_id, 0), data, COALESCE(dedupe_key, ''), status, subject,
	attempts, last_error, created_at, sent_at`

func scanMail(row scanner) (*OutboxMail, error) {
	var m OutboxMail
	var c int64
	var sent sql.NullInt64
	if err := row.Scan(&m.ID, &m.Kind, &m.ToEmail, &m.ToName, &m.UserID, &m.Data, &m.DedupeKey, &m.Status, &m.Subject,
		&m.Attempts, &m.LastError, &c, &sent); err != nil {
		return nil, err
	}
	m.CreatedAt, m.SentAt = fromMS(c), nullMS(sent)
	return &m, nil
}

// MailByID returns one outbox row.
func (s *Store) MailByID(ctx context.Context, id int64) (*OutboxMail, error) {
	m, err := scanMail(s.db.Write.QueryRowContext(ctx, `SELECT `+mailCols+` FROM mail_outbox WHERE id = $1`, id))
	return m, notFound(err)
}

// ClaimMail takes a queued row for sending: status becomes 'sending' and one
// attempt is counted. It returns ErrNotFound when the row is not queued
// (another instance took it, or it was sent, failed or deleted).
func (s *Store) ClaimMail(ctx context.Context, id int64) (*OutboxMail, error) {
	m, err := scanMail(s.db.Write.QueryRowContext(ctx, `UPDATE mail_outbox SET status = 'sending', attempts = attempts + 1
		WHERE id = $1 AND status = 'queued' RETURNING `+mailCols, id))
	return m, notFound(err)
}

// MarkMailSent records that the server accepted the row. A row another
// sender marked failed meanwhile is corrected to sent, which is the truth.
func (s *Store) MarkMailSent(ctx context.Context, id int64, subject string) error {
	_, err := s.db.Write.ExecContext(ctx, `UPDATE mail_outbox SET status = 'sent', subject = $2, sent_at = $3, last_error = ''
		WHERE id = $1 AND status IN ('sending', 'failed')`, id, subject, ms(s.Now()))
	return err
}

// MarkMailFailed fails a row being sent (or left in 'sending' by a crash),
// keeping errText for the admin panel. It reports whether the row changed.
func (s *Store) MarkMailFailed(ctx context.Context, id int64, errText string) (bool, error) {
	res, err := s.db.Write.ExecContext(ctx, `UPDATE mail_outbox SET status = 'failed', last_error = $2
		WHERE id = $1 AND status = 'sending'`, id, errText)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// RequeueMail puts a row being sent back in the queue after a temporary
// error, keeping errText so the admin sees why it waits.
func (s *Store) RequeueMail(ctx context.Context, id int64, errText string) error {
	_, err := s.db.Write.ExecContext(ctx, `UPDATE mail_outbox SET status = 'queued', last_error = $2
		WHERE id = $1 AND status = 'sending'`, id, errText)
	return err
}

// ResendMail queues a failed or sent row again (the admin's «Отправить
// повторно»). It returns the row, or ErrNotFound when it is neither.
func (s *Store) ResendMail(ctx context.Context, id int64) (*OutboxMail, error) {
	m, err := scanMail(s.db.Write.QueryRowContext(ctx, `UPDATE mail_outbox SET status = 'queued', last_error = ''
		WHERE id = $1 AND status IN ('failed', 'sent') RETURNING `+mailCols, id))
	return m, notFound(err)
}

// MailFilter selects outbox rows for the admin panel.
type MailFilter struct {
	Status string // "" for all
	Limit  int    // default 100
	Offset int
}

// ListMail lists outbox rows, newest first.
func (s *Store) ListMail(ctx context.Context, f MailFilter) ([]*OutboxMail, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	return collect(scanMail)(s.read().QueryContext(ctx, `SELECT `+mailCols+` FROM mail_outbox
		WHERE ($1 = '' OR status = $1) ORDER BY id DESC LIMIT $2 OFFSET $3`, f.Status, f.Limit, f.Offset))
}

// MailCounts counts outbox rows by status.
func (s *Store) MailCounts(ctx context.Context) (map[string]int, error) {
	return countBy(s.read().QueryContext(ctx, `SELECT status, COUNT(*) FROM mail_outbox GROUP BY status`))
}

// MailJobPayload is the payload of the send_mail job for row id.
func MailJobPayload(id int64) string { return `{"mail_id":` + strconv.FormatInt(id, 10) + `}` }

// QueuedMailWithoutJob lists queued rows that no pending send_mail job
// (queued or running) will pick up.
func (s *Store) QueuedMailWithoutJob(ctx context.Context, limit int) ([]*OutboxMail, error) {
	return collect(scanMail)(s.db.Write.QueryContext(ctx, `SELECT `+mailCols+` FROM mail_outbox m
		WHERE m.status = 'queued' AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = 'send_mail'
			AND j.state IN ('queued', 'running') AND j.payload = '{"mail_id":' || m.id || '}')
		ORDER BY m.id LIMIT $1`, limit))
}

// MailJobMaxAttempts bounds the send_mail job of one attempt key.
const MailJobMaxAttempts = 10

// MailJobKey is the unique key of the send_mail job for row id after
// attempts attempts, so the job of a row queued again (a temporary error whose
// job used up its retries, «Отправить повторно») is a new one.
func MailJobKey(id int64, attempts int) string {
	return "send_mail:" + strconv.FormatInt(id, 10) + ":" + strconv.Itoa(attempts)
}

// enqueueMailJobSQL revives a finished job of the same key instead of adding
// one, and leaves a pending one alone: whoever enqueues (the mail's own
// transaction, the sweep, a resend), a row has at most one pending job, and
// the conditional claim in ClaimMail sends it at most once anyway.
const enqueueMailJobSQL = `INSERT INTO jobs (kind, payload, unique_key, state, max_attempts, run_at, created_at)
	VALUES ('send_mail', $1, $2, 'queued', $3, $4, $4)
	ON CONFLICT (unique_key) DO UPDATE SET state = 'queued', attempts = 0, last_error = '', run_at = excluded.run_at,
		locked_until = 0, finished_at = NULL
	WHERE jobs.state IN ('done', 'failed')`

// EnqueueMailJob adds the send_mail job for row id under key. A finished
// (done or failed) job with the same key is revived instead, so a row left
// queued while mail was not configured, or queued again by «Отправить
// повторно», is picked up; a pending one is left alone. It reports whether a
// job was added or revived.
func (s *Store) EnqueueMailJob(ctx context.Context, id int64, key string, maxAttempts int) (bool, error) {
	return execChanged(s.db.Write.ExecContext(ctx, enqueueMailJobSQL, MailJobPayload(id), key, maxAttempts, ms(s.Now())))
}

// enqueueMailJob adds the first send_mail job of a row just queued.
func (t *Tx) enqueueMailJob(ctx context.Context, id int64) error {
	ok, err := execChanged(t.prepared(ctx, enqueueMailJobSQL).ExecContext(ctx, enqueueMailJobSQL,
		MailJobPayload(id), MailJobKey(id, 0), MailJobMaxAttempts, ms(t.now)))
	t.addedJobs = t.addedJobs || ok
	return err
}

func execChanged(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
