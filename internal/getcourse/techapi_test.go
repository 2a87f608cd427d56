package getcourse

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/getcourse/getcoursetest"
)

const testDevKey = "dev+KEY/7"

const hookURI = "https://smeta.example.ru/api/getcourse/webhook?secret=hook-secret-1"

func TestTechAPIURL(t *testing.T) {
	for cfg, want := range map[Config]string{
		{Account: "school"}:                                    "https://school.getcourse.ru/pl/api/v1/set-uri",
		{APIURL: "https://school.getcourse.ru/pl/api"}:         "https://school.getcourse.ru/pl/api/v1/set-uri",
		{APIURL: "https://learn.example.ru"}:                   "https://learn.example.ru/pl/api/v1/set-uri",
		{APIURL: "http://127.0.0.1:8091/pl/api/"}:              "http://127.0.0.1:8091/pl/api/v1/set-uri",
		{APIURL: "https://proxy.example.ru/gc/pl/api"}:         "https://proxy.example.ru/gc/pl/api/v1/set-uri",
		{APIURL: "https://school.getcourse.ru/pl/api?x=1#top"}: "https://school.getcourse.ru/pl/api/v1/set-uri",
		{}: "",
	} {
		if got := cfg.TechAPIURL(); got != want {
			t.Errorf("%+v: %q, want %q", cfg, got, want)
		}
	}
}

func TestSetURISubscribesAndUnsubscribes(t *testing.T) {
	s := newFake(t, getcoursetest.WithDeveloperKey(testDevKey))
	rec := &memRecorder{}
	c := newClient(s, rec)
	ctx := context.Background()

	if err := c.SetURI(ctx, testDevKey, hookURI, TechEventDealPaid, true); err != nil {
		t.Fatal(err)
	}
	reqs := s.RequestsFor("techapi.set_uri")
	if len(reqs) != 1 {
		t.Fatalf("fake saw %d set-uri requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/pl/api/v1/set-uri" || r.Auth != "Bearer "+testDevKey+"_"+testKey {
		t.Fatalf("request %s %s auth %q", r.Method, r.Path, r.Auth)
	}
	if len(r.Query) != 0 || len(r.Form) != 0 {
		t.Fatalf("the key must travel in the header only: query %v form %v", r.Query, r.Form)
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
	want := map[string]any{"uri": hookURI, "event_object_id": 2.0, "event_id": 3.0, "subscribe": true}
	if !reflect.DeepEqual(body, want) {
		t.Fatalf("body = %v, want %v", body, want)
	}
	if subs := s.Subscriptions(); len(subs) != 1 || subs[0].EventID != 3 || subs[0].URI != hookURI || subs[0].EventType != "getcourse/dealPaid" {
		t.Fatalf("subscriptions = %+v", subs)
	}

	calls := rec.all()
	if len(calls) != 1 || !calls[0].OK || calls[0].Op != "techapi.set_uri" || calls[0].HTTPStatus != 200 {
		t.Fatalf("calls = %+v", calls)
	}
	if !strings.Contains(calls[0].Message, "«Заказ оплачен»") || strings.Contains(calls[0].Message, "hook-secret-1") {
		t.Fatalf("summary %q: names the event and hides our webhook secret", calls[0].Message)
	}

	if err := c.SetURI(ctx, testDevKey, hookURI, TechEventDealPaid, false); err != nil {
		t.Fatal(err)
	}
	if subs := s.Subscriptions(); len(subs) != 0 {
		t.Fatalf("after unsubscribe: %+v", subs)
	}
}

func TestSubscribeOrders(t *testing.T) {
	s := newFake(t, getcoursetest.WithDeveloperKey(testDevKey))
	c := newClient(s, nil)
	if err := c.SubscribeOrders(context.Background(), testDevKey, hookURI); err != nil {
		t.Fatal(err)
	}
	subs := s.Subscriptions()
	var got []string
	for _, sub := range subs {
		if sub.URI != hookURI {
			t.Fatalf("uri %q", sub.URI)
		}
		got = append(got, sub.EventType)
	}
	if want := []string{"getcourse/dealCreated", "getcourse/dealStatusChanged", "getcourse/dealPaid"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v", got)
	}
	// A later subscription replaces the URI: GetCourse keeps one per event.
	other := "https://other.example.ru/hook"
	if err := c.SetURI(context.Background(), testDevKey, other, TechEventDealCreated, true); err != nil {
		t.Fatal(err)
	}
	if subs := s.Subscriptions(); len(subs) != 3 || subs[0].URI != other || subs[1].URI != hookURI {
		t.Fatalf("after replace: %+v", subs)
	}
}

func TestSubscribeOrdersReportsWhichFailed(t *testing.T) {
	s := newFake(t, getcoursetest.WithDeveloperKey(testDevKey))
	s.Inject("techapi.set_uri",
		getcoursetest.Response{Body: `{"success":true}`},
		getcoursetest.Response{Status: 500, Body: "<html>502</html>", ContentType: "text/html"},
	)
	err := newClient(s, nil).SubscribeOrders(context.Background(), testDevKey, hookURI)
	var se *SubscribeError
	if !errors.As(err, &se) {
		t.Fatalf("err = %T %v", err, err)
	}
	if len(se.Failed) != 1 || KindOf(se.Failed[TechEventDealStatusChanged]) != KindServer {
		t.Fatalf("failed = %v", se.Failed)
	}
	if !errors.Is(err, KindServer) || !strings.Contains(se.Russian(), "«Статус заказа изменён»") || strings.Contains(se.Russian(), "«Заказ оплачен»") {
		t.Fatalf("Russian() = %q", se.Russian())
	}
	// The third was still tried and went through.
	if subs := s.Subscriptions(); len(subs) != 1 || subs[0].EventID != TechEventDealPaid {
		t.Fatalf("subscriptions = %+v", subs)
	}

	// A refused key stops at once: the other two would be refused alike.
	s2 := newFake(t, getcoursetest.WithDeveloperKey(testDevKey))
	err = newClient(s2, nil).SubscribeOrders(context.Background(), "wrong", hookURI)
	if !errors.As(err, &se) || len(se.Failed) != 3 || !errors.Is(err, KindWrongDeveloperKey) {
		t.Fatalf("err = %v", err)
	}
	if n := len(s2.Requests()); n != 1 {
		t.Fatalf("%d requests after a refused key", n)
	}
}

func TestSetURIFailures(t *testing.T) {
	closed := getcoursetest.New()
	closedURL := closed.URL()
	closed.Close()

	cases := []struct {
		name   string
		opts   []getcoursetest.Option
		setup  func(s *getcoursetest.Server)
		devKey string
		cfg    func(c *Config)
		uri    string
		event  int
		kind   Kind
		status int
		want   string // part of the Russian message
		sent   bool   // reached the fake
		noCall bool   // refused before any request, so not in the call log
	}{
		{name: "wrong developer key", devKey: "nope", kind: KindWrongDeveloperKey, status: 403, want: "ключ разработчика", sent: true},
		{name: "wrong school key", cfg: func(c *Config) { c.Key = "other" }, kind: KindWrongDeveloperKey, status: 403, want: "API-ключ школы", sent: true},
		{name: "401 without JSON", setup: func(s *getcoursetest.Server) {
			s.Inject("techapi.set_uri", getcoursetest.Response{Status: 401, Body: "Unauthorized", ContentType: "text/plain"})
		}, kind: KindWrongDeveloperKey, status: 401, want: "ключ разработчика", sent: true},
		{name: "unknown account", opts: []getcoursetest.Option{getcoursetest.WithWrongSubdomain()}, kind: KindWrongAccount, status: 404, want: "Аккаунт", sent: true},
		{name: "redirect", opts: []getcoursetest.Option{getcoursetest.WithRedirect("https://learn.example.ru")}, kind: KindRedirect, status: 301, want: "https://learn.example.ru/pl/api", sent: true},
		{name: "not JSON", setup: func(s *getcoursetest.Server) {
			s.Inject("techapi.set_uri", getcoursetest.Response{Body: "<html>Вход в аккаунт</html>", ContentType: "text/html"})
		}, kind: KindBadResponse, status: 200, want: "не удалось разобрать", sent: true},
		{name: "empty answer", setup: func(s *getcoursetest.Server) {
			s.Inject("techapi.set_uri", getcoursetest.Response{ContentType: "text/html"})
		}, kind: KindBadResponse, status: 200, want: "не подтвердил", sent: true},
		{name: "refused subscription", setup: func(s *getcoursetest.Server) {
			s.Inject("techapi.set_uri", getcoursetest.Response{Status: 400, Body: `{"success":false,"error":true,"error_message":"Превышено число подписок"}`})
		}, kind: KindAPI, status: 400, want: "«Превышено число подписок»", sent: true},
		{name: "timeout", setup: func(s *getcoursetest.Server) {
			s.Inject("techapi.set_uri", getcoursetest.Response{Delay: 2 * time.Second, Body: `{"success":true}`})
		}, kind: KindTimeout, want: "вовремя", sent: true},
		{name: "network", cfg: func(c *Config) { c.APIURL = closedURL }, kind: KindNetwork, want: "не отвечает"},
		{name: "no developer key", devKey: " ", kind: KindNotConfigured, want: "ключ разработчика", noCall: true},
		{name: "no school key", cfg: func(c *Config) { c.Key = "" }, kind: KindNotConfigured, want: "API-ключ", noCall: true},
		{name: "relative uri", uri: "/api/getcourse/webhook", kind: KindNotConfigured, want: "https://ваш-сервер", noCall: true},
		{name: "unknown event", event: 9, kind: KindInternal, want: "Сообщите разработчику", noCall: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newFake(t, append([]getcoursetest.Option{getcoursetest.WithDeveloperKey(testDevKey)}, tc.opts...)...)
			if tc.setup != nil {
				tc.setup(s)
			}
			cfg := Config{APIURL: s.URL(), Key: testKey}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			devKey := testDevKey
			if tc.devKey != "" {
				devKey = tc.devKey
			}
			uri := hookURI
			if tc.uri != "" {
				uri = tc.uri
			}
			event := TechEventDealPaid
			if tc.event != 0 {
				event = tc.event
			}
			rec := &memRecorder{}
			c := New(cfg, WithRecorder(rec), WithBudget(nil), WithHTTPClient(&http.Client{Timeout: 200 * time.Millisecond}))
			err := c.SetURI(context.Background(), devKey, uri, event, true)
			e := wantKind(t, err, tc.kind)
			if e.Op != "techapi.set_uri" || (tc.status != 0 && e.HTTPStatus != tc.status) {
				t.Fatalf("error = %+v", e)
			}
			if !strings.Contains(e.Russian(), tc.want) {
				t.Fatalf("Russian() = %q, want it to contain %q", e.Russian(), tc.want)
			}
			if got := len(s.RequestsFor("techapi.set_uri")); (got == 1) != tc.sent || got > 1 {
				t.Fatalf("fake saw %d set-uri requests, sent=%v", got, tc.sent)
			}
			calls := rec.all()
			if tc.noCall == (len(calls) == 1) {
				t.Fatalf("calls = %+v", calls)
			}
			if len(calls) == 1 && (calls[0].OK || calls[0].ErrorKind != tc.kind || calls[0].Op != "techapi.set_uri") {
				t.Fatalf("call = %+v", calls[0])
			}
			if len(s.Subscriptions()) != 0 {
				t.Fatalf("a failed call subscribed: %+v", s.Subscriptions())
			}
		})
	}
}

// TestSetURIKeysNeverRecorded: the developer key, the school key and the
// bearer token that joins them stay out of the call log and the errors, even
// when the server echoes them.
func TestSetURIKeysNeverRecorded(t *testing.T) {
	token := testDevKey + "_" + testKey
	secrets := []string{testDevKey, testKey, url.QueryEscape(testDevKey), url.QueryEscape(testKey), token, "hook-secret-1"}
	leaks := func(s string) string {
		for _, k := range secrets {
			if strings.Contains(s, k) {
				return k
			}
		}
		return ""
	}
	echo := `{"success":false,"error_message":"Токен Bearer ` + token + ` (` + url.QueryEscape(testDevKey) + `) неверный"}`
	for _, resp := range []getcoursetest.Response{
		{Body: `{"success":true}`},
		{Status: 403, Body: echo},
		{Status: 400, Body: echo},
		{Status: 302, Header: http.Header{"Location": {"https://learn.example.ru/pl/api/v1/set-uri?t=" + url.QueryEscape(token)}}},
		{Body: "<html>" + token + "</html>", ContentType: "text/html"},
	} {
		s := newFake(t, getcoursetest.WithDeveloperKey(testDevKey))
		s.Inject("techapi.set_uri", resp)
		rec := &memRecorder{}
		err := newClient(s, rec).SetURI(context.Background(), testDevKey, hookURI, TechEventDealStatusChanged, true)
		calls := rec.all()
		if len(calls) != 1 {
			t.Fatalf("%d calls", len(calls))
		}
		v := reflect.ValueOf(calls[0])
		for i := 0; i < v.NumField(); i++ {
			if f := v.Field(i); f.Kind() == reflect.String {
				if k := leaks(f.String()); k != "" {
					t.Fatalf("answer %d: Call.%s leaks %q: %q", resp.Status, v.Type().Field(i).Name, k, f.String())
				}
			}
		}
		for e := err; e != nil; e = errors.Unwrap(e) {
			if k := leaks(e.Error()); k != "" {
				t.Fatalf("answer %d: error leaks %q: %v", resp.Status, k, e)
			}
			if k := leaks(Russian(e)); k != "" {
				t.Fatalf("answer %d: Russian leaks %q", resp.Status, k)
			}
		}
	}
}

func TestSetURIIsNotMetered(t *testing.T) {
	s := newFake(t, getcoursetest.WithDeveloperKey(testDevKey))
	budget := NewMemoryBudget(1, time.Hour, time.Now)
	c := New(Config{APIURL: s.URL(), Key: testKey}, WithBudget(budget))
	if _, err := c.Groups(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Groups(context.Background()); KindOf(err) != KindBudgetExhausted {
		t.Fatalf("budget of one not exhausted: %v", err)
	}
	if err := c.SubscribeOrders(context.Background(), testDevKey, hookURI); err != nil {
		t.Fatalf("set-uri refused by the export budget: %v", err)
	}
}
