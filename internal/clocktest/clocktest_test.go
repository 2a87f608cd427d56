package clocktest_test

import (
	"sync"
	"testing"
	"time"

	"booksmeta/internal/clocktest"
)

func TestSetAdvanceReal(t *testing.T) {
	c := clocktest.New()
	if d := time.Since(c.Now()); d < 0 || d > time.Minute {
		t.Fatalf("a new clock should follow the system clock, off by %v", d)
	}
	c.Advance(time.Hour)
	if d := time.Until(c.Now()); d < 59*time.Minute || d > 61*time.Minute {
		t.Fatalf("advanced by an hour while following, off by %v", d)
	}
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	c.Set(t0)
	if !c.Now().Equal(t0) {
		t.Fatalf("stopped clock reads %v, want %v", c.Now(), t0)
	}
	c.Advance(-time.Minute)
	if want := t0.Add(-time.Minute); !c.Now().Equal(want) {
		t.Fatalf("stopped clock moved to %v, want %v", c.Now(), want)
	}
	c.Real()
	if d := time.Since(c.Now()); d < 0 || d > time.Minute {
		t.Fatalf("Real should drop both the stop and the shift, off by %v", d)
	}
	if !clocktest.At(t0).Now().Equal(t0) {
		t.Fatal("At should start stopped")
	}
}

// TestConcurrentUse is for -race: workers read while a test moves the clock.
func TestConcurrentUse(t *testing.T) {
	c := clocktest.At(time.Unix(0, 0))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				c.Now()
			}
		})
	}
	for range 1000 {
		c.Advance(time.Second)
	}
	c.Set(time.Unix(5, 0))
	c.Real()
	wg.Wait()
}
