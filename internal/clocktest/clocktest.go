// Package clocktest is the clock tests give an app (apptest.Options, or
// store.WithClock) in place of time.Now. Tests move it while job workers
// and HTTP handlers read it, so every method is safe for concurrent use.
package clocktest

import (
	"sync"
	"time"
)

// Clock follows the system clock, shifted by what Advance added, until Set
// stops it at a given time; Real lets it follow the system clock again.
// A stopped clock moves only when told: the due times of jobs, bookings and
// tokens are then exact. The zero value follows the system clock.
type Clock struct {
	mu      sync.Mutex
	stopped bool
	at      time.Time     // the reading while stopped
	shift   time.Duration // added to the system clock while following it
}

// New returns a clock that follows the system clock.
func New() *Clock { return &Clock{} }

// At returns a clock stopped at t.
func At(t time.Time) *Clock { return &Clock{stopped: true, at: t} }

// Now reads the clock. Pass the method value (c.Now) where a func() time.Time is wanted.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return c.at
	}
	return time.Now().Add(c.shift)
}

// Set stops the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped, c.at = true, t
}

// Advance moves the clock forward by d (backward when d < 0), stopped or not.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		c.at = c.at.Add(d)
	} else {
		c.shift += d
	}
}

// Real makes the clock follow the system clock again, without a shift.
func (c *Clock) Real() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped, c.at, c.shift = false, time.Time{}, 0
}
