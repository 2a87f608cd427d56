package password

import (
	"context"
	"errors"
	"runtime"
	"time"
)

// ErrBusy means every hashing slot stayed taken for the whole wait.
var ErrBusy = errors.New("Сервер сейчас занят проверкой паролей других входов. Подождите несколько секунд и попробуйте войти снова.")

// Gate bounds how many argon2id computations run at once. Each takes
// Default.Memory (19 MiB) for its duration, so without a bound a burst of
// 300 sign-ins grew the process to 6 GB; with it, memory for hashing stays
// at slots × 19 MiB and the extra requests wait their turn, briefly, or are
// answered "busy" instead of queueing without end.
type Gate struct {
	slots chan struct{}
	wait  time.Duration
}

// NewGate allows slots computations at once; a caller waits at most wait for one.
func NewGate(slots int, wait time.Duration) *Gate {
	return &Gate{slots: make(chan struct{}, max(slots, 1)), wait: wait}
}

// DefaultSlots is the machine's CPU count kept between 2 and 4: hashing is
// CPU-bound, so more slots than cores only add memory, and 2 keeps one
// sign-in from waiting behind another on a single-core VPS.
func DefaultSlots() int { return min(max(runtime.NumCPU(), 2), 4) }

// Do runs fn holding a slot. A nil Gate does not bound.
func (g *Gate) Do(ctx context.Context, fn func()) error {
	if g == nil {
		fn()
		return nil
	}
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-g.slots }()
	fn()
	return nil
}
