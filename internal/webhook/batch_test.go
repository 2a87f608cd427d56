package webhook_test

import (
	"booksmeta"

	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"booksmeta/internal/apptest"
	"booksmeta/internal/dbtest"
	"booksmeta/internal/store"
	"booksmeta/internal/webhook"
)

func sendPayment(t *testing.T, s *apptest.Server, email string) int64 {
	t.Helper()
	body := `{"action":"user_payment","event_id":"batch-` + email + `","user":{"email":"` + email + `"}}`
	status, raw := s.Do(t, "POST", "/api/getcourse/webhook", hdr("Content-Type", "application/json", "X-GetCourse-Signature", webhook.Sign(secret, []byte(body))), body)
	a := decode(t, raw)
	if status != 200 || !a.Success || a.Duplicate {
		t.Fatalf("%s: %d %s", email, status, raw)
	}
	id, err := strconv.ParseInt(a.EventID, 10, 64)
	if err != nil {
		t.Fatalf("event id %q: %v", a.EventID, err)
	}
	return id
}

// TestBurstGetsOneJobPerCommit: a burst of payments is grouped into few
// processing jobs, and every accepted event is named by exactly one of them.
func TestBurstGetsOneJobPerCommit(t *testing.T) {
	s := apptest.Start(t, apptest.Options{NoJobs: true, Env: map[string]string{"GETCOURSE_WEBHOOK_SECRET": secret}})
	const n = 64
	ids := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = sendPayment(t, s, fmt.Sprintf("burst%d@example.ru", i))
		}()
	}
	wg.Wait()

	rows, err := s.DB.Read.QueryContext(context.Background(), `SELECT payload FROM jobs WHERE kind = $1`, webhook.JobKind)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	named, jobs := map[int64]int{}, 0
	for rows.Next() {
		var payload string
		var arg struct {
			EventID  int64   `json:"event_id"`
			EventIDs []int64 `json:"event_ids"`
		}
		if err := rows.Scan(&payload); err != nil || json.Unmarshal([]byte(payload), &arg) != nil {
			t.Fatalf("job payload %q: %v", payload, err)
		}
		jobs++
		if arg.EventID != 0 {
			arg.EventIDs = append(arg.EventIDs, arg.EventID)
		}
		for _, id := range arg.EventIDs {
			named[id]++
		}
	}
	for _, id := range ids {
		if named[id] != 1 {
			t.Fatalf("event %d is named by %d jobs, want exactly 1", id, named[id])
		}
	}
	if len(named) != n {
		t.Fatalf("jobs name %d events, %d were accepted", len(named), n)
	}
	t.Logf("%d events, %d processing jobs", n, jobs)
	for s.Jobs.RunOne(context.Background(), "test") {
	}
	for i := range n {
		u, err := s.Store.UserByEmail(context.Background(), fmt.Sprintf("burst%d@example.ru", i))
		if err != nil || !u.Paid {
			t.Fatalf("student %d not enrolled: %v", i, err)
		}
	}
}

// TestBatchJobIsolatesFailures: in one batch, an event a rule refuses is
// marked failed without failing the others; an event that hits a passing
// error makes the job retry, and the retry repeats only that event.
func TestBatchJobIsolatesFailures(t *testing.T) {
	s := apptest.Start(t, apptest.Options{NoJobs: true, Env: map[string]string{"GETCOURSE_WEBHOOK_SECRET": secret}})
	ctx := context.Background()
	var failSQL, dropSQL []string
	if dbtest.Postgres() {
		failSQL = []string{
			`CREATE FUNCTION refuse_user() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.email = 'flaky@example.ru' THEN RAISE EXCEPTION 'disk full (simulated)'; END IF; RETURN NEW; END $$`,
			`CREATE TRIGGER refuse_user BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION refuse_user()`,
		}
		dropSQL = []string{`DROP TRIGGER refuse_user ON users`}
	} else {
		failSQL = []string{`CREATE TRIGGER refuse_user BEFORE INSERT ON users WHEN NEW.email = 'flaky@example.ru' BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END`}
		dropSQL = []string{`DROP TRIGGER refuse_user`}
	}
	for _, q := range failSQL {
		if _, err := s.DB.Write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	good1 := sendPayment(t, s, "first@example.ru")
	flaky := sendPayment(t, s, "flaky@example.ru")
	body := `{"action":"user_payment","event_id":"no-email"}`
	_, raw := s.Do(t, "POST", "/api/getcourse/webhook", hdr("Content-Type", "application/json", "X-GetCourse-Signature", webhook.Sign(secret, []byte(body))), body)
	refused, _ := strconv.ParseInt(decode(t, raw).EventID, 10, 64)
	good2 := sendPayment(t, s, "second@example.ru")

	job := &store.Job{Kind: webhook.JobKind, Attempts: 1, MaxAttempts: 8,
		Payload: fmt.Sprintf(`{"event_ids":[%d,%d,%d,%d]}`, good1, flaky, refused, good2)}
	if err := s.Processor.HandleJob(ctx, job); err == nil {
		t.Fatal("a passing failure in the batch must make the job retry")
	}
	state := func(id int64) string {
		e, err := s.Store.WebhookByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return e.State
	}
	if state(good1) != booksmeta.StateDone || state(good2) != booksmeta.StateDone {
		t.Fatalf("events around the failures: %s, %s", state(good1), state(good2))
	}
	if state(refused) != booksmeta.StateFailed || state(flaky) != booksmeta.StateRetry {
		t.Fatalf("refused event %s, flaky event %s", state(refused), state(flaky))
	}

	for _, q := range dropSQL {
		if _, err := s.DB.Write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	job.Attempts++
	if err := s.Processor.HandleJob(ctx, job); err != nil {
		t.Fatalf("retry after the cause is gone: %v", err)
	}
	if state(flaky) != booksmeta.StateDone || state(refused) != booksmeta.StateFailed {
		t.Fatalf("after retry: flaky %s, refused %s", state(flaky), state(refused))
	}
	// The retry re-ran the batch, yet each student got one welcome mail.
	for _, email := range []string{"first@example.ru", "flaky@example.ru", "second@example.ru"} {
		u, err := s.Store.UserByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		mails, _ := s.Store.MailByUser(ctx, u.ID)
		if len(mails) != 1 {
			t.Fatalf("%s got %d mails", email, len(mails))
		}
	}
}
