package enrol

import "strings"

// FieldState says whether one field the rules use arrived in an event; the
// setup page shows it for the last delivery so an admin sees what to fix in
// GetCourse.
type FieldState struct {
	Key      string // the parameter name our panel gives, e.g. "email"
	Label    string // Russian, for the page
	Value    string // what arrived ("" when missing); never a secret
	Present  bool
	Unfilled string // the template variable GetCourse left unfilled, e.g. "{object.user.email}"
	Required bool   // without it the event cannot be applied
}

// FieldReport lists the fields an order event is read by, in the order the
// page shows them.
func (e Event) FieldReport() []FieldState {
	unfilled := map[string]string{}
	for _, u := range e.Unfilled {
		if k, v, ok := strings.Cut(u, "="); ok {
			unfilled[k] = v
		}
	}
	rows := []struct {
		key, label, value string
		required          bool
	}{
		{"email", "Email ученика", e.Email, true},
		{"first_name", "Имя", e.FirstName, false},
		{"last_name", "Фамилия", e.LastName, false},
		{"phone", "Телефон", e.Phone, false},
		{"user_id", "ID пользователя GetCourse", e.GetCourseUserID, false},
		{"deal_id", "ID заказа", e.DealID, false},
		{"deal_number", "Номер заказа", e.DealNumber, false},
		{"status", "Статус заказа", e.Status, false},
		{"cost", "Стоимость", e.Cost, false},
		{"payed", "Оплачено", e.PayedValue, false},
		{"offers", "ID предложений", strings.Join(e.OfferIDs, ", "), false},
		{"positions", "Состав заказа", e.ProductTitle, false},
	}
	out := make([]FieldState, 0, len(rows))
	for _, r := range rows {
		out = append(out, FieldState{Key: r.key, Label: r.label, Value: r.value, Present: r.value != "",
			Unfilled: unfilled[r.key], Required: r.required})
	}
	return out
}
