package store

import (
	"booksmeta"

	"context"
	"database/sql"
	"strings"

	"booksmeta/internal/db"
)

const dealCols = `id, deal_key, getcourse_deal_id, deal_number, user_id, email, getcourse_user_id, status, paid, paid_at,
	cost, payed_value, currency, offer_ids, product_title, offer_code, last_event_id, grant_limit, grant_hours, grant_until,
	grant_note, created_at, updated_at`

func scanDeal(r scanner) (*booksmeta.Deal, error) {
	var d booksmeta.Deal
	var uid, ev, paidAt, until sql.NullInt64
	var c, u int64
	var offers string
	err := r.Scan(&d.ID, &d.Key, &d.GetCourseDealID, &d.DealNumber, &uid, &d.Email, &d.GetCourseUserID, &d.Status, &d.Paid,
		&paidAt, &d.Cost, &d.PayedValue, &d.Currency, &offers, &d.ProductTitle, &d.OfferCode, &ev, &d.GrantLimit, &d.GrantHours,
		&until, &d.GrantNote, &c, &u)
	if err != nil {
		return nil, notFound(err)
	}
	d.UserID, d.LastEventID, d.PaidAt, d.CreatedAt, d.UpdatedAt = uid.Int64, ev.Int64, nullMS(paidAt), fromMS(c), fromMS(u)
	d.GrantUntil = nullMS(until)
	if offers != "" {
		d.OfferIDs = strings.Split(offers, ",")
	}
	return &d, nil
}

// LockDeal reads the deal with key for update, creating an empty row first
// when there is none, so that two events of one deal processed at once (two
// instances on PostgreSQL) apply one after the other. A new row has no
// status, no owner and LastEventID 0.
func (t *Tx) LockDeal(ctx context.Context, key string) (*booksmeta.Deal, error) {
	if _, err := t.q.ExecContext(ctx, `INSERT INTO deals (deal_key, created_at, updated_at) VALUES ($1, $2, $2)
		ON CONFLICT (deal_key) DO NOTHING`, key, ms(t.now)); err != nil {
		return nil, err
	}
	lock := ""
	if t.dialect == db.Postgres {
		lock = " FOR UPDATE"
	}
	return scanDeal(t.q.QueryRowContext(ctx, "SELECT "+dealCols+" FROM deals WHERE deal_key = $1"+lock, key))
}

// SaveDeal writes every field of a deal read with LockDeal.
func (t *Tx) SaveDeal(ctx context.Context, d *booksmeta.Deal) error {
	var uid, paidAt, ev, until any
	if d.UserID != 0 {
		uid = d.UserID
	}
	if !d.GrantUntil.IsZero() {
		until = ms(d.GrantUntil)
	}
	if !d.PaidAt.IsZero() {
		paidAt = ms(d.PaidAt)
	}
	if d.LastEventID != 0 {
		ev = d.LastEventID
	}
	d.UpdatedAt = t.now
	_, err := t.q.ExecContext(ctx, `UPDATE deals SET getcourse_deal_id = $2, deal_number = $3, user_id = $4, email = $5,
		getcourse_user_id = $6, status = $7, paid = $8, paid_at = $9, cost = $10, payed_value = $11, currency = $12,
		offer_ids = $13, product_title = $14, offer_code = $15, last_event_id = $16, updated_at = $17,
		grant_limit = $18, grant_hours = $19, grant_until = $20, grant_note = $21 WHERE id = $1`,
		d.ID, d.GetCourseDealID, d.DealNumber, uid, d.Email, d.GetCourseUserID, d.Status, d.Paid, paidAt, d.Cost,
		d.PayedValue, d.Currency, strings.Join(d.OfferIDs, ","), d.ProductTitle, d.OfferCode, ev, ms(t.now),
		d.GrantLimit, d.GrantHours, until, d.GrantNote)
	return err
}

// CountPaidDeals counts the user's deals currently paid, other than exceptKey.
func (t *Tx) CountPaidDeals(ctx context.Context, userID int64, exceptKey string) (int, error) {
	var n int
	err := t.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM deals WHERE user_id = $1 AND paid = TRUE AND deal_key <> $2`,
		userID, exceptKey).Scan(&n)
	return n, err
}

// DealsByUser lists a user's deals, newest first.
func (s *Store) DealsByUser(ctx context.Context, userID int64) ([]*booksmeta.Deal, error) {
	return collect(scanDeal)(s.read().QueryContext(ctx, `SELECT `+dealCols+` FROM deals WHERE user_id = $1 ORDER BY id DESC`, userID))
}

// DealByKey reads one deal.
func (s *Store) DealByKey(ctx context.Context, key string) (*booksmeta.Deal, error) {
	return scanDeal(s.read().QueryRowContext(ctx, "SELECT "+dealCols+" FROM deals WHERE deal_key = $1", key))
}
