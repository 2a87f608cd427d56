package webhook

import (
	"booksmeta"

	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"booksmeta/internal/dbtest"
	"booksmeta/internal/store"
)

// BenchmarkCommitBatch measures the committer's serial part alone: one
// transaction holding n accepted events, synced to disk, as the group
// committer writes it. Per-row cost decides how far group commit can scale.
func BenchmarkCommitBatch(b *testing.B) {
	for _, n := range []int{1, 8, 16, 32} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			d := dbtest.Open(b)
			s := store.New(d)
			if err := s.Prepare(context.Background()); err != nil {
				b.Fatal(err)
			}
			c := &Committer{store: s, MaxBatch: 256}
			seq := 0
			b.ResetTimer()
			for range b.N {
				batch := make([]*pending, n)
				for i := range batch {
					seq++
					batch[i] = &pending{done: make(chan struct{}), rec: benchEvent(seq)}
				}
				c.commit(batch)
				for _, p := range batch {
					if p.err != nil {
						b.Fatal(p.err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1000, "µs/row")
		})
	}
}

func benchEvent(i int) *booksmeta.WebhookEvent {
	k := strconv.Itoa(i*7919%1000003) + "-" + strconv.Itoa(i)
	return &booksmeta.WebhookEvent{
		ReceivedAt: time.Now(), Method: "POST", Path: "/api/getcourse/webhook", RemoteAddr: "127.0.0.1:40000",
		ContentType: "application/json", Auth: booksmeta.AuthSignature,
		Headers:  `{"Accept-Encoding":"gzip","Content-Length":"150","Content-Type":"application/json","User-Agent":"Go-http-client/1.1","X-Getcourse-Signature":"[скрыто]"}`,
		Body:     `{"action":"user_payment","event_id":"bench-` + k + `","user":{"email":"bench-` + k + `@example.ru","first_name":"Нагрузка"}}`,
		BodySize: 150, Outcome: booksmeta.OutcomeAccepted, HTTPStatus: 200, Event: "user_payment", Email: "bench-" + k + "@example.ru",
		IdempotencyKey: "e:bench-" + k, Payload: `{"name":"user_payment","email":"bench-` + k + `@example.ru","first_name":"Нагрузка"}`,
		State: booksmeta.StatePending,
	}
}
