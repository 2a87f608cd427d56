package getcoursetest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

type step struct {
	shape, event, status string
}

func steps(t *testing.T, got []received) []step {
	t.Helper()
	var out []step
	for _, r := range got {
		switch {
		case r.Method == http.MethodPost && r.ContentType == "application/json":
			ev := decodeTech(t, r.Body)
			out = append(out, step{ShapeTechAPI, ev["eventType"].(string), ev["deal"].(map[string]any)["status"].(string)})
		case r.Method == http.MethodGet:
			out = append(out, step{ShapeProcessGET, "process", r.Query.Get("status")})
		default:
			out = append(out, step{"?", r.Method, r.ContentType})
		}
	}
	return out
}

func TestOrdersDeliverToSubscriptionsAndProcesses(t *testing.T) {
	tech := newReceiver(t)
	proc := newReceiver(t)
	clock := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	s := New(WithKey("k"), WithDeveloperKey("d"), WithClock(func() time.Time { return clock }),
		WithProcess(ProcessHook{URL: proc.URL + "/hook?secret=x&status={object.status}&email={object.user.email}&deal_id={object.id}&offers={object.offers}"}))
	defer s.Close()

	// Subscribe through set-uri, as Book Smeta's client does.
	for _, ev := range []int{TechEventDealCreated, TechEventDealStatusChanged, TechEventDealPaid} {
		if status, m := setURI(t, s, "Bearer d_k", `{"uri":"`+tech.URL+`/api/getcourse/webhook?secret=x","event_object_id":2,"event_id":`+string(rune('0'+ev))+`,"subscribe":true}`); status != 200 {
			t.Fatalf("set-uri %d: %v", ev, m)
		}
	}
	ctx := context.Background()

	o, ds, err := s.CreateOrder(ctx, NewOrder{Email: " Anna@Example.ru ", FirstName: "Анна", OfferIDs: []int64{3301}, Positions: []string{"10 часов"}, Cost: 12000})
	if err != nil || o.Status != "new" || o.User.Email != "anna@example.ru" || o.DealID == 0 || o.Number == 0 || len(ds) != 2 {
		t.Fatalf("create: %+v %d deliveries %v", o, len(ds), err)
	}
	clock = clock.Add(time.Hour)
	if _, ds, err = s.PayOrder(ctx, o.DealID); err != nil || len(ds) != 3 {
		t.Fatalf("pay: %d deliveries %v", len(ds), err)
	}
	if _, _, err = s.PayOrder(ctx, o.DealID); !errors.Is(err, ErrSameStatus) {
		t.Fatalf("paying twice: %v", err)
	}
	clock = clock.Add(24 * time.Hour)
	if _, ds, err = s.RefundOrder(ctx, o.DealID, "cancelled"); err != nil || len(ds) != 4 {
		t.Fatalf("refund: %d deliveries %v", len(ds), err)
	}

	wantTech := []step{
		{ShapeTechAPI, EventDealCreated, "new"},
		{ShapeTechAPI, EventDealPaid, "payed"},
		{ShapeTechAPI, EventDealStatusChanged, "payed"},
		{ShapeTechAPI, EventDealStatusChanged, "waiting_for_return"},
		{ShapeTechAPI, EventDealStatusChanged, "cancelled"},
	}
	if got := steps(t, tech.all()); !reflect.DeepEqual(got, wantTech) {
		t.Fatalf("tech deliveries\n got %v\nwant %v", got, wantTech)
	}
	wantProc := []step{{ShapeProcessGET, "process", "new"}, {ShapeProcessGET, "process", "payed"}, {ShapeProcessGET, "process", "waiting_for_return"}, {ShapeProcessGET, "process", "cancelled"}}
	if got := steps(t, proc.all()); !reflect.DeepEqual(got, wantProc) {
		t.Fatalf("process calls %v", got)
	}
	for _, r := range tech.all() {
		ev := decodeTech(t, r.Body)
		// Every delivery carries the creation time, not the event's.
		if ev["ts64"] != json.Number("1773133200") || r.Query.Get("secret") != "x" {
			t.Fatalf("ts64 %v, query %v", ev["ts64"], r.Query)
		}
	}
	if p := proc.all()[1].Query; p.Get("email") != "anna@example.ru" || p.Get("offers") != "3301" || p.Get("deal_id") == "" {
		t.Fatalf("process query %v", p)
	}

	// What the fake sent is kept with the answers, in order.
	all := s.Deliveries()
	if len(all) != 9 || all[0].Shape != ShapeTechAPI || all[1].Shape != ShapeProcessGET || !all[8].OK() || !strings.Contains(string(all[8].Answer), "event_id") {
		t.Fatalf("deliveries %+v", all)
	}

	// The exports see the same order: the legacy API and the sender agree.
	deals := s.Deals()
	d := deals[len(deals)-1]
	if d.ID != o.DealID || d.Status != "cancelled" || d.Cost != 1200000 || d.Paid != 1200000 || d.UserEmail != "anna@example.ru" {
		t.Fatalf("deal %+v", d)
	}
	pays := s.Payments()
	if len(pays) != 1 || pays[0].Status != "returned" || pays[0].Amount != 1200000 {
		t.Fatalf("payments %+v", pays)
	}
	final, _ := s.Order(o.DealID)
	if final.IsPayed || final.Status != "cancelled" || final.PaidAt.IsZero() {
		t.Fatalf("final %+v", final)
	}
}

func TestOrdersFreePartAndUnsubscribed(t *testing.T) {
	tech := newReceiver(t)
	s := New(WithTechQuirks(TechQuirks{StatusChangedFirst: true, IsPayedBool: true}))
	defer s.Close()
	// Only dealPaid is subscribed: the other events have nowhere to go.
	s.Subscribe(TechEventDealPaid, tech.URL+"/paid")
	s.Subscribe(TechEventDealStatusChanged, tech.URL+"/changed")
	ctx := context.Background()

	free, ds, err := s.CreateOrder(ctx, NewOrder{Email: "free@example.ru", Status: "payed", OfferIDs: []int64{1}})
	if err != nil || len(ds) != 1 || ds[0].Event != EventDealPaid || free.IsPayed {
		t.Fatalf("free order: %+v %+v %v", free, ds, err)
	}
	ev := decodeTech(t, ds[0].Body)
	if d := ev["deal"].(map[string]any); d["isPayed"] != false || d["status"] != "payed" {
		t.Fatalf("free order body %v", d)
	}

	o, _, _ := s.CreateOrder(ctx, NewOrder{Email: "part@example.ru", Cost: 1000, Currency: "usd"})
	_, ds, err = s.PartPayOrder(ctx, o.DealID, 400.25)
	if err != nil || len(ds) != 1 || ds[0].Event != EventDealStatusChanged || ds[0].Status != "part_payed" {
		t.Fatalf("part pay: %+v %v", ds, err)
	}
	if d := decodeTech(t, ds[0].Body)["deal"].(map[string]any); d["payedValue"] != json.Number("400.25") || d["currency"] != "USD" || d["isPayed"] != false {
		t.Fatalf("part body %v", d)
	}
	if _, _, err = s.PartPayOrder(ctx, o.DealID, 700); !errors.Is(err, ErrBadOrder) {
		t.Fatalf("overpaying: %v", err)
	}
	// The rest completes the order: a payment, the pair in the chosen order.
	_, ds, err = s.PartPayOrder(ctx, o.DealID, 599.75)
	if err != nil || len(ds) != 2 || ds[0].Event != EventDealStatusChanged || ds[1].Event != EventDealPaid || ds[0].URL != tech.URL+"/changed" {
		t.Fatalf("completing: %+v %v", ds, err)
	}
	if d := decodeTech(t, ds[1].Body)["deal"].(map[string]any); d["isPayed"] != true || d["payedValue"] != json.Number("1000") {
		t.Fatalf("completed body %v", d)
	}

	if _, _, err = s.SetOrderStatus(ctx, o.DealID, "nonsense"); !errors.Is(err, ErrUnknownStatus) {
		t.Fatal(err)
	}
	if _, _, err = s.PayOrder(ctx, 1); !errors.Is(err, ErrNoOrder) {
		t.Fatal(err)
	}
	if _, _, err = s.CreateOrder(ctx, NewOrder{Email: "nobody"}); !errors.Is(err, ErrBadOrder) {
		t.Fatal(err)
	}
	if _, ds, err = s.RefundOrder(ctx, o.DealID, "false"); err != nil || len(ds) != 2 || ds[1].Status != "false" {
		t.Fatalf("refund to false: %+v %v", ds, err)
	}
}

// The receiver may call the fake back while a delivery is under way (Book
// Smeta importing the student into GetCourse); that must not deadlock.
func TestDeliveryReceiverMayCallBack(t *testing.T) {
	s := New()
	defer s.Close()
	rc := newReceiver(t)
	rc.answer = func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(s.URL() + "/account/groups?key=" + s.Key())
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		resp.Body.Close()
		_, _ = w.Write([]byte(`{"success":true}`))
	}
	s.AddProcess(ProcessHook{URL: rc.URL + "/?id={object.id}", Method: "POST"})
	done := make(chan []Delivery, 1)
	go func() {
		_, ds, _ := s.CreateOrder(context.Background(), NewOrder{Email: "a@example.ru"})
		done <- ds
	}()
	select {
	case ds := <-done:
		if len(ds) != 1 || !ds[0].OK() || ds[0].Shape != ShapeProcessPOST {
			t.Fatalf("%+v", ds)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("delivery deadlocked on the fake's lock")
	}
	if len(s.RequestsFor("groups")) != 1 {
		t.Fatal("callback did not reach the fake")
	}
}
