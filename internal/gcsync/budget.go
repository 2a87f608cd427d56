package gcsync

import (
	"context"
	"fmt"
	"time"

	"booksmeta/internal/getcourse"
	"booksmeta/internal/store"
)

// Budget is the Export API allowance kept in the database, so that every
// process using the same database (several serve instances, a CLI sync)
// draws from one count per account. Status polls are metered like any other
// Export API request by the client.
type Budget struct {
	store  *store.Store
	Limit  int
	Window time.Duration
	// Zone, when set, gives the school time zone, so that the refusal's
	// "next request after HH:MM" is read in local time rather than UTC.
	Zone func() *time.Location
}

// NewBudget returns a Budget of limit requests per window per account.
func NewBudget(st *store.Store, limit int, window time.Duration) *Budget {
	return &Budget{store: st, Limit: limit, Window: window}
}

// Take reserves one request or refuses with getcourse.KindBudgetExhausted.
func (b *Budget) Take(ctx context.Context, account string) error {
	ok, retryAt, err := b.store.TakeGetCourseBudget(ctx, account, b.Limit, b.Window)
	if err != nil {
		return fmt.Errorf("getcourse budget: %w", err)
	}
	if !ok {
		if b.Zone != nil {
			retryAt = retryAt.In(b.Zone())
		}
		return getcourse.BudgetExhaustedError(retryAt)
	}
	return nil
}

// Used is how many requests the account made within the window.
func (b *Budget) Used(ctx context.Context, account string) (int, error) {
	return b.store.GetCourseBudgetUsed(ctx, account, b.Window)
}
