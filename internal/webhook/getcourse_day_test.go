package webhook_test

import (
	"booksmeta"

	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/apptest"
	"booksmeta/internal/store"
	"booksmeta/internal/webhook"
)

// The deliveries below are written from GETCOURSE_REALITY §1, not copied
// from one capture: the Tech API envelope with its quirks, and process
// «Вызвать URL» calls with the address our panel gives.

type gcUser struct {
	email, first string
	gcID         int
}

type gcDeal struct {
	id, number int
	user       gcUser
	status     string
	cost       float64
	payed      float64
	currency   string
	offers     []int
	boolPayed  bool // isPayed as true/false instead of 0/1
	created    time.Time
}

// techBody is one Tech API delivery: {"json":{…}}, ts with a wrong Z in
// account-local time, ts64 and createdAt the order's creation, the same in
// every delivery; clientDealNumber a string only in dealCreated.
func techBody(eventType string, d gcDeal) string {
	isPayed := any(0)
	if d.status == "payed" && d.payed > 0 {
		isPayed = 1
	}
	if d.boolPayed {
		isPayed = isPayed == 1
	}
	var clientNumber any = d.number
	if eventType == "getcourse/dealCreated" {
		clientNumber = fmt.Sprint(d.number)
	}
	msk := d.created.In(time.FixedZone("MSK", 3*3600))
	body := map[string]any{"json": map[string]any{
		"eventType": eventType,
		"user": map[string]any{"email": d.user.email, "gcId": d.user.gcID, "id": fmt.Sprintf("school:%d", d.user.gcID),
			"type": "user", "first_name": d.user.first},
		"deal": map[string]any{"id": fmt.Sprint(d.id), "number": d.number, "status": d.status, "isPayed": isPayed,
			"cost": d.cost, "payedValue": d.payed, "currency": d.currency, "offerIds": d.offers,
			"createdAt": msk.Format("2006-01-02 15:04:05"), "clientDealNumber": clientNumber},
		"ts":          msk.Format("2006-01-02T15:04:05") + "Z",
		"ts64":        d.created.Unix(),
		"gcAccountId": 4242,
		"gcSessionId": nil,
		"gcVisitorId": nil,
	}}
	b, _ := json.Marshal(body)
	return string(b)
}

type day struct {
	t    *testing.T
	s    *apptest.Server
	url  string // the subscription URI: endpoint with ?secret=
	dups int
}

func (d *day) post(body string) answer {
	d.t.Helper()
	status, raw := d.s.Do(d.t, "POST", d.url, hdr("Content-Type", "application/json"), body)
	if status != 200 {
		d.t.Fatalf("delivery answered %d %s\n%s", status, raw, body)
	}
	a := decode(d.t, raw)
	if a.Duplicate {
		d.dups++
	}
	return a
}

// tech delivers one event type for the deal's current state.
func (d *day) tech(eventType string, deal gcDeal) answer {
	d.t.Helper()
	return d.post(techBody(eventType, deal))
}

// pay is what one payment fires: dealPaid and dealStatusChanged with the
// same body but for eventType, in either order.
func (d *day) pay(deal gcDeal, paidFirst bool) {
	d.t.Helper()
	deal.status = "payed"
	first, second := "getcourse/dealStatusChanged", "getcourse/dealPaid"
	if paidFirst {
		first, second = second, first
	}
	if a := d.tech(first, deal); a.Duplicate {
		d.t.Fatalf("first of a payment pair taken for a duplicate: %+v", a)
	}
	if a := d.tech(second, deal); !a.Duplicate {
		d.t.Fatalf("second of a payment pair (%s) not recognised as the same payment: %+v", second, a)
	}
}

// process sends a process «Вызвать URL» call: the panel's address with the
// variables GetCourse filled in.
func (d *day) process(method string, vars map[string]string) answer {
	d.t.Helper()
	addr := webhook.ProcessURL(d.s.URL+"/api/getcourse/webhook", secret)
	for k, v := range vars {
		addr = strings.ReplaceAll(addr, k, url.QueryEscape(v))
	}
	var status int
	var raw string
	if method == "GET" {
		u, _ := url.Parse(addr)
		status, raw = d.s.Do(d.t, "GET", u.Path+"?"+u.RawQuery, nil, "")
	} else {
		u, _ := url.Parse(addr)
		q := u.Query()
		q.Del("secret")
		status, raw = d.s.Do(d.t, "POST", u.Path+"?secret="+url.QueryEscape(secret), hdr("Content-Type", "application/x-www-form-urlencoded"), strings.ReplaceAll(u.RawQuery, "secret="+url.QueryEscape(secret)+"&", ""))
	}
	if status != 200 {
		d.t.Fatalf("process call answered %d %s", status, raw)
	}
	a := decode(d.t, raw)
	if a.Duplicate {
		d.dups++
	}
	return a
}

// settle waits until every accepted event has been processed and returns
// those the rules refused.
func (d *day) settle() []*booksmeta.WebhookEvent {
	d.t.Helper()
	ctx := context.Background()
	apptest.WaitFor(d.t, 20*time.Second, "every event processed", func() bool {
		for _, st := range []string{booksmeta.StatePending, booksmeta.StateRetry} {
			es, err := d.s.Store.ListWebhooks(ctx, store.WebhookFilter{State: st, Limit: 1})
			if err != nil || len(es) > 0 {
				return false
			}
		}
		return true
	})
	failed, _ := d.s.Store.ListWebhooks(ctx, store.WebhookFilter{State: booksmeta.StateFailed, Limit: 10})
	return failed
}

func (d *day) user(email string) *booksmeta.User {
	d.t.Helper()
	u, err := d.s.Store.UserByEmail(context.Background(), email)
	if err != nil {
		return nil
	}
	return u
}

func (d *day) mails(email, kind string) int {
	d.t.Helper()
	u := d.user(email)
	if u == nil {
		return 0
	}
	ms, err := d.s.Store.MailByUser(context.Background(), u.ID)
	if err != nil {
		d.t.Fatal(err)
	}
	n := 0
	for _, m := range ms {
		if m.Kind == kind {
			n++
		}
	}
	return n
}

func newDay(t *testing.T) *day {
	s := apptest.Start(t, apptest.Options{Env: map[string]string{"GETCOURSE_WEBHOOK_SECRET": secret}})
	return &day{t: t, s: s, url: "/api/getcourse/webhook?secret=" + secret}
}

// TestGetCourseDay replays a realistic day of GetCourse order traffic,
// unsigned, to the address with ?secret= (the Tech API subscription and
// process calls), and checks who ends up paid, with one welcome mail each.
func TestGetCourseDay(t *testing.T) {
	d := newDay(t)
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	u := func(email, first string, id int) gcUser { return gcUser{email, first, id} }

	// Anna: an order, then its payment (status change first, then dealPaid),
	// and GetCourse repeats the status change.
	anna := gcDeal{id: 1001, number: 501, user: u("anna@example.ru", "Анна", 11), status: "new", cost: 12000, currency: "RUB", offers: []int{77}, created: at}
	d.tech("getcourse/dealCreated", anna)
	anna.payed = 12000
	d.pay(anna, false)
	anna.status = "payed"
	if a := d.tech("getcourse/dealStatusChanged", anna); !a.Duplicate {
		t.Fatal("a repeated delivery of the same state must be a duplicate")
	}

	// Boris: a free order, created already «Завершен» with isPayed 0.
	boris := gcDeal{id: 1002, number: 502, user: u("boris@example.ru", "Борис", 12), status: "payed", currency: "RUB", offers: []int{90}, created: at.Add(time.Minute)}
	d.tech("getcourse/dealCreated", boris)
	if a := d.tech("getcourse/dealPaid", boris); !a.Duplicate {
		t.Fatal("the free order's dealPaid repeats its creation")
	}

	// Vera: a part payment is only a status change.
	vera := gcDeal{id: 1003, number: 503, user: u("vera@example.ru", "Вера", 13), status: "new", cost: 20000, currency: "RUB", created: at.Add(2 * time.Minute)}
	d.tech("getcourse/dealCreated", vera)
	vera.status, vera.payed = "part_payed", 5000.5
	d.tech("getcourse/dealStatusChanged", vera)

	// Gleb pays (isPayed as a boolean), then is refunded: waiting_for_return,
	// then cancelled.
	gleb := gcDeal{id: 1004, number: 504, user: u("gleb@example.ru", "Глеб", 14), status: "new", cost: 9900, payed: 9900, currency: "RUB", boolPayed: true, created: at.Add(3 * time.Minute)}
	d.tech("getcourse/dealCreated", gleb)
	d.pay(gleb, true)
	gleb.status = "waiting_for_return"
	d.tech("getcourse/dealStatusChanged", gleb)
	gleb.status = "cancelled"
	d.tech("getcourse/dealStatusChanged", gleb)

	// Dina's order is marked «Ложный»; Egor's new order stays unpaid.
	dina := gcDeal{id: 1005, number: 505, user: u("dina@example.ru", "Дина", 15), status: "new", cost: 5000, currency: "RUB", created: at.Add(4 * time.Minute)}
	d.tech("getcourse/dealCreated", dina)
	dina.status = "false"
	d.tech("getcourse/dealStatusChanged", dina)
	egor := gcDeal{id: 1006, number: 506, user: u("egor@example.ru", "Егор", 16), status: "new", cost: 5000, currency: "RUB", created: at.Add(5 * time.Minute)}
	d.tech("getcourse/dealCreated", egor)

	// Zhenya pays in dollars, a fractional amount.
	zhenya := gcDeal{id: 1007, number: 507, user: u("zhenya@example.com", "Женя", 17), status: "new", cost: 150.5, payed: 150.5, currency: "USD", created: at.Add(6 * time.Minute)}
	d.tech("getcourse/dealCreated", zhenya)
	d.pay(zhenya, false)

	// Ivan: the status change and dealPaid arrive before the creation.
	ivan := gcDeal{id: 1008, number: 508, user: u("ivan@example.ru", "Иван", 18), status: "payed", cost: 3000, payed: 3000, currency: "RUB", created: at.Add(7 * time.Minute)}
	d.pay(ivan, true)
	ivan.status, ivan.payed = "new", 0
	d.tech("getcourse/dealCreated", ivan)

	// Kira pays, changes her email in GetCourse, then is refunded: the refund
	// carries the new address and must still reach her account.
	kira := gcDeal{id: 1009, number: 509, user: u("kira@example.ru", "Кира", 19), status: "payed", cost: 7000, payed: 7000, currency: "RUB", created: at.Add(8 * time.Minute)}
	d.pay(kira, false)
	kira.user.email, kira.status = "kira.new@example.ru", "waiting_for_return"
	d.tech("getcourse/dealStatusChanged", kira)
	kira.status = "false"
	d.tech("getcourse/dealStatusChanged", kira)

	// Lev has two paid orders; one is refunded, the other keeps his access.
	lev1 := gcDeal{id: 1010, number: 510, user: u("lev@example.ru", "Лев", 20), cost: 4000, payed: 4000, currency: "RUB", created: at.Add(9 * time.Minute)}
	lev2 := lev1
	lev2.id, lev2.number = 1011, 511
	d.pay(lev1, false)
	d.pay(lev2, true)
	lev1.status = "cancelled"
	d.tech("getcourse/dealStatusChanged", lev1)

	// Mila pays, is refunded, pays again: payed → cancelled → payed.
	mila := gcDeal{id: 1012, number: 512, user: u("mila@example.ru", "Мила", 21), cost: 6000, payed: 6000, currency: "RUB", created: at.Add(10 * time.Minute)}
	d.pay(mila, false)
	mila.status = "cancelled"
	d.tech("getcourse/dealStatusChanged", mila)
	d.pay(mila, true)

	// Nina buys through a process «Вызвать URL» (status as GetCourse's
	// Russian label, GET); the order is cancelled; she buys a second one
	// (POST form): access comes back.
	nina := func(dealID, status string) map[string]string {
		return map[string]string{"{object.id}": dealID, "{object.number}": "6" + dealID, "{object.status}": status,
			"{object.user.email}": "nina+course@example.ru", "{object.user.first_name}": "Нина", "{object.user.id}": "22",
			"{object.cost_money_value}": "5000", "{object.payed_money}": "5 000 руб.", "{object.offers}": "77,78",
			"{object.positions}": "Курс сметчика"}
	}
	d.process("GET", nina("2001", "Завершен"))
	if a := d.process("GET", nina("2001", "Завершен")); !a.Duplicate {
		t.Fatal("a process run twice on one order state must be a duplicate")
	}
	d.settle()
	if nu := d.user("nina+course@example.ru"); nu == nil || !nu.Paid || nu.FirstName != "Нина" {
		t.Fatalf("Nina after the process call: %+v", nu)
	}
	d.process("GET", nina("2001", "Отменен"))
	d.settle()
	if nu := d.user("nina+course@example.ru"); nu.Paid {
		t.Fatal("a cancelled order must take Nina's access away")
	}
	d.process("POST", nina("2002", "Оплачен"))
	for _, e := range d.settle() {
		t.Errorf("event #%d %s failed: %s", e.ID, e.Event, e.LastError)
	}

	paid := map[string]bool{"anna@example.ru": true, "zhenya@example.com": true, "ivan@example.ru": true,
		"lev@example.ru": true, "mila@example.ru": true, "nina+course@example.ru": true,
		"gleb@example.ru": false, "kira@example.ru": false}
	for email, want := range paid {
		got := d.user(email)
		if got == nil {
			t.Errorf("%s: no account", email)
			continue
		}
		if got.Paid != want || !got.Active {
			t.Errorf("%s: paid=%v active=%v, want paid=%v", email, got.Paid, got.Active, want)
		}
		if n := d.mails(email, "welcome"); n != 1 {
			t.Errorf("%s: %d welcome mails, want 1", email, n)
		}
	}
	for _, email := range []string{"boris@example.ru", "vera@example.ru", "dina@example.ru", "egor@example.ru", "kira.new@example.ru"} {
		if got := d.user(email); got != nil {
			t.Errorf("%s: an account was created (paid=%v) though no order was paid", email, got.Paid)
		}
	}
	for _, email := range []string{"gleb@example.ru", "kira@example.ru"} {
		if n := d.mails(email, "payment_revoked"); n != 1 {
			t.Errorf("%s: %d refund mails, want 1", email, n)
		}
	}
	if n := d.mails("lev@example.ru", "payment_revoked"); n != 0 {
		t.Errorf("Lev kept access but got %d refund mails", n)
	}
	// Every deal records its owner, money and offers as GetCourse sent them.
	ctx := context.Background()
	if dl, err := d.s.Store.DealByKey(ctx, "id:1007"); err != nil || !dl.Paid || dl.Currency != "USD" || dl.PayedValue != "150.5" {
		t.Errorf("USD deal: %+v %v", dl, err)
	}
	if dl, err := d.s.Store.DealByKey(ctx, "id:1009"); err != nil || dl.Paid || dl.UserID != d.user("kira@example.ru").ID || dl.Status != "false" {
		t.Errorf("Kira's deal changed owner or state: %+v %v", dl, err)
	}
	if dl, err := d.s.Store.DealByKey(ctx, "id:1001"); err != nil || strings.Join(dl.OfferIDs, ",") != "77" {
		t.Errorf("Anna's deal offers: %+v %v", dl, err)
	}
	if dl, err := d.s.Store.DealByKey(ctx, "id:1008"); err != nil || !dl.Paid || dl.Status != "payed" {
		t.Errorf("Ivan's late creation undid his payment: %+v %v", dl, err)
	}
	// Every applied event says what it did in Russian.
	es, _ := d.s.Store.ListWebhooks(ctx, store.WebhookFilter{Outcome: booksmeta.OutcomeAccepted, Limit: 200})
	for _, e := range es {
		if e.Result == "" || !strings.ContainsAny(e.Result, "абвгдеёжзийклмнопрстуфхцчшщыьэюя") {
			t.Errorf("event #%d %s: result %q is not a Russian summary", e.ID, e.Event, e.Result)
		}
	}
	free, _ := d.s.Store.ListWebhooks(ctx, store.WebhookFilter{Email: "boris@example.ru", Limit: 5})
	if len(free) == 0 || !strings.Contains(free[len(free)-1].Result, "бесплатный заказ") || free[len(free)-1].State != booksmeta.StateIgnored {
		t.Errorf("the free order's log entry does not explain itself: %+v", free)
	}
}

// TestDealEventsAppliedInArrivalOrder: a worker that takes a deal's later
// event first (several workers on PostgreSQL, a retry) applies the earlier
// one before it; and an old event re-run after a newer one changes nothing.
func TestDealEventsAppliedInArrivalOrder(t *testing.T) {
	s := apptest.Start(t, apptest.Options{NoJobs: true, Env: map[string]string{"GETCOURSE_WEBHOOK_SECRET": secret}})
	d := &day{t: t, s: s, url: "/api/getcourse/webhook?secret=" + secret}
	deal := gcDeal{id: 3001, number: 801, user: gcUser{"order@example.ru", "Ольга", 31}, status: "payed", cost: 100, payed: 100, currency: "RUB", created: time.Now()}
	paid := d.tech("getcourse/dealPaid", deal)
	deal.status = "cancelled"
	cancelled := d.tech("getcourse/dealStatusChanged", deal)
	// Another order of the same student, by email only.
	other := gcDeal{id: 3002, number: 802, user: gcUser{"order@example.ru", "Ольга", 31}, status: "payed", cost: 50, payed: 50, currency: "RUB", created: time.Now()}
	otherPaid := d.tech("getcourse/dealPaid", other)
	ctx := context.Background()
	pid, cid, oid := mustID(t, paid.EventID), mustID(t, cancelled.EventID), mustID(t, otherPaid.EventID)

	if err := s.Processor.Process(ctx, oid, false); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{pid, cid} {
		if e, _ := s.Store.WebhookByID(ctx, id); e.State != booksmeta.StateDone {
			t.Fatalf("earlier event #%d of the same student left %s", id, e.State)
		}
	}
	u := d.user("order@example.ru")
	if u == nil || !u.Paid {
		t.Fatalf("after pay 3001, cancel 3001, pay 3002 in order: %+v", u)
	}
	if n := d.mails("order@example.ru", "payment_revoked"); n != 1 {
		t.Fatalf("%d refund mails, want 1 (3001 was refunded while it was the only paid order)", n)
	}

	// An admin re-runs the old payment of 3001: it is older than the
	// cancellation the deal already applied, so nothing changes.
	if err := webhook.Rerun(ctx, s.Store, pid); err != nil {
		t.Fatal(err)
	}
	if err := s.Processor.Process(ctx, pid, false); err != nil {
		t.Fatal(err)
	}
	e, _ := s.Store.WebhookByID(ctx, pid)
	if !strings.Contains(e.Result, "устарело") {
		t.Fatalf("re-run of a stale event: %q", e.Result)
	}
	if dl, _ := s.Store.DealByKey(ctx, "id:3001"); dl.Paid {
		t.Fatal("a stale re-run paid a cancelled order")
	}
}

// TestUnfilledVariablesAreMissing: a process on the wrong object leaves
// {object.user.email} literal; that is a missing email with a reason the
// admin can act on, never an account for "{object.user.email}".
func TestUnfilledVariablesAreMissing(t *testing.T) {
	d := newDay(t)
	a := d.process("GET", map[string]string{"{object.id}": "4001", "{object.status}": "payed"})
	ctx := context.Background()
	apptest.WaitFor(t, 10*time.Second, "event failed", func() bool {
		e, err := d.s.Store.WebhookByID(ctx, mustID(t, a.EventID))
		return err == nil && e.State == booksmeta.StateFailed
	})
	e, _ := d.s.Store.WebhookByID(ctx, mustID(t, a.EventID))
	if !strings.Contains(e.LastError, "{object.user.email}") || !strings.Contains(e.LastError, "не подставил") {
		t.Fatalf("reason %q does not name the unfilled variable", e.LastError)
	}
	var ev struct {
		Unfilled []string `json:"unfilled"`
	}
	json.Unmarshal([]byte(e.Payload), &ev)
	if len(ev.Unfilled) == 0 || !strings.Contains(strings.Join(ev.Unfilled, " "), "email={object.user.email}") {
		t.Fatalf("payload does not record unfilled fields: %s", e.Payload)
	}
	users, _ := d.s.Store.ListUsers(ctx, store.UserFilter{})
	for _, u := range users {
		if strings.Contains(u.Email, "{") {
			t.Fatalf("account created for %q", u.Email)
		}
	}
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	var id int64
	if _, err := fmt.Sscan(s, &id); err != nil {
		t.Fatalf("event id %q", s)
	}
	return id
}

// TestSignedModeIntegrity: a signature covers the body only. A captured
// signed delivery replayed with fields or ids in the query or headers must
// not create accounts nor block a later genuine event (SPEC §4).
func TestSignedModeIntegrity(t *testing.T) {
	s := apptest.Start(t, apptest.Options{Env: map[string]string{"GETCOURSE_WEBHOOK_SECRET": secret}})
	ctx := context.Background()
	signed := func(path string, extra http.Header, body string) answer {
		t.Helper()
		h := hdr("Content-Type", "application/json", "X-GetCourse-Signature", webhook.Sign(secret, []byte(body)))
		for k, v := range extra {
			h[k] = v
		}
		status, raw := s.Do(t, "POST", path, h, body)
		if status != 200 {
			t.Fatalf("%d %s", status, raw)
		}
		return decode(t, raw)
	}
	settle := func() { (&day{t: t, s: s}).settle() }

	// A captured payment of a real student.
	captured := `{"action":"user_payment","user":{"email":"real@example.ru","first_name":"Рита"}}`
	orig := signed("/api/getcourse/webhook", nil, captured)

	t.Run("query adds no fields", func(t *testing.T) {
		for _, q := range []string{"?email=evil@example.ru", "?user%5Bemail%5D=evil@example.ru", "?user.email=evil@example.ru"} {
			a := signed("/api/getcourse/webhook"+q, nil, captured)
			if !a.Duplicate || a.EventID != orig.EventID {
				t.Fatalf("%s: the replay is not the captured event: %+v", q, a)
			}
		}
		// A signed body without an email cannot borrow one from the query.
		noEmail := `{"action":"user_payment","deal_id":"9001"}`
		signed("/api/getcourse/webhook?email=evil@example.ru&user%5Bemail%5D=evil@example.ru", nil, noEmail)
		settle()
		if _, err := s.Store.UserByEmail(ctx, "evil@example.ru"); err == nil {
			t.Fatal("query parameters of a signed request created an account")
		}
	})

	t.Run("planted ids do not block the real payment", func(t *testing.T) {
		// The attacker replays the capture with a deal id and a delivery id
		// the real sender will use later.
		a := signed("/api/getcourse/webhook?deal_id=555&status=payed&event_id=real-1",
			http.Header{"X-Getcourse-Event-Id": {"real-1"}, "Idempotency-Key": {"real-1"}, "Webhook-Id": {"real-1"}}, captured)
		if !a.Duplicate {
			t.Fatalf("the replay became a new event: %+v", a)
		}
		genuine := `{"action":"user_payment","event_id":"real-1","deal_id":"555","user":{"email":"second@example.ru"}}`
		g := signed("/api/getcourse/webhook", http.Header{"Webhook-Id": {"real-1"}}, genuine)
		if g.Duplicate {
			t.Fatal("the genuine payment was taken for a duplicate of the attacker's replay")
		}
		settle()
		if u, err := s.Store.UserByEmail(ctx, "second@example.ru"); err != nil || !u.Paid {
			t.Fatalf("the genuine payment was not applied: %+v %v", u, err)
		}
	})

	t.Run("query secret mode still merges query and body", func(t *testing.T) {
		status, raw := s.Do(t, "POST", "/api/getcourse/webhook?secret="+secret+"&email=merged@example.ru",
			hdr("Content-Type", "application/json"), `{"action":"user_payment","first_name":"Марк"}`)
		if status != 200 || decode(t, raw).Duplicate {
			t.Fatalf("%d %s", status, raw)
		}
		settle()
		if u, err := s.Store.UserByEmail(ctx, "merged@example.ru"); err != nil || !u.Paid || u.FirstName != "Марк" {
			t.Fatalf("query-secret request: %+v %v", u, err)
		}
	})
}
