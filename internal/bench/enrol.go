package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"booksmeta/internal/webhook"
)

// Latency summarises measured durations.
type Latency struct {
	Count         int
	P50, P99, Max time.Duration
}

// Summarize sorts ds in place and summarises it.
func Summarize(ds []time.Duration) Latency {
	slices.Sort(ds)
	l := Latency{Count: len(ds)}
	if n := len(ds); n > 0 {
		l.P50, l.P99, l.Max = ds[n/2], ds[min(n-1, n*99/100)], ds[n-1]
	}
	return l
}

func (l Latency) String() string {
	return fmt.Sprintf("всего %d  p50 %-9s p99 %-9s макс. %s", l.Count, l.P50.Round(100*time.Microsecond),
		l.P99.Round(100*time.Microsecond), l.Max.Round(100*time.Microsecond))
}

// Paced calls send(0), send(1), … at rate calls per second until duration
// passes or ctx ends, each call in its own goroutine: an open loop, as
// GetCourse delivers payments whether or not earlier ones were answered,
// so a slow answer shows as latency instead of lowering the rate. It
// returns once every call has returned, with the number of calls.
func Paced(ctx context.Context, rate float64, duration time.Duration, send func(i int)) int {
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	var wg sync.WaitGroup
	i := 0
	for ; ; i++ {
		// Each call is due at start + i·interval, so the rate does not drift
		// by the time spent starting goroutines.
		due := start.Add(time.Duration(i) * interval)
		if due.Sub(start) >= duration {
			break
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return i
		case <-time.After(time.Until(due)):
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			send(i)
		}(i)
	}
	wg.Wait()
	return i
}

// PaymentRequest is a user_payment delivery of a new student: signed with
// secret, or, with inQuery, carrying it as ?secret= the way a GetCourse
// process «Вызвать URL» does.
func PaymentRequest(target, secret, eventID, email string, inQuery bool) (*http.Request, error) {
	body := []byte(`{"action":"user_payment","event_id":"` + eventID + `","user":{"email":"` + email + `","first_name":"Нагрузка"}}`)
	if inQuery && secret != "" {
		target += "?secret=" + url.QueryEscape(secret)
	}
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if !inQuery && secret != "" {
		req.Header.Set("X-GetCourse-Signature", webhook.Sign(secret, body))
	}
	return req, nil
}
