package getcoursetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// received is one request the receiving end saw.
type received struct {
	Method, Path, RawQuery, ContentType string
	Query                               url.Values
	Body                                []byte
}

// receiver is a stand-in intake: it keeps what arrives and answers like Book
// Smeta does.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(w http.ResponseWriter, r *http.Request)
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), r.URL.Query(), body})
		answer := rc.answer
		rc.mu.Unlock()
		if answer != nil {
			answer(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"success":true,"event_id":"e1","duplicate":false}`))
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// created is 2026-03-10 09:15:30 UTC, 12:15:30 in Moscow.
var created = time.Date(2026, 3, 10, 9, 15, 30, 0, time.UTC)

func sampleOrder() Order {
	return Order{
		DealID: 5123, Number: 204, Status: "payed", IsPayed: true,
		Cost: 12000, Payed: 11999.5, Currency: "RUB",
		OfferIDs: []int64{3301, 3302}, Positions: []string{"Доступ к серверу: 10 часов", "Смета PRO"},
		CreatedAt: created, PaidAt: created.Add(25 * time.Minute),
		User: OrderUser{ID: 1001, Email: "anna+gc@example.ru", FirstName: "Анна", LastName: "Иванова"},
	}
}

// decodeTech reads a body the way a careful intake would, numbers kept as
// written.
func decodeTech(t *testing.T, body []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var env map[string]any
	if err := dec.Decode(&env); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if len(env) != 1 || env["json"] == nil {
		t.Fatalf("envelope must be {\"json\":{…}} alone: %s", body)
	}
	return env["json"].(map[string]any)
}

func TestTechBodyFieldByField(t *testing.T) {
	o := sampleOrder()
	ev := decodeTech(t, TechBody(EventDealPaid, o, TechQuirks{Account: "myschool", AccountID: 777}))

	keys := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		return sortStrings(out)
	}
	if got := keys(ev); !reflect.DeepEqual(got, []string{"deal", "eventType", "gcAccountId", "gcSessionId", "gcVisitorId", "ts", "ts64", "user"}) {
		t.Fatalf("top-level fields %v", got)
	}
	user, deal := ev["user"].(map[string]any), ev["deal"].(map[string]any)
	want := []struct {
		name string
		got  any
		want any
	}{
		{"eventType", ev["eventType"], "getcourse/dealPaid"},
		{"user.email", user["email"], "anna+gc@example.ru"},
		{"user.gcId", user["gcId"], json.Number("1001")},
		{"user.id", user["id"], "myschool:1001"},
		{"user.type", user["type"], "user"},
		{"deal.id", deal["id"], "5123"},
		{"deal.number", deal["number"], json.Number("204")},
		{"deal.status", deal["status"], "payed"},
		{"deal.isPayed", deal["isPayed"], json.Number("1")},
		{"deal.cost", deal["cost"], json.Number("12000")},
		{"deal.payedValue", deal["payedValue"], json.Number("11999.5")},
		{"deal.currency", deal["currency"], "RUB"},
		{"deal.offerIds", deal["offerIds"], []any{json.Number("3301"), json.Number("3302")}},
		{"deal.createdAt", deal["createdAt"], "2026-03-10 12:15:30"},
		{"deal.clientDealNumber", deal["clientDealNumber"], json.Number("204")},
		// Moscow wall time with a Z that claims UTC: three hours off if
		// read as written.
		{"ts", ev["ts"], "2026-03-10T12:15:30Z"},
		{"ts64", ev["ts64"], json.Number("1773134130")},
		{"gcAccountId", ev["gcAccountId"], json.Number("777")},
		{"gcSessionId", ev["gcSessionId"], nil},
		{"gcVisitorId", ev["gcVisitorId"], nil},
	}
	for _, w := range want {
		if !reflect.DeepEqual(w.got, w.want) {
			t.Errorf("%s = %#v, want %#v", w.name, w.got, w.want)
		}
	}
	if created.Unix() != 1773134130 {
		t.Fatal("test clock arithmetic")
	}

	// dealCreated spells clientDealNumber as a string; isPayed may be a
	// boolean; session and visitor ids are numbers when known.
	o.ClientDealNumber, o.SessionID, o.VisitorID, o.IsPayed = 9001, 55, 66, false
	ev = decodeTech(t, TechBody(EventDealCreated, o, TechQuirks{IsPayedBool: true}))
	deal, user = ev["deal"].(map[string]any), ev["user"].(map[string]any)
	if deal["clientDealNumber"] != "9001" || deal["isPayed"] != false || ev["gcSessionId"] != json.Number("55") || ev["gcVisitorId"] != json.Number("66") {
		t.Fatalf("dealCreated quirks: %v / %v", deal, ev)
	}
	if user["id"] != "school:1001" || ev["gcAccountId"] == nil {
		t.Fatalf("defaults: %v", ev)
	}
	ev = decodeTech(t, TechBody(EventDealStatusChanged, o, TechQuirks{}))
	if ev["deal"].(map[string]any)["isPayed"] != json.Number("0") {
		t.Fatalf("isPayed 0/1 by default: %v", ev["deal"])
	}

	// The times are the creation's in every delivery, whatever happens later.
	o.PaidAt = created.Add(72 * time.Hour)
	for _, event := range []string{EventDealCreated, EventDealStatusChanged, EventDealPaid} {
		ev := decodeTech(t, TechBody(event, o, TechQuirks{}))
		if ev["ts"] != "2026-03-10T12:15:30Z" || ev["ts64"] != json.Number("1773134130") || ev["deal"].(map[string]any)["createdAt"] != "2026-03-10 12:15:30" {
			t.Fatalf("%s: times %v %v", event, ev["ts"], ev["ts64"])
		}
	}
}

func sortStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

func TestTechSequences(t *testing.T) {
	o := sampleOrder()
	events := func(ms []TechMessage) []string {
		var out []string
		for _, m := range ms {
			if decodeTech(t, m.Body)["eventType"] != m.EventType || eventTypes[m.EventID] != m.EventType {
				t.Fatalf("message %d/%s disagrees with its body", m.EventID, m.EventType)
			}
			out = append(out, m.EventType)
		}
		return out
	}

	pair := TechStatusChanged(o, TechQuirks{})
	if got := events(pair); !reflect.DeepEqual(got, []string{EventDealPaid, EventDealStatusChanged}) {
		t.Fatalf("default pair %v", got)
	}
	// Same body but for eventType, byte for byte.
	if a, b := bytes.Replace(pair[0].Body, []byte(EventDealPaid), []byte(EventDealStatusChanged), 1), pair[1].Body; !bytes.Equal(a, b) {
		t.Fatalf("pair bodies differ beyond eventType:\n%s\n%s", a, b)
	}
	if got := events(TechStatusChanged(o, TechQuirks{StatusChangedFirst: true})); !reflect.DeepEqual(got, []string{EventDealStatusChanged, EventDealPaid}) {
		t.Fatalf("flipped pair %v", got)
	}
	for _, status := range []string{"part_payed", "waiting_for_return", "cancelled", "false", "in_work"} {
		o.Status = status
		if got := events(TechStatusChanged(o, TechQuirks{})); !reflect.DeepEqual(got, []string{EventDealStatusChanged}) {
			t.Fatalf("%s: %v", status, got)
		}
	}
	o.Status = "new"
	if got := events(TechCreated(o, TechQuirks{})); !reflect.DeepEqual(got, []string{EventDealCreated}) {
		t.Fatalf("created: %v", got)
	}
	free := Order{DealID: 1, Number: 1, Status: "payed", CreatedAt: created, User: OrderUser{ID: 2, Email: "a@b.ru"}}
	ms := TechCreated(free, TechQuirks{})
	if got := events(ms); !reflect.DeepEqual(got, []string{EventDealCreated, EventDealPaid}) {
		t.Fatalf("free order: %v", got)
	}
	if d := decodeTech(t, ms[1].Body)["deal"].(map[string]any); d["isPayed"] != json.Number("0") || d["status"] != "payed" || d["offerIds"] == nil {
		t.Fatalf("free order is payed with isPayed 0: %v", d)
	}
}

// A process address as our panel builds it (webhook.ProcessURL), plus the
// variables it does not use.
const processTemplate = "%s/api/getcourse/webhook?secret=s%2F3&action=deal_updated" +
	"&deal_id={object.id}&deal_number={object.number}&status={object.status}" +
	"&email={object.user.email}&first_name={object.user.first_name}&last_name={object.user.last_name}" +
	"&phone={object.user.phone}&user_id={object.user.id}&cost={object.cost_money_value}" +
	"&payed={object.payed_money}&offers={object.offers}&positions={object.positions}" +
	"&money={object.cost_money}&link={object.payment_link}&promo={object.promocode}" +
	"&paid_at={object.payed_at format='Y-m-d H:i:s'}&day={object.payed_at format='d.m.Y'}&bonus={object.user.bonus}&x={object.email}"

func TestFillProcessURL(t *testing.T) {
	o := sampleOrder()
	o.PaymentLink = "https://school.getcourse.ru/pl/sales/pay?id=5123&h=ab"
	filled := FillProcessURL(strings.ReplaceAll(processTemplate, "%s", "https://smeta.example.ru"), o, ProcessQuirks{})
	if strings.ContainsAny(strings.SplitN(filled, "?", 2)[1], " ") {
		t.Fatalf("a space in the request line: %s", filled)
	}
	u, err := url.Parse(filled)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	want := map[string]string{
		"secret": "s/3", "action": "deal_updated",
		"deal_id": "5123", "deal_number": "204", "status": "payed",
		"email": "anna+gc@example.ru", "first_name": "Анна", "last_name": "Иванова",
		"phone":   "{object.user.phone}", // no phone: GetCourse leaves it as typed
		"user_id": "1001", "cost": "12000", "payed": "11\u00a0999,50 руб.",
		"offers": "3301,3302", "positions": "Доступ к серверу: 10 часов, Смета PRO",
		"money": "12\u00a0000 руб.", "link": o.PaymentLink,
		"promo":   "{object.promocode}",
		"paid_at": "2026-03-10 12:40:30", "day": "10.03.2026",
		"bonus": "{object.user.bonus}", "x": "{object.email}",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if len(q) != len(want) {
		t.Errorf("%d parameters, want %d: %v", len(q), len(want), q)
	}
	// The address around the variables is untouched.
	if !strings.HasPrefix(filled, "https://smeta.example.ru/api/getcourse/webhook?secret=s%2F3&action=deal_updated&deal_id=5123&") {
		t.Fatalf("prefix changed: %s", filled)
	}

	// Not paid: the payment date cannot be filled and stays literal too.
	o.PaidAt, o.Status, o.User.Phone = time.Time{}, "cancelled", "+79001234567"
	q2, _ := url.ParseQuery(strings.SplitN(FillProcessURL(strings.ReplaceAll(processTemplate, "%s", "http://x"), o, ProcessQuirks{StatusLabel: true}), "?", 2)[1])
	if q2.Get("paid_at") != "{object.payed_at format='Y-m-d H:i:s'}" || q2.Get("status") != "Отменен" || q2.Get("phone") != "+79001234567" {
		t.Fatalf("paid_at %q status %q phone %q", q2.Get("paid_at"), q2.Get("status"), q2.Get("phone"))
	}
	for code, label := range map[string]string{"payed": "Завершен", "false": "Ложный", "waiting_for_return": "Ожидаем возврата", "part_payed": "Частично оплачен"} {
		o.Status = code
		if got := FillProcessURL("http://x/?s={object.status}", o, ProcessQuirks{StatusLabel: true}); got != "http://x/?s="+url.QueryEscape(label) {
			t.Errorf("%s: %s", code, got)
		}
	}
}

func TestSplitProcessForm(t *testing.T) {
	target, form := SplitProcessForm("https://h/hook?action=deal_updated&secret=a%2Bb&email=a%40b.ru&phone={object.user.phone}#top")
	if target != "https://h/hook?secret=a%2Bb#top" || form != "action=deal_updated&email=a%40b.ru&phone={object.user.phone}" {
		t.Fatalf("%q %q", target, form)
	}
	if target, form := SplitProcessForm("https://h/hook"); target != "https://h/hook" || form != "" {
		t.Fatalf("%q %q", target, form)
	}
}

func TestSendProcessGETAndPOST(t *testing.T) {
	rc := newReceiver(t)
	d := NewDeliverer(time.Second)
	tmpl := strings.ReplaceAll(processTemplate, "%s", rc.URL)
	o := sampleOrder()

	get := d.SendProcess(context.Background(), "get", tmpl, o, ProcessQuirks{})
	post := d.SendProcess(context.Background(), http.MethodPost, tmpl, o, ProcessQuirks{})
	got := rc.all()
	if len(got) != 2 || !get.OK() || !post.OK() {
		t.Fatalf("got %d, deliveries %+v %+v", len(got), get, post)
	}
	g, p := got[0], got[1]
	if g.Method != http.MethodGet || len(g.Body) != 0 || g.Query.Get("email") != "anna+gc@example.ru" || g.Query.Get("phone") != "{object.user.phone}" || g.Query.Get("secret") != "s/3" {
		t.Fatalf("GET: %+v", g)
	}
	if get.Shape != ShapeProcessGET || get.Event != "process" || get.DealID != 5123 || !strings.Contains(string(get.Answer), `"success":true`) || get.HTTPStatus != 200 {
		t.Fatalf("GET delivery %+v", get)
	}
	if p.Method != http.MethodPost || p.ContentType != "application/x-www-form-urlencoded" || p.RawQuery != "secret=s%2F3" {
		t.Fatalf("POST: %s ? %s (%s)", p.Method, p.RawQuery, p.ContentType)
	}
	form, err := url.ParseQuery(string(p.Body))
	if err != nil {
		t.Fatal(err)
	}
	if form.Has("secret") || form.Get("email") != "anna+gc@example.ru" || form.Get("positions") != "Доступ к серверу: 10 часов, Смета PRO" || form.Get("promo") != "{object.promocode}" {
		t.Fatalf("POST form %v", form)
	}
	// The same parameters either way, the secret aside.
	gq := g.Query
	gq.Del("secret")
	if !reflect.DeepEqual(map[string][]string(gq), map[string][]string(form)) {
		t.Fatalf("GET %v\nPOST %v", gq, form)
	}
	if post.Shape != ShapeProcessPOST || string(post.Body) != string(p.Body) {
		t.Fatalf("POST delivery %+v", post)
	}
}

func TestDelivererOneAttemptShortTimeoutNoRedirect(t *testing.T) {
	rc := newReceiver(t)
	release := make(chan struct{})
	rc.answer = func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/elsewhere", http.StatusMovedPermanently)
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	defer close(release)
	d := NewDeliverer(100 * time.Millisecond)
	m := TechStatusChanged(sampleOrder(), TechQuirks{})[0]
	start := time.Now()
	out := d.SendTech(context.Background(), rc.URL+"/slow?secret=1", 5123, "payed", m)
	if out.HTTPStatus != 0 || out.Error == "" || time.Since(start) > 2*time.Second || out.OK() || strings.Contains(out.Error, "secret") {
		t.Fatalf("slow answer: %+v", out)
	}
	out = d.SendTech(context.Background(), rc.URL+"/moved", 5123, "payed", m)
	if out.HTTPStatus != http.StatusMovedPermanently || out.Error != "" {
		t.Fatalf("redirect: %+v", out)
	}
	got := rc.all()
	if len(got) != 2 || got[0].Path != "/slow" || got[1].Path != "/moved" {
		t.Fatalf("one attempt each, no redirect followed: %+v", got)
	}
	if got[0].ContentType != "application/json" || got[0].Method != http.MethodPost || got[0].Query.Get("secret") != "1" || !bytes.Equal(got[0].Body, m.Body) {
		t.Fatalf("tech request %+v", got[0])
	}
}
