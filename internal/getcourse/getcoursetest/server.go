// Package getcoursetest is a fake GetCourse account for tests and demos. It
// answers the legacy Import and Export API the way the real service does,
// quirks included: HTTP 200 with success:false for errors, booleans and ids
// as strings or numbers, "Wrong subdomain" 404s, redirects for custom domains,
// exports that are not ready for a while (909), one export at a time (905), a
// filter required (908), a request allowance (903), read-only keys, and
// Russian money and dates in export rows.
//
// It also plays GetCourse towards our webhook intake, faithful to
// GETCOURSE_REALITY.md: it accepts Tech API subscriptions (POST
// /pl/api/v1/set-uri), and its orders (CreateOrder, PayOrder, RefundOrder, …)
// send Tech API deliveries to the subscribed URIs and process «Вызвать URL»
// calls to registered processes. The builders (TechBody, TechStatusChanged,
// FillProcessURL) and the Deliverer work without a Server, from tests in any
// package; ConsoleHandler adds a Russian page to drive it by hand.
//
// It depends on the standard library only, so the getcourse package's own
// tests can use it.
package getcoursetest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// APIPath is where the API lives below the host, as on getcourse.ru.
const APIPath = "/pl/api"

// Request is one request the fake received.
type Request struct {
	Op     string // "groups", "export.users", "export.status", "import.users", …, "unknown"
	Method string
	Path   string
	Query  url.Values
	Form   url.Values     // POST body fields
	Params map[string]any // decoded base64 "params" of an import, nil otherwise
	Body   []byte         // raw JSON body of a Tech API call, nil otherwise
	Auth   string         // Authorization header of a Tech API call
	At     time.Time
}

// Response is a canned answer injected for one request of an op.
type Response struct {
	Status      int // default 200
	Body        string
	ContentType string        // default application/json
	Header      http.Header   // extra headers, e.g. Location
	Delay       time.Duration // wait before answering (or until the client gives up)
}

// Server is a fake GetCourse account.
type Server struct {
	mu sync.Mutex
	ts *httptest.Server

	account     string
	key         string
	readOnlyKey string

	planNoAPI      bool
	wrongSubdomain bool
	redirectTo     string

	rateLimit  int
	rateWindow time.Duration
	rateLog    []time.Time

	readyAfter int
	now        func() time.Time
	loc        *time.Location

	users    []User
	deals    []Deal
	payments []Payment
	groups   []Group

	exports map[int64]*export

	nextUserID, nextDealID, nextDealNumber, nextPaymentID, nextExportID, nextGroupID int64

	requests []Request
	injected map[string][]Response

	// Tech API subscriptions (techapi.go).
	developerKey  string
	subscriptions map[int]string // event id → URI

	// The fake as a sender (orders.go).
	orders     []Order
	processes  []ProcessHook
	deliverer  *Deliverer
	techQuirks TechQuirks
	deliveries []Delivery
}

// Option configures a Server.
type Option func(*Server)

// WithAccount names the account (default "school").
func WithAccount(name string) Option { return func(s *Server) { s.account = name } }

// WithKey sets the key with full rights (default "secret-key").
func WithKey(key string) Option { return func(s *Server) { s.key = key } }

// WithReadOnlyKey adds a key created "Только для чтения": exports work,
// imports are refused with «Действие запрещено».
func WithReadOnlyKey(key string) Option { return func(s *Server) { s.readOnlyKey = key } }

// WithPlanWithoutAPI answers every call with error 917, as on the trial plan.
func WithPlanWithoutAPI() Option { return func(s *Server) { s.planNoAPI = true } }

// WithWrongSubdomain answers every call 404 "Wrong subdomain", as GetCourse
// does for an account name it does not know.
func WithWrongSubdomain() Option { return func(s *Server) { s.wrongSubdomain = true } }

// WithRedirect answers every call 301 to target plus the request path and
// query, as an account with a forced custom domain does.
func WithRedirect(target string) Option { return func(s *Server) { s.redirectTo = target } }

// WithRateLimit answers 903 once n Export API requests were made within
// window (the real allowance is 100 per 2 hours). n <= 0 means no limit.
func WithRateLimit(n int, window time.Duration) Option {
	return func(s *Server) { s.rateLimit, s.rateWindow = n, window }
}

// WithExportReadyAfter makes each export answer 909 to its first k polls
// (default 1). While an export is not ready, starting another answers 905.
func WithExportReadyAfter(k int) Option { return func(s *Server) { s.readyAfter = k } }

// WithClock replaces time.Now for the rate window and new records.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithLocation sets the account's time zone for dates in exports and filters
// (default Moscow, UTC+3).
func WithLocation(loc *time.Location) Option { return func(s *Server) { s.loc = loc } }

// WithUsers seeds users.
func WithUsers(users ...User) Option {
	return func(s *Server) {
		for _, u := range users {
			s.addUserLocked(u)
		}
	}
}

// WithDeals seeds deals; a deal's user is created from UserEmail if missing.
func WithDeals(deals ...Deal) Option {
	return func(s *Server) {
		for _, d := range deals {
			s.addDealLocked(d)
		}
	}
}

// WithPayments seeds payments.
func WithPayments(payments ...Payment) Option {
	return func(s *Server) {
		for _, p := range payments {
			s.addPaymentLocked(p)
		}
	}
}

// WithGroups seeds groups by name.
func WithGroups(names ...string) Option {
	return func(s *Server) {
		for _, n := range names {
			s.groupLocked(n)
		}
	}
}

// NewUnstarted builds a fake without listening, for serving Handler() on a
// real port (the demo command).
func NewUnstarted(opts ...Option) *Server {
	s := &Server{
		account:        "school",
		key:            "secret-key",
		readyAfter:     1,
		now:            time.Now,
		loc:            time.FixedZone("MSK", 3*60*60),
		exports:        map[int64]*export{},
		injected:       map[string][]Response{},
		nextUserID:     1000,
		nextDealID:     5000,
		nextDealNumber: 100,
		nextPaymentID:  7000,
		nextExportID:   900000,
		nextGroupID:    10,
		developerKey:   "developer-key",
		subscriptions:  map[int]string{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// New starts a fake on a local port; Close it when done.
func New(opts ...Option) *Server {
	s := NewUnstarted(opts...)
	s.ts = httptest.NewServer(s.Handler())
	return s
}

// URL is the API base URL, ending in /pl/api; "" for an unstarted fake.
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL + APIPath
}

// Key is the full-rights key.
func (s *Server) Key() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.key
}

// Close stops a started fake.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.Close()
	}
}

// Handler serves the fake API below APIPath.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// SetPlanWithoutAPI switches the 917 mode at runtime.
func (s *Server) SetPlanWithoutAPI(on bool) { s.locked(func() { s.planNoAPI = on }) }

// SetWrongSubdomain switches the "Wrong subdomain" mode at runtime.
func (s *Server) SetWrongSubdomain(on bool) { s.locked(func() { s.wrongSubdomain = on }) }

// SetRedirect switches the redirect mode at runtime; "" turns it off.
func (s *Server) SetRedirect(target string) { s.locked(func() { s.redirectTo = target }) }

// SetRateLimit changes the allowance at runtime and forgets past requests.
func (s *Server) SetRateLimit(n int, window time.Duration) {
	s.locked(func() { s.rateLimit, s.rateWindow, s.rateLog = n, window, nil })
}

// FinishExports makes every pending export ready, as time would.
func (s *Server) FinishExports() {
	s.locked(func() {
		for _, e := range s.exports {
			e.pollsLeft = 0
		}
	})
}

// Inject queues canned answers for the next requests of op ("groups",
// "export.users", "export.status", "import.users", …); each is used once.
func (s *Server) Inject(op string, responses ...Response) {
	s.locked(func() { s.injected[op] = append(s.injected[op], responses...) })
}

// Requests returns a copy of what the fake received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// RequestsFor returns the received requests of one op.
func (s *Server) RequestsFor(op string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Op == op {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) locked(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

func opFor(method, path string) string {
	p := strings.TrimSuffix(strings.TrimPrefix(path, APIPath), "/")
	switch {
	case p == "/account/groups":
		return "groups"
	case p == "/account/users", p == "/account/deals", p == "/account/payments":
		return "export." + strings.TrimPrefix(p, "/account/")
	case strings.HasPrefix(p, "/account/exports/"):
		return "export.status"
	case p == "/users" && method == http.MethodPost:
		return "import.users"
	case p == "/deals" && method == http.MethodPost:
		return "import.deals"
	case p == "/v1/set-uri":
		return "techapi.set_uri"
	}
	return "unknown"
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	op := opFor(r.Method, r.URL.Path)
	if !strings.HasPrefix(r.URL.Path, APIPath+"/") {
		op = "unknown"
	}
	_ = r.ParseForm()
	rec := Request{Op: op, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()}
	if r.Method == http.MethodPost {
		rec.Form = r.PostForm
		rec.Params = decodeParamsLoose(r.PostForm.Get("params"))
	}
	if op == "techapi.set_uri" {
		rec.Body = readTechBody(r)
		rec.Auth = r.Header.Get("Authorization")
	}

	s.mu.Lock()
	rec.At = s.now()
	s.requests = append(s.requests, rec)
	var canned *Response
	if q := s.injected[op]; len(q) > 0 {
		canned, s.injected[op] = &q[0], q[1:]
	}
	s.mu.Unlock()

	if canned != nil {
		writeCanned(w, r, *canned)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.redirectTo != "":
		http.Redirect(w, r, strings.TrimRight(s.redirectTo, "/")+r.URL.RequestURI(), http.StatusMovedPermanently)
		return
	case s.wrongSubdomain:
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("Wrong subdomain"))
		return
	case op == "unknown":
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("<!DOCTYPE html><html><body><h1>Страница не найдена</h1></body></html>"))
		return
	case op == "techapi.set_uri":
		s.serveSetURILocked(w, r, rec.Body)
		return
	}

	isImport := strings.HasPrefix(op, "import.")
	key := r.Form.Get("key")
	switch {
	case key == "":
		if isImport {
			writeJSON(w, map[string]any{"success": false, "error": true, "error_message": "Не передан секретный ключ"})
		} else {
			writeJSON(w, exportError(904, "Не передан ключ: отсутствует параметр key"))
		}
		return
	case key != s.key && (s.readOnlyKey == "" || key != s.readOnlyKey):
		if isImport {
			// Import endpoints put the reason into "error" as text, with no code.
			writeJSON(w, map[string]any{"success": "false", "error": "Неверный ключ"})
		} else {
			writeJSON(w, exportError(901, "Неверный ключ"))
		}
		return
	case s.planNoAPI:
		writeJSON(w, exportError(917, "Функционал недоступен на вашем тарифе"))
		return
	}

	if isImport {
		if key == s.readOnlyKey {
			writeJSON(w, map[string]any{"success": false, "action": r.Form.Get("action"), "error": true, "error_message": "Действие запрещено"})
			return
		}
		s.serveImport(w, r, op)
		return
	}

	if !s.allowExportRequestLocked() {
		writeJSON(w, exportError(903, "Слишком много запросов. Лимит: 100 запросов за 2 часа"))
		return
	}
	switch op {
	case "groups":
		s.serveGroups(w)
	case "export.status":
		s.serveExportStatus(w, strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, APIPath), "/"), "/account/exports/"))
	default:
		s.serveExportStart(w, strings.TrimPrefix(op, "export."), r.Form)
	}
}

func (s *Server) allowExportRequestLocked() bool {
	if s.rateLimit <= 0 {
		return true
	}
	now := s.now()
	kept := s.rateLog[:0]
	for _, t := range s.rateLog {
		if t.Add(s.rateWindow).After(now) {
			kept = append(kept, t)
		}
	}
	s.rateLog = kept
	if len(s.rateLog) >= s.rateLimit {
		return false
	}
	s.rateLog = append(s.rateLog, now)
	return true
}

func writeCanned(w http.ResponseWriter, r *http.Request, c Response) {
	if c.Delay > 0 {
		t := time.NewTimer(c.Delay)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
	for k, vs := range c.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	ct := c.ContentType
	if ct == "" {
		ct = "application/json; charset=UTF-8"
	}
	w.Header().Set("Content-Type", ct)
	status := c.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(c.Body))
}

// exportError is the export envelope for a failure: HTTP 200, success false.
func exportError(code int, message string) map[string]any {
	return map[string]any{"success": false, "error": true, "error_code": code, "error_message": message, "info": nil}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	// Every API answer is 200, errors included.
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}
