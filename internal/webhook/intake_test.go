package webhook_test

import (
	"booksmeta"

	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"booksmeta/internal/apptest"
	"booksmeta/internal/dbtest"
	"booksmeta/internal/store"
	"booksmeta/internal/webhook"
)

const secret = "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8a0c2e4f6a8b0d2f4e6a8c0b"

type answer struct {
	Success   bool   `json:"success"`
	EventID   string `json:"event_id"`
	Duplicate bool   `json:"duplicate"`
	Error     string `json:"error"`
	Message   string `json:"message"`
}

func decode(t *testing.T, body string) answer {
	t.Helper()
	var a answer
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("answer is not JSON: %q", body)
	}
	return a
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func lastLog(t *testing.T, s *apptest.Server) *booksmeta.WebhookEvent {
	t.Helper()
	es, err := s.Store.ListWebhooks(context.Background(), store.WebhookFilter{Limit: 1})
	if err != nil || len(es) == 0 {
		t.Fatalf("no log entry: %v", err)
	}
	return es[0]
}

// TestIntakeForms drives every authentication and body form of SPEC §4
// through real HTTP and a real database (SQLite, or PostgreSQL in CI).
func TestIntakeForms(t *testing.T) {
	s := apptest.Start(t, apptest.Options{Env: map[string]string{"GETCOURSE_WEBHOOK_SECRET": secret}})
	n := 0
	uniq := func() string { n++; return fmt.Sprintf("s%d@example.ru", n) }
	jsonBody := func(email string) string {
		return `{"action":"user_payment","user":{"email":"` + email + `","first_name":"Иван"}}`
	}
	type tc struct {
		name    string
		method  string
		path    string
		header  func(body string) http.Header
		body    func() string
		status  int
		errCode string
		outcome string
		auth    string
	}
	sig := func(name, prefix string, upper bool) func(string) http.Header {
		return func(b string) http.Header {
			v := strings.TrimPrefix(webhook.Sign(secret, []byte(b)), "sha256=")
			if upper {
				v = strings.ToUpper(v)
			}
			return hdr("Content-Type", "application/json", name, prefix+v)
		}
	}
	cases := []tc{
		{"X-GetCourse-Signature sha256=", "POST", "/api/getcourse/webhook", sig("X-GetCourse-Signature", "sha256=", false), func() string { return jsonBody(uniq()) }, 200, "", "accepted", "signature"},
		{"bare hex upper case", "POST", "/api/getcourse/webhook", sig("X-GetCourse-Signature", "", true), func() string { return jsonBody(uniq()) }, 200, "", "accepted", "signature"},
		{"X-Hub-Signature-256 on the PHP path", "POST", "/api/getcourse_webhook.php", sig("X-Hub-Signature-256", "sha256=", false), func() string { return jsonBody(uniq()) }, 200, "", "accepted", "signature"},
		{"X-Signature bare", "POST", "/api/getcourse/webhook", sig("X-Signature", "", false), func() string { return jsonBody(uniq()) }, 200, "", "accepted", "signature"},
		{"form body with query secret", "POST", "/api/getcourse/webhook?secret=" + secret,
			func(string) http.Header { return hdr("Content-Type", "application/x-www-form-urlencoded") },
			func() string { return "action=user_payment&email=" + url.QueryEscape(uniq()) }, 200, "", "accepted", "query_secret"},
		{"json wrapper signed", "POST", "/api/getcourse/webhook", sig("X-GetCourse-Signature", "sha256=", false),
			func() string { return `{"json":` + jsonBody(uniq()) + `}` }, 200, "", "accepted", "signature"},
		{"guide curl sha256=test", "POST", "/api/getcourse_webhook.php",
			func(string) http.Header {
				return hdr("Content-Type", "application/json", "X-GetCourse-Signature", "sha256=test")
			},
			func() string { return `{"action": "test"}` }, 401, "invalid_signature", "rejected", "failed"},
		{"no signature", "POST", "/api/getcourse/webhook", func(string) http.Header { return hdr("Content-Type", "application/json") },
			func() string { return jsonBody(uniq()) }, 401, "invalid_signature", "rejected", "failed"},
		{"wrong secret in query", "GET", "/api/getcourse/webhook?secret=wrong&action=user_payment&email=x@y.ru", nil,
			func() string { return "" }, 401, "invalid_signature", "rejected", "failed"},
		{"malformed JSON, signed", "POST", "/api/getcourse/webhook", sig("X-GetCourse-Signature", "sha256=", false),
			func() string { return `{"action":` }, 400, "invalid_payload", "invalid", "signature"},
		{"wrong content type, signed", "POST", "/api/getcourse/webhook",
			func(b string) http.Header {
				return hdr("Content-Type", "application/xml", "X-GetCourse-Signature", webhook.Sign(secret, []byte(b)))
			}, func() string { return "<x/>" }, 400, "invalid_payload", "invalid", "signature"},
		{"unknown event accepted", "POST", "/api/getcourse/webhook", sig("X-GetCourse-Signature", "sha256=", false),
			func() string { return `{"action":"lesson_viewed","email":"` + uniq() + `"}` }, 200, "", "accepted", "signature"},
		{"missing email accepted, fails later", "POST", "/api/getcourse/webhook", sig("X-GetCourse-Signature", "sha256=", false),
			func() string { return `{"action":"user_payment","user":{"first_name":"Без почты"}}` }, 200, "", "accepted", "signature"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.body()
			var h http.Header
			if c.header != nil {
				h = c.header(b)
			}
			status, raw := s.Do(t, c.method, c.path, h, b)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, raw)
			}
			a := decode(t, raw)
			if a.Error != c.errCode {
				t.Fatalf("error %q, want %q (%s)", a.Error, c.errCode, raw)
			}
			if c.status != 200 && (a.Success || a.Message == "") {
				t.Fatalf("a refusal needs success:false and a message: %s", raw)
			}
			if c.status == 200 && (!a.Success || a.EventID == "" || a.Duplicate) {
				t.Fatalf("bad acceptance: %s", raw)
			}
			e := lastLog(t, s)
			if e.Outcome != c.outcome || e.Auth != c.auth || e.HTTPStatus != c.status {
				t.Fatalf("log entry outcome=%s auth=%s status=%d, want %s %s %d", e.Outcome, e.Auth, e.HTTPStatus, c.outcome, c.auth, c.status)
			}
			for _, field := range []string{e.Headers, e.Query, e.Body, e.Reason, e.Payload} {
				if strings.Contains(field, secret) || strings.Contains(field, strings.TrimPrefix(webhook.Sign(secret, []byte(b)), "sha256=")) {
					t.Fatalf("secret or signature stored in the log: %s", field)
				}
			}
		})
	}

	// Processing outcomes of what was accepted above.
	apptest.WaitFor(t, 10*time.Second, "processing", func() bool {
		es, _ := s.Store.ListWebhooks(context.Background(), store.WebhookFilter{Outcome: booksmeta.OutcomeAccepted, State: booksmeta.StatePending})
		return len(es) == 0
	})
	es, _ := s.Store.ListWebhooks(context.Background(), store.WebhookFilter{Outcome: booksmeta.OutcomeAccepted})
	states := map[string]int{}
	for _, e := range es {
		states[e.State]++
		if e.Event == "user_payment" && e.Email == "" && (e.State != booksmeta.StateFailed || !strings.Contains(e.LastError, "нет email")) {
			t.Errorf("event without email: state %s, error %q", e.State, e.LastError)
		}
	}
	if states[booksmeta.StateDone] != 6 || states[booksmeta.StateIgnored] != 1 || states[booksmeta.StateFailed] != 1 {
		t.Fatalf("processing states = %v", states)
	}
	for i := 1; i <= n; i++ {
		if i == 7 { // the unknown event's email belongs to nobody
			continue
		}
		u, err := s.Store.UserByEmail(context.Background(), fmt.Sprintf("s%d@example.ru", i))
		if i <= 6 && (err != nil || !u.Paid || !u.Active) {
			t.Errorf("student s%d: %+v %v", i, u, err)
		}
	}
}

func TestIntakeUnverifiedMode(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	status, raw := s.Do(t, "POST", "/api/getcourse_webhook.php", hdr("Content-Type", "application/json", "X-GetCourse-Signature", "sha256=test"), `{"action": "test"}`)
	if status != 200 || !decode(t, raw).Success {
		t.Fatalf("unverified mode must accept: %d %s", status, raw)
	}
	if e := lastLog(t, s); e.Auth != booksmeta.AuthUnverified {
		t.Fatalf("auth = %s, want unverified", e.Auth)
	}
}

// TestGetCourseProcessCallback is the shape a GetCourse process "Вызвать URL" sends.
func TestGetCourseProcessCallback(t *testing.T) {
	s := apptest.Start(t, apptest.Options{Env: map[string]string{"GETCOURSE_WEBHOOK_SECRET": secret}})
	q := url.Values{"secret": {secret}, "action": {"user_payment"}, "email": {"Process@Example.ru"},
		"first_name": {"Пётр"}, "last_name": {"Смирнов"}, "phone": {"+79001234567"}}
	status, raw := s.Do(t, "GET", "/api/getcourse/webhook?"+q.Encode(), nil, "")
	if status != 200 || !decode(t, raw).Success {
		t.Fatalf("%d %s", status, raw)
	}
	e := lastLog(t, s)
	if strings.Contains(e.Query, secret) || !strings.Contains(e.Query, webhook.Redacted) || e.Auth != booksmeta.AuthQuerySecret {
		t.Fatalf("query log %q auth %s", e.Query, e.Auth)
	}
	apptest.WaitFor(t, 5*time.Second, "student", func() bool {
		u, err := s.Store.UserByEmail(context.Background(), "process@example.ru")
		return err == nil && u.Paid && u.FirstName == "Пётр" && u.LastName == "Смирнов" && u.Phone == "+79001234567"
	})
	// The same call again is a duplicate.
	status, raw = s.Do(t, "GET", "/api/getcourse/webhook?"+q.Encode(), nil, "")
	if a := decode(t, raw); status != 200 || !a.Duplicate || a.EventID != e.PublicID() {
		t.Fatalf("repeat: %d %s", status, raw)
	}
}

func TestIntakeTooLarge(t *testing.T) {
	s := apptest.Start(t, apptest.Options{Env: map[string]string{"GETCOURSE_WEBHOOK_SECRET": secret}})
	big := `{"action":"test","pad":"` + strings.Repeat("x", webhook.MaxBody) + `"}`
	status, raw := s.Do(t, "POST", "/api/getcourse/webhook", hdr("Content-Type", "application/json", "X-GetCourse-Signature", webhook.Sign(secret, []byte(big))), big)
	if status != 413 || decode(t, raw).Error != "payload_too_large" {
		t.Fatalf("%d %s", status, raw)
	}
	if e := lastLog(t, s); e.Outcome != booksmeta.OutcomeTooLarge || e.Body != "" {
		t.Fatalf("log: outcome %s, body kept %d bytes", e.Outcome, len(e.Body))
	}
	// Exactly at the limit is fine.
	ok := `{"action":"test","pad":"` + strings.Repeat("y", webhook.MaxBody-len(`{"action":"test","pad":""}`)) + `"}`
	status, raw = s.Do(t, "POST", "/api/getcourse/webhook", hdr("Content-Type", "application/json", "X-GetCourse-Signature", webhook.Sign(secret, []byte(ok))), ok)
	if status != 200 {
		t.Fatalf("1 MiB body: %d %s", status, raw[:min(len(raw), 200)])
	}
}

// TestIntakeConcurrentDuplicates: 50 copies of one event at the same moment
// are accepted once, answered duplicate 49 times, and processed once.
func TestIntakeConcurrentDuplicates(t *testing.T) {
	s := apptest.Start(t, apptest.Options{Env: map[string]string{"GETCOURSE_WEBHOOK_SECRET": secret}})
	body := `{"action":"user_payment","user":{"email":"race@example.ru"},"deal":{"id":"555","status":"payed"}}`
	h := hdr("Content-Type", "application/json", "X-GetCourse-Signature", webhook.Sign(secret, []byte(body)))
	const copies = 50
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]answer, copies)
	statuses := make([]int, copies)
	for i := range copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st, raw := s.Do(t, "POST", "/api/getcourse/webhook", h, body)
			statuses[i] = st
			json.Unmarshal([]byte(raw), &results[i])
		}()
	}
	close(start)
	wg.Wait()
	fresh, dups := 0, 0
	ids := map[string]bool{}
	for i, a := range results {
		if statuses[i] != 200 || !a.Success {
			t.Fatalf("copy %d: status %d %+v", i, statuses[i], a)
		}
		ids[a.EventID] = true
		if a.Duplicate {
			dups++
		} else {
			fresh++
		}
	}
	if fresh != 1 || dups != copies-1 || len(ids) != 1 {
		t.Fatalf("fresh=%d dups=%d distinct ids=%d", fresh, dups, len(ids))
	}
	apptest.WaitFor(t, 10*time.Second, "processing", func() bool {
		u, err := s.Store.UserByEmail(context.Background(), "race@example.ru")
		return err == nil && u.Paid
	})
	u, _ := s.Store.UserByEmail(context.Background(), "race@example.ru")
	mails, _ := s.Store.MailByUser(context.Background(), u.ID)
	if len(mails) != 1 || mails[0].Kind != "welcome" || mails[0].Status != store.MailQueued {
		t.Fatalf("welcome mails: %+v", mails)
	}
	all, _ := s.Store.ListWebhooks(context.Background(), store.WebhookFilter{Limit: 1000})
	if len(all) != copies {
		t.Fatalf("every copy must be in the log: %d", len(all))
	}
}

// TestIntakeNever200WithoutCommit makes the database refuse the write and
// checks that the sender gets a 5xx, never a 200.
func TestIntakeNever200WithoutCommit(t *testing.T) {
	s := apptest.Start(t, apptest.Options{Env: map[string]string{"GETCOURSE_WEBHOOK_SECRET": secret}})
	ctx := context.Background()
	var failSQL []string
	if dbtest.Postgres() {
		failSQL = []string{
			`CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full (simulated)'; END $$`,
			`CREATE TRIGGER refuse_event BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION refuse_event()`,
		}
	} else {
		failSQL = []string{`CREATE TRIGGER refuse_event BEFORE INSERT ON jobs BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END`}
	}
	for _, q := range failSQL {
		if _, err := s.DB.Write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	body := `{"action":"user_payment","email":"lost@example.ru"}`
	status, raw := s.Do(t, "POST", "/api/getcourse/webhook", hdr("Content-Type", "application/json", "X-GetCourse-Signature", webhook.Sign(secret, []byte(body))), body)
	if status < 500 || decode(t, raw).Success {
		t.Fatalf("failed write answered %d %s", status, raw)
	}
	// The event row was rolled back with the job: a redelivery is not a duplicate.
	es, _ := s.Store.ListWebhooks(ctx, store.WebhookFilter{Outcome: booksmeta.OutcomeAccepted})
	if len(es) != 0 {
		t.Fatalf("half-written event left behind: %+v", es[0])
	}
	if _, err := s.DB.Write.ExecContext(ctx, "DROP TRIGGER refuse_event"+map[bool]string{true: " ON jobs", false: ""}[dbtest.Postgres()]); err != nil {
		t.Fatal(err)
	}
	status, raw = s.Do(t, "POST", "/api/getcourse/webhook", hdr("Content-Type", "application/json", "X-GetCourse-Signature", webhook.Sign(secret, []byte(body))), body)
	if a := decode(t, raw); status != 200 || a.Duplicate {
		t.Fatalf("redelivery after recovery: %d %s", status, raw)
	}

	// A database that is gone entirely: 503 as well.
	s.DB.Write.Close()
	status, raw = s.Do(t, "POST", "/api/getcourse/webhook", hdr("Content-Type", "application/json", "X-GetCourse-Signature", webhook.Sign(secret, []byte(body+" "))), body+" ")
	if status < 500 {
		t.Fatalf("closed database answered %d %s", status, raw)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	s := apptest.Start(t, apptest.Options{Env: map[string]string{"GETCOURSE_WEBHOOK_SECRET": secret}})
	for _, p := range []string{"/healthz", "/api/health.php"} {
		status, raw := s.Do(t, "GET", p, nil, "")
		if status != 200 || !strings.Contains(raw, `"status":"ok"`) {
			t.Fatalf("%s: %d %s", p, status, raw)
		}
	}
	s.Do(t, "POST", "/api/getcourse/webhook", hdr("Content-Type", "application/json"), `{"action":"test"}`)
	b := `{"action":"test"}`
	s.Do(t, "POST", "/api/getcourse/webhook", hdr("Content-Type", "application/json", "X-GetCourse-Signature", webhook.Sign(secret, []byte(b))), b)
	_, m := s.Do(t, "GET", "/metrics", nil, "")
	for _, want := range []string{`booksmeta_webhook_requests_total{outcome="rejected"} 1`, `booksmeta_webhook_requests_total{outcome="accepted"} 1`, `booksmeta_webhook_requests_total{outcome="duplicate"} 0`} {
		if !strings.Contains(m, want) {
			t.Fatalf("metrics lack %q", want)
		}
	}
	s.DB.Read.Close()
	if status, raw := s.Do(t, "GET", "/healthz", nil, ""); status != 503 || !strings.Contains(raw, `"status":"error"`) {
		t.Fatalf("health with a dead database: %d %s", status, raw)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	status, raw := s.Do(t, "PUT", "/api/getcourse/webhook", nil, "{}")
	if status != 405 || !strings.Contains(raw, "POST") {
		t.Fatalf("%d %s", status, raw)
	}
	if e := lastLog(t, s); e.HTTPStatus != 405 || e.Method != "PUT" || e.Outcome != booksmeta.OutcomeInvalid {
		t.Fatalf("405 not logged: %+v", e)
	}
}
