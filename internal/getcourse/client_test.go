package getcourse

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"booksmeta/internal/getcourse/getcoursetest"
)

// memRecorder keeps calls for assertions.
type memRecorder struct {
	mu    sync.Mutex
	calls []Call
}

func (r *memRecorder) RecordCall(_ context.Context, c Call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

func (r *memRecorder) all() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// A key with characters that change under URL encoding, so that both the raw
// and the escaped spelling are checked for leaks.
const testKey = "sec+ret/KEY=42"

func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

func newFake(t *testing.T, opts ...getcoursetest.Option) *getcoursetest.Server {
	t.Helper()
	s := getcoursetest.New(append([]getcoursetest.Option{getcoursetest.WithKey(testKey)}, opts...)...)
	t.Cleanup(s.Close)
	return s
}

func newClient(s *getcoursetest.Server, rec Recorder, opts ...Option) *Client {
	base := []Option{WithRecorder(rec), WithBudget(nil), WithSleep(noSleep), WithPollBounds(time.Millisecond, time.Millisecond)}
	return New(Config{APIURL: s.URL(), Key: testKey}, append(base, opts...)...)
}

func wantKind(t *testing.T, err error, kind Kind) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %s", kind)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %T %v, want *Error", err, err)
	}
	if e.Kind != kind || !errors.Is(err, kind) {
		t.Fatalf("kind = %s (%v), want %s", e.Kind, err, kind)
	}
	if !hasCyrillic(e.Russian()) {
		t.Fatalf("Russian() = %q", e.Russian())
	}
	return e
}

func hasCyrillic(s string) bool {
	for _, r := range s {
		if r >= 'А' && r <= 'я' {
			return true
		}
	}
	return false
}

func TestConnectionVerdicts(t *testing.T) {
	closed := getcoursetest.New()
	closedURL := closed.URL()
	closed.Close()

	cases := []struct {
		name  string
		opts  []getcoursetest.Option
		cfg   func(c *Config)
		setup func(s *getcoursetest.Server)
		ok    bool
		kind  Kind
		want  string // part of the Russian message
	}{
		{name: "works", opts: []getcoursetest.Option{getcoursetest.WithGroups("Ученики", "PRO", "VIP")}, ok: true, want: "Групп в аккаунте: 3"},
		{name: "wrong key", cfg: func(c *Config) { c.Key = "nope" }, kind: KindWrongKey, want: "API ключ"},
		{name: "wrong account", opts: []getcoursetest.Option{getcoursetest.WithWrongSubdomain()}, kind: KindWrongAccount, want: "Аккаунт"},
		{name: "plan without API", opts: []getcoursetest.Option{getcoursetest.WithPlanWithoutAPI()}, kind: KindPlanNoAPI, want: "тариф"},
		{name: "read-only key", setup: func(s *getcoursetest.Server) {
			s.Inject("groups", getcoursetest.Response{Body: `{"success":false,"error":true,"error_message":"Действие запрещено"}`})
		}, kind: KindReadOnly, want: "Для чтения и записи"},
		{name: "redirect", opts: []getcoursetest.Option{getcoursetest.WithRedirect("https://school.example.ru")}, kind: KindRedirect, want: "https://school.example.ru/pl/api"},
		{name: "network", cfg: func(c *Config) { c.APIURL = closedURL }, kind: KindNetwork, want: "не отвечает"},
		{name: "timeout", setup: func(s *getcoursetest.Server) {
			s.Inject("groups", getcoursetest.Response{Delay: 5 * time.Second, Body: `{"success":true,"info":[]}`})
		}, kind: KindTimeout, want: "вовремя"},
		{name: "not configured", cfg: func(c *Config) { c.Key = "" }, kind: KindNotConfigured, want: "API-ключ"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newFake(t, tc.opts...)
			if tc.setup != nil {
				tc.setup(s)
			}
			cfg := Config{APIURL: s.URL(), Key: testKey}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			c := New(cfg, WithBudget(nil), WithHTTPClient(&http.Client{Timeout: 200 * time.Millisecond}))
			v := c.TestConnection(context.Background())
			if v.OK != tc.ok || v.Kind != tc.kind {
				t.Fatalf("verdict = %+v, want ok=%v kind=%s", v, tc.ok, tc.kind)
			}
			if !strings.Contains(v.Message, tc.want) || strings.Contains(v.Message, testKey) {
				t.Fatalf("message = %q, want it to contain %q", v.Message, tc.want)
			}
		})
	}
}

func TestRedirectIsNeverFollowed(t *testing.T) {
	s := newFake(t, getcoursetest.WithRedirect("https://school.example.ru"))
	rec := &memRecorder{}
	c := newClient(s, rec)

	_, err := c.AddUser(context.Background(), UserImport{User: ImportUser{Email: "a@b.ru"}})
	e := wantKind(t, err, KindRedirect)
	if e.Location != "https://school.example.ru/pl/api/users" || e.HTTPStatus != http.StatusMovedPermanently {
		t.Fatalf("error = %+v", e)
	}
	if n := len(s.Requests()); n != 1 {
		t.Fatalf("fake saw %d requests; a followed redirect would have become a GET", n)
	}

	_, err = c.Groups(context.Background())
	e = wantKind(t, err, KindRedirect)
	// The export query carried the key; the reported target must not.
	if strings.Contains(e.Location, "key") || strings.Contains(e.Error(), url.QueryEscape(testKey)) {
		t.Fatalf("key leaked into %q", e.Error())
	}
}

func TestTimeoutsAndCancel(t *testing.T) {
	s := newFake(t)
	c := newClient(s, nil)

	s.Inject("groups", getcoursetest.Response{Delay: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Groups(ctx)
	wantKind(t, err, KindTimeout)

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = c.Groups(ctx)
	wantKind(t, err, KindCanceled)
}

func TestAnswerQuirks(t *testing.T) {
	cases := []struct {
		name string
		resp getcoursetest.Response
		kind Kind
		code int
	}{
		{"server error page", getcoursetest.Response{Status: 502, Body: "<html>Bad Gateway</html>", ContentType: "text/html"}, KindServer, 0},
		{"html instead of json", getcoursetest.Response{Body: "<html>Школа</html>", ContentType: "text/html"}, KindBadResponse, 0},
		{"empty body", getcoursetest.Response{Body: ""}, KindBadResponse, 0},
		{"404 page", getcoursetest.Response{Status: 404, Body: "<html>Страница не найдена</html>"}, KindWrongAccount, 0},
		{"unknown code", getcoursetest.Response{Body: `{"success":false,"error_code":"999","error_message":"Что-то сломалось"}`}, KindAPI, 999},
		{"success as string false", getcoursetest.Response{Body: `{"success":"false","error_message":"Неверный ключ"}`}, KindWrongKey, 0},
		{"error as text only", getcoursetest.Response{Body: `{"error":"Слишком много запросов"}`}, KindRateLimited, 0},
		{"english key error", getcoursetest.Response{Body: `{"success":0,"error_message":"Access denied"}`}, KindWrongKey, 0},
		{"empty export file", getcoursetest.Response{Body: `{"success":false,"error":true,"error_message":"Файл не создан, попробуйте другой фильтр"}`}, KindExportEmpty, 0},
		{"import limit", getcoursetest.Response{Body: `{"success":false,"error":"1","error_message":"Достигнут лимит создания объектов"}`}, KindImportLimit, 0},
		{"POST became GET upstream", getcoursetest.Response{Body: `{"success":false,"error":true,"error_message":"Пустой параметр action"}`}, KindRedirect, 0},
		{"bad status filter", getcoursetest.Response{Body: `{"success":false,"error_code":914,"error_message":"Неверное значение поле статус"}`}, KindBadFilter, 914},
		{"missing key", getcoursetest.Response{Body: `{"success":false,"error_code":904,"error_message":"отсутствует параметр key"}`}, KindWrongKey, 904},
		{"plan", getcoursetest.Response{Body: `{"success":false,"error_code":917,"error_message":"Функционал недоступен"}`}, KindPlanNoAPI, 917},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newFake(t)
			s.Inject("groups", tc.resp)
			_, err := newClient(s, nil).Groups(context.Background())
			e := wantKind(t, err, tc.kind)
			if e.Code != tc.code {
				t.Fatalf("code = %d, want %d", e.Code, tc.code)
			}
		})
	}
}

func TestEmptyBodyExplainsPlan(t *testing.T) {
	s := newFake(t)
	s.Inject("import.users", getcoursetest.Response{ContentType: "text/html"})
	_, err := newClient(s, nil).AddUser(context.Background(), UserImport{User: ImportUser{Email: "a@b.ru"}})
	e := wantKind(t, err, KindBadResponse)
	if !errors.Is(err, ErrEmptyBody) || !strings.Contains(e.Russian(), "тариф") {
		t.Fatalf("%v / %s", err, e.Russian())
	}
}

func TestBooleansAndIDsInAnyShape(t *testing.T) {
	for _, body := range []string{
		`{"success":true,"result":{"success":true,"error":false,"user_id":7,"user_status":"added"}}`,
		`{"success":"true","result":{"success":"true","error":"false","user_id":"7","user_status":"added"}}`,
		`{"success":1,"result":{"success":1,"error":0,"user_id":7.0,"user_status":"added"}}`,
		`{"success":"1","result":{"success":"1","error":"0","user_id":"7","user_status":"added","error_message":null}}`,
	} {
		s := newFake(t)
		s.Inject("import.users", getcoursetest.Response{Body: body})
		res, err := newClient(s, nil).AddUser(context.Background(), UserImport{User: ImportUser{Email: "a@b.ru"}})
		if err != nil || res.UserID != 7 || res.UserStatus != "added" {
			t.Fatalf("%s: res=%+v err=%v", body, res, err)
		}
	}
}

func TestBool(t *testing.T) {
	for in, want := range map[string]bool{`true`: true, `"true"`: true, `1`: true, `"1"`: true, `"TRUE"`: true,
		`false`: false, `"false"`: false, `0`: false, `"0"`: false, `""`: false, `null`: false} {
		var b Bool
		if err := json.Unmarshal([]byte(in), &b); err != nil || bool(b) != want {
			t.Errorf("%s -> %v, %v", in, b, err)
		}
	}
	var b Bool
	if err := json.Unmarshal([]byte(`"maybe"`), &b); err == nil {
		t.Error("maybe should not be a boolean")
	}
}

func TestExportFlow(t *testing.T) {
	msk := time.FixedZone("MSK", 3*3600)
	paidAt := time.Date(2025, 3, 2, 23, 30, 0, 0, msk)
	s := newFake(t, getcoursetest.WithExportReadyAfter(3), getcoursetest.WithLocation(msk), getcoursetest.WithDeals(
		getcoursetest.Deal{UserEmail: "paid@example.ru", Title: "10 часов", Status: "payed", Cost: 1200000, CreatedAt: paidAt.Add(-time.Hour), PaidAt: paidAt},
		getcoursetest.Deal{UserEmail: "new@example.ru", Title: "5 часов", Status: "new", Cost: 650000, CreatedAt: paidAt},
	))
	rec := &memRecorder{}
	c := newClient(s, rec)
	ctx := context.Background()

	_, err := c.StartExport(ctx, ExportDeals, nil)
	wantKind(t, err, KindNoFilter)
	if len(s.Requests()) != 0 {
		t.Fatal("a filterless export must be refused before it costs a request")
	}
	_, err = c.StartExport(ctx, ExportDeals, url.Values{"ignored": {"x"}})
	e := wantKind(t, err, KindNoFilter)
	if e.Code != 908 {
		t.Fatalf("code %d", e.Code)
	}

	id, err := c.StartExport(ctx, ExportDeals, url.Values{"status": {"payed"}, "payed_at[from]": {"2025-03-01"}})
	if err != nil || id == 0 {
		t.Fatalf("start: %d %v", id, err)
	}
	_, err = c.StartExport(ctx, ExportUsers, url.Values{"status": {"active"}})
	e = wantKind(t, err, KindExportBusy)
	if e.Code != 905 {
		t.Fatalf("code %d", e.Code)
	}

	_, err = c.ExportResult(ctx, id)
	e = wantKind(t, err, KindNotReady)
	if e.Code != 909 {
		t.Fatalf("code %d", e.Code)
	}

	ex, err := c.WaitExport(ctx, id, time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	if polls := len(s.RequestsFor("export.status")); polls != 4 {
		t.Fatalf("status polls = %d, want 4 (1 + 2 not ready + 1 ready)", polls)
	}
	rows := ex.Rows()
	if len(rows) != 1 {
		t.Fatalf("rows = %d", len(rows))
	}
	r := rows[0]
	if r.Get("Email") != "paid@example.ru" || r.Get("email") != "paid@example.ru" || DealStatusCode(r.Get("Статус")) != "payed" {
		t.Fatalf("row: %v", ex.Items[0])
	}
	if _, ok := r.Lookup("Нет такой колонки"); ok {
		t.Fatal("missing column found")
	}
	cost, err := ParseMoney(r.Get("Стоимость, RUB"))
	if err != nil || cost != 1200000 {
		t.Fatalf("cost = %d %v", cost, err)
	}
	got, err := ParseTime(r.Get("Дата оплаты"), msk)
	if err != nil || !got.Equal(paidAt) {
		t.Fatalf("paid at = %v %v", got, err)
	}
	if r.Get("ID заказа") == "" {
		t.Fatal("numeric cells must read as text")
	}
}

func TestBadStatusFilters(t *testing.T) {
	s := newFake(t)
	c := newClient(s, nil)
	for kind, code := range map[ExportKind]int{ExportUsers: 913, ExportDeals: 914, ExportPayments: 918} {
		_, err := c.StartExport(context.Background(), kind, url.Values{"status": {"paid"}})
		if e := wantKind(t, err, KindBadFilter); e.Code != code || !strings.Contains(e.Russian(), "статус") {
			t.Fatalf("%s: %+v", kind, e)
		}
	}
}

func TestWaitExportStopsWithContext(t *testing.T) {
	s := newFake(t, getcoursetest.WithExportReadyAfter(1000))
	c := newClient(s, nil, WithSleep(sleepCtx))
	id, err := c.StartExport(context.Background(), ExportUsers, url.Values{"status": {"active"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c.WaitExport(ctx, id, 0)
	if k := KindOf(err); k != KindTimeout && k != KindNotReady {
		t.Fatalf("err = %v", err)
	}
}

func TestPollClamp(t *testing.T) {
	var waits []time.Duration
	s := newFake(t, getcoursetest.WithExportReadyAfter(0))
	c := New(Config{APIURL: s.URL(), Key: testKey}, WithBudget(nil), WithSleep(func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	}))
	id, _ := c.StartExport(context.Background(), ExportUsers, url.Values{"status": {"active"}})
	if _, err := c.WaitExport(context.Background(), id, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitExport(context.Background(), id, time.Hour); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(waits, []time.Duration{30 * time.Second, 60 * time.Second}) {
		t.Fatalf("waits = %v", waits)
	}
}

func TestServerRateLimit(t *testing.T) {
	s := newFake(t, getcoursetest.WithRateLimit(2, time.Hour))
	c := newClient(s, nil)
	for i := 0; i < 2; i++ {
		if _, err := c.Groups(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.Groups(context.Background())
	if e := wantKind(t, err, KindRateLimited); e.Code != 903 {
		t.Fatalf("code %d", e.Code)
	}
}

func TestBudgetMetersExportsOnly(t *testing.T) {
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := newFake(t, getcoursetest.WithExportReadyAfter(1))
	rec := &memRecorder{}
	c := newClient(s, rec, WithBudget(NewMemoryBudget(3, time.Hour, clock)), WithClock(clock))
	ctx := context.Background()

	id, err := c.StartExport(ctx, ExportUsers, url.Values{"status": {"active"}}) // 1
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ExportResult(ctx, id) // 2: not ready still costs a request
	wantKind(t, err, KindNotReady)
	if _, err := c.Groups(ctx); err != nil { // 3
		t.Fatal(err)
	}
	_, err = c.ExportResult(ctx, id)
	e := wantKind(t, err, KindBudgetExhausted)
	if !e.RetryAt.Equal(now.Add(time.Hour)) || !strings.Contains(e.Russian(), "11:00") {
		t.Fatalf("retry at %v, %s", e.RetryAt, e.Russian())
	}
	if got := len(s.Requests()); got != 3 {
		t.Fatalf("fake saw %d requests; a refused one must not be sent", got)
	}
	if got := len(rec.all()); got != 3 {
		t.Fatalf("recorded %d calls; a refused request never left the process", got)
	}

	// Imports are not part of the Export API allowance.
	if _, err := c.AddUser(ctx, UserImport{User: ImportUser{Email: "a@b.ru"}}); err != nil {
		t.Fatal(err)
	}

	now = now.Add(time.Hour)
	if _, err := c.ExportResult(ctx, id); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// leakyBudget fails like a database would.
type leakyBudget struct{}

func (leakyBudget) Take(context.Context, string) error { return errors.New("db down") }

func TestBudgetStoreFailure(t *testing.T) {
	s := newFake(t)
	_, err := newClient(s, nil, WithBudget(leakyBudget{})).Groups(context.Background())
	wantKind(t, err, KindInternal)
	if len(s.Requests()) != 0 {
		t.Fatal("no request without a budget answer")
	}
}

func TestImports(t *testing.T) {
	msk := time.FixedZone("MSK", 3*3600)
	s := newFake(t, getcoursetest.WithReadOnlyKey("ro-key"))
	rec := &memRecorder{}
	c := newClient(s, rec, WithLocation(msk))
	ctx := context.Background()

	in := UserImport{
		User:   ImportUser{Email: " Student@Example.ru ", FirstName: "Анна", LastName: "Иванова", Phone: "+79001234567", Groups: []string{"Ученики"}, AddFields: map[string]string{"Источник": "Book Smeta"}},
		System: ImportSystem{RefreshIfExists: true},
	}
	res, err := c.AddUser(ctx, in)
	if err != nil || res.UserID == 0 || res.UserStatus != "added" {
		t.Fatalf("add user: %+v %v", res, err)
	}
	req := s.RequestsFor("import.users")[0]
	if req.Method != http.MethodPost || req.Query.Get("key") != "" || req.Form.Get("key") != testKey || req.Form.Get("action") != "add" {
		t.Fatalf("request: %+v", req)
	}
	raw, err := base64.StdEncoding.DecodeString(req.Form.Get("params"))
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if p["user"]["email"] != "Student@Example.ru" || p["system"]["refresh_if_exists"] != 1.0 || p["user"]["group_name"].([]any)[0] != "Ученики" {
		t.Fatalf("params: %v", p)
	}
	if _, ok := p["session"]; ok {
		t.Fatal("empty session block should be left out")
	}

	res, err = c.AddUser(ctx, in)
	if err != nil || res.UserStatus != "updated" {
		t.Fatalf("refresh: %+v %v", res, err)
	}

	created := time.Date(2025, 3, 1, 7, 0, 0, 0, time.UTC)
	dres, err := c.AddDeal(ctx, DealImport{
		User:   ImportUser{Email: "student@example.ru"},
		System: ImportSystem{ReturnPaymentLink: true, ReturnDealNumber: true},
		Deal:   ImportDeal{ProductTitle: "10 часов", Cost: 1200050, Status: "payed", IsPaid: true, CreatedAt: created},
	})
	if err != nil || dres.DealID == 0 || dres.DealNumber == "" || dres.PaymentLink == "" || dres.UserID != res.UserID {
		t.Fatalf("deal: %+v %v", dres, err)
	}
	dreq := s.RequestsFor("import.deals")[0]
	deal := dreq.Params["deal"].(map[string]any)
	if deal["deal_cost"] != 12000.5 || deal["deal_created_at"] != "2025-03-01 10:00:00" || deal["deal_is_paid"] != 1.0 {
		t.Fatalf("deal params: %v", deal)
	}
	ds := s.Deals()
	if len(ds) != 1 || ds[0].Status != "payed" || ds[0].Cost != 1200050 {
		t.Fatalf("stored deals: %+v", ds)
	}

	res, err = c.AddUser(ctx, UserImport{User: ImportUser{Email: "not-an-email"}})
	e := wantKind(t, err, KindRejected)
	if res == nil || res.ErrorMessage == "" || !strings.Contains(e.Russian(), res.ErrorMessage) {
		t.Fatalf("rejected: %+v %s", res, e.Russian())
	}

	ro := New(Config{APIURL: s.URL(), Key: "ro-key"}, WithBudget(nil))
	if v := ro.TestConnection(ctx); !v.OK {
		t.Fatalf("a read-only key reads: %+v", v)
	}
	_, err = ro.AddUser(ctx, in)
	wantKind(t, err, KindReadOnly)
}

func TestImportsAreNotRetried(t *testing.T) {
	s := newFake(t)
	s.Inject("import.deals", getcoursetest.Response{Status: 502, Body: "bad gateway"})
	_, err := newClient(s, nil).AddDeal(context.Background(), DealImport{User: ImportUser{Email: "a@b.ru"}, Deal: ImportDeal{ProductTitle: "x"}})
	wantKind(t, err, KindServer)
	if n := len(s.RequestsFor("import.deals")); n != 1 {
		t.Fatalf("import sent %d times", n)
	}
}

// TestKeyNeverRecorded drives every kind of call and failure and checks that
// neither the call log nor any error text carries the key.
func TestKeyNeverRecorded(t *testing.T) {
	escaped := url.QueryEscape(testKey)
	leaks := func(s string) bool { return strings.Contains(s, testKey) || strings.Contains(s, escaped) }
	checkCall := func(t *testing.T, c Call) {
		t.Helper()
		v := reflect.ValueOf(c)
		for i := 0; i < v.NumField(); i++ {
			if f := v.Field(i); f.Kind() == reflect.String && leaks(f.String()) {
				t.Fatalf("Call.%s leaks the key: %q", v.Type().Field(i).Name, f.String())
			}
		}
	}

	closed := getcoursetest.New()
	closedURL := closed.URL()
	closed.Close()

	scenarios := []struct {
		name  string
		opts  []getcoursetest.Option
		setup func(s *getcoursetest.Server)
		url   func(s *getcoursetest.Server) string
	}{
		{name: "ok", opts: []getcoursetest.Option{getcoursetest.WithExportReadyAfter(1)}},
		{name: "redirect", opts: []getcoursetest.Option{getcoursetest.WithRedirect("https://school.example.ru")}},
		{name: "wrong subdomain", opts: []getcoursetest.Option{getcoursetest.WithWrongSubdomain()}},
		{name: "network", url: func(*getcoursetest.Server) string { return closedURL }},
		{name: "echoing server", setup: func(s *getcoursetest.Server) {
			echo := `{"success":false,"error_message":"Ключ ` + testKey + ` (` + escaped + `) неверный"}`
			for _, op := range []string{"groups", "export.users", "import.users", "import.deals"} {
				s.Inject(op, getcoursetest.Response{Body: echo})
			}
		}},
		{name: "timeout", setup: func(s *getcoursetest.Server) {
			for _, op := range []string{"groups", "export.users", "export.status", "import.users", "import.deals"} {
				s.Inject(op, getcoursetest.Response{Delay: 2 * time.Second})
			}
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			s := newFake(t, sc.opts...)
			if sc.setup != nil {
				sc.setup(s)
			}
			base := s.URL()
			if sc.url != nil {
				base = sc.url(s)
			}
			rec := &memRecorder{}
			c := New(Config{APIURL: base, Key: testKey}, WithRecorder(rec), WithBudget(nil), WithSleep(noSleep),
				WithPollBounds(0, 0), WithHTTPClient(&http.Client{Timeout: 150 * time.Millisecond}))
			ctx := context.Background()
			var errs []error
			keep := func(err error) {
				if err != nil {
					errs = append(errs, err)
				}
			}
			_, err := c.Groups(ctx)
			keep(err)
			id, err := c.StartExport(ctx, ExportUsers, url.Values{"status": {"active"}})
			keep(err)
			_, err = c.ExportResult(ctx, max(id, 1))
			keep(err)
			_, err = c.WaitExport(ctx, max(id, 1), 0)
			keep(err)
			_, err = c.AddUser(ctx, UserImport{User: ImportUser{Email: "a@b.ru"}})
			keep(err)
			_, err = c.AddDeal(ctx, DealImport{User: ImportUser{Email: "a@b.ru"}, Deal: ImportDeal{ProductTitle: "x"}})
			keep(err)
			v := c.TestConnection(ctx)

			calls := rec.all()
			if sc.url == nil && len(calls) != len(s.Requests()) {
				t.Fatalf("recorded %d calls for %d requests", len(calls), len(s.Requests()))
			}
			if len(calls) < 6 {
				t.Fatalf("only %d calls recorded", len(calls))
			}
			for _, call := range calls {
				checkCall(t, call)
				if call.URL == "" || call.Op == "" || call.Method == "" || call.Started.IsZero() {
					t.Fatalf("incomplete call %+v", call)
				}
				if !call.OK && (call.ErrorKind == "" || call.Message == "") {
					t.Fatalf("failed call without kind or message: %+v", call)
				}
			}
			for _, err := range errs {
				for e := err; e != nil; e = errors.Unwrap(e) {
					if leaks(e.Error()) || leaks(Russian(e)) {
						t.Fatalf("error leaks the key: %v", err)
					}
				}
			}
			if leaks(v.Message) {
				t.Fatalf("verdict leaks the key: %s", v.Message)
			}
		})
	}
}

func TestEveryCallRecordedOnce(t *testing.T) {
	s := newFake(t, getcoursetest.WithExportReadyAfter(2))
	rec := &memRecorder{}
	c := newClient(s, rec)
	ctx := context.Background()
	c.TestConnection(ctx)
	id, _ := c.StartExport(ctx, ExportPayments, url.Values{"status": {"accepted"}})
	if _, err := c.WaitExport(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	_, _ = c.AddUser(ctx, UserImport{User: ImportUser{Email: "a@b.ru"}})

	calls := rec.all()
	reqs := s.Requests()
	if len(calls) != len(reqs) {
		t.Fatalf("%d calls for %d requests", len(calls), len(reqs))
	}
	var ops []string
	for i, call := range calls {
		ops = append(ops, call.Op)
		if call.Op != reqs[i].Op {
			t.Fatalf("call %d op %s, request op %s", i, call.Op, reqs[i].Op)
		}
	}
	want := []string{"groups", "export.payments", "export.status", "export.status", "export.status", "import.users"}
	if !reflect.DeepEqual(ops, want) {
		t.Fatalf("ops = %v", ops)
	}
	if calls[2].OK || calls[2].ErrorKind != KindNotReady || calls[2].ErrorCode != 909 || !calls[4].OK || calls[4].HTTPStatus != 200 {
		t.Fatalf("status calls: %+v", calls[2:5])
	}
}

func TestRecorderSeesTimedOutCall(t *testing.T) {
	s := newFake(t)
	s.Inject("groups", getcoursetest.Response{Delay: 2 * time.Second})
	rec := &memRecorder{}
	c := newClient(s, rec)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _ = c.Groups(ctx)
	calls := rec.all()
	if len(calls) != 1 || calls[0].ErrorKind != KindTimeout {
		t.Fatalf("calls: %+v", calls)
	}
}

func TestGivenHTTPClientDoesNotFollowRedirects(t *testing.T) {
	s := newFake(t, getcoursetest.WithRedirect("http://127.0.0.1:1"))
	hc := &http.Client{Timeout: time.Second}
	c := New(Config{APIURL: s.URL(), Key: testKey}, WithHTTPClient(hc), WithBudget(nil))
	_, err := c.Groups(context.Background())
	wantKind(t, err, KindRedirect)
	if hc.CheckRedirect != nil {
		t.Fatal("the caller's http.Client must not be modified")
	}
}
