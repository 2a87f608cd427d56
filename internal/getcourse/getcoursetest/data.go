package getcoursetest

import (
	"strconv"
	"strings"
	"time"
)

// User is a user of the fake account.
type User struct {
	ID        int64
	Email     string
	Phone     string
	FirstName string
	LastName  string
	City      string
	Country   string
	Status    string // active (default), in_base, deactivated, banned, invited
	CreatedAt time.Time
	Groups    []string
	AddFields map[string]string
}

// Deal is an order. Status is GetCourse's code (new, payed, cancelled, …);
// exports show it in Russian. Money is in kopecks.
type Deal struct {
	ID              int64
	Number          string
	UserID          int64
	UserEmail       string
	Title           string
	OfferCode       string
	Status          string
	Cost            int64
	Paid            int64
	Currency        string
	CreatedAt       time.Time
	PaidAt          time.Time
	StatusChangedAt time.Time
}

// Payment is a payment for a deal. Status is GetCourse's code (accepted,
// expected, returned, …). Amount is in kopecks.
type Payment struct {
	ID         int64
	Number     string
	UserEmail  string
	DealNumber string
	Status     string
	Type       string
	Title      string
	Amount     int64
	CreatedAt  time.Time
}

// Group is a user group.
type Group struct {
	ID          int64
	Name        string
	LastAddedAt time.Time
}

// dealStatusLabels is how GetCourse shows deal status codes in exports and in
// its interface.
var dealStatusLabels = map[string]string{
	"new":                "Новый",
	"payed":              "Завершен",
	"cancelled":          "Отменен",
	"in_work":            "В работе",
	"payment_waiting":    "Ожидаем оплаты",
	"part_payed":         "Частично оплачен",
	"waiting_for_return": "Ожидаем возврата",
	"not_confirmed":      "Не подтвержден",
	"pending":            "Отложен",
	"false":              "Ложный",
}

// paymentStatusLabels is the same for payments.
var paymentStatusLabels = map[string]string{
	"accepted":            "Получен",
	"expected":            "Ожидаем",
	"returned":            "Возвращен",
	"tobalance":           "Зачислен на баланс",
	"frombalance":         "Списан с баланса",
	"returned_to_balance": "Возвращен на баланс",
}

// DealStatusLabel is the Russian label an export shows for a status code.
func DealStatusLabel(code string) string { return dealStatusLabels[code] }

var userStatuses = map[string]bool{"active": true, "in_base": true, "deactivated": true, "banned": true, "invited": true}

// WithDemoData seeds a small school: groups, students, paid and unpaid deals,
// payments — enough for the demo command to show a sync.
func WithDemoData() Option {
	return func(s *Server) {
		now := s.now().In(s.loc)
		day := func(d int) time.Time { return now.AddDate(0, 0, -d).Truncate(time.Hour) }
		s.groupLocked("Ученики")
		s.groupLocked("Смета PRO")
		s.addUserLocked(User{Email: "ivanova@example.ru", FirstName: "Анна", LastName: "Иванова", Phone: "+79001234567", City: "Москва", CreatedAt: day(30), Groups: []string{"Ученики"}})
		s.addUserLocked(User{Email: "petrov@example.ru", FirstName: "Пётр", LastName: "Петров", City: "Казань", CreatedAt: day(12)})
		s.addUserLocked(User{Email: "sidorova@example.ru", FirstName: "Мария", LastName: "Сидорова", CreatedAt: day(3)})
		s.addDealLocked(Deal{UserEmail: "ivanova@example.ru", Title: "Доступ к серверу: 10 часов", OfferCode: "hours10", Status: "payed", Cost: 1200000, CreatedAt: day(29), PaidAt: day(29)})
		s.addDealLocked(Deal{UserEmail: "petrov@example.ru", Title: "Доступ к серверу: 10 часов", OfferCode: "hours10", Status: "payed", Cost: 1200000, CreatedAt: day(11), PaidAt: day(10)})
		s.addDealLocked(Deal{UserEmail: "sidorova@example.ru", Title: "Доступ к серверу: 5 часов", OfferCode: "hours5", Status: "new", Cost: 650000, CreatedAt: day(2)})
		s.addPaymentLocked(Payment{UserEmail: "ivanova@example.ru", DealNumber: "100", Status: "accepted", Type: "Банковская карта", Title: "Доступ к серверу: 10 часов", Amount: 1200000, CreatedAt: day(29)})
		s.addPaymentLocked(Payment{UserEmail: "petrov@example.ru", DealNumber: "101", Status: "accepted", Type: "СБП", Title: "Доступ к серверу: 10 часов", Amount: 1200000, CreatedAt: day(10)})
	}
}

// AddDeal stores a deal, creating its user from UserEmail if needed.
func (s *Server) AddDeal(d Deal) Deal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.addDealLocked(d)
}

// Users returns copies of all users.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, len(s.users))
	for i, u := range s.users {
		out[i] = u
		out[i].Groups = append([]string(nil), u.Groups...)
	}
	return out
}

// UserByEmail finds a user.
func (s *Server) UserByEmail(email string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.userByEmailLocked(email); u != nil {
		return *u, true
	}
	return User{}, false
}

// Deals returns copies of all deals.
func (s *Server) Deals() []Deal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Deal(nil), s.deals...)
}

// Payments returns copies of all payments.
func (s *Server) Payments() []Payment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Payment(nil), s.payments...)
}

func normEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

func (s *Server) userByEmailLocked(email string) *User {
	email = normEmail(email)
	if email == "" {
		return nil
	}
	for i := range s.users {
		if normEmail(s.users[i].Email) == email {
			return &s.users[i]
		}
	}
	return nil
}

func (s *Server) userByPhoneLocked(phone string) *User {
	phone = strings.TrimSpace(phone)
	if phone == "" {
		return nil
	}
	for i := range s.users {
		if s.users[i].Phone == phone {
			return &s.users[i]
		}
	}
	return nil
}

func (s *Server) userByIDLocked(id int64) *User {
	for i := range s.users {
		if s.users[i].ID == id {
			return &s.users[i]
		}
	}
	return nil
}

func (s *Server) addUserLocked(u User) *User {
	if u.ID == 0 {
		s.nextUserID++
		u.ID = s.nextUserID
	} else if u.ID > s.nextUserID {
		s.nextUserID = u.ID
	}
	u.Email = normEmail(u.Email)
	if u.Status == "" {
		u.Status = "active"
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = s.now()
	}
	groups := u.Groups
	u.Groups = nil
	s.users = append(s.users, u)
	p := &s.users[len(s.users)-1]
	for _, g := range groups {
		s.addToGroupLocked(p, g)
	}
	return p
}

func (s *Server) groupLocked(name string) *Group {
	for i := range s.groups {
		if s.groups[i].Name == name {
			return &s.groups[i]
		}
	}
	s.nextGroupID++
	s.groups = append(s.groups, Group{ID: s.nextGroupID, Name: name})
	return &s.groups[len(s.groups)-1]
}

func (s *Server) addToGroupLocked(u *User, name string) {
	name = strings.TrimSpace(name)
	if name == "" {
		return
	}
	g := s.groupLocked(name)
	g.LastAddedAt = s.now()
	for _, have := range u.Groups {
		if have == name {
			return
		}
	}
	u.Groups = append(u.Groups, name)
}

func (s *Server) addDealLocked(d Deal) *Deal {
	if d.UserID == 0 && d.UserEmail != "" {
		u := s.userByEmailLocked(d.UserEmail)
		if u == nil {
			u = s.addUserLocked(User{Email: d.UserEmail})
		}
		d.UserID = u.ID
	}
	if u := s.userByIDLocked(d.UserID); u != nil {
		d.UserEmail = u.Email
	}
	if d.ID == 0 {
		s.nextDealID++
		d.ID = s.nextDealID
	}
	if d.Number == "" {
		d.Number = strconv.FormatInt(s.nextDealNumber, 10)
		s.nextDealNumber++
	}
	if d.Status == "" {
		d.Status = "new"
	}
	if d.Currency == "" {
		d.Currency = "RUB"
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = s.now()
	}
	if d.Status == "payed" {
		if d.Paid == 0 {
			d.Paid = d.Cost
		}
		if d.PaidAt.IsZero() {
			d.PaidAt = d.CreatedAt
		}
	}
	if d.StatusChangedAt.IsZero() {
		d.StatusChangedAt = later(d.CreatedAt, d.PaidAt)
	}
	s.deals = append(s.deals, d)
	return &s.deals[len(s.deals)-1]
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (s *Server) addPaymentLocked(p Payment) *Payment {
	if p.ID == 0 {
		s.nextPaymentID++
		p.ID = s.nextPaymentID
	}
	if p.Number == "" {
		p.Number = strconv.FormatInt(p.ID, 10)
	}
	p.UserEmail = normEmail(p.UserEmail)
	if p.Status == "" {
		p.Status = "accepted"
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = s.now()
	}
	s.payments = append(s.payments, p)
	return &s.payments[len(s.payments)-1]
}

// rub prints kopecks the way GetCourse exports do: digit groups split by a
// no-break space, comma decimals, "руб." — "12 000,00 руб.".
func rub(kopecks int64, groupSep string, suffix string) string {
	neg := kopecks < 0
	if neg {
		kopecks = -kopecks
	}
	whole := strconv.FormatInt(kopecks/100, 10)
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(groupSep)
		}
		b.WriteRune(r)
	}
	frac := strconv.FormatInt(kopecks%100, 10)
	if len(frac) < 2 {
		frac = "0" + frac
	}
	sign := ""
	if neg {
		sign = "-"
	}
	return sign + b.String() + "," + frac + " " + suffix
}
