package store

import (
	"booksmeta"

	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"booksmeta/internal/db"
)

const webhookCols = `id, received_at, method, path, remote_addr, content_type, headers, query, body, body_size,
	auth, outcome, http_status, reason, event, email, idempotency_key, duplicate_of, payload, state, attempts,
	last_error, result, processed_at, subject`

func scanWebhook(row scanner) (*booksmeta.WebhookEvent, error) {
	var e booksmeta.WebhookEvent
	var rec int64
	var key sql.NullString
	var dup, processed sql.NullInt64
	var subject sql.NullString
	err := row.Scan(&e.ID, &rec, &e.Method, &e.Path, &e.RemoteAddr, &e.ContentType, &e.Headers, &e.Query, &e.Body,
		&e.BodySize, &e.Auth, &e.Outcome, &e.HTTPStatus, &e.Reason, &e.Event, &e.Email, &key, &dup, &e.Payload,
		&e.State, &e.Attempts, &e.LastError, &e.Result, &processed, &subject)
	if err != nil {
		return nil, notFound(err)
	}
	e.ReceivedAt, e.IdempotencyKey, e.DuplicateOf, e.ProcessedAt = fromMS(rec), key.String, dup.Int64, nullMS(processed)
	e.Subject = subject.String
	return &e, nil
}

var insertAcceptedSQL = `INSERT INTO webhook_events (` + strings.SplitN(webhookCols, ",", 2)[1] + `)
	VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,NULL,$17,$18,0,'','',NULL,$19)
	ON CONFLICT (idempotency_key) DO NOTHING`

// insertAcceptedReturningSQL is the PostgreSQL form. SQLite uses the plain
// insert and its last rowid instead: RETURNING makes SQLite buffer results
// in a temporary table, a measurable share of the intake's serial path.
var insertAcceptedReturningSQL = insertAcceptedSQL + ` RETURNING id`

// InsertAcceptedWebhook inserts e as a new accepted event unless its
// idempotency key is already taken. It reports whether it inserted; when not,
// the caller records a duplicate. Under concurrency, the UNIQUE index decides
// the one winner: on PostgreSQL a racing insert waits for the first
// transaction and then does nothing; on SQLite writers are serialised.
func (t *Tx) InsertAcceptedWebhook(ctx context.Context, e *booksmeta.WebhookEvent) (bool, error) {
	cleanEvent(e)
	args := []any{ms(e.ReceivedAt), e.Method, e.Path, e.RemoteAddr, e.ContentType, e.Headers, e.Query, e.Body, e.BodySize,
		e.Auth, e.Outcome, e.HTTPStatus, e.Reason, e.Event, e.Email, e.IdempotencyKey, e.Payload, e.State, nullIfEmpty(e.Subject)}
	if t.dialect == db.SQLite {
		res, err := t.prepared(ctx, insertAcceptedSQL).ExecContext(ctx, insertAcceptedSQL, args...)
		if err != nil {
			return false, err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return false, err
		}
		e.ID, err = res.LastInsertId()
		return err == nil, err
	}
	err := t.prepared(ctx, insertAcceptedReturningSQL).QueryRowContext(ctx, insertAcceptedReturningSQL, args...).Scan(&e.ID)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, err
}

// InsertWebhookLog records a request that is not a new event: rejected,
// invalid, too large, or a duplicate (DuplicateOf set). It has no
// idempotency key, so it never blocks a later genuine delivery.
func (t *Tx) InsertWebhookLog(ctx context.Context, e *booksmeta.WebhookEvent) error {
	cleanEvent(e)
	var dup any
	if e.DuplicateOf != 0 {
		dup = e.DuplicateOf
	}
	return t.q.QueryRowContext(ctx, `INSERT INTO webhook_events (`+strings.SplitN(webhookCols, ",", 2)[1]+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,NULL,$16,$17,'',0,'','',NULL,NULL) RETURNING id`,
		ms(e.ReceivedAt), e.Method, e.Path, e.RemoteAddr, e.ContentType, e.Headers, e.Query, e.Body, e.BodySize,
		e.Auth, e.Outcome, e.HTTPStatus, e.Reason, e.Event, e.Email, dup, e.Payload).Scan(&e.ID)
}

// WebhookByKey finds the accepted event holding an idempotency key.
func (t *Tx) WebhookByKey(ctx context.Context, key string) (*booksmeta.WebhookEvent, error) {
	return scanWebhook(t.q.QueryRowContext(ctx, "SELECT "+webhookCols+" FROM webhook_events WHERE idempotency_key = $1", key))
}

// WebhookByID reads an event inside the transaction.
func (t *Tx) WebhookByID(ctx context.Context, id int64) (*booksmeta.WebhookEvent, error) {
	return scanWebhook(t.q.QueryRowContext(ctx, "SELECT "+webhookCols+" FROM webhook_events WHERE id = $1", id))
}

// WebhookByID reads an event.
func (s *Store) WebhookByID(ctx context.Context, id int64) (*booksmeta.WebhookEvent, error) {
	return scanWebhook(s.read().QueryRowContext(ctx, "SELECT "+webhookCols+" FROM webhook_events WHERE id = $1", id))
}

// FinishWebhook records the processing result of an accepted event.
func (t *Tx) FinishWebhook(ctx context.Context, id int64, state, result, lastError string) error {
	var processed any
	if state == booksmeta.StateDone || state == booksmeta.StateIgnored {
		processed = ms(t.now)
	}
	_, err := t.q.ExecContext(ctx, `UPDATE webhook_events SET state=$2, result=$3, last_error=$4,
		attempts = attempts + 1, processed_at=$5 WHERE id=$1`, id, state, result, lastError, processed)
	return err
}

// ResetWebhookForRerun puts a processed or failed event back to pending.
func (t *Tx) ResetWebhookForRerun(ctx context.Context, id int64) error {
	res, err := t.q.ExecContext(ctx, `UPDATE webhook_events SET state=$2, last_error='', processed_at=NULL
		WHERE id=$1 AND outcome=$3`, id, booksmeta.StatePending, booksmeta.OutcomeAccepted)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// WebhookFilter selects log entries.
type WebhookFilter struct {
	Outcome  string
	State    string
	Event    string
	Email    string
	From     time.Time
	To       time.Time
	Limit    int
	BeforeID int64 // keyset pagination: entries with id < BeforeID
}

// ListWebhooks lists log entries newest first.
func (s *Store) ListWebhooks(ctx context.Context, f WebhookFilter) ([]*booksmeta.WebhookEvent, error) {
	var c conds
	if f.Outcome != "" {
		c.add("outcome = ?", f.Outcome)
	}
	if f.State != "" {
		c.add("state = ?", f.State)
	}
	if f.Event != "" {
		c.add("event = ?", f.Event)
	}
	if f.Email != "" {
		c.add("email LIKE ? ESCAPE '\\'", like(NormalizeEmail(f.Email)))
	}
	if !f.From.IsZero() {
		c.add("received_at >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		c.add("received_at < ?", ms(f.To))
	}
	if f.BeforeID > 0 {
		c.add("id < ?", f.BeforeID)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	return collect(scanWebhook)(s.read().QueryContext(ctx, "SELECT "+webhookCols+" FROM webhook_events WHERE "+
		c.where()+" ORDER BY id DESC LIMIT "+strconv.Itoa(f.Limit), c.args...))
}

// CountWebhooksByOutcome counts log entries received since t, by outcome.
func (s *Store) CountWebhooksByOutcome(ctx context.Context, since time.Time) (map[string]int, error) {
	return countBy(s.read().QueryContext(ctx, `SELECT outcome, COUNT(*) FROM webhook_events WHERE received_at >= $1 GROUP BY outcome`, ms(since)))
}

// AcceptedKept is how long accepted events stay in the log whatever an
// admin or the retention setting asks: they are the record of payments and
// refunds a school may need to look up (issue 13).
const AcceptedKept = 90 * 24 * time.Hour

// PruneWebhooks deletes log entries received before t, keeping accepted
// events that are still pending or failed (they are work, not history) and
// accepted events younger than AcceptedKept.
func (t *Tx) PruneWebhooks(ctx context.Context, before time.Time) (int64, error) {
	res, err := t.q.ExecContext(ctx, `DELETE FROM webhook_events WHERE received_at < $1
		AND NOT (outcome = 'accepted' AND (state IN ('pending','retrying','failed') OR received_at >= $2))`,
		ms(before), ms(t.now.Add(-AcceptedKept)))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// AdvanceHead records state as subject's latest and returns its sequence
// number, which grows only when the state differs from the last one. On
// PostgreSQL the upsert holds the row until commit, so concurrent intakes of
// one subject see each other's states in order.
func (t *Tx) AdvanceHead(ctx context.Context, h booksmeta.Head) (int64, error) {
	var seq int64
	err := t.q.QueryRowContext(ctx, `INSERT INTO webhook_heads (subject, state, seq) VALUES ($1, $2, 1)
		ON CONFLICT (subject) DO UPDATE SET
			seq = webhook_heads.seq + CASE WHEN webhook_heads.state = excluded.state THEN 0 ELSE 1 END,
			state = excluded.state
		RETURNING seq`, h.Subject, h.State).Scan(&seq)
	return seq, err
}

// EarliestUnfinishedBefore finds the first accepted event that arrived
// before e, is about the same deal or the same student, and is not processed
// yet; 0 when there is none.
func (s *Store) EarliestUnfinishedBefore(ctx context.Context, e *booksmeta.WebhookEvent) (int64, error) {
	first := int64(0)
	for _, q := range []struct{ col, v string }{{"subject", e.Subject}, {"email", e.Email}} {
		if q.v == "" {
			continue
		}
		var id sql.NullInt64
		if err := s.read().QueryRowContext(ctx, `SELECT MIN(id) FROM webhook_events WHERE `+q.col+` = $1 AND id < $2
			AND state IN ('pending', 'retrying') AND `+q.col+` <> '' AND outcome = 'accepted'`, q.v, e.ID).Scan(&id); err != nil {
			return 0, err
		}
		if id.Valid && (first == 0 || id.Int64 < first) {
			first = id.Int64
		}
	}
	return first, nil
}

// LockWebhook reads an event for update: on PostgreSQL a second processor
// of the same event waits for the first and then sees it finished.
func (t *Tx) LockWebhook(ctx context.Context, id int64) (*booksmeta.WebhookEvent, error) {
	lock := ""
	if t.dialect == db.Postgres {
		lock = " FOR UPDATE"
	}
	return scanWebhook(t.q.QueryRowContext(ctx, "SELECT "+webhookCols+" FROM webhook_events WHERE id = $1"+lock, id))
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// clean makes every text of a request storable alike on SQLite and
// PostgreSQL, which refuses NUL and invalid UTF-8 in text: a genuine
// delivery holding such bytes must be logged and answered 200, never 503 on
// every retry.
func cleanEvent(e *booksmeta.WebhookEvent) {
	for _, f := range []*string{&e.Method, &e.Path, &e.RemoteAddr, &e.ContentType, &e.Headers, &e.Query, &e.Body,
		&e.Auth, &e.Outcome, &e.Reason, &e.Event, &e.Email, &e.IdempotencyKey, &e.Payload, &e.Subject} {
		*f = CleanText(*f)
	}
}

// CleanText replaces invalid UTF-8 with U+FFFD and NUL with U+2400 (␀), so
// the text can be stored in either database and still shows where the
// bytes were.
func CleanText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\u2400")
}
