// Package bench measures Book Smeta under load from the outside, through
// HTTP, and reports figures as ratios against a trivial baseline measured in
// the same run, so that they hold on a noisy machine.
package bench

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"booksmeta/internal/webhook"
)

// Result is one load run.
type Result struct {
	Name     string
	Requests int
	OK       int
	Errors   int
	Elapsed  time.Duration
	P50, P99 time.Duration
	// FirstError keeps one failure for the report.
	FirstError string
}

// PerSecond is accepted requests per second.
func (r Result) PerSecond() float64 { return float64(r.OK) / r.Elapsed.Seconds() }

func (r Result) String() string {
	s := fmt.Sprintf("%-9s %8.0f принято/с  p50 %-9s p99 %-9s запросов %d  ошибок %d",
		r.Name, r.PerSecond(), r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Requests, r.Errors)
	if r.FirstError != "" {
		s += "  (первая ошибка: " + r.FirstError + ")"
	}
	return s
}

// Request builds the i-th request of worker w.
type Request func(w, i int) (*http.Request, error)

// Run sends requests from concurrency workers for duration (or until ctx
// ends) and measures each answer; ok says which answers count as accepted.
func Run(ctx context.Context, name string, client *http.Client, concurrency int, duration time.Duration, build Request, ok func(status int, body []byte) bool) Result {
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	res := Result{Name: name}
	var requests, oks, errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for i := 0; ctx.Err() == nil; i++ {
				req, err := build(w, i)
				if err != nil {
					errs.Add(1)
					continue
				}
				t0 := time.Now()
				resp, err := client.Do(req.WithContext(context.WithoutCancel(ctx)))
				requests.Add(1)
				if err != nil {
					errs.Add(1)
					mu.Lock()
					if res.FirstError == "" {
						res.FirstError = err.Error()
					}
					mu.Unlock()
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				local = append(local, time.Since(t0))
				if ok(resp.StatusCode, body) {
					oks.Add(1)
				} else {
					errs.Add(1)
					mu.Lock()
					if res.FirstError == "" {
						res.FirstError = strconv.Itoa(resp.StatusCode) + " " + string(bytes.TrimSpace(body))
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Requests, res.OK, res.Errors = int(requests.Load()), int(oks.Load()), int(errs.Load())
	slices.Sort(lat)
	if n := len(lat); n > 0 {
		res.P50, res.P99 = lat[n/2], lat[min(n-1, n*99/100)]
	}
	return res
}

// Client is an HTTP client tuned so that the load generator is not the bottleneck.
func Client(concurrency int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: concurrency * 2, MaxIdleConnsPerHost: concurrency * 2, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
}

// WebhookRequests builds signed, unique user_payment events for url. The run
// id keeps events of different runs apart, so re-runs are not duplicates.
func WebhookRequests(url, secret, runID string) Request {
	return func(w, i int) (*http.Request, error) {
		id := "bench-" + runID + "-" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
		return PaymentRequest(url, secret, id, id+"@example.ru", false)
	}
}

// FloodRequests builds what an anonymous sender floods the intake with:
// unsigned POSTs without ?secret=, each with a 16 KiB JSON body in the
// shape of a payment, half of them with a wrong signature header (which
// makes the intake read and hash the body) and half with none.
func FloodRequests(url string) Request {
	pad := bytes.Repeat([]byte("x"), 16<<10)
	return func(w, i int) (*http.Request, error) {
		body := append([]byte(`{"action":"user_payment","email":"flood-`+strconv.Itoa(w)+`-`+strconv.Itoa(i)+`@example.ru","pad":"`), pad...)
		body = append(body, `"}`...)
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		if i%2 == 1 {
			req.Header.Set("X-GetCourse-Signature", "sha256="+strings.Repeat("0", 64))
		}
		return req, nil
	}
}

// Refused401 counts a 401 as the expected answer to a flood request.
func Refused401(status int, _ []byte) bool { return status == http.StatusUnauthorized }

// Accepted200 counts a 200 as accepted.
func Accepted200(status int, _ []byte) bool { return status == http.StatusOK }

// BaselineServer is the trivial handler the intake is compared with: it
// reads the body and verifies the HMAC, and nothing else — no parsing, no
// database. Close it when done.
func BaselineServer(secret string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, webhook.MaxBody))
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		got, err := hex.DecodeString(r.Header.Get("X-GetCourse-Signature")[len("sha256="):])
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		if err != nil || !hmac.Equal(got, m.Sum(nil)) {
			http.Error(w, "signature", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"success":true,"event_id":"0","duplicate":false}`))
	}))
}
