package getcoursetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// ProcessHook is a process on the fake's orders with the operation «Вызвать
// URL». It runs when an order is created and on every status change, which is
// how a school sets it up to hear about payments and refunds.
type ProcessHook struct {
	URL    string // address with {object.…} variables, as the admin typed it
	Method string // GET (default) or POST (form body, secret kept in the query)
	Quirks ProcessQuirks
}

// WithProcess registers a process «Вызвать URL» on orders.
func WithProcess(h ProcessHook) Option {
	return func(s *Server) { s.processes = append(s.processes, h) }
}

// WithTechQuirks chooses the shape of Tech API deliveries (isPayed spelling,
// pair order, gcAccountId).
func WithTechQuirks(q TechQuirks) Option { return func(s *Server) { s.techQuirks = q } }

// WithDeliverer replaces the sender (default: NewDeliverer(0)).
func WithDeliverer(d *Deliverer) Option { return func(s *Server) { s.deliverer = d } }

// AddProcess registers a process «Вызвать URL» at runtime.
func (s *Server) AddProcess(h ProcessHook) { s.locked(func() { s.processes = append(s.processes, h) }) }

// RemoveProcess drops the i-th process; out of range does nothing.
func (s *Server) RemoveProcess(i int) {
	s.locked(func() {
		if i >= 0 && i < len(s.processes) {
			s.processes = append(s.processes[:i:i], s.processes[i+1:]...)
		}
	})
}

// Processes returns the registered processes.
func (s *Server) Processes() []ProcessHook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ProcessHook(nil), s.processes...)
}

func (s *Server) techQuirksLocked() TechQuirks {
	q := s.techQuirks
	if q.Account == "" {
		q.Account = s.account
	}
	if q.Location == nil {
		q.Location = s.loc
	}
	return q
}

// Deliveries returns what the fake sent so far, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// Orders returns the orders created through CreateOrder, oldest first.
func (s *Server) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Order, len(s.orders))
	for i, o := range s.orders {
		out[i] = cloneOrder(o)
	}
	return out
}

// Order finds an order by deal id.
func (s *Server) Order(dealID int64) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.orderLocked(dealID); o != nil {
		return cloneOrder(*o), true
	}
	return Order{}, false
}

func cloneOrder(o Order) Order {
	o.OfferIDs = append([]int64(nil), o.OfferIDs...)
	o.Positions = append([]string(nil), o.Positions...)
	return o
}

func (s *Server) orderLocked(dealID int64) *Order {
	for i := range s.orders {
		if s.orders[i].DealID == dealID {
			return &s.orders[i]
		}
	}
	return nil
}

// Errors of the order operations.
var (
	ErrNoOrder       = errors.New("getcoursetest: no such order")
	ErrUnknownStatus = errors.New("getcoursetest: unknown deal status")
	ErrSameStatus    = errors.New("getcoursetest: the order already has this status")
	ErrBadOrder      = errors.New("getcoursetest: order is not valid")
)

// NewOrder is an order a student places.
type NewOrder struct {
	Email, FirstName, LastName, Phone string
	OfferIDs                          []int64
	Positions                         []string // offer titles
	Cost                              float64
	Currency                          string // RUB when empty
	// Status is "" (new) or a status the order is created in; "payed" makes
	// it paid at once, as a free order is.
	Status               string
	PaymentLink          string
	Promocode            string
	SessionID, VisitorID int64 // 0: null, as for an order a manager created
}

// CreateOrder stores an order (and its user, and a deal the exports show)
// and sends what GetCourse sends on creation: dealCreated to its
// subscription, dealPaid too when created payed, and the processes.
func (s *Server) CreateOrder(ctx context.Context, n NewOrder) (Order, []Delivery, error) {
	email := normEmail(n.Email)
	if email == "" || !strings.Contains(email, "@") {
		return Order{}, nil, fmt.Errorf("%w: email %q", ErrBadOrder, n.Email)
	}
	if n.Cost < 0 {
		return Order{}, nil, fmt.Errorf("%w: negative cost", ErrBadOrder)
	}
	status := n.Status
	if status == "" {
		status = "new"
	}
	if _, ok := dealStatusLabels[status]; !ok {
		return Order{}, nil, fmt.Errorf("%w: %q", ErrUnknownStatus, status)
	}
	currency := strings.ToUpper(strings.TrimSpace(n.Currency))
	if currency == "" {
		currency = "RUB"
	}

	s.mu.Lock()
	now := s.now().Truncate(1e9)
	u := s.userByEmailLocked(email)
	if u == nil {
		u = s.addUserLocked(User{Email: email, FirstName: n.FirstName, LastName: n.LastName, Phone: n.Phone, CreatedAt: now})
	}
	user := *u
	d := Deal{
		UserID: user.ID, Title: strings.Join(n.Positions, ", "), Status: status,
		Cost: kopecks(n.Cost), Currency: currency, CreatedAt: now,
	}
	if len(n.OfferIDs) > 0 {
		d.OfferCode = strconv.FormatInt(n.OfferIDs[0], 10)
	}
	deal := *s.addDealLocked(d)
	number, _ := strconv.ParseInt(deal.Number, 10, 64)
	o := Order{
		DealID: deal.ID, Number: number, Status: status, Cost: n.Cost, Currency: currency,
		OfferIDs: append([]int64(nil), n.OfferIDs...), Positions: append([]string(nil), n.Positions...),
		CreatedAt: now, PaymentLink: n.PaymentLink, Promocode: n.Promocode,
		SessionID: n.SessionID, VisitorID: n.VisitorID,
		User: OrderUser{ID: user.ID, Email: user.Email, FirstName: user.FirstName, LastName: user.LastName, Phone: user.Phone},
	}
	if status == "payed" {
		s.markPaidLocked(&o, n.Cost)
	}
	s.orders = append(s.orders, o)
	plan := s.planLocked(o, TechCreated(o, s.techQuirksLocked()))
	s.mu.Unlock()

	return cloneOrder(o), s.send(ctx, plan), nil
}

// PayOrder pays the rest of the order: status payed, a payment received,
// dealPaid and dealStatusChanged sent.
func (s *Server) PayOrder(ctx context.Context, dealID int64) (Order, []Delivery, error) {
	return s.transition(ctx, dealID, func(o *Order) error {
		if o.Status == "payed" {
			return ErrSameStatus
		}
		s.markPaidLocked(o, o.Cost-o.Payed)
		return nil
	})
}

// PartPayOrder records a payment of amount. While the order is not paid in
// full it is part_payed, told as a status change only; the payment that
// completes it is a payment like PayOrder's.
func (s *Server) PartPayOrder(ctx context.Context, dealID int64, amount float64) (Order, []Delivery, error) {
	return s.transition(ctx, dealID, func(o *Order) error {
		if amount <= 0 || o.Payed+amount > o.Cost+0.005 {
			return fmt.Errorf("%w: part payment %.2f of %.2f with %.2f paid", ErrBadOrder, amount, o.Cost, o.Payed)
		}
		if o.Payed+amount >= o.Cost-0.005 {
			s.markPaidLocked(o, amount)
			return nil
		}
		if o.Status == "payed" {
			return ErrSameStatus
		}
		o.Payed += amount
		o.Status = "part_payed"
		s.addPaymentLocked(Payment{UserEmail: o.User.Email, DealNumber: strconv.FormatInt(o.Number, 10), Status: "accepted", Title: strings.Join(o.Positions, ", "), Amount: kopecks(amount)})
		return nil
	})
}

// SetOrderStatus moves the order to status and sends dealStatusChanged (and
// dealPaid for payed, which is PayOrder). cancelled or false after
// waiting_for_return is the end of a refund: the order's payments become
// returned and deal.isPayed false.
func (s *Server) SetOrderStatus(ctx context.Context, dealID int64, status string) (Order, []Delivery, error) {
	if status == "payed" {
		return s.PayOrder(ctx, dealID)
	}
	if _, ok := dealStatusLabels[status]; !ok {
		return Order{}, nil, fmt.Errorf("%w: %q", ErrUnknownStatus, status)
	}
	return s.transition(ctx, dealID, func(o *Order) error {
		if o.Status == status {
			return ErrSameStatus
		}
		if (status == "cancelled" || status == "false") && o.Status == "waiting_for_return" {
			number := strconv.FormatInt(o.Number, 10)
			for i := range s.payments {
				if s.payments[i].DealNumber == number && s.payments[i].Status == "accepted" {
					s.payments[i].Status = "returned"
				}
			}
		}
		if status == "cancelled" || status == "false" {
			o.IsPayed = false
		}
		o.Status = status
		return nil
	})
}

// RefundOrder is a refund as GetCourse shows it: waiting_for_return, then
// final (cancelled or false), each a status change of its own.
func (s *Server) RefundOrder(ctx context.Context, dealID int64, final string) (Order, []Delivery, error) {
	if final != "cancelled" && final != "false" {
		return Order{}, nil, fmt.Errorf("%w: a refund ends cancelled or false, not %q", ErrUnknownStatus, final)
	}
	_, first, err := s.SetOrderStatus(ctx, dealID, "waiting_for_return")
	if err != nil && !errors.Is(err, ErrSameStatus) {
		return Order{}, first, err
	}
	o, second, err := s.SetOrderStatus(ctx, dealID, final)
	return o, append(first, second...), err
}

func (s *Server) markPaidLocked(o *Order, amount float64) {
	o.Status = "payed"
	o.Payed += amount
	// A free order is payed with nothing paid, and GetCourse says isPayed 0.
	o.IsPayed = o.Cost > 0
	o.PaidAt = s.now().Truncate(1e9)
	if amount > 0 {
		s.addPaymentLocked(Payment{UserEmail: o.User.Email, DealNumber: strconv.FormatInt(o.Number, 10), Status: "accepted", Title: strings.Join(o.Positions, ", "), Amount: kopecks(amount), CreatedAt: o.PaidAt})
	}
}

func (s *Server) transition(ctx context.Context, dealID int64, change func(o *Order) error) (Order, []Delivery, error) {
	s.mu.Lock()
	o := s.orderLocked(dealID)
	if o == nil {
		s.mu.Unlock()
		return Order{}, nil, fmt.Errorf("%w: deal %d", ErrNoOrder, dealID)
	}
	if err := change(o); err != nil {
		snapshot := cloneOrder(*o)
		s.mu.Unlock()
		return snapshot, nil, err
	}
	for i := range s.deals {
		if s.deals[i].ID == dealID {
			d := &s.deals[i]
			d.Status, d.Paid, d.PaidAt, d.StatusChangedAt = o.Status, kopecks(o.Payed), o.PaidAt, s.now()
		}
	}
	snapshot := cloneOrder(*o)
	plan := s.planLocked(snapshot, TechStatusChanged(snapshot, s.techQuirksLocked()))
	s.mu.Unlock()
	return snapshot, s.send(ctx, plan), nil
}

// sendPlan is what one change of an order sends, decided under the lock and
// sent without it: the receiver may call the fake's API back.
type sendPlan struct {
	order     Order
	tech      []TechMessage
	uris      map[int]string
	processes []ProcessHook
	deliverer *Deliverer
}

func (s *Server) planLocked(o Order, tech []TechMessage) sendPlan {
	if s.deliverer == nil {
		s.deliverer = NewDeliverer(0)
	}
	uris := make(map[int]string, len(s.subscriptions))
	for id, uri := range s.subscriptions {
		uris[id] = uri
	}
	procs := append([]ProcessHook(nil), s.processes...)
	for i := range procs {
		if procs[i].Quirks.Location == nil {
			procs[i].Quirks.Location = s.loc
		}
	}
	return sendPlan{order: cloneOrder(o), tech: tech, uris: uris, processes: procs, deliverer: s.deliverer}
}

func (s *Server) send(ctx context.Context, p sendPlan) []Delivery {
	var out []Delivery
	for _, m := range p.tech {
		if uri := p.uris[m.EventID]; uri != "" {
			out = append(out, p.deliverer.SendTech(ctx, uri, p.order.DealID, p.order.Status, m))
		}
	}
	for _, h := range p.processes {
		method := http.MethodGet
		if strings.EqualFold(h.Method, http.MethodPost) {
			method = http.MethodPost
		}
		out = append(out, p.deliverer.SendProcess(ctx, method, h.URL, p.order, h.Quirks))
	}
	if len(out) > 0 {
		s.locked(func() { s.deliveries = append(s.deliveries, out...) })
	}
	return out
}

func kopecks(v float64) int64 {
	if v < 0 {
		return int64(v*100 - 0.5)
	}
	return int64(v*100 + 0.5)
}
