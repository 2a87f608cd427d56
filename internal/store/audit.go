package store

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// AuditEntry is one row of the audit trail. Package audit has the same
// struct as audit.Entry plus its own vocabulary; the store only keeps rows.
type AuditEntry struct {
	ID        int64
	At        time.Time
	Actor     int64 // user id; 0 is the system
	ActorName string
	Action    string
	Target    string
	Summary   string
}

const insertAuditSQL = `INSERT INTO audit_log (at, actor, actor_name, action, target, summary, search)
	VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id`

// auditSearch is what the text filter matches, lowered in Go: SQLite's
// LOWER folds Latin letters only, and the trail is Russian.
func auditSearch(e *AuditEntry) string { return strings.ToLower(e.Target + "\n" + e.Summary) }

// AddAudit writes one entry, standing alone: a trail entry belongs to no
// caller's transaction (it is written after the action succeeded).
func (s *Store) AddAudit(ctx context.Context, e *AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.Now()
	}
	return s.db.Write.QueryRowContext(ctx, insertAuditSQL, ms(e.At), e.Actor, e.ActorName, e.Action, e.Target, e.Summary, auditSearch(e)).Scan(&e.ID)
}

// AuditFilter selects trail entries; zero fields do not filter.
type AuditFilter struct {
	From, To time.Time // [From, To)
	Action   string    // exact code
	Kind     string    // prefix of the code ("booking.", "mail")
	Actor    *int64    // nil: anyone; 0: the system
	Target   string    // text in the target or the summary
	Limit    int
	Offset   int
}

func (f AuditFilter) conds() *conds {
	var c conds
	if !f.From.IsZero() {
		c.add("at >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		c.add("at < ?", ms(f.To))
	}
	if f.Action != "" {
		c.add("action = ?", f.Action)
	}
	if f.Kind != "" {
		c.add("action LIKE ? ESCAPE '\\'", strings.TrimPrefix(like(f.Kind), "%"))
	}
	if f.Actor != nil {
		c.add("actor = ?", *f.Actor)
	}
	if t := strings.TrimSpace(f.Target); t != "" {
		c.add("search LIKE ? ESCAPE '\\'", like(strings.ToLower(t)))
	}
	return &c
}

// ListAudit lists matching entries, newest first, with how many match in all.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEntry, int, error) {
	c := f.conds()
	var total int
	if err := s.read().QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_log WHERE "+c.where(), c.args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	q := "SELECT id, at, actor, actor_name, action, target, summary FROM audit_log WHERE " + c.where() +
		" ORDER BY at DESC, id DESC LIMIT " + strconv.Itoa(f.Limit) + " OFFSET " + strconv.Itoa(max(f.Offset, 0))
	out, err := collect(scanAudit)(s.read().QueryContext(ctx, q, c.args...))
	return out, total, err
}

func scanAudit(r scanner) (*AuditEntry, error) {
	var e AuditEntry
	var at int64
	if err := r.Scan(&e.ID, &at, &e.Actor, &e.ActorName, &e.Action, &e.Target, &e.Summary); err != nil {
		return nil, err
	}
	e.At = fromMS(at)
	return &e, nil
}

// LastAudit is the newest entry with one of the actions; ErrNotFound when none.
func (s *Store) LastAudit(ctx context.Context, actions ...string) (*AuditEntry, error) {
	var c conds
	ph := make([]string, len(actions))
	for i, a := range actions {
		ph[i] = c.arg(a)
	}
	return notFoundAudit(scanAudit(s.read().QueryRowContext(ctx, `SELECT id, at, actor, actor_name, action, target, summary
		FROM audit_log WHERE action IN (`+strings.Join(ph, ",")+`) ORDER BY at DESC, id DESC LIMIT 1`, c.args...)))
}

func notFoundAudit(e *AuditEntry, err error) (*AuditEntry, error) { return e, notFound(err) }

// AuditActor is someone who appears in the trail, by their latest name.
type AuditActor struct {
	ID   int64
	Name string
}

// AuditActors lists everyone with an entry (the system, id 0, included),
// for the "who" filter.
func (s *Store) AuditActors(ctx context.Context) ([]AuditActor, error) {
	return collect(func(r scanner) (AuditActor, error) {
		var a AuditActor
		return a, r.Scan(&a.ID, &a.Name)
	})(s.read().QueryContext(ctx, `SELECT a.actor, (SELECT l.actor_name FROM audit_log l WHERE l.actor = a.actor ORDER BY l.at DESC, l.id DESC LIMIT 1)
		FROM (SELECT DISTINCT actor FROM audit_log) a ORDER BY a.actor`))
}

// PruneAudit deletes entries older than before and returns how many.
func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.Write.ExecContext(ctx, `DELETE FROM audit_log WHERE at < $1`, ms(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// AddAudit writes one entry inside the transaction, for callers that
// record while holding one (on SQLite, Store.AddAudit would wait for the
// very write connection the transaction holds).
func (t *Tx) AddAudit(ctx context.Context, e *AuditEntry) error {
	if e.At.IsZero() {
		e.At = t.now
	}
	return t.q.QueryRowContext(ctx, insertAuditSQL, ms(e.At), e.Actor, e.ActorName, e.Action, e.Target, e.Summary, auditSearch(e)).Scan(&e.ID)
}
