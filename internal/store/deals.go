package store

import (
	"context"
	"database/sql"
	"time"
)

// Deal is a GetCourse deal (an order) as last reported to us.
type Deal struct {
	ID              int64
	Key             string
	GetCourseDealID string
	DealNumber      string
	UserID          int64
	Email           string
	Status          string
	Paid            bool
	Cost            string
	ProductTitle    string
	OfferCode       string
	LastEventID     int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// UpsertDeal records the deal's latest state, keyed by d.Key.
func (t *Tx) UpsertDeal(ctx context.Context, d *Deal) error {
	var uid any
	if d.UserID != 0 {
		uid = d.UserID
	}
	return t.q.QueryRowContext(ctx, `INSERT INTO deals (deal_key, getcourse_deal_id, deal_number, user_id, email, status,
		paid, cost, product_title, offer_code, last_event_id, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$12)
		ON CONFLICT (deal_key) DO UPDATE SET
			getcourse_deal_id = CASE WHEN excluded.getcourse_deal_id <> '' THEN excluded.getcourse_deal_id ELSE deals.getcourse_deal_id END,
			deal_number = CASE WHEN excluded.deal_number <> '' THEN excluded.deal_number ELSE deals.deal_number END,
			user_id = COALESCE(excluded.user_id, deals.user_id),
			email = excluded.email, status = excluded.status, paid = excluded.paid,
			cost = CASE WHEN excluded.cost <> '' THEN excluded.cost ELSE deals.cost END,
			product_title = CASE WHEN excluded.product_title <> '' THEN excluded.product_title ELSE deals.product_title END,
			offer_code = CASE WHEN excluded.offer_code <> '' THEN excluded.offer_code ELSE deals.offer_code END,
			last_event_id = excluded.last_event_id, updated_at = excluded.updated_at
		RETURNING id`,
		d.Key, d.GetCourseDealID, d.DealNumber, uid, d.Email, d.Status, d.Paid, d.Cost, d.ProductTitle,
		d.OfferCode, d.LastEventID, ms(t.now)).Scan(&d.ID)
}

// CountPaidDeals counts the user's deals currently paid, other than exceptKey.
func (t *Tx) CountPaidDeals(ctx context.Context, userID int64, exceptKey string) (int, error) {
	var n int
	err := t.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM deals WHERE user_id = $1 AND paid = TRUE AND deal_key <> $2`,
		userID, exceptKey).Scan(&n)
	return n, err
}

// DealsByUser lists a user's deals, newest first.
func (s *Store) DealsByUser(ctx context.Context, userID int64) ([]*Deal, error) {
	scan := func(r scanner) (*Deal, error) {
		var d Deal
		var uid, ev sql.NullInt64
		var c, u int64
		err := r.Scan(&d.ID, &d.Key, &d.GetCourseDealID, &d.DealNumber, &uid, &d.Email, &d.Status, &d.Paid,
			&d.Cost, &d.ProductTitle, &d.OfferCode, &ev, &c, &u)
		d.UserID, d.LastEventID, d.CreatedAt, d.UpdatedAt = uid.Int64, ev.Int64, fromMS(c), fromMS(u)
		return &d, err
	}
	return collect(scan)(s.read().QueryContext(ctx, `SELECT id, deal_key, getcourse_deal_id, deal_number, user_id, email, status, paid,
		cost, product_title, offer_code, last_event_id, created_at, updated_at FROM deals WHERE user_id = $1 ORDER BY id DESC`, userID))
}
