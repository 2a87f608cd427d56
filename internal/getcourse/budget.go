package getcourse

import (
	"context"
	"sync"
	"time"
)

// The Export API's documented allowance per account.
const (
	DefaultBudgetLimit  = 100
	DefaultBudgetWindow = 2 * time.Hour
)

// Budget is consulted before every Export API request, status polls included.
// Take either reserves one request for the account or returns an error; a
// refusal should be BudgetExhaustedError so that callers see KindBudgetExhausted
// and the time the next request is allowed. Implementations shared between
// processes (a database table) live elsewhere.
type Budget interface {
	Take(ctx context.Context, account string) error
}

// MemoryBudget is a sliding-window Budget for one process.
type MemoryBudget struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	now    func() time.Time
	taken  map[string][]time.Time
}

// NewMemoryBudget allows limit requests per account in any window; now may be
// nil for the wall clock.
func NewMemoryBudget(limit int, window time.Duration, now func() time.Time) *MemoryBudget {
	if now == nil {
		now = time.Now
	}
	return &MemoryBudget{limit: limit, window: window, now: now, taken: map[string][]time.Time{}}
}

func (b *MemoryBudget) Take(ctx context.Context, account string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	recent := b.prune(account, now)
	if len(recent) >= b.limit {
		return BudgetExhaustedError(recent[0].Add(b.window))
	}
	b.taken[account] = append(recent, now)
	return nil
}

// Remaining is how many requests the account may make right now.
func (b *MemoryBudget) Remaining(account string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.limit - len(b.prune(account, b.now()))
	if n < 0 {
		return 0
	}
	return n
}

func (b *MemoryBudget) prune(account string, now time.Time) []time.Time {
	times := b.taken[account]
	cut := 0
	for cut < len(times) && !times[cut].Add(b.window).After(now) {
		cut++
	}
	times = times[cut:]
	b.taken[account] = times
	return times
}
