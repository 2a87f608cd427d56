package webhook_test

import (
	"booksmeta"

	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"booksmeta/internal/apptest"
	"booksmeta/internal/store"
	"booksmeta/internal/webhook"
)

// TestBytesThatAreNotText: NUL and invalid UTF-8 in a genuine delivery are
// stored cleaned and answered 200 on SQLite and PostgreSQL alike; a JSON
// \u0000 in the email never makes an event that fails forever; a rejected
// body cut at 16 KiB inside a Cyrillic letter is still logged.
func TestBytesThatAreNotText(t *testing.T) {
	s := apptest.Start(t, apptest.Options{Env: map[string]string{"GETCOURSE_WEBHOOK_SECRET": secret}})
	ctx := context.Background()
	send := func(ct, body string) answer {
		t.Helper()
		status, raw := s.Do(t, "POST", "/api/getcourse/webhook", hdr("Content-Type", ct, "X-GetCourse-Signature", webhook.Sign(secret, []byte(body))), body)
		if status != 200 {
			t.Fatalf("%d %s for %q", status, raw, body)
		}
		return decode(t, raw)
	}
	// A raw NUL inside a JSON string is not JSON: 400, and logged with the
	// body cleaned.
	raw := "{\"action\":\"user_payment\",\"email\":\"nul@example.ru\",\"first_name\":\"Ан\x00на\"}"
	if status, _ := s.Do(t, "POST", "/api/getcourse/webhook", hdr("Content-Type", "application/json", "X-GetCourse-Signature", webhook.Sign(secret, []byte(raw))), raw); status != 400 {
		t.Fatalf("raw NUL in JSON: %d", status)
	}
	if es, _ := s.Store.ListWebhooks(ctx, store.WebhookFilter{Outcome: booksmeta.OutcomeInvalid, Limit: 1}); len(es) != 1 || !strings.Contains(es[0].Body, "Ан␀на") {
		t.Fatalf("invalid request not logged cleaned: %+v", es)
	}
	for _, body := range []string{
		"{\"action\":\"user_payment\",\"email\":\"nul@example.ru\",\"first_name\":\"Ан\\u0000на\"}",
		"{\"action\":\"user_payment\",\"email\":\"bad@example.ru\",\"first_name\":\"\xff\xfeИмя\"}",
		`{"action":"user_payment","email":"esc\u0000aped@example.ru","first_name":"\u0000"}`,
	} {
		a := send("application/json", body)
		e, err := s.Store.WebhookByID(ctx, mustID(t, a.EventID))
		if err != nil || !utf8.ValidString(e.Body) || strings.ContainsRune(e.Body, 0) || strings.ContainsRune(e.Payload, 0) {
			t.Fatalf("stored body %q payload %q err %v", e.Body, e.Payload, err)
		}
	}
	form := "action=user_payment&email=form%40example.ru&first_name=%00%FF"
	send("application/x-www-form-urlencoded", form)
	apptest.WaitFor(t, 10*time.Second, "events processed", func() bool {
		es, _ := s.Store.ListWebhooks(ctx, store.WebhookFilter{Outcome: booksmeta.OutcomeAccepted, Limit: 10})
		for _, e := range es {
			if e.State == booksmeta.StatePending || e.State == booksmeta.StateRetry {
				return false
			}
		}
		return len(es) == 4
	})
	for _, email := range []string{"nul@example.ru", "bad@example.ru", "form@example.ru"} {
		if u, err := s.Store.UserByEmail(ctx, email); err != nil || !u.Paid || strings.ContainsRune(u.FirstName, 0) || !utf8.ValidString(u.FirstName) {
			t.Errorf("%s: %+v %v", email, u, err)
		}
	}
	// The escaped NUL reached the processor as a visible ␀, so the event
	// ended (applied or refused with a reason), never in a retry loop.
	es, _ := s.Store.ListWebhooks(ctx, store.WebhookFilter{Outcome: booksmeta.OutcomeAccepted, Limit: 10})
	for _, e := range es {
		if e.State != booksmeta.StateDone && e.State != booksmeta.StateFailed {
			t.Errorf("event #%d ended %s: %s", e.ID, e.State, e.LastError)
		}
	}

	// A rejected request whose 16 KiB cut falls inside a letter.
	big := "{\"action\":\"test\",\"pad\":\"x" + strings.Repeat("Ж", 12<<10) + "\"}"
	status, _ := s.Do(t, "POST", "/api/getcourse/webhook", hdr("Content-Type", "application/json", "X-GetCourse-Signature", "sha256="+strings.Repeat("0", 64)), big)
	if status != 401 {
		t.Fatalf("forged signature: %d", status)
	}
	apptest.WaitFor(t, 5*time.Second, "rejected request logged", func() bool {
		es, _ := s.Store.ListWebhooks(ctx, store.WebhookFilter{Outcome: booksmeta.OutcomeRejected, Limit: 1})
		return len(es) == 1 && utf8.ValidString(es[0].Body) && es[0].Body != ""
	})
}

// TestRefusedFloodIsBounded: a flood of unsigned requests from one address
// gets 401 every time but only a few rows of its own, then one summary row
// with the count; bodies of refused requests are kept short; a genuine
// delivery in the middle of the flood is accepted and applied.
func TestRefusedFloodIsBounded(t *testing.T) {
	s := apptest.Start(t, apptest.Options{Env: map[string]string{"GETCOURSE_WEBHOOK_SECRET": secret}})
	ctx := context.Background()
	pad := strings.Repeat("Ж", 4<<10) // 8 KiB
	flood := func(i int) {
		path := "/api/getcourse/webhook"
		if i%2 == 1 {
			path += "?secret=wrong-secret-value"
		}
		status, _ := s.Do(t, "POST", path, hdr("Content-Type", "application/json"), `{"action":"user_payment","email":"flood@example.ru","pad":"`+pad+`"}`)
		if status != 401 {
			t.Errorf("request %d: %d", i, status)
		}
	}
	// The first requests get rows; later ones wait a moment for their 401
	// (the tarpit), so the rest of the flood comes from many connections.
	for i := 0; i < 10; i++ {
		flood(i)
	}
	var wg sync.WaitGroup
	for w := 0; w < 35; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 4; i++ {
				flood(10 + w*4 + i)
			}
		}()
	}
	// A genuine delivery in the middle of the flood is answered at once.
	status, raw := s.Do(t, "GET", "/api/getcourse/webhook?secret="+secret+"&action=user_payment&email=genuine@example.ru", nil, "")
	if status != 200 || decode(t, raw).Duplicate {
		t.Fatalf("genuine delivery during the flood: %d %s", status, raw)
	}
	wg.Wait()
	// Past its rows, a flooding source waits for each 401.
	start := time.Now()
	flood(150)
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Fatalf("a flooding request was answered in %s: no tarpit", waited)
	}
	rows, _ := s.Store.ListWebhooks(ctx, store.WebhookFilter{Outcome: booksmeta.OutcomeRejected, Limit: 200})
	if len(rows) == 0 || len(rows) > 10 {
		t.Fatalf("%d refused rows for one address, want 1..10", len(rows))
	}
	for _, r := range rows {
		if len(r.Body) > 2<<10+64 || r.BodySize < 8<<10 {
			t.Fatalf("refused row keeps %d bytes of body (size recorded %d)", len(r.Body), r.BodySize)
		}
	}
	s.Rejects.Flush()
	rows, _ = s.Store.ListWebhooks(ctx, store.WebhookFilter{Outcome: booksmeta.OutcomeRejected, Limit: 200})
	if !strings.Contains(rows[0].Reason, "ещё 141") || !strings.Contains(rows[0].Reason, "Поток") {
		t.Fatalf("summary row: %q", rows[0].Reason)
	}
	apptest.WaitFor(t, 10*time.Second, "genuine payment applied", func() bool {
		u, err := s.Store.UserByEmail(ctx, "genuine@example.ru")
		return err == nil && u.Paid
	})
}

// TestWebhookLogRetention: the retention keeps accepted events for 90 days
// whatever the setting says, and unprocessed work forever; refused and
// duplicate rows go after the setting's days.
func TestWebhookLogRetention(t *testing.T) {
	s := apptest.Start(t, apptest.Options{NoJobs: true})
	ctx := context.Background()
	now := s.Store.Now()
	day := 24 * time.Hour
	rows := []struct {
		age      time.Duration
		outcome  string
		state    string
		keptWant bool
	}{
		{10 * day, booksmeta.OutcomeRejected, "", false},
		{3 * day, booksmeta.OutcomeRejected, "", true},
		{10 * day, booksmeta.OutcomeDuplicate, "", false},
		{30 * day, booksmeta.OutcomeAccepted, booksmeta.StateDone, true},
		{100 * day, booksmeta.OutcomeAccepted, booksmeta.StateDone, false},
		{100 * day, booksmeta.OutcomeAccepted, booksmeta.StateFailed, true},
	}
	ids := make([]int64, len(rows))
	err := s.Store.InTx(ctx, func(tx *store.Tx) error {
		for i, r := range rows {
			e := &booksmeta.WebhookEvent{ReceivedAt: now.Add(-r.age), Method: "POST", Path: "/api/getcourse/webhook", Outcome: r.outcome,
				HTTPStatus: 200, Headers: "{}", Auth: booksmeta.AuthQuerySecret}
			if r.outcome == booksmeta.OutcomeAccepted {
				e.IdempotencyKey, e.State, e.Payload = fmt.Sprintf("test:%d", i), r.state, "{}"
				if _, err := tx.InsertAcceptedWebhook(ctx, e); err != nil {
					return err
				}
			} else if err := tx.InsertWebhookLog(ctx, e); err != nil {
				return err
			}
			ids[i] = e.ID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := webhook.PruneLog(ctx, s.Store, 7); err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		_, err := s.Store.WebhookByID(ctx, ids[i])
		if kept := err == nil; kept != r.keptWant {
			t.Errorf("%s/%s aged %s: kept=%v, want %v", r.outcome, r.state, r.age, kept, r.keptWant)
		}
	}
}
