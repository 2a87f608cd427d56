package getcoursetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"time"
)

// Order is one GetCourse order as the deliveries describe it. Money is in
// currency units and may be fractional, as GetCourse sends it.
type Order struct {
	DealID      int64
	Number      int64
	Status      string // GetCourse's code: new, payed, part_payed, …
	IsPayed     bool   // deal.isPayed; false on a free order even when payed
	Cost        float64
	Payed       float64 // deal.payedValue, {object.payed_money}
	Currency    string  // RUB when empty
	OfferIDs    []int64
	Positions   []string // offer titles, {object.positions}
	CreatedAt   time.Time
	PaidAt      time.Time // zero until paid
	PaymentLink string
	Promocode   string
	// ClientDealNumber is deal.clientDealNumber; Number when zero.
	ClientDealNumber int64
	// SessionID and VisitorID are gcSessionId and gcVisitorId; zero sends
	// null, as for an order created by a manager.
	SessionID, VisitorID int64
	User                 OrderUser
}

// OrderUser is who ordered.
type OrderUser struct {
	ID        int64 // gcId
	Email     string
	FirstName string
	LastName  string
	Phone     string
	Type      string // user.type; "user" when empty
}

// TechQuirks chooses among the shapes GetCourse is seen to send, and says
// which account sends.
type TechQuirks struct {
	Account   string         // user.id is "<Account>:<uid>"; "school" when empty
	AccountID int64          // gcAccountId; 100500 when zero
	Location  *time.Location // the account's zone, for ts; Moscow when nil
	// IsPayedBool sends deal.isPayed as true/false instead of 1/0.
	IsPayedBool bool
	// StatusChangedFirst sends dealStatusChanged before dealPaid for one
	// payment; GetCourse has been seen doing both.
	StatusChangedFirst bool
}

func (q TechQuirks) account() string {
	if q.Account == "" {
		return "school"
	}
	return q.Account
}

func (q TechQuirks) accountID() int64 {
	if q.AccountID == 0 {
		return 100500
	}
	return q.AccountID
}

func (q TechQuirks) location() *time.Location {
	if q.Location == nil {
		return moscow
	}
	return q.Location
}

// Moscow has had no DST since 2014, so a fixed zone is exact and needs no
// tzdata.
var moscow = time.FixedZone("MSK", 3*60*60)

// techUser and techDeal fix the field order of the body, so that a pair of
// deliveries differs in eventType only, byte for byte.
type techUser struct {
	Email string `json:"email"`
	GcID  int64  `json:"gcId"`
	ID    string `json:"id"`
	Type  string `json:"type"`
}

type techDeal struct {
	ID               string  `json:"id"`
	Number           int64   `json:"number"`
	Status           string  `json:"status"`
	IsPayed          any     `json:"isPayed"`
	Cost             float64 `json:"cost"`
	PayedValue       float64 `json:"payedValue"`
	Currency         string  `json:"currency"`
	OfferIDs         []int64 `json:"offerIds"`
	CreatedAt        string  `json:"createdAt"`
	ClientDealNumber any     `json:"clientDealNumber"`
}

type techEvent struct {
	EventType   string   `json:"eventType"`
	User        techUser `json:"user"`
	Deal        techDeal `json:"deal"`
	TS          string   `json:"ts"`
	TS64        int64    `json:"ts64"`
	GcAccountID int64    `json:"gcAccountId"`
	GcSessionID *int64   `json:"gcSessionId"`
	GcVisitorID *int64   `json:"gcVisitorId"`
}

// TechBody is the JSON body of one Tech API delivery: {"json":{…}}.
//
// The times are the order's creation time in every delivery, not the event's:
// ts is account-local time followed by a wrong "Z", ts64 the epoch seconds,
// deal.createdAt account-local "YYYY-MM-DD HH:MM:SS". deal.id is a string of
// digits, deal.number a number, deal.clientDealNumber a string in
// dealCreated and a number elsewhere.
func TechBody(eventType string, o Order, q TechQuirks) []byte {
	loc := q.location()
	created := o.CreatedAt.In(loc)
	userType := o.User.Type
	if userType == "" {
		userType = "user"
	}
	currency := o.Currency
	if currency == "" {
		currency = "RUB"
	}
	var isPayed any = 0
	switch {
	case q.IsPayedBool:
		isPayed = o.IsPayed
	case o.IsPayed:
		isPayed = 1
	}
	cdn := o.ClientDealNumber
	if cdn == 0 {
		cdn = o.Number
	}
	var clientDealNumber any = cdn
	if eventType == EventDealCreated {
		clientDealNumber = strconv.FormatInt(cdn, 10)
	}
	offers := o.OfferIDs
	if offers == nil {
		offers = []int64{}
	}
	ev := techEvent{
		EventType: eventType,
		User: techUser{
			Email: o.User.Email,
			GcID:  o.User.ID,
			ID:    q.account() + ":" + strconv.FormatInt(o.User.ID, 10),
			Type:  userType,
		},
		Deal: techDeal{
			ID:               strconv.FormatInt(o.DealID, 10),
			Number:           o.Number,
			Status:           o.Status,
			IsPayed:          isPayed,
			Cost:             o.Cost,
			PayedValue:       o.Payed,
			Currency:         currency,
			OfferIDs:         offers,
			CreatedAt:        created.Format("2006-01-02 15:04:05"),
			ClientDealNumber: clientDealNumber,
		},
		TS:          created.Format("2006-01-02T15:04:05") + "Z",
		TS64:        o.CreatedAt.Unix(),
		GcAccountID: q.accountID(),
		GcSessionID: nullable(o.SessionID),
		GcVisitorID: nullable(o.VisitorID),
	}
	body, err := json.Marshal(map[string]any{"json": ev})
	if err != nil {
		// Only plain values above; a failure here is a bug in this file.
		panic(err)
	}
	return body
}

func nullable(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// TechMessage is one Tech API delivery before it is sent.
type TechMessage struct {
	EventID   int    // TechEventDealCreated, …
	EventType string // getcourse/dealCreated, …
	Body      []byte
}

func techMessage(eventID int, o Order, q TechQuirks) TechMessage {
	return TechMessage{EventID: eventID, EventType: eventTypes[eventID], Body: TechBody(eventTypes[eventID], o, q)}
}

// TechCreated is what GetCourse sends when o is created: dealCreated, and
// dealPaid after it when the order is created already payed (a free order).
func TechCreated(o Order, q TechQuirks) []TechMessage {
	out := []TechMessage{techMessage(TechEventDealCreated, o, q)}
	if o.Status == "payed" {
		out = append(out, techMessage(TechEventDealPaid, o, q))
	}
	return out
}

// TechStatusChanged is what GetCourse sends when o moved to o.Status:
// dealStatusChanged, and for a payment also dealPaid with the same body but
// for eventType, in the order q chooses. part_payed is a status change only.
func TechStatusChanged(o Order, q TechQuirks) []TechMessage {
	changed := techMessage(TechEventDealStatusChanged, o, q)
	if o.Status != "payed" {
		return []TechMessage{changed}
	}
	paid := techMessage(TechEventDealPaid, o, q)
	if q.StatusChangedFirst {
		return []TechMessage{changed, paid}
	}
	return []TechMessage{paid, changed}
}

// Delivery shapes.
const (
	ShapeTechAPI     = "techapi"
	ShapeProcessGET  = "process-get"
	ShapeProcessPOST = "process-post"
)

// Delivery is one request the fake sent as GetCourse and what came back.
type Delivery struct {
	Shape       string // ShapeTechAPI, ShapeProcessGET, ShapeProcessPOST
	Event       string // eventType for the Tech API, "process" for a process call
	DealID      int64
	Status      string // the order's status the delivery tells
	Method      string
	URL         string
	ContentType string
	Body        []byte // request body; nil for a GET
	At          time.Time
	Duration    time.Duration
	HTTPStatus  int    // 0 when no answer came
	Answer      []byte // answer body, capped
	Error       string // transport failure, English
}

// OK is a 2xx answer.
func (d Delivery) OK() bool { return d.HTTPStatus >= 200 && d.HTTPStatus < 300 }

// DefaultDeliveryTimeout is short on purpose: GetCourse publishes no timeout
// or retry policy, so the intake must answer fast and a slow answer is a
// failure worth seeing.
const DefaultDeliveryTimeout = 5 * time.Second

const maxAnswer = 64 << 10

// Deliverer sends deliveries the way GetCourse does: one attempt, a short
// timeout, no signature, redirects not followed (a redirect is shown, so that
// an intake address that redirects is noticed).
type Deliverer struct {
	http *http.Client
	now  func() time.Time
}

// NewDeliverer sends with the given timeout (DefaultDeliveryTimeout if zero).
func NewDeliverer(timeout time.Duration) *Deliverer {
	if timeout <= 0 {
		timeout = DefaultDeliveryTimeout
	}
	return &Deliverer{
		http: &http.Client{
			Timeout:       timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		now: time.Now,
	}
}

// Send makes one request and never retries.
func (d *Deliverer) Send(ctx context.Context, method, url, contentType string, body []byte) Delivery {
	out := Delivery{Method: method, URL: url, ContentType: contentType, Body: body, At: d.now()}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", "getcoursetest (fake GetCourse)")
	resp, err := d.http.Do(req)
	out.Duration = d.now().Sub(out.At)
	if err != nil {
		// Without the URL: it carries the intake's secret, and Error is shown
		// on the console page and printed by the CLI.
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		out.Error = err.Error()
		return out
	}
	defer resp.Body.Close()
	out.HTTPStatus = resp.StatusCode
	out.Answer, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil && !errors.Is(err, io.EOF) {
		out.Error = err.Error()
	}
	out.Duration = d.now().Sub(out.At)
	return out
}

// SendTech POSTs one Tech API delivery to uri, which may carry a query.
func (d *Deliverer) SendTech(ctx context.Context, uri string, dealID int64, status string, m TechMessage) Delivery {
	out := d.Send(ctx, http.MethodPost, uri, "application/json", m.Body)
	out.Shape, out.Event, out.DealID, out.Status = ShapeTechAPI, m.EventType, dealID, status
	return out
}

// SendProcess makes a process «Вызвать URL» call: the template filled in for
// o, sent as GET, or as POST with the parameters in a form body.
func (d *Deliverer) SendProcess(ctx context.Context, method, template string, o Order, q ProcessQuirks) Delivery {
	method = strings.ToUpper(strings.TrimSpace(method))
	filled := FillProcessURL(template, o, q)
	var out Delivery
	if method == http.MethodPost {
		target, form := SplitProcessForm(filled)
		out = d.Send(ctx, http.MethodPost, target, "application/x-www-form-urlencoded", []byte(form))
		out.Shape = ShapeProcessPOST
	} else {
		out = d.Send(ctx, http.MethodGet, filled, "", nil)
		out.Shape = ShapeProcessGET
	}
	out.Event, out.DealID, out.Status = "process", o.DealID, o.Status
	return out
}
