package getcoursetest

import (
	"net/http"
	"strings"
	"testing"
)

func setURI(t *testing.T, s *Server, auth, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/v1/set-uri", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	status, m, _ := decode(t, resp)
	return status, m
}

func TestSetURIAuthAndValidation(t *testing.T) {
	s := New(WithKey("school-key"), WithDeveloperKey("dev-key"))
	defer s.Close()
	good := "Bearer dev-key_school-key"
	ok := `{"uri":"https://smeta.example.ru/hook?secret=1","event_object_id":2,"event_id":3,"subscribe":true}`
	cases := []struct {
		name, auth, body string
		status           int
		msg              string
	}{
		{"no auth", "", ok, 401, "токен"},
		{"not bearer", "Basic dev-key_school-key", ok, 401, "токен"},
		{"wrong developer key", "Bearer other_school-key", ok, 403, "Неверный токен"},
		{"school key alone", "Bearer school-key", ok, 403, "Неверный токен"},
		{"wrong school key", "Bearer dev-key_other", ok, 403, "Неверный токен"},
		{"not json", good, "uri=x", 400, "JSON"},
		{"no uri", good, `{"event_object_id":2,"event_id":3,"subscribe":true}`, 400, "uri"},
		{"empty uri", good, `{"uri":" ","event_object_id":2,"event_id":3}`, 400, "uri"},
		{"relative uri", good, `{"uri":"/hook","event_object_id":2,"event_id":3}`, 400, "uri"},
		{"users object", good, `{"uri":"https://a.ru/","event_object_id":1,"event_id":3}`, 400, "event_object_id"},
		{"no event", good, `{"uri":"https://a.ru/","event_object_id":2}`, 400, "event_id"},
		{"unknown event", good, `{"uri":"https://a.ru/","event_object_id":2,"event_id":4}`, 400, "event_id=4"},
		{"bad subscribe", good, `{"uri":"https://a.ru/","event_object_id":2,"event_id":1,"subscribe":"maybe"}`, 400, "subscribe"},
	}
	for _, tc := range cases {
		status, m := setURI(t, s, tc.auth, tc.body)
		msg, _ := m["error_message"].(string)
		if status != tc.status || m["success"] != false || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: %d %v", tc.name, status, m)
		}
	}
	if subs := s.Subscriptions(); len(subs) != 0 {
		t.Fatalf("refused calls subscribed: %+v", subs)
	}

	if status, m := setURI(t, s, good, ok); status != 200 || m["success"] != true {
		t.Fatalf("%d %v", status, m)
	}
	// Ids as strings and subscribe omitted, as loosely typed clients send them.
	if status, _ := setURI(t, s, good, `{"uri":"https://a.ru/x","event_object_id":"2","event_id":"2"}`); status != 200 {
		t.Fatal(status)
	}
	if status, _ := setURI(t, s, good, `{"uri":"https://b.ru/y","event_object_id":2,"event_id":3,"subscribe":1}`); status != 200 {
		t.Fatal(status)
	}
	subs := s.Subscriptions()
	if len(subs) != 2 || subs[0] != (Subscription{2, EventDealStatusChanged, "https://a.ru/x"}) || subs[1] != (Subscription{3, EventDealPaid, "https://b.ru/y"}) {
		t.Fatalf("one URI per event, the later replacing: %+v", subs)
	}
	// Unsubscribing another URI leaves the event's subscription alone.
	setURI(t, s, good, `{"uri":"https://other.ru/","event_object_id":2,"event_id":2,"subscribe":false}`)
	setURI(t, s, good, `{"uri":"https://b.ru/y","event_object_id":2,"event_id":3,"subscribe":false}`)
	if subs := s.Subscriptions(); len(subs) != 1 || subs[0].EventID != 2 {
		t.Fatalf("after unsubscribe: %+v", subs)
	}
	if reqs := s.RequestsFor("techapi.set_uri"); len(reqs) != len(cases)+5 || reqs[0].Auth != "" || reqs[len(reqs)-1].Auth != good {
		t.Fatalf("%d requests recorded", len(reqs))
	}

	resp, err := http.Get(s.URL() + "/v1/set-uri")
	if err != nil {
		t.Fatal(err)
	}
	if status, _, _ := decode(t, resp); status != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", status)
	}
}
