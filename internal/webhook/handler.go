package webhook

import (
	"booksmeta"

	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"booksmeta/internal/enrol"
	"booksmeta/internal/metrics"
	"booksmeta/internal/store"
)

// MaxBody is the largest body accepted (SPEC §4: over 1 MiB gets 413).
const MaxBody = 1 << 20

// rejectedBodyKeep bounds what is kept of a rejected request's body: enough
// to diagnose, not enough for an anonymous sender to fill the disk.
const rejectedBodyKeep = 2 << 10

// JobKind is the background job that processes an accepted event.
const JobKind = "process_webhook"

// SecretSource gives the current webhook secret ("" = unverified mode).
type SecretSource interface {
	WebhookSecret(ctx context.Context) (string, error)
}

// Notifier wakes the job runner after a commit.
type Notifier interface{ Notify() }

// Handler is the HTTP intake.
type Handler struct {
	Store   *store.Store
	Secrets SecretSource
	Jobs    Notifier
	Metrics *metrics.Metrics
	Log     *slog.Logger
	Now     func() time.Time
	// Committer batches commits; nil commits each request on its own.
	Committer *Committer
	// Rejects logs refused requests within limits; nil logs each one.
	Rejects *RejectLog
}

// commit stores an accepted request durably, through the group committer
// when there is one.
func (h *Handler) commit(ctx context.Context, rec *booksmeta.WebhookEvent) (bool, error) {
	if h.Committer != nil {
		return h.Committer.Commit(ctx, rec)
	}
	p := &pending{rec: rec}
	err := h.Store.InTx(ctx, func(tx *store.Tx) error { return insertEvents(ctx, tx, []*pending{p}) })
	return p.dup, err
}

type answer struct {
	Success   bool   `json:"success"`
	EventID   string `json:"event_id,omitempty"`
	Duplicate *bool  `json:"duplicate,omitempty"`
	Error     string `json:"error,omitempty"`
	Message   string `json:"message,omitempty"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	outcome := h.serve(w, r)
	h.Metrics.WebhookRequests.WithLabelValues(outcome).Inc()
	h.Metrics.WebhookDuration.Observe(time.Since(start).Seconds())
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) string {
	ctx := r.Context()
	rec := &booksmeta.WebhookEvent{
		ReceivedAt: h.Now(), Method: r.Method, Path: r.URL.Path, RemoteAddr: r.RemoteAddr,
		ContentType: r.Header.Get("Content-Type"), Auth: booksmeta.AuthFailed,
	}
	secret, serr := h.Secrets.WebhookSecret(ctx)
	if serr != nil {
		h.Log.Error("webhook: read secret", "err", serr)
		writeJSON(w, http.StatusServiceUnavailable, answer{Error: "unavailable",
			Message: "Book Smeta не может прочитать настройки: событие не принято, повторите позже."})
		return "error"
	}
	red := newRedactor(secret)
	query := r.URL.Query()
	// The redacted headers and query are rendered only for rows that are
	// written: most refused requests of a flood are only counted.
	describe := func() { rec.Headers, rec.Query = red.headers(r.Header), red.query(query) }
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		rec.Outcome, rec.HTTPStatus = booksmeta.OutcomeInvalid, http.StatusMethodNotAllowed
		rec.Reason = "Адрес webhook принимает только POST (JSON или форма) и GET (параметры в адресе)."
		h.refused(ctx, rec, describe)
		writeJSON(w, rec.HTTPStatus, answer{Error: "method_not_allowed", Message: rec.Reason})
		return booksmeta.OutcomeInvalid
	}
	if secret != "" && !hasSignature(r.Header) {
		// Without a signature header the body plays no part in the verdict:
		// a request with a wrong or no ?secret= is refused having read only
		// what the log keeps, so a flood of them costs neither memory nor a
		// parse of up to 1 MiB each.
		if auth := Verify(secret, r.Header, query, nil); !auth.OK {
			prefix, _ := io.ReadAll(io.LimitReader(r.Body, rejectedBodyKeep+1))
			rec.BodySize = max(len(prefix), int(r.ContentLength))
			h.reject(ctx, w, rec, red, auth, query, prefix, describe)
			return booksmeta.OutcomeRejected
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			rec.Outcome, rec.HTTPStatus, rec.BodySize = booksmeta.OutcomeTooLarge, http.StatusRequestEntityTooLarge, int(r.ContentLength)
			rec.Reason = "Тело запроса больше 1 МБ: такие события не принимаются. Уберите из запроса лишние поля."
			h.refused(ctx, rec, describe)
			writeJSON(w, rec.HTTPStatus, answer{Error: "payload_too_large", Message: rec.Reason})
			return booksmeta.OutcomeTooLarge
		}
		// The sender went away mid-body; nothing to answer.
		h.Log.Info("webhook: body read failed", "err", err)
		return "error"
	}
	rec.BodySize = len(body)

	auth := Verify(secret, r.Header, query, body)
	rec.Auth = auth.Mode
	if !auth.OK {
		h.reject(ctx, w, rec, red, auth, query, body, describe)
		return booksmeta.OutcomeRejected
	}
	describe()
	rec.Body = red.body(string(body), rec.ContentType)
	// A signature covers the body and nothing else (SPEC §4 "Signed
	// requests"): a captured signed delivery replayed with ?email=… or a
	// planted delivery-id header must neither add fields nor move the
	// idempotency key. With ?secret= the whole request is the sender's.
	fieldQuery, keyHeaders := query, r.Header
	if auth.Mode == booksmeta.AuthSignature {
		fieldQuery, keyHeaders = nil, nil
	}
	fields, err := Parse(r.Method, rec.ContentType, fieldQuery, body)
	if err != nil {
		rec.Outcome, rec.HTTPStatus, rec.Reason = booksmeta.OutcomeInvalid, http.StatusBadRequest, err.Error()
		h.logOnly(ctx, rec)
		writeJSON(w, rec.HTTPStatus, answer{Error: "invalid_payload", Message: err.Error()})
		return booksmeta.OutcomeInvalid
	}
	ev := fields.Event()
	payload, _ := json.Marshal(ev)
	rec.Event, rec.Email, rec.Payload = ev.Name, store.NormalizeEmail(ev.Email), string(payload)
	rec.IdempotencyKey, rec.Heads = eventKey(keyHeaders, fields, ev)
	if k := ev.DealKey(); k != "" {
		rec.Subject = "d:" + k
	}
	rec.Outcome, rec.HTTPStatus, rec.State = booksmeta.OutcomeAccepted, http.StatusOK, booksmeta.StatePending

	dup, err := h.commit(ctx, rec)
	if err != nil {
		// Not committed: answer 5xx so GetCourse delivers it again.
		h.Log.Error("webhook: commit failed", "err", err, "event", ev.Name)
		writeJSON(w, http.StatusServiceUnavailable, answer{Error: "storage_unavailable",
			Message: "Событие не сохранено из-за временной ошибки базы данных. Повторите отправку позже: данные не потеряются, если отправить их снова."})
		return "error"
	}
	if dup {
		writeJSON(w, http.StatusOK, answer{Success: true, EventID: rec.PublicID(), Duplicate: &dup})
		return booksmeta.OutcomeDuplicate
	}
	h.Jobs.Notify()
	writeJSON(w, http.StatusOK, answer{Success: true, EventID: rec.PublicID(), Duplicate: &dup})
	return booksmeta.OutcomeAccepted
}

// reject answers 401 and logs the request with what was read of its body.
func (h *Handler) reject(ctx context.Context, w http.ResponseWriter, rec *booksmeta.WebhookEvent, red redactor, auth AuthResult, query url.Values, body []byte, describe func()) {
	rec.Auth, rec.Outcome, rec.HTTPStatus, rec.Reason = auth.Mode, booksmeta.OutcomeRejected, http.StatusUnauthorized, auth.Problem
	h.refused(ctx, rec, func() {
		describe()
		rec.Body = red.body(truncate(body, rejectedBodyKeep), rec.ContentType)
		h.peek(rec, rec.Method, query, body)
	})
	writeJSON(w, rec.HTTPStatus, answer{Error: "invalid_signature", Message: auth.Problem})
}

// peek fills the event name and email of a rejected request for the log
// filters, when the body happens to parse; it never affects the answer.
func (h *Handler) peek(rec *booksmeta.WebhookEvent, method string, query url.Values, body []byte) {
	if len(body) > rejectedBodyKeep {
		return
	}
	if f, err := Parse(method, rec.ContentType, query, body); err == nil {
		ev := f.Event()
		rec.Event, rec.Email = truncate([]byte(ev.Name), 100), truncate([]byte(store.NormalizeEmail(ev.Email)), 200)
	}
}

// refused records a request that is not an accepted event, through the
// rate-limited RejectLog when there is one; fill, when set, completes the
// row and runs only if the row is written. A failure to record is logged
// but does not change the answer: a 401 stays a 401.
func (h *Handler) refused(ctx context.Context, rec *booksmeta.WebhookEvent, fill func()) {
	if h.Rejects != nil {
		if wait := h.Rejects.Record(ctx, rec, fill); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		return
	}
	if fill != nil {
		fill()
	}
	h.logOnly(ctx, rec)
}

// logOnly records a request that is not an accepted event. Its failure is
// logged but does not change the answer: a 401 stays a 401.
func (h *Handler) logOnly(ctx context.Context, rec *booksmeta.WebhookEvent) {
	err := h.Store.InTx(ctx, func(tx *store.Tx) error { return tx.InsertWebhookLog(ctx, rec) })
	if err != nil {
		h.Log.Error("webhook: record rejected request", "err", err, "outcome", rec.Outcome)
	}
}

// hasSignature reports whether the request carries a signature header.
func hasSignature(h http.Header) bool {
	for _, name := range SignatureHeaders {
		if strings.TrimSpace(h.Get(name)) != "" {
			return true
		}
	}
	return false
}

// eventKey follows SPEC §4. A delivery id (a header, on unsigned requests,
// or the event_id field) names the delivery: the same id is the same event
// whenever it comes. Without one, an event is a state of a subject — its
// deal, else its student's email — and the same state twice in a row is one
// event (GetCourse's dealPaid + dealStatusChanged pair, a process run twice),
// while the same state after another (paid, refunded, paid again) is new:
// the returned heads make the key relative to the subject's last state.
// Only an event with neither is keyed by its content alone.
func eventKey(hd http.Header, f Fields, ev enrol.Event) (string, []booksmeta.Head) {
	for _, name := range []string{"X-GetCourse-Event-Id", "Idempotency-Key", "Webhook-Id"} {
		if v := strings.TrimSpace(hd.Get(name)); v != "" {
			return bounded("h:" + v), nil
		}
	}
	if ev.EventID != "" {
		return bounded("e:" + ev.EventID), nil
	}
	email := store.NormalizeEmail(ev.Email)
	if k := ev.DealKey(); k != "" {
		state := ev.DealState()
		heads := []booksmeta.Head{{Subject: bounded("d:" + k), State: bounded(state)}}
		if email != "" {
			// The student's own subject moves too, so that a payment without
			// a deal repeated after this deal's refund is not taken for a
			// repeat of the earlier one.
			heads = append(heads, booksmeta.Head{Subject: bounded("u:" + email), State: bounded("d:" + k + ":" + state)})
		}
		return bounded("d:" + k + ":" + state), heads
	}
	sum := sha256.Sum256([]byte(ev.Name + "\n" + f.canonical()))
	content := hex.EncodeToString(sum[:])
	if email != "" {
		return "u:" + content, []booksmeta.Head{{Subject: bounded("u:" + email), State: content}}
	}
	return "b:" + content, nil
}

// bounded keeps keys index-friendly: long ones are replaced by their hash.
func bounded(k string) string {
	if len(k) <= 200 {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return k[:2] + "sha256:" + hex.EncodeToString(sum[:])
}

// truncate keeps at most n bytes, cut at a character boundary so that a
// Cyrillic letter is never split in two.
func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n]) + "…[обрезано]"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Redacted is what replaces a secret in the log.
const Redacted = "[скрыто]"

var sensitiveHeaders = map[string]bool{
	"X-Getcourse-Signature": true, "X-Hub-Signature-256": true, "X-Signature": true, "Authorization": true,
	"Proxy-Authorization": true, "Cookie": true, "X-Api-Key": true, "X-Csrf-Token": true,
}

var sensitiveFields = map[string]bool{"secret": true, "key": true, "api_key": true, "token": true, "password": true, "pass": true}

type redactor struct{ secret string }

func newRedactor(secret string) redactor { return redactor{secret} }

// scrub hides the secret itself wherever it appears, whatever field it is in.
func (r redactor) scrub(s string) string {
	if len(r.secret) >= 6 {
		s = strings.ReplaceAll(s, r.secret, Redacted)
	}
	return s
}

func (r redactor) headers(h http.Header) string {
	m := map[string]string{}
	for k, vs := range h {
		v := strings.Join(vs, ", ")
		if sensitiveHeaders[http.CanonicalHeaderKey(k)] {
			v = Redacted
		}
		m[k] = r.scrub(v)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// query renders parameters readably (unescaped, sorted) for the log, with
// sensitive ones hidden. It is for people, not to be parsed back.
func (r redactor) query(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		for _, v := range q[k] {
			if sensitiveFields[normKey(k)] {
				v = Redacted
			}
			parts = append(parts, k+"="+v)
		}
	}
	return r.scrub(strings.Join(parts, "&"))
}

func (r redactor) body(s string, contentType string) string {
	if strings.HasPrefix(contentType, "application/x-www-form-urlencoded") {
		if q, err := url.ParseQuery(s); err == nil {
			return r.query(q)
		}
	}
	if (strings.Contains(contentType, "json") || strings.HasPrefix(strings.TrimSpace(s), "{")) && maySpellSensitive(s) {
		var v any
		if json.Unmarshal([]byte(s), &v) == nil && redactJSON(v) {
			b, _ := json.Marshal(v)
			return r.scrub(string(b))
		}
	}
	return r.scrub(s)
}

// maySpellSensitive reports whether a JSON text could hold a sensitive field
// name. When it cannot, decoding it again to look is wasted work on every
// webhook. The test lowercases as redactJSON does, and treats any \u escape
// as a maybe, since an escape can spell a name without its letters. It reads
// sensitiveFields itself, so a name added there is never skipped here.
func maySpellSensitive(s string) bool {
	if strings.Contains(s, `\u`) {
		return true
	}
	l := strings.ToLower(s)
	for name := range sensitiveFields {
		if strings.Contains(l, name) {
			return true
		}
	}
	return false
}

// redactJSON replaces sensitive fields in place, reporting whether it changed anything.
func redactJSON(v any) bool {
	changed := false
	switch t := v.(type) {
	case map[string]any:
		for k, vv := range t {
			if sensitiveFields[strings.ToLower(k)] {
				t[k] = Redacted
				changed = true
			} else if redactJSON(vv) {
				changed = true
			}
		}
	case []any:
		for _, vv := range t {
			changed = redactJSON(vv) || changed
		}
	}
	return changed
}
