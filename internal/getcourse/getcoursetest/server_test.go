package getcoursetest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// noFollow is an HTTP client that shows redirects instead of following them.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, s *Server, path string, q url.Values) (int, map[string]any, string) {
	t.Helper()
	u := s.URL() + path
	if q != nil {
		u += "?" + q.Encode()
	}
	resp, err := noFollow.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp)
}

func post(t *testing.T, s *Server, path string, form url.Values) (int, map[string]any, string) {
	t.Helper()
	resp, err := noFollow.PostForm(s.URL()+path, form)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp)
}

func decode(t *testing.T, resp *http.Response) (int, map[string]any, string) {
	t.Helper()
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m, string(raw)
}

func keyQ(key string, kv ...string) url.Values {
	q := url.Values{"key": {key}}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q
}

func params(t *testing.T, v any) string {
	t.Helper()
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(js)
}

func wantCode(t *testing.T, status int, m map[string]any, code float64) {
	t.Helper()
	if status != http.StatusOK {
		t.Fatalf("status %d, want 200 (GetCourse answers errors with 200)", status)
	}
	if m["success"] != false {
		t.Fatalf("success = %v, want false", m["success"])
	}
	if m["error_code"] != code {
		t.Fatalf("error_code = %v, want %v (%v)", m["error_code"], code, m["error_message"])
	}
}

func TestGroupsAndKeys(t *testing.T) {
	s := New(WithGroups("Ученики", "Смета PRO"), WithReadOnlyKey("ro"))
	defer s.Close()

	status, m, _ := get(t, s, "/account/groups", keyQ("secret-key"))
	if status != 200 || m["success"] != true {
		t.Fatalf("groups: %d %v", status, m)
	}
	info := m["info"].([]any)
	if len(info) != 2 {
		t.Fatalf("groups = %d", len(info))
	}
	if _, isString := info[0].(map[string]any)["id"].(string); !isString {
		t.Fatal("group id should arrive as a string, as on the real API")
	}

	status, m, _ = get(t, s, "/account/groups", keyQ("ro"))
	if m["success"] != true {
		t.Fatalf("read-only key must read: %d %v", status, m)
	}

	status, m, _ = get(t, s, "/account/groups", keyQ("wrong"))
	wantCode(t, status, m, 901)

	status, m, _ = get(t, s, "/account/groups", nil)
	wantCode(t, status, m, 904)

	// Imports answer a wrong key with text under "error" and success as a string.
	_, m, _ = post(t, s, "/users", url.Values{"action": {"add"}, "key": {"wrong"}, "params": {params(t, map[string]any{})}})
	if m["success"] != "false" || m["error"] != "Неверный ключ" {
		t.Fatalf("import wrong key: %v", m)
	}
}

func TestModes(t *testing.T) {
	s := New()
	defer s.Close()

	s.SetPlanWithoutAPI(true)
	status, m, _ := get(t, s, "/account/groups", keyQ("secret-key"))
	wantCode(t, status, m, 917)
	s.SetPlanWithoutAPI(false)

	s.SetWrongSubdomain(true)
	status, _, body := get(t, s, "/account/groups", keyQ("secret-key"))
	if status != 404 || body != "Wrong subdomain" {
		t.Fatalf("wrong subdomain: %d %q", status, body)
	}
	s.SetWrongSubdomain(false)

	s.SetRedirect("https://school.example.ru/")
	resp, err := noFollow.PostForm(s.URL()+"/users", url.Values{"action": {"add"}, "key": {"secret-key"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "https://school.example.ru/pl/api/users" {
		t.Fatalf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	s.SetRedirect("")

	status, _, body = get(t, s, "/nothing/here", keyQ("secret-key"))
	if status != 404 || !strings.Contains(body, "<html>") {
		t.Fatalf("unknown path: %d %q", status, body)
	}
}

func TestRateLimit(t *testing.T) {
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := New(WithRateLimit(2, time.Hour), WithClock(clock))
	defer s.Close()

	for i := 0; i < 2; i++ {
		if _, m, _ := get(t, s, "/account/groups", keyQ("secret-key")); m["success"] != true {
			t.Fatalf("request %d refused: %v", i, m)
		}
	}
	status, m, _ := get(t, s, "/account/groups", keyQ("secret-key"))
	wantCode(t, status, m, 903)

	// Imports are not part of the export allowance.
	_, m, _ = post(t, s, "/users", url.Values{"action": {"add"}, "key": {"secret-key"}, "params": {params(t, map[string]any{"user": map[string]any{"email": "a@b.ru"}})}})
	if m["success"] != true {
		t.Fatalf("import under export limit: %v", m)
	}

	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	if _, m, _ := get(t, s, "/account/groups", keyQ("secret-key")); m["success"] != true {
		t.Fatalf("window should have slid: %v", m)
	}
}

func TestExportLifecycle(t *testing.T) {
	msk := time.FixedZone("MSK", 3*3600)
	s := New(WithExportReadyAfter(2), WithLocation(msk), WithDeals(
		Deal{UserEmail: "paid@example.ru", Title: "10 часов", Status: "payed", Cost: 1200000, CreatedAt: time.Date(2025, 3, 1, 9, 0, 0, 0, msk), PaidAt: time.Date(2025, 3, 2, 23, 30, 0, 0, msk)},
		Deal{UserEmail: "new@example.ru", Title: "5 часов", Status: "new", Cost: 650050, CreatedAt: time.Date(2025, 3, 3, 9, 0, 0, 0, msk)},
		Deal{UserEmail: "old@example.ru", Title: "5 часов", Status: "payed", Cost: 650000, CreatedAt: time.Date(2025, 1, 3, 9, 0, 0, 0, msk), PaidAt: time.Date(2025, 1, 3, 9, 0, 0, 0, msk)},
	))
	defer s.Close()
	key := "secret-key"

	status, m, _ := get(t, s, "/account/deals", keyQ(key))
	wantCode(t, status, m, 908)
	status, m, _ = get(t, s, "/account/deals", keyQ(key, "type", "whatever"))
	wantCode(t, status, m, 908)
	status, m, _ = get(t, s, "/account/deals", keyQ(key, "status", "paid"))
	wantCode(t, status, m, 914)
	status, m, _ = get(t, s, "/account/users", keyQ(key, "status", "paid"))
	wantCode(t, status, m, 913)
	status, m, _ = get(t, s, "/account/payments", keyQ(key, "status", "paid"))
	wantCode(t, status, m, 918)

	// "to" as a date takes in the whole day: the 23:30 payment is included.
	_, m, _ = get(t, s, "/account/deals", keyQ(key, "status", "payed", "payed_at[from]", "2025-03-01", "payed_at[to]", "2025-03-02"))
	if m["success"] != true {
		t.Fatalf("start: %v", m)
	}
	id := int64(m["info"].(map[string]any)["export_id"].(float64))

	status, m, _ = get(t, s, "/account/users", keyQ(key, "status", "active"))
	wantCode(t, status, m, 905)

	// Added after the start: an export is a snapshot.
	s.AddDeal(Deal{UserEmail: "late@example.ru", Status: "payed", CreatedAt: time.Date(2025, 3, 2, 9, 0, 0, 0, msk), Cost: 100})

	path := "/account/exports/" + jsonNum(id)
	for i := 0; i < 2; i++ {
		status, m, _ = get(t, s, path, keyQ(key))
		wantCode(t, status, m, 909)
	}
	_, m, _ = get(t, s, path, keyQ(key))
	if m["success"] != true {
		t.Fatalf("ready: %v", m)
	}
	info := m["info"].(map[string]any)
	fields := info["fields"].([]any)
	items := info["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("items = %d, want 1: %v", len(items), items)
	}
	row := map[string]any{}
	for i, f := range fields {
		row[f.(string)] = items[0].([]any)[i]
	}
	if row["Email"] != "paid@example.ru" || row["Статус"] != "Завершен" || row["Стоимость, RUB"] != "12\u00a0000,00 руб." || row["Дата оплаты"] != "2025-03-02 23:30:00" {
		t.Fatalf("row: %v", row)
	}

	// The lock is gone once the export is ready.
	if _, m, _ := get(t, s, "/account/users", keyQ(key, "status", "active")); m["success"] != true {
		t.Fatalf("second export: %v", m)
	}
	status, m, _ = get(t, s, "/account/exports/1", keyQ(key))
	if status != 200 || m["success"] != false {
		t.Fatalf("unknown export: %v", m)
	}
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestUserAndPaymentRows(t *testing.T) {
	s := New(WithExportReadyAfter(0), WithUsers(User{Email: "A@Example.ru", FirstName: "Анна", AddFields: map[string]string{"Уровень": "PRO"}}),
		WithPayments(Payment{UserEmail: "a@example.ru", DealNumber: "100", Amount: 123456789, Title: "Оплата"}))
	defer s.Close()
	_, m, _ := get(t, s, "/account/users", keyQ("secret-key", "email", "a@example.ru"))
	_, m, _ = get(t, s, "/account/exports/"+jsonNum(int64(m["info"].(map[string]any)["export_id"].(float64))), keyQ("secret-key"))
	info := m["info"].(map[string]any)
	fields := info["fields"].([]any)
	if fields[12] != "Уровень" {
		t.Fatalf("custom field should sit in the middle: %v", fields)
	}
	if len(info["items"].([]any)) != 1 {
		t.Fatal("email filter")
	}

	_, m, _ = get(t, s, "/account/payments", keyQ("secret-key", "status", "accepted"))
	_, m, _ = get(t, s, "/account/exports/"+jsonNum(int64(m["info"].(map[string]any)["export_id"].(float64))), keyQ("secret-key"))
	item := m["info"].(map[string]any)["items"].([]any)[0].([]any)
	if item[7] != "1\u202f234\u202f567,89 руб." || item[6] != "Получен" {
		t.Fatalf("payment row: %v", item)
	}
}

func TestImports(t *testing.T) {
	s := New(WithReadOnlyKey("ro"))
	defer s.Close()
	add := func(path, key string, p any) map[string]any {
		_, m, _ := post(t, s, path, url.Values{"action": {"add"}, "key": {key}, "params": {params(t, p)}})
		return m
	}
	user := map[string]any{"email": "New@Example.ru", "first_name": "Иван", "group_name": []any{"Ученики", []any{"PRO", "2025-01-01 10:00"}}}

	m := add("/users", "secret-key", map[string]any{"user": user, "system": map[string]any{"refresh_if_exists": 0}})
	res := m["result"].(map[string]any)
	if m["success"] != true || res["success"] != "true" || res["user_status"] != "added" {
		t.Fatalf("add: %v", m)
	}
	u, ok := s.UserByEmail("new@example.ru")
	if !ok || len(u.Groups) != 2 || u.FirstName != "Иван" {
		t.Fatalf("stored user: %+v", u)
	}
	if m := add("/users", "secret-key", map[string]any{"user": user}); m["result"].(map[string]any)["user_status"] != "exists" {
		t.Fatalf("again: %v", m)
	}
	user["first_name"] = "Иван Петрович"
	if m := add("/users", "secret-key", map[string]any{"user": user, "system": map[string]any{"refresh_if_exists": "1"}}); m["result"].(map[string]any)["user_status"] != "updated" {
		t.Fatalf("refresh: %v", m)
	}
	if u, _ := s.UserByEmail("new@example.ru"); u.FirstName != "Иван Петрович" {
		t.Fatal("refresh_if_exists should update")
	}

	m = add("/users", "secret-key", map[string]any{"user": map[string]any{"email": "nope"}})
	res = m["result"].(map[string]any)
	if m["success"] != true || res["error"] != true || !strings.Contains(res["error_message"].(string), "email") {
		t.Fatalf("bad email: %v", m)
	}

	m = add("/users", "ro", map[string]any{"user": user})
	if m["success"] != false || m["error_message"] != "Действие запрещено" {
		t.Fatalf("read-only key: %v", m)
	}

	deal := map[string]any{"user": map[string]any{"email": "buyer@example.ru"}, "system": map[string]any{"return_payment_link": 1},
		"deal": map[string]any{"product_title": "10 часов", "deal_cost": "12000.50", "deal_status": "new", "deal_number": "A-1"}}
	m = add("/deals", "secret-key", deal)
	res = m["result"].(map[string]any)
	if res["deal_number"] != "A-1" || res["deal_id"] == nil || res["payment_link"] == nil {
		t.Fatalf("deal: %v", m)
	}
	deal["deal"].(map[string]any)["deal_status"] = "payed"
	add("/deals", "secret-key", deal)
	ds := s.Deals()
	if len(ds) != 1 || ds[0].Status != "payed" || ds[0].Cost != 1200050 || ds[0].Paid != 1200050 || ds[0].PaidAt.IsZero() {
		t.Fatalf("deal update by number: %+v", ds)
	}
	m = add("/deals", "secret-key", map[string]any{"user": map[string]any{"email": "x@y.ru"}, "deal": map[string]any{"deal_status": "payed"}})
	if m["result"].(map[string]any)["error"] != true {
		t.Fatalf("deal without product: %v", m)
	}

	_, m, _ = post(t, s, "/users", url.Values{"key": {"secret-key"}})
	if m["error_message"] != "Пустой параметр action" {
		t.Fatalf("no action: %v", m)
	}
	_, m, _ = post(t, s, "/users", url.Values{"action": {"add"}, "key": {"secret-key"}, "params": {"%%%"}})
	if m["success"] != false {
		t.Fatalf("bad params: %v", m)
	}

	reqs := s.RequestsFor("import.deals")
	if len(reqs) == 0 || reqs[0].Params["deal"] == nil || reqs[0].Form.Get("action") != "add" {
		t.Fatalf("recorded import: %+v", reqs)
	}
}

func TestInjectAndHandler(t *testing.T) {
	s := NewUnstarted()
	s.Inject("groups", Response{Status: 502, Body: "<html>Bad gateway</html>", ContentType: "text/html"})
	h := s.Handler()

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", APIPath+"/account/groups?key=secret-key", nil))
	if rec.Code != 502 {
		t.Fatalf("injected: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", APIPath+"/account/groups?key=secret-key", nil))
	if rec.Code != 200 {
		t.Fatalf("injection is one-shot: %d", rec.Code)
	}
	if s.URL() != "" {
		t.Fatal("unstarted fake has no URL")
	}
}

func TestConcurrentRequests(t *testing.T) {
	s := New(WithDemoData())
	defer s.Close()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			form := url.Values{"action": {"add"}, "key": {"secret-key"}, "params": {params(t, map[string]any{"user": map[string]any{"email": "u" + jsonNum(int64(i)) + "@example.ru"}})}}
			resp, err := http.PostForm(s.URL()+"/users", form)
			if err == nil {
				resp.Body.Close()
			}
			resp, err = http.Get(s.URL() + "/account/groups?key=secret-key")
			if err == nil {
				resp.Body.Close()
			}
		}(i)
	}
	wg.Wait()
	if got := len(s.Requests()); got != 40 {
		t.Fatalf("requests = %d", got)
	}
	if got := len(s.Users()); got != 23 {
		t.Fatalf("users = %d", got)
	}
}

func TestRub(t *testing.T) {
	for in, want := range map[int64]string{0: "0,00 руб.", 5: "0,05 руб.", 100000: "1\u00a0000,00 руб.", 1200000: "12\u00a0000,00 руб.", -150: "-1,50 руб."} {
		if got := rub(in, "\u00a0", "руб."); got != want {
			t.Errorf("rub(%d) = %q, want %q", in, got, want)
		}
	}
}
