package webhook

import (
	"net/url"
	"strings"
)

// ProcessParam is one parameter of the address an admin pastes into a
// GetCourse order process («Вызвать URL»): our name for it and the template
// variable GetCourse fills in. Parse reads exactly these names.
type ProcessParam struct {
	Name     string // query parameter
	Variable string // GetCourse template variable
	Label    string // Russian, what it carries
}

// ProcessEvent is the event name a process call carries: a process runs on
// an order whatever its status, so the status decides the effect.
const ProcessEvent = "deal_updated"

// ProcessParams are the parameters of the process address, in URL order.
var ProcessParams = []ProcessParam{
	{"deal_id", "{object.id}", "ID заказа"},
	{"deal_number", "{object.number}", "номер заказа"},
	{"status", "{object.status}", "статус заказа"},
	{"email", "{object.user.email}", "email ученика"},
	{"first_name", "{object.user.first_name}", "имя"},
	{"last_name", "{object.user.last_name}", "фамилия"},
	{"phone", "{object.user.phone}", "телефон"},
	{"user_id", "{object.user.id}", "ID пользователя GetCourse"},
	{"cost", "{object.cost_money_value}", "стоимость заказа"},
	{"payed", "{object.payed_money}", "сколько оплачено"},
	{"offers", "{object.offers}", "ID предложений"},
	{"positions", "{object.positions}", "состав заказа"},
}

// ProcessURL is the address for a GetCourse order process: endpoint (our
// /api/getcourse/webhook on the public base URL) with the secret (when set),
// the event name and every template variable. The braces stay unescaped,
// because GetCourse substitutes the variables only where it sees them
// literally.
func ProcessURL(endpoint, secret string) string {
	var b strings.Builder
	b.WriteString(endpoint)
	sep := "?"
	if strings.Contains(endpoint, "?") {
		sep = "&"
	}
	if secret != "" {
		b.WriteString(sep + "secret=" + url.QueryEscape(secret))
		sep = "&"
	}
	b.WriteString(sep + "action=" + ProcessEvent)
	for _, p := range ProcessParams {
		b.WriteString("&" + p.Name + "=" + p.Variable)
	}
	return b.String()
}
