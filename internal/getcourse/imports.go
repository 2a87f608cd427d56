package getcourse

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ImportUser is the documented "user" block.
type ImportUser struct {
	Email     string
	Phone     string
	FirstName string
	LastName  string
	City      string
	Country   string
	Groups    []string          // group_name: groups to add the user to
	AddFields map[string]string // addfields: custom user fields by title
}

// ImportSystem is the documented "system" block.
type ImportSystem struct {
	RefreshIfExists   bool // update an existing user instead of leaving it as is
	PartnerEmail      string
	MultipleOffers    bool
	ReturnPaymentLink bool
	ReturnDealNumber  bool
}

// ImportSession is the documented "session" block (traffic source).
type ImportSession struct {
	UTMSource   string
	UTMMedium   string
	UTMContent  string
	UTMCampaign string
	UTMGroup    string
	GCPC        string
	GCAO        string
	Referer     string
}

// UserImport is one POST {base}/users.
type UserImport struct {
	User    ImportUser
	System  ImportSystem
	Session ImportSession
}

// ImportDeal is the documented "deal" block.
type ImportDeal struct {
	Number             string // deal_number: an existing number updates that deal
	OfferCode          string
	ProductTitle       string
	ProductDescription string
	Quantity           int
	Cost               int64 // kopecks; 0 leaves the price to the offer
	Currency           string
	Status             string // new, payed, cancelled, in_work, payment_waiting, part_payed, …
	IsPaid             bool
	ManagerEmail       string
	CreatedAt          time.Time
	FinishedAt         time.Time
	Comment            string
	PaymentType        string
	PaymentStatus      string
	PartnerEmail       string
	AddFields          map[string]string
}

// DealImport is one POST {base}/deals: the user blocks plus the deal.
type DealImport struct {
	User    ImportUser
	System  ImportSystem
	Session ImportSession
	Deal    ImportDeal
}

// ImportResult is GetCourse's "result" block.
type ImportResult struct {
	UserID       int64
	UserStatus   string // e.g. "added", "updated"
	DealID       int64
	DealNumber   string
	PaymentLink  string
	ErrorMessage string
}

// flag01 is how the documentation spells the system switches: 1 or 0.
type flag01 bool

func (f flag01) MarshalJSON() ([]byte, error) {
	if f {
		return []byte("1"), nil
	}
	return []byte("0"), nil
}

// kopecks marshals as a plain JSON number of roubles with two decimals.
type kopecks int64

func (k kopecks) MarshalJSON() ([]byte, error) {
	v := int64(k)
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return []byte(sign + strconv.FormatInt(v/100, 10) + "." + leftPad2(v%100)), nil
}

func leftPad2(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

type wireUser struct {
	Email     string            `json:"email,omitempty"`
	Phone     string            `json:"phone,omitempty"`
	FirstName string            `json:"first_name,omitempty"`
	LastName  string            `json:"last_name,omitempty"`
	City      string            `json:"city,omitempty"`
	Country   string            `json:"country,omitempty"`
	GroupName []string          `json:"group_name,omitempty"`
	AddFields map[string]string `json:"addfields,omitempty"`
}

type wireSystem struct {
	RefreshIfExists   flag01 `json:"refresh_if_exists"`
	PartnerEmail      string `json:"partner_email,omitempty"`
	MultipleOffers    flag01 `json:"multiple_offers,omitempty"`
	ReturnPaymentLink flag01 `json:"return_payment_link,omitempty"`
	ReturnDealNumber  flag01 `json:"return_deal_number,omitempty"`
}

type wireSession struct {
	UTMSource   string `json:"utm_source,omitempty"`
	UTMMedium   string `json:"utm_medium,omitempty"`
	UTMContent  string `json:"utm_content,omitempty"`
	UTMCampaign string `json:"utm_campaign,omitempty"`
	UTMGroup    string `json:"utm_group,omitempty"`
	GCPC        string `json:"gcpc,omitempty"`
	GCAO        string `json:"gcao,omitempty"`
	Referer     string `json:"referer,omitempty"`
}

type wireDeal struct {
	DealNumber         string            `json:"deal_number,omitempty"`
	OfferCode          string            `json:"offer_code,omitempty"`
	ProductTitle       string            `json:"product_title,omitempty"`
	ProductDescription string            `json:"product_description,omitempty"`
	Quantity           int               `json:"quantity,omitempty"`
	DealCost           kopecks           `json:"deal_cost,omitempty"`
	DealCurrency       string            `json:"deal_currency,omitempty"`
	DealStatus         string            `json:"deal_status,omitempty"`
	DealIsPaid         flag01            `json:"deal_is_paid"`
	ManagerEmail       string            `json:"manager_email,omitempty"`
	DealCreatedAt      string            `json:"deal_created_at,omitempty"`
	DealFinishedAt     string            `json:"deal_finished_at,omitempty"`
	DealComment        string            `json:"deal_comment,omitempty"`
	PaymentType        string            `json:"payment_type,omitempty"`
	PaymentStatus      string            `json:"payment_status,omitempty"`
	PartnerEmail       string            `json:"partner_email,omitempty"`
	AddFields          map[string]string `json:"addfields,omitempty"`
}

type wireParams struct {
	User    wireUser     `json:"user"`
	System  wireSystem   `json:"system"`
	Session *wireSession `json:"session,omitempty"`
	Deal    *wireDeal    `json:"deal,omitempty"`
}

func toWireUser(u ImportUser) wireUser {
	return wireUser{
		Email: strings.TrimSpace(u.Email), Phone: strings.TrimSpace(u.Phone),
		FirstName: u.FirstName, LastName: u.LastName, City: u.City, Country: u.Country,
		GroupName: u.Groups, AddFields: u.AddFields,
	}
}

func toWireSystem(s ImportSystem) wireSystem {
	return wireSystem{
		RefreshIfExists: flag01(s.RefreshIfExists), PartnerEmail: s.PartnerEmail,
		MultipleOffers: flag01(s.MultipleOffers), ReturnPaymentLink: flag01(s.ReturnPaymentLink),
		ReturnDealNumber: flag01(s.ReturnDealNumber),
	}
}

func toWireSession(s ImportSession) *wireSession {
	if s == (ImportSession{}) {
		return nil
	}
	w := wireSession(s)
	return &w
}

func (c *Client) gcTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(c.loc).Format("2006-01-02 15:04:05")
}

// AddUser creates or (with RefreshIfExists) updates a user. It is not
// idempotent and is never retried here: after a timeout the user may or may
// not exist, and only the caller can decide whether to look before trying again.
func (c *Client) AddUser(ctx context.Context, in UserImport) (*ImportResult, error) {
	p := wireParams{User: toWireUser(in.User), System: toWireSystem(in.System), Session: toWireSession(in.Session)}
	return c.importCall(ctx, "import.users", "/users", p)
}

// AddDeal creates a deal (and its user), or updates the deal with the same
// number. Like AddUser it is never retried here.
func (c *Client) AddDeal(ctx context.Context, in DealImport) (*ImportResult, error) {
	d := in.Deal
	p := wireParams{
		User: toWireUser(in.User), System: toWireSystem(in.System), Session: toWireSession(in.Session),
		Deal: &wireDeal{
			DealNumber: d.Number, OfferCode: d.OfferCode, ProductTitle: d.ProductTitle,
			ProductDescription: d.ProductDescription, Quantity: d.Quantity, DealCost: kopecks(d.Cost),
			DealCurrency: d.Currency, DealStatus: d.Status, DealIsPaid: flag01(d.IsPaid),
			ManagerEmail: d.ManagerEmail, DealCreatedAt: c.gcTime(d.CreatedAt), DealFinishedAt: c.gcTime(d.FinishedAt),
			DealComment: d.Comment, PaymentType: d.PaymentType, PaymentStatus: d.PaymentStatus,
			PartnerEmail: d.PartnerEmail, AddFields: d.AddFields,
		},
	}
	return c.importCall(ctx, "import.deals", "/deals", p)
}

type wireResult struct {
	Success      *Bool      `json:"success"`
	Error        errorField `json:"error"`
	ErrorMessage flexString `json:"error_message"`
	UserID       flexInt    `json:"user_id"`
	UserStatus   flexString `json:"user_status"`
	DealID       flexInt    `json:"deal_id"`
	DealNumber   flexString `json:"deal_number"`
	PaymentLink  flexString `json:"payment_link"`
}

func (c *Client) importCall(ctx context.Context, op, path string, p wireParams) (*ImportResult, error) {
	js, err := json.Marshal(p)
	if err != nil {
		return nil, &Error{Kind: KindInternal, Op: op, Err: err}
	}
	form := url.Values{}
	form.Set("action", "add")
	form.Set("params", base64.StdEncoding.EncodeToString(js))

	var res *ImportResult
	err = c.do(ctx, request{op: op, method: http.MethodPost, path: path, form: form},
		func(env *envelope) (string, *Error) {
			var r wireResult
			if len(env.Result) == 0 || string(env.Result) == "null" || json.Unmarshal(env.Result, &r) != nil {
				return "", &Error{Kind: KindBadResponse, Err: errors.New("no result block in import answer")}
			}
			res = &ImportResult{
				UserID: int64(r.UserID), UserStatus: string(r.UserStatus), DealID: int64(r.DealID),
				DealNumber: string(r.DealNumber), PaymentLink: string(r.PaymentLink),
				ErrorMessage: strings.TrimSpace(string(r.ErrorMessage)),
			}
			// The call can succeed while the import inside it failed: the help
			// page's own example answers success:true with result.error:true.
			msg := res.ErrorMessage
			if msg == "" {
				msg = r.Error.text
			}
			if r.Error.flag || (r.Success != nil && !bool(*r.Success)) {
				return "", &Error{Kind: kindFor(0, msg, KindRejected), APIMessage: msg}
			}
			if res.DealID != 0 {
				return "Заказ сохранён в GetCourse, номер " + res.DealNumber + ".", nil
			}
			return "Пользователь сохранён в GetCourse (id " + strconv.FormatInt(res.UserID, 10) + ").", nil
		})
	if err != nil {
		// What GetCourse said about a refused import is still useful to show.
		return res, err
	}
	return res, nil
}
