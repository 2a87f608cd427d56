package booksmeta

import (
	"strconv"
	"time"
)

// Webhook outcomes: what the intake answered.
const (
	OutcomeAccepted  = "accepted"
	OutcomeDuplicate = "duplicate"
	OutcomeRejected  = "rejected"
	OutcomeInvalid   = "invalid"
	OutcomeTooLarge  = "too_large"
)

// Webhook processing states of accepted events.
const (
	StatePending = "pending"
	StateDone    = "done"
	StateIgnored = "ignored"
	StateFailed  = "failed"
	StateRetry   = "retrying"
)

// Authentication modes recorded for each request.
const (
	AuthSignature   = "signature"
	AuthQuerySecret = "query_secret"
	AuthUnverified  = "unverified"
	AuthFailed      = "failed"
)

// WebhookEvent is one request to the webhook endpoint, with what became of it.
type WebhookEvent struct {
	ID             int64
	ReceivedAt     time.Time
	Method         string
	Path           string
	RemoteAddr     string
	ContentType    string
	Headers        string // JSON object, secrets redacted
	Query          string // redacted
	Body           string // redacted, possibly truncated for rejected requests
	BodySize       int
	Auth           string
	Outcome        string
	HTTPStatus     int
	Reason         string
	Event          string
	Email          string
	IdempotencyKey string
	DuplicateOf    int64
	Payload        string // normalised JSON the processor reads
	// Heads, when set, make the idempotency key relative to what came
	// before: the first head's sequence number is appended to the key, so
	// the same state of a subject twice in a row is one event, and the same
	// state again after another is a new one (a payment after a refund).
	Heads []Head
	// Subject is the deal an accepted event is about ("" for none): events
	// of one deal are applied in the order they arrived.
	Subject     string
	State       string
	Attempts    int
	LastError   string
	Result      string
	ProcessedAt time.Time
}

// PublicID is the event id shown to senders.
func (e *WebhookEvent) PublicID() string { return strconv.FormatInt(e.ID, 10) }

// AuthSync marks webhook_events rows that the GetCourse sync created from an
// export rather than received over HTTP.
const AuthSync = "sync"

// Head is the last state the intake saw for a subject (a deal, a student's
// email).
type Head struct{ Subject, State string }
