package cli_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"booksmeta/internal/getcourse"
	"booksmeta/internal/webhook"
)

// intake is a stand-in for Book Smeta's webhook intake.
type intake struct {
	*httptest.Server
	mu     sync.Mutex
	got    []*http.Request
	bodies [][]byte
	status int
}

func newIntake(t *testing.T) *intake {
	t.Helper()
	in := &intake{status: 200}
	in.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		in.mu.Lock()
		in.got = append(in.got, r)
		in.bodies = append(in.bodies, body)
		status, n := in.status, len(in.got)
		in.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if status != 200 {
			_, _ = w.Write([]byte(`{"success":false,"error":"invalid_signature","message":"Неверный секрет"}`))
			return
		}
		_, _ = w.Write([]byte(`{"success":true,"event_id":"ev-` + strconv.Itoa(n) + `","duplicate":false}`))
	}))
	t.Cleanup(in.Close)
	return in
}

func (in *intake) requests() ([]*http.Request, [][]byte) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]*http.Request(nil), in.got...), append([][]byte(nil), in.bodies...)
}

func techEvent(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var env struct {
		JSON map[string]any `json:"json"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.JSON == nil {
		t.Fatalf("not a Tech API envelope: %s", body)
	}
	return env.JSON
}

func TestDevDeliverTechAPIPair(t *testing.T) {
	in := newIntake(t)
	code, out, errOut := gcRun(t, context.Background(), nil, nil, "dev", "deliver",
		"--url", in.URL+"/api/getcourse/webhook?secret=s3cr3t", "--email", "anna@example.ru",
		"--status", "payed", "--pair", "--deal-id", "5123", "--offer-id", "3301, 3302", "--cost", "12000", "--currency", "RUB")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	reqs, bodies := in.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	var types []string
	for i, r := range reqs {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.URL.Query().Get("secret") != "s3cr3t" || r.URL.Path != "/api/getcourse/webhook" {
			t.Fatalf("request %d: %s %s %s", i, r.Method, r.URL, r.Header.Get("Content-Type"))
		}
		ev := techEvent(t, bodies[i])
		types = append(types, ev["eventType"].(string))
		deal := ev["deal"].(map[string]any)
		if deal["id"] != "5123" || deal["status"] != "payed" || deal["isPayed"] != 1.0 || deal["cost"] != 12000.0 ||
			len(deal["offerIds"].([]any)) != 2 || deal["offerIds"].([]any)[0] != 3301.0 {
			t.Fatalf("deal %v", deal)
		}
		if u := ev["user"].(map[string]any); u["email"] != "anna@example.ru" || !strings.HasPrefix(u["id"].(string), "school:") {
			t.Fatalf("user %v", u)
		}
	}
	if types[0] != "getcourse/dealPaid" || types[1] != "getcourse/dealStatusChanged" {
		t.Fatalf("pair %v", types)
	}
	if strings.Replace(string(bodies[0]), "getcourse/dealPaid", "getcourse/dealStatusChanged", 1) != string(bodies[1]) {
		t.Fatal("the pair differs beyond eventType")
	}
	// Each request and its answer are printed; the secret is not.
	for _, want := range []string{"→ POST " + in.URL + "/api/getcourse/webhook?secret=•••", "[getcourse/dealPaid, заказ 5123, payed]", "← HTTP 200", `"event_id":"ev-2"`, `"eventType": "getcourse/dealStatusChanged"`, `"offerIds": [`} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cr3t") {
		t.Error("stdout shows the secret")
	}

	// The same user id for the same email, run after run; a new deal id.
	gcRun(t, context.Background(), nil, nil, "dev", "deliver", "--url", in.URL, "--email", "ANNA@example.ru", "--status", "part_payed", "--payed", "5000.5")
	reqs, bodies = in.requests()
	ev := techEvent(t, bodies[2])
	if ev["eventType"] != "getcourse/dealStatusChanged" || ev["user"].(map[string]any)["gcId"] != techEvent(t, bodies[0])["user"].(map[string]any)["gcId"] ||
		ev["deal"].(map[string]any)["id"] == "5123" || ev["deal"].(map[string]any)["payedValue"] != 5000.5 || len(reqs) != 3 {
		t.Fatalf("part payment %v", ev)
	}
}

func TestDevDeliverProcessShapes(t *testing.T) {
	in := newIntake(t)
	// A bare intake address becomes the process address our panel gives.
	code, out, errOut := gcRun(t, context.Background(), nil, nil, "dev", "deliver", "--shape", "process-get",
		"--url", in.URL+"/api/getcourse/webhook", "--secret", "s/1", "--email", "petr@example.ru", "--first-name", "Пётр",
		"--status", "payed", "--deal-id", "777", "--offer-id", "3301", "--offer-title", "Доступ к серверу: 10 часов", "--status-label")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = gcRun(t, context.Background(), nil, nil, "dev", "deliver", "--shape", "process-post",
		"--url", in.URL+"/api/getcourse/webhook?secret=s%2F1", "--email", "petr@example.ru", "--status", "cancelled", "--deal-id", "777")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	reqs, bodies := in.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	get := reqs[0].URL.Query()
	want := map[string]string{
		"secret": "s/1", "action": webhook.ProcessEvent, "deal_id": "777", "status": "Завершен",
		"email": "petr@example.ru", "first_name": "Пётр", "offers": "3301", "positions": "Доступ к серверу: 10 часов", "cost": "12000",
		// Not given: left as GetCourse leaves what it cannot fill.
		"last_name": "{object.user.last_name}", "phone": "{object.user.phone}",
	}
	for k, v := range want {
		if get.Get(k) != v {
			t.Errorf("GET %s = %q, want %q", k, get.Get(k), v)
		}
	}
	for _, p := range webhook.ProcessParams {
		if !get.Has(p.Name) {
			t.Errorf("GET lacks %s", p.Name)
		}
	}
	post := reqs[1]
	form, _ := url.ParseQuery(string(bodies[1]))
	if post.Method != http.MethodPost || post.URL.RawQuery != "secret=s%2F1" || post.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
		form.Get("status") != "cancelled" || form.Get("deal_id") != "777" || form.Has("secret") {
		t.Fatalf("POST %s ? %s: %v", post.Method, post.URL.RawQuery, form)
	}
	if !strings.Contains(out, "process «Вызвать URL»") || !strings.Contains(out, "Content-Type: application/x-www-form-urlencoded") || !strings.Contains(out, "  status = cancelled\n") {
		t.Fatalf("stdout %s", out)
	}
}

func TestDevDeliverFailures(t *testing.T) {
	in := newIntake(t)
	in.status = http.StatusUnauthorized
	code, out, errOut := gcRun(t, context.Background(), nil, nil, "dev", "deliver", "--url", in.URL+"/?secret=wrong", "--email", "a@example.ru")
	if code != 1 || !strings.Contains(out, "← HTTP 401") || !strings.Contains(out, "Неверный секрет") {
		t.Fatalf("401: exit %d\n%s", code, out)
	}
	oneLineReason(t, errOut, "401")
	if strings.Contains(errOut+out, "wrong") {
		t.Fatal("secret printed")
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	code, _, errOut = gcRun(t, context.Background(), nil, nil, "dev", "deliver", "--url", closed.URL, "--email", "a@example.ru")
	if code != 1 {
		t.Fatalf("unreachable: exit %d", code)
	}
	oneLineReason(t, errOut, "нет ответа")

	for _, args := range [][]string{
		{"--url", in.URL},
		{"--url", in.URL, "--email", "a@example.ru", "--shape", "soap"},
		{"--url", in.URL, "--email", "a@example.ru", "--status", "paid-ish"},
		{"--url", in.URL, "--email", "a@example.ru", "--event", "refund"},
		{"--url", "/relative", "--email", "a@example.ru"},
	} {
		code, _, errOut := gcRun(t, context.Background(), nil, nil, append([]string{"dev", "deliver"}, args...)...)
		if code != 2 {
			t.Errorf("%v: exit %d (%s)", args, code, errOut)
		}
	}
	if _, reqs := in.requests(); len(reqs) != 1 {
		t.Fatalf("usage errors sent requests: %d", len(reqs))
	}
}

// TestDevFakeGetCourseSends: the demo server subscribes through set-uri with
// the developer key it prints, calls the process address it was given, and
// delivers both when an order is paid on its page.
func TestDevFakeGetCourseSends(t *testing.T) {
	in := newIntake(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := make(chan string, 1)
	done := make(chan int, 1)
	var out string
	go func() {
		var code int
		code, out, _ = gcRun(t, ctx, nil, func(a string) { addr <- a }, "dev", "fake-getcourse", "--addr", "127.0.0.1:0",
			"--developer-key", "dev-123", "--process-url", in.URL+"/api/getcourse/webhook?secret=p1", "--process-method", "post")
		done <- code
	}()
	var a string
	select {
	case a = <-addr:
	case code := <-done:
		t.Fatalf("exited %d", code)
	case <-time.After(10 * time.Second):
		t.Fatal("did not start")
	}
	base := "http://" + a

	c := getcourse.New(getcourse.Config{APIURL: base + "/pl/api", Key: "demo-secret-key"}, getcourse.WithBudget(nil))
	if err := c.SubscribeOrders(context.Background(), "dev-123", in.URL+"/tech?secret=t1"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetURI(context.Background(), "wrong", in.URL, getcourse.TechEventDealPaid, true); getcourse.KindOf(err) != getcourse.KindWrongDeveloperKey {
		t.Fatalf("wrong developer key: %v", err)
	}

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(base+"/console/orders", url.Values{"email": {"demo@example.ru"}, "cost": {"5000"}, "offer_ids": {"42"}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %v %v", resp, err)
	}
	resp.Body.Close()
	reqs, bodies := in.requests()
	if len(reqs) != 2 {
		t.Fatalf("after create: %d requests", len(reqs))
	}
	id := techEvent(t, bodies[0])["deal"].(map[string]any)["id"].(string)
	resp, err = noFollow.PostForm(base+"/console/orders/"+id+"/pay", nil)
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pay: %v %v", resp, err)
	}
	resp.Body.Close()

	reqs, bodies = in.requests()
	var seen []string
	for i, r := range reqs {
		if r.URL.Path == "/tech" {
			seen = append(seen, techEvent(t, bodies[i])["eventType"].(string))
			continue
		}
		form, _ := url.ParseQuery(string(bodies[i]))
		if r.Method != http.MethodPost || r.URL.RawQuery != "secret=p1" || form.Get("deal_id") != id || form.Get("email") != "demo@example.ru" {
			t.Fatalf("process call %s %s %v", r.Method, r.URL, form)
		}
		seen = append(seen, "process:"+form.Get("status"))
	}
	want := "getcourse/dealCreated process:new getcourse/dealPaid getcourse/dealStatusChanged process:payed"
	if strings.Join(seen, " ") != want {
		t.Fatalf("deliveries\n got %s\nwant %s", strings.Join(seen, " "), want)
	}

	page, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(html), "Журнал отправок") || !strings.Contains(string(html), "ev-5") {
		t.Fatal("the page does not show the deliveries and answers")
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
	for _, want := range []string{"Страница заказов: " + base + "/", "Bearer dev-123_demo-secret-key", "Процесс «Вызвать URL» (POST)", "deal_id={object.id}"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestDevDeliverIntoServe drives the whole path: booksmeta serve's real
// intake receives what the fake GetCourse sends, in both shapes.
func TestDevDeliverIntoServe(t *testing.T) {
	w := newWorld(t, "BOOKSMETA_ADDR", "127.0.0.1:0", "GETCOURSE_WEBHOOK_SECRET", whSecret)
	srv := w.serve()
	hook := "http://" + srv.addr + "/api/getcourse/webhook"
	deliver := func(args ...string) []webhookAnswer {
		t.Helper()
		r := w.run("", append([]string{"dev", "deliver", "--url", hook, "--secret", whSecret}, args...)...)
		if r.code != 0 {
			t.Fatalf("dev deliver %v: exit %d\n%s\n%s", args, r.code, r.stdout, r.stderr)
		}
		var out []webhookAnswer
		for _, line := range strings.Split(r.stdout, "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, `{"success"`) {
				var a webhookAnswer
				if err := json.Unmarshal([]byte(line), &a); err != nil {
					t.Fatal(err)
				}
				out = append(out, a)
			}
		}
		return out
	}
	pay := []string{"--email", "e2e@example.ru", "--status", "payed", "--pair", "--deal-id", "9001", "--offer-id", "3301"}
	got := deliver(pay...)
	if len(got) != 2 || !got[0].Success || got[0].Duplicate || !got[1].Success || !got[1].Duplicate || got[1].EventID != got[0].EventID {
		t.Fatalf("one payment, two deliveries, applied once: %+v", got)
	}
	if got := deliver("--email", "e2e@example.ru", "--status", "waiting_for_return", "--deal-id", "9001"); len(got) != 1 || !got[0].Success || got[0].Duplicate {
		t.Fatalf("refund: %+v", got)
	}
	if got := deliver("--shape", "process-get", "--email", "p@example.ru", "--status", "payed", "--deal-id", "9002", "--status-label"); len(got) != 1 || !got[0].Success || got[0].Duplicate {
		t.Fatalf("process GET: %+v", got)
	}
	if got := deliver("--shape", "process-post", "--email", "p@example.ru", "--status", "cancelled", "--deal-id", "9002"); len(got) != 1 || !got[0].Success || got[0].Duplicate {
		t.Fatalf("process POST: %+v", got)
	}
	// A wrong secret is refused, and the command says so.
	r := w.run("", "dev", "deliver", "--url", hook+"?secret=nope", "--email", "x@example.ru")
	if r.code != 1 || !strings.Contains(r.stdout, "← HTTP 401") {
		t.Fatalf("wrong secret: exit %d\n%s", r.code, r.stdout)
	}
}
