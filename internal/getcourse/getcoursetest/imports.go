package getcoursetest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// decodeParamsLoose decodes an import's params for the request log; nil if it
// is not base64 JSON.
func decodeParamsLoose(p string) map[string]any {
	raw, err := decodeBase64(p)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

func decodeBase64(p string) ([]byte, error) {
	p = strings.TrimSpace(p)
	// Form decoding turns an unescaped "+" into a space; undo it the way a
	// lenient PHP backend effectively does.
	p = strings.ReplaceAll(p, " ", "+")
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(p); err == nil {
			return raw, nil
		}
	}
	return nil, fmt.Errorf("not base64")
}

// flag reads the booleans an import may carry: 1, "1", true, "true", "да".
type flag bool

func (f *flag) UnmarshalJSON(data []byte) error {
	s := strings.ToLower(strings.Trim(strings.TrimSpace(string(data)), `"`))
	switch s {
	case "1", "true", "yes", "да", "on":
		*f = true
	default:
		*f = false
	}
	return nil
}

// text reads a string that may have been sent as a number.
type text string

func (t *text) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*t = text(s)
		return nil
	}
	s = strings.TrimSpace(string(data))
	if s == "null" {
		s = ""
	}
	*t = text(s)
	return nil
}

type importParams struct {
	User struct {
		Email     text              `json:"email"`
		Phone     text              `json:"phone"`
		FirstName text              `json:"first_name"`
		LastName  text              `json:"last_name"`
		City      text              `json:"city"`
		Country   text              `json:"country"`
		GroupName []json.RawMessage `json:"group_name"`
		AddFields map[string]text   `json:"addfields"`
	} `json:"user"`
	System struct {
		RefreshIfExists   flag `json:"refresh_if_exists"`
		ReturnPaymentLink flag `json:"return_payment_link"`
		ReturnDealNumber  flag `json:"return_deal_number"`
	} `json:"system"`
	Deal *struct {
		DealNumber     text            `json:"deal_number"`
		OfferCode      text            `json:"offer_code"`
		ProductTitle   text            `json:"product_title"`
		DealCost       text            `json:"deal_cost"`
		DealStatus     text            `json:"deal_status"`
		DealIsPaid     flag            `json:"deal_is_paid"`
		DealCurrency   text            `json:"deal_currency"`
		DealCreatedAt  text            `json:"deal_created_at"`
		DealFinishedAt text            `json:"deal_finished_at"`
		AddFields      map[string]text `json:"addfields"`
	} `json:"deal"`
}

// importFailed is the answer to an import GetCourse understood and refused:
// the call succeeds, the result inside it does not.
func importFailed(w http.ResponseWriter, message string) {
	writeJSON(w, map[string]any{"success": true, "action": "add", "result": map[string]any{
		"success": "false", "error": true, "error_message": message,
	}})
}

func (s *Server) serveImport(w http.ResponseWriter, r *http.Request, op string) {
	action := r.PostForm.Get("action")
	switch action {
	case "":
		writeJSON(w, map[string]any{"success": false, "error": true, "error_message": "Пустой параметр action"})
		return
	case "add":
	default:
		writeJSON(w, map[string]any{"success": false, "action": action, "error": true, "error_message": "Неизвестное действие " + action})
		return
	}
	rawParams := r.PostForm.Get("params")
	if strings.TrimSpace(rawParams) == "" {
		writeJSON(w, map[string]any{"success": false, "action": action, "error": true, "error_message": "Не указаны параметры"})
		return
	}
	raw, err := decodeBase64(rawParams)
	var p importParams
	if err == nil {
		err = json.Unmarshal(raw, &p)
	}
	if err != nil {
		writeJSON(w, map[string]any{"success": false, "action": action, "error": true, "error_message": "Неверный формат параметров"})
		return
	}

	u, status, msg := s.importUserLocked(&p)
	if msg != "" {
		importFailed(w, msg)
		return
	}
	result := map[string]any{"success": "true", "error": 0, "error_message": "", "user_id": u.ID, "user_status": status}
	if op == "import.deals" {
		d, msg := s.importDealLocked(&p, u)
		if msg != "" {
			importFailed(w, msg)
			return
		}
		// deal_id as a string, user_id as a number: the live API mixes them.
		result["deal_id"] = strconv.FormatInt(d.ID, 10)
		result["deal_number"] = numberOrText(d.Number)
		if p.System.ReturnPaymentLink {
			result["payment_link"] = fmt.Sprintf("https://%s.getcourse.ru/sales/shop/dealPay/id/%d/hash/%x", s.account, d.ID, d.ID*7919)
		}
	}
	writeJSON(w, map[string]any{"success": true, "action": action, "result": result})
}

func (s *Server) importUserLocked(p *importParams) (*User, string, string) {
	email := normEmail(string(p.User.Email))
	phone := strings.TrimSpace(string(p.User.Phone))
	if email == "" && phone == "" {
		return nil, "", "Не указан email или телефон пользователя"
	}
	if email != "" && (!strings.Contains(email, "@") || strings.HasPrefix(email, "@") || strings.HasSuffix(email, "@")) {
		return nil, "", "Неверный email: " + email
	}
	groups := make([]string, 0, len(p.User.GroupName))
	for _, g := range p.User.GroupName {
		// A group is a name, or [name, date added].
		var name string
		if json.Unmarshal(g, &name) != nil {
			var pair []json.RawMessage
			if json.Unmarshal(g, &pair) == nil && len(pair) > 0 {
				_ = json.Unmarshal(pair[0], &name)
			}
		}
		if name != "" {
			groups = append(groups, name)
		}
	}
	u := s.userByEmailLocked(email)
	if u == nil && email == "" {
		u = s.userByPhoneLocked(phone)
	}
	status := "added"
	switch {
	case u == nil:
		u = s.addUserLocked(User{Email: email, Phone: phone, FirstName: string(p.User.FirstName), LastName: string(p.User.LastName),
			City: string(p.User.City), Country: string(p.User.Country), AddFields: texts(p.User.AddFields)})
	case bool(p.System.RefreshIfExists):
		status = "updated"
		set := func(dst *string, v text) {
			if strings.TrimSpace(string(v)) != "" {
				*dst = string(v)
			}
		}
		set(&u.Phone, p.User.Phone)
		set(&u.FirstName, p.User.FirstName)
		set(&u.LastName, p.User.LastName)
		set(&u.City, p.User.City)
		set(&u.Country, p.User.Country)
		for k, v := range texts(p.User.AddFields) {
			if u.AddFields == nil {
				u.AddFields = map[string]string{}
			}
			u.AddFields[k] = v
		}
	default:
		status = "exists"
	}
	if status != "exists" {
		for _, g := range groups {
			s.addToGroupLocked(u, g)
		}
	}
	return u, status, ""
}

func texts(m map[string]text) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

func (s *Server) importDealLocked(p *importParams, u *User) (*Deal, string) {
	if p.Deal == nil {
		return nil, "Не указаны параметры заказа (deal)"
	}
	d := p.Deal
	if strings.TrimSpace(string(d.OfferCode)) == "" && strings.TrimSpace(string(d.ProductTitle)) == "" {
		return nil, "Не указано предложение: передайте offer_code или product_title"
	}
	status := strings.TrimSpace(string(d.DealStatus))
	if status == "" {
		status = "new"
		if d.DealIsPaid {
			status = "payed"
		}
	}
	if dealStatusLabels[status] == "" {
		return nil, "Неверный статус заказа: " + status
	}
	cost, ok := parseCost(string(d.DealCost))
	if !ok {
		return nil, "Неверная стоимость заказа: " + string(d.DealCost)
	}
	now := s.now()
	created := s.importTime(string(d.DealCreatedAt), now)
	finished := s.importTime(string(d.DealFinishedAt), time.Time{})

	number := strings.TrimSpace(string(d.DealNumber))
	if number != "" {
		for i := range s.deals {
			if s.deals[i].Number == number {
				ex := &s.deals[i]
				if ex.Status != status {
					ex.StatusChangedAt = now
				}
				ex.Status = status
				if cost != 0 {
					ex.Cost = cost
				}
				if status == "payed" {
					ex.Paid = ex.Cost
					if ex.PaidAt.IsZero() {
						ex.PaidAt = later(finished, now)
					}
				}
				return ex, ""
			}
		}
	}
	title := string(d.ProductTitle)
	if title == "" {
		title = string(d.OfferCode)
	}
	nd := Deal{Number: number, UserID: u.ID, Title: title, OfferCode: string(d.OfferCode), Status: status, Cost: cost,
		Currency: string(d.DealCurrency), CreatedAt: created}
	if status == "payed" {
		nd.PaidAt = finished
		if nd.PaidAt.IsZero() {
			nd.PaidAt = now
		}
	}
	if number != "" {
		if n, err := strconv.ParseInt(number, 10, 64); err == nil && n >= s.nextDealNumber {
			s.nextDealNumber = n + 1
		}
	}
	return s.addDealLocked(nd), ""
}

func (s *Server) importTime(v string, fallback time.Time) time.Time {
	if t, _, ok := s.parseDate(strings.TrimSpace(v)); ok {
		return t
	}
	return fallback
}

// parseCost reads deal_cost sent as a number or a string, in roubles.
func parseCost(v string) (int64, bool) {
	v = strings.TrimSpace(strings.ReplaceAll(v, ",", "."))
	v = strings.NewReplacer(" ", "", "\u00a0", "").Replace(v)
	if v == "" {
		return 0, true
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0, false
	}
	return int64(f*100 + 0.5), true
}
