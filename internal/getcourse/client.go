package getcourse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds one request when the caller supplies no http.Client.
const DefaultTimeout = 30 * time.Second

// maxBody caps what is read from one answer; a large school's export fits,
// a misconfigured URL serving an endless stream does not.
const maxBody = 256 << 20

// Call is one outbound request as the admin panel shows it. It never holds the
// API key: the key is removed from URL and scrubbed from every text field.
type Call struct {
	Op         string // "groups", "export.users", "export.status", "import.users", "import.deals", …
	Method     string
	URL        string
	Started    time.Time
	Duration   time.Duration
	HTTPStatus int
	OK         bool
	ErrorKind  Kind
	ErrorCode  int
	Message    string // Russian, for the admin panel
	Detail     string // English, for people debugging
}

// Recorder receives every outbound request exactly once, after it finished.
// Requests refused by the Budget never leave the process and are not recorded.
type Recorder interface {
	RecordCall(ctx context.Context, c Call)
}

// Client calls one GetCourse account. It is safe for concurrent use.
type Client struct {
	cfg     Config
	base    string
	account string
	http    *http.Client
	rec     Recorder
	budget  Budget
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
	minPoll time.Duration
	maxPoll time.Duration
	loc     *time.Location
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient uses hc for transport and timeouts. Its CheckRedirect is
// replaced: redirects are never followed.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			cp := *hc
			c.http = &cp
		}
	}
}

// WithRecorder sends every outbound call to r.
func WithRecorder(r Recorder) Option { return func(c *Client) { c.rec = r } }

// WithBudget meters Export API requests; nil turns metering off.
func WithBudget(b Budget) Option { return func(c *Client) { c.budget = b } }

// WithClock replaces time.Now for call timestamps and durations.
func WithClock(now func() time.Time) Option {
	return func(c *Client) {
		if now != nil {
			c.now = now
		}
	}
}

// WithSleep replaces the wait between export status polls.
func WithSleep(sleep func(context.Context, time.Duration) error) Option {
	return func(c *Client) {
		if sleep != nil {
			c.sleep = sleep
		}
	}
}

// WithPollBounds changes the clamp applied to WaitExport's poll interval.
// Production keeps 30–60 s so that polling cannot eat the account's budget;
// tests pass tiny bounds.
func WithPollBounds(min, max time.Duration) Option {
	return func(c *Client) { c.minPoll, c.maxPoll = min, max }
}

// WithLocation sets the account's time zone, used to write dates into imports.
func WithLocation(loc *time.Location) Option {
	return func(c *Client) {
		if loc != nil {
			c.loc = loc
		}
	}
}

// New builds a client; the configuration is checked on each call so that a
// half-filled settings page still yields a client whose calls explain what is
// missing.
func New(cfg Config, opts ...Option) *Client {
	c := &Client{
		cfg:     cfg,
		base:    cfg.BaseURL(),
		account: cfg.AccountName(),
		http:    &http.Client{Timeout: DefaultTimeout},
		now:     time.Now,
		sleep:   sleepCtx,
		minPoll: 30 * time.Second,
		maxPoll: 60 * time.Second,
		// Moscow has had no DST since 2014, so a fixed zone is exact for it
		// and needs no tzdata on the host.
		loc: time.FixedZone("MSK", 3*60*60),
	}
	c.budget = NewMemoryBudget(DefaultBudgetLimit, DefaultBudgetWindow, func() time.Time { return c.now() })
	for _, o := range opts {
		o(c)
	}
	// Following a redirect would turn an import POST into a GET without a body
	// and would send the key (in an export's query) to another host.
	c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

type request struct {
	op      string
	method  string
	path    string     // below the base URL, e.g. "/account/groups"
	query   url.Values // without the key
	form    url.Values // without the key; POST only
	metered bool       // counts against the Export API budget

	// The Tech API differs from the legacy API: it lives at a fixed path on
	// the account's host, authenticates by header and takes JSON.
	absURL  string      // replaces base+path when set
	json    []byte      // POST body sent as application/json, with no key field
	header  http.Header // extra request headers
	secrets []string    // scrubbed from the record and errors besides the API key
	// remap rewrites a classified failure (nil: success) by the HTTP status,
	// for APIs whose errors mean something else than the legacy API's.
	remap func(status int, e *Error) *Error
}

// checkFunc inspects a successful envelope; it returns a short Russian summary
// for the call log, or a typed error when the answer is not usable.
type checkFunc func(env *envelope) (summary string, err *Error)

// do sends one request, classifies the answer and records the call. It never
// retries: imports are not idempotent and every export retry costs budget.
func (c *Client) do(ctx context.Context, rq request, check checkFunc) error {
	if err := c.cfg.Validate(); err != nil {
		var e *Error
		errors.As(err, &e)
		e.Op = rq.op
		return e
	}
	if rq.metered && c.budget != nil {
		if err := c.budget.Take(ctx, c.account); err != nil {
			var e *Error
			if errors.As(err, &e) {
				cp := *e
				cp.Op = rq.op
				return &cp
			}
			if kind := contextKind(err); kind != "" {
				return &Error{Kind: kind, Op: rq.op, Err: err}
			}
			return &Error{Kind: KindInternal, Op: rq.op, Err: err}
		}
	}

	target := c.base + rq.path
	if rq.absURL != "" {
		target = rq.absURL
	}
	u, err := url.Parse(target)
	if err != nil {
		return &Error{Kind: KindNotConfigured, Op: rq.op, Err: err}
	}
	q := url.Values{}
	for k, v := range rq.query {
		q[k] = v
	}
	var body io.Reader
	switch {
	case rq.json != nil:
		body = bytes.NewReader(rq.json)
	case rq.method == http.MethodPost:
		f := url.Values{}
		for k, v := range rq.form {
			f[k] = v
		}
		f.Set("key", c.cfg.Key)
		body = strings.NewReader(f.Encode())
	case rq.absURL == "":
		q.Set("key", c.cfg.Key)
	}
	u.RawQuery = q.Encode()
	safeURL := c.scrubFor(rq, c.redactURL(u))

	call := Call{Op: rq.op, Method: rq.method, URL: safeURL, Started: c.now()}
	gcErr, summary := c.exchange(ctx, rq, u, body, safeURL, &call, check)
	call.Duration = c.now().Sub(call.Started)
	if gcErr != nil {
		gcErr.Op = rq.op
		gcErr.APIMessage = c.scrubFor(rq, gcErr.APIMessage)
		gcErr.hint = c.scrubFor(rq, gcErr.hint)
		gcErr.Location = c.scrubFor(rq, c.redactLocation(gcErr.Location))
		if len(rq.secrets) > 0 && gcErr.Err != nil {
			gcErr.Err = sealedErr{scrubbedErr{gcErr.Err, append([]string{c.cfg.Key}, rq.secrets...)}}
		}
		call.ErrorKind = gcErr.Kind
		call.ErrorCode = gcErr.Code
		call.Message = c.scrubFor(rq, gcErr.Russian())
		call.Detail = c.scrubFor(rq, gcErr.Error())
	} else {
		call.OK = true
		call.Message = c.scrubFor(rq, summary)
	}
	if c.rec != nil {
		// Detached from cancellation: a call that timed out is exactly the one
		// the admin needs to see in the log.
		c.rec.RecordCall(context.WithoutCancel(ctx), call)
	}
	if gcErr != nil {
		return gcErr
	}
	return nil
}

func (c *Client) exchange(ctx context.Context, rq request, u *url.URL, body io.Reader, safeURL string, call *Call, check checkFunc) (*Error, string) {
	req, err := http.NewRequestWithContext(ctx, rq.method, u.String(), body)
	if err != nil {
		return &Error{Kind: KindNotConfigured, Err: c.redactErr(err, safeURL)}, ""
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "booksmeta")
	switch {
	case rq.json != nil:
		req.Header.Set("Content-Type", "application/json")
	case rq.method == http.MethodPost:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range rq.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	remap := func(status int, e *Error) *Error {
		if rq.remap != nil {
			return rq.remap(status, e)
		}
		return e
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return remap(0, c.transportError(ctx, err, safeURL)), ""
	}
	defer resp.Body.Close()
	call.HTTPStatus = resp.StatusCode
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		e := c.transportError(ctx, err, safeURL)
		e.HTTPStatus = resp.StatusCode
		return remap(resp.StatusCode, e), ""
	}
	if len(raw) > maxBody {
		return remap(resp.StatusCode, &Error{Kind: KindBadResponse, HTTPStatus: resp.StatusCode, Err: errors.New("response too large")}), ""
	}
	e, summary := classify(resp, raw, check)
	e = remap(resp.StatusCode, e)
	if e != nil {
		e.HTTPStatus = resp.StatusCode
	}
	return e, summary
}

// classify reads one HTTP answer the way GetCourse means it.
func classify(resp *http.Response, raw []byte, check checkFunc) (*Error, string) {
	status := resp.StatusCode
	if status >= 300 && status < 400 {
		loc := resp.Header.Get("Location")
		if target, err := resp.Request.URL.Parse(loc); err == nil && loc != "" {
			loc = target.String()
		}
		return &Error{Kind: KindRedirect, Location: loc}, ""
	}
	text := bytes.TrimSpace(raw)
	if status == http.StatusNotFound && bytes.Contains(bytes.ToLower(text), []byte("wrong subdomain")) {
		return &Error{Kind: KindWrongAccount, APIMessage: "Wrong subdomain"}, ""
	}
	var env envelope
	if len(text) == 0 {
		if status >= 500 {
			return &Error{Kind: KindServer}, ""
		}
		if status == http.StatusNotFound {
			return &Error{Kind: KindWrongAccount}, ""
		}
		return &Error{Kind: KindBadResponse, Err: ErrEmptyBody}, ""
	}
	if err := json.Unmarshal(text, &env); err != nil {
		switch {
		case status == http.StatusNotFound:
			return &Error{Kind: KindWrongAccount, Err: errors.New("not found page instead of API answer")}, ""
		case status >= 500:
			return &Error{Kind: KindServer}, ""
		}
		return &Error{Kind: KindBadResponse, Err: fmt.Errorf("not JSON: %s", truncate(string(text), 120))}, ""
	}
	if f := env.failure(KindAPI); f != nil {
		return f, ""
	}
	switch {
	case status == http.StatusNotFound:
		return &Error{Kind: KindWrongAccount}, ""
	case status >= 500:
		return &Error{Kind: KindServer}, ""
	case status < 200 || status > 299:
		return &Error{Kind: KindBadResponse, Err: fmt.Errorf("unexpected HTTP status %d", status)}, ""
	}
	if check == nil {
		return nil, ""
	}
	summary, e := check(&env)
	return e, summary
}

func contextKind(err error) Kind {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	case errors.Is(err, context.Canceled):
		return KindCanceled
	}
	return ""
}

func (c *Client) transportError(ctx context.Context, err error, safeURL string) *Error {
	kind := contextKind(err)
	if kind == "" {
		kind = contextKind(ctx.Err())
	}
	if kind == "" {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			kind = KindTimeout
		} else {
			kind = KindNetwork
		}
	}
	return &Error{Kind: kind, Err: c.redactErr(err, safeURL)}
}

// redactErr rebuilds a *url.Error around the key-free URL: its text would
// otherwise carry the export query string, key included, into logs.
func (c *Client) redactErr(err error, safeURL string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: safeURL, Err: scrubbedErr{ue.Err, []string{c.cfg.Key}}}
	}
	return scrubbedErr{err, []string{c.cfg.Key}}
}

// scrubbedErr keeps errors.Is/As working on the inner error while its text
// never shows the keys.
type scrubbedErr struct {
	err  error
	keys []string
}

func (s scrubbedErr) Error() string {
	text := s.err.Error()
	for _, k := range s.keys {
		text = scrubKey(text, k)
	}
	return text
}
func (s scrubbedErr) Unwrap() error { return s.err }

// Timeout keeps net.Error semantics visible through the wrapper.
func (s scrubbedErr) Timeout() bool {
	var ne net.Error
	return errors.As(s.err, &ne) && ne.Timeout()
}

// sealedErr is a scrubbedErr that cannot be unwrapped: the inner errors of a
// Tech API call may quote the bearer token (an echoed answer body), and
// walking the chain would reveal it. errors.Is still sees through it.
type sealedErr struct{ s scrubbedErr }

func (e sealedErr) Error() string        { return e.s.Error() }
func (e sealedErr) Is(target error) bool { return errors.Is(e.s.err, target) }
func (e sealedErr) Timeout() bool        { return e.s.Timeout() }

func (c *Client) redactURL(u *url.URL) string {
	cp := *u
	q := cp.Query()
	q.Del("key")
	cp.RawQuery = q.Encode()
	return c.scrub(cp.String())
}

// redactLocation drops the key a redirect target copied from our query.
func (c *Client) redactLocation(loc string) string {
	if loc == "" {
		return ""
	}
	if u, err := url.Parse(loc); err == nil && u.Query().Has("key") {
		return c.redactURL(u)
	}
	return c.scrub(loc)
}

func (c *Client) scrub(s string) string { return scrubKey(s, c.cfg.Key) }

// scrubFor also removes the secrets of one request, such as the developer key
// of a Tech API call.
func (c *Client) scrubFor(rq request, s string) string {
	for _, k := range rq.secrets {
		s = scrubKey(s, k)
	}
	return c.scrub(s)
}

// scrubKey removes the key wherever it appears, also percent-encoded, because
// GetCourse and redirect targets echo request URLs back.
func scrubKey(s, key string) string {
	key = strings.TrimSpace(key)
	if key == "" || s == "" {
		return s
	}
	s = strings.ReplaceAll(s, key, "[key]")
	if esc := url.QueryEscape(key); esc != key {
		s = strings.ReplaceAll(s, esc, "[key]")
	}
	return s
}
