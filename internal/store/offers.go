package store

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strings"
	"time"

	"booksmeta"
)

const offerRuleCols = `id, match_kind, match_value, grants_access, booking_limit, hours, access_days, note, created_at, updated_at`

func scanOfferRule(r scanner) (*booksmeta.OfferRule, error) {
	var o booksmeta.OfferRule
	var c, u int64
	if err := r.Scan(&o.ID, &o.MatchKind, &o.MatchValue, &o.GrantsAccess, &o.BookingLimit, &o.Hours, &o.AccessDays, &o.Note, &c, &u); err != nil {
		return nil, notFound(err)
	}
	o.CreatedAt, o.UpdatedAt = fromMS(c), fromMS(u)
	return &o, nil
}

// OfferRules lists the tariff rules, oldest first.
func (s *Store) OfferRules(ctx context.Context) ([]*booksmeta.OfferRule, error) {
	return collect(scanOfferRule)(s.read().QueryContext(ctx, `SELECT `+offerRuleCols+` FROM offer_rules ORDER BY id`))
}

// OfferRules lists the tariff rules inside a transaction.
func (t *Tx) OfferRules(ctx context.Context) ([]booksmeta.OfferRule, error) {
	rs, err := collect(scanOfferRule)(t.q.QueryContext(ctx, `SELECT `+offerRuleCols+` FROM offer_rules ORDER BY id`))
	out := make([]booksmeta.OfferRule, 0, len(rs))
	for _, r := range rs {
		out = append(out, *r)
	}
	return out, err
}

// OfferRuleByID reads one rule.
func (s *Store) OfferRuleByID(ctx context.Context, id int64) (*booksmeta.OfferRule, error) {
	return scanOfferRule(s.read().QueryRowContext(ctx, `SELECT `+offerRuleCols+` FROM offer_rules WHERE id = $1`, id))
}

// ErrDuplicateRule is a rule for an offer that has one already.
var ErrDuplicateRule = errors.New("offer rule exists")

// SaveOfferRule inserts r (ID 0) or updates it.
func (t *Tx) SaveOfferRule(ctx context.Context, r *booksmeta.OfferRule) error {
	var other int64
	err := t.q.QueryRowContext(ctx, `SELECT id FROM offer_rules WHERE match_kind = $1 AND match_value = $2 AND id <> $3`,
		r.MatchKind, r.MatchValue, r.ID).Scan(&other)
	if err == nil {
		return ErrDuplicateRule
	}
	if err != sql.ErrNoRows {
		return err
	}
	r.UpdatedAt = t.now
	if r.ID == 0 {
		r.CreatedAt = t.now
		return t.q.QueryRowContext(ctx, `INSERT INTO offer_rules (match_kind, match_value, grants_access, booking_limit, hours,
			access_days, note, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$8) RETURNING id`,
			r.MatchKind, r.MatchValue, r.GrantsAccess, r.BookingLimit, r.Hours, r.AccessDays, r.Note, ms(t.now)).Scan(&r.ID)
	}
	res, err := t.q.ExecContext(ctx, `UPDATE offer_rules SET match_kind = $2, match_value = $3, grants_access = $4, booking_limit = $5,
		hours = $6, access_days = $7, note = $8, updated_at = $9 WHERE id = $1`,
		r.ID, r.MatchKind, r.MatchValue, r.GrantsAccess, r.BookingLimit, r.Hours, r.AccessDays, r.Note, ms(t.now))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteOfferRule deletes a rule; deals keep what it gave them.
func (t *Tx) DeleteOfferRule(ctx context.Context, id int64) error {
	res, err := t.q.ExecContext(ctx, `DELETE FROM offer_rules WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// PaidGrants lists what the user's deals that give access now give.
func (t *Tx) PaidGrants(ctx context.Context, userID int64) ([]booksmeta.Grant, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT grant_limit, grant_hours, grant_until, grant_note FROM deals
		WHERE user_id = $1 AND paid = TRUE`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []booksmeta.Grant
	for rows.Next() {
		g := booksmeta.Grant{Access: true}
		var until sql.NullInt64
		if err := rows.Scan(&g.Limit, &g.Hours, &until, &g.Note); err != nil {
			return nil, err
		}
		g.Until = nullMS(until)
		out = append(out, g)
	}
	return out, rows.Err()
}

// EarliestPaidAt is when the user's oldest deal that gives access now was
// paid (zero when none): hours are counted from then.
func (t *Tx) EarliestPaidAt(ctx context.Context, userID int64) (time.Time, error) {
	var v sql.NullInt64
	err := t.q.QueryRowContext(ctx, `SELECT MIN(paid_at) FROM deals WHERE user_id = $1 AND paid = TRUE`, userID).Scan(&v)
	return nullMS(v), err
}

// BookedMinutes sums the length of the user's active and finished bookings
// of slots starting at or after since: the server time spent or held.
func (t *Tx) BookedMinutes(ctx context.Context, userID int64, since time.Time) (int, error) {
	var ms sql.NullInt64
	err := t.q.QueryRowContext(ctx, `SELECT SUM(s.ends_at - s.starts_at) FROM bookings b JOIN slots s ON s.id = b.slot_id
		WHERE b.user_id = $1 AND b.status IN ('active', 'finished') AND s.starts_at >= $2`, userID, msOf(since)).Scan(&ms)
	return int(ms.Int64 / 60000), err
}

func msOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// SeenOffer is an offer Book Smeta has seen in deliveries or the export.
type SeenOffer struct {
	Kind, Value string
	Deals, Paid int
	LastSeen    time.Time
}

// SeenOffers lists the offers of all recorded deals (ids, codes, position
// titles) with how many deals and paid deals each has, most paid first.
func (s *Store) SeenOffers(ctx context.Context) ([]SeenOffer, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT offer_ids, offer_code, product_title, status, updated_at FROM deals`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type key struct{ kind, value string }
	seen := map[key]*SeenOffer{}
	add := func(kind, value string, paid bool, at time.Time) {
		value = strings.TrimSpace(value)
		if value == "" {
			return
		}
		k := key{kind, strings.ToLower(value)}
		o := seen[k]
		if o == nil {
			o = &SeenOffer{Kind: kind, Value: value}
			seen[k] = o
		}
		o.Deals++
		if paid {
			o.Paid++
		}
		if at.After(o.LastSeen) {
			o.LastSeen = at
		}
	}
	for rows.Next() {
		var ids, code, title, status string
		var at int64
		if err := rows.Scan(&ids, &code, &title, &status, &at); err != nil {
			return nil, err
		}
		// Paid in GetCourse, whether or not it gives access here.
		paid := status == "payed"
		for _, id := range strings.Split(ids, ",") {
			add(booksmeta.MatchOfferID, id, paid, fromMS(at))
		}
		add(booksmeta.MatchOfferCode, code, paid, fromMS(at))
		for _, t := range booksmeta.PositionTitles(title) {
			add(booksmeta.MatchTitle, t, paid, fromMS(at))
		}
	}
	out := make([]SeenOffer, 0, len(seen))
	for _, o := range seen {
		out = append(out, *o)
	}
	sortSeen(out)
	return out, rows.Err()
}

func sortSeen(o []SeenOffer) {
	sort.Slice(o, func(i, j int) bool {
		if o[i].Paid != o[j].Paid {
			return o[i].Paid > o[j].Paid
		}
		if o[i].Kind != o[j].Kind {
			return o[i].Kind < o[j].Kind
		}
		return o[i].Value < o[j].Value
	})
}

// PayedDeals lists the deals GetCourse reports paid that have an owner,
// whether or not they give access here now: what a recompute of tariffs
// goes over.
func (t *Tx) PayedDeals(ctx context.Context) ([]*booksmeta.Deal, error) {
	return collect(scanDeal)(t.q.QueryContext(ctx, `SELECT `+dealCols+` FROM deals WHERE status = 'payed' AND user_id IS NOT NULL ORDER BY user_id, id`))
}

// ExpiredGrants lists deals that give access whose access ended by now.
func (t *Tx) ExpiredGrants(ctx context.Context) ([]*booksmeta.Deal, error) {
	return collect(scanDeal)(t.q.QueryContext(ctx, `SELECT `+dealCols+` FROM deals WHERE paid = TRUE AND grant_until IS NOT NULL
		AND grant_until <= $1 AND user_id IS NOT NULL ORDER BY user_id, id`, ms(t.now)))
}

// UsersWithGrantsEndingBy lists students with a deal giving access that
// ends after now and by t.
func (t *Tx) UsersWithGrantsEndingBy(ctx context.Context, by time.Time) ([]int64, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT DISTINCT user_id FROM deals WHERE paid = TRUE AND grant_until IS NOT NULL
		AND grant_until > $1 AND grant_until <= $2 AND user_id IS NOT NULL`, ms(t.now), ms(by))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
