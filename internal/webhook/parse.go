package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"mime/multipart"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"booksmeta/internal/enrol"
	"booksmeta/internal/store"
)

// ParseError is a body that cannot be read; Message is for the sender.
type ParseError struct{ Message string }

func (e *ParseError) Error() string { return e.Message }

// Fields is a request's data flattened to dotted names ("user.email").
type Fields map[string]string

// Parse reads the event data of a request: the JSON object, form or
// multipart body of a POST (a {"json":{…}} wrapper unwrapped), or the query
// string of a GET. Query parameters also fill in what a POST body lacks,
// because GetCourse process calls put fields in the URL.
func Parse(method, contentType string, query url.Values, body []byte) (Fields, error) {
	f := Fields{}
	if method == "POST" && len(bytes.TrimSpace(body)) > 0 {
		mt, params, _ := mime.ParseMediaType(contentType)
		var err error
		switch {
		case mt == "application/json" || strings.HasSuffix(mt, "+json"):
			err = parseJSON(body, f)
		case mt == "application/x-www-form-urlencoded":
			err = parseForm(string(body), f)
		case mt == "multipart/form-data":
			err = parseMultipart(body, params["boundary"], f)
		case mt == "" || mt == "text/plain" || mt == "application/octet-stream":
			// Senders that forget the content type: accept what is recognisably JSON or a form.
			if b := bytes.TrimSpace(body); b[0] == '{' {
				err = parseJSON(body, f)
			} else if bytes.ContainsRune(b, '=') {
				err = parseForm(string(b), f)
			} else {
				err = &ParseError{"Тело запроса не похоже ни на JSON, ни на форму. Отправляйте JSON-объект (Content-Type: application/json) или форму (application/x-www-form-urlencoded)."}
			}
		default:
			err = &ParseError{fmt.Sprintf("Тип содержимого %q не поддерживается. Отправляйте JSON (application/json), форму (application/x-www-form-urlencoded) или GET с параметрами в адресе.", mt)}
		}
		if err != nil {
			return nil, err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(query)) { // as in flatten
		vs := query[k]
		if len(vs) == 0 {
			continue
		}
		if _, ok := f[normKey(k)]; !ok {
			f[normKey(k)] = vs[0]
		}
	}
	// The secret authenticates; it is never event data, in whatever case or
	// place a sender put it, so it cannot reach the stored payload.
	delete(f, "secret")
	if len(f) == 0 {
		return nil, &ParseError{"Запрос пустой: нет ни тела, ни параметров. Передайте хотя бы action (название события) и email ученика."}
	}
	return f, nil
}

func parseJSON(body []byte, f Fields) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return &ParseError{"Тело запроса — не корректный JSON (" + jsonProblem(err) + "). Проверьте шаблон запроса в GetCourse: кавычки, запятые и фигурные скобки."}
	}
	if dec.More() {
		return &ParseError{"После JSON-объекта в теле есть лишние данные. Отправляйте ровно один JSON-объект."}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return &ParseError{"Тело запроса должно быть JSON-объектом вида {\"action\": \"user_payment\", …}, а пришёл другой тип значения."}
	}
	// {"json": {...}} or {"json": "{...}"}: unwrap.
	if inner, ok := obj["json"]; ok && len(obj) == 1 {
		switch in := inner.(type) {
		case map[string]any:
			obj = in
		case string:
			return parseJSON([]byte(in), f)
		default:
			return &ParseError{"Поле json должно содержать JSON-объект."}
		}
	}
	flatten("", obj, f)
	return nil
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("ошибка около символа %d", se.Offset)
	}
	return "данные оборваны или испорчены"
}

func flatten(prefix string, v any, f Fields) {
	switch t := v.(type) {
	case map[string]any:
		// Keys that differ only in case become one field; sorted, the same
		// body always keeps the same one, so its key does not change on a retry.
		for _, k := range slices.Sorted(maps.Keys(t)) {
			flatten(join(prefix, k), t[k], f)
		}
	case []any:
		for i, vv := range t {
			flatten(join(prefix, strconv.Itoa(i)), vv, f)
		}
	case nil:
		f[prefix] = ""
	case string:
		f[prefix] = strings.TrimSpace(t)
	case json.Number:
		f[prefix] = t.String()
	case bool:
		f[prefix] = strconv.FormatBool(t)
	default:
		f[prefix] = fmt.Sprint(t)
	}
}

func join(prefix, k string) string {
	if prefix == "" {
		return strings.ToLower(k)
	}
	return prefix + "." + strings.ToLower(k)
}

func parseForm(s string, f Fields) error {
	vals, err := url.ParseQuery(s)
	if err != nil {
		return &ParseError{"Форма в теле запроса испорчена (неверное %-кодирование). Проверьте настройки вызова в GetCourse."}
	}
	for _, k := range slices.Sorted(maps.Keys(vals)) { // as in flatten
		if vs := vals[k]; len(vs) > 0 {
			f[normKey(k)] = strings.TrimSpace(vs[0])
		}
	}
	return nil
}

func parseMultipart(body []byte, boundary string, f Fields) error {
	if boundary == "" {
		return &ParseError{"В заголовке Content-Type: multipart/form-data нет boundary."}
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	form, err := r.ReadForm(1 << 20)
	if err != nil {
		return &ParseError{"Не удалось прочитать multipart-форму: " + err.Error()}
	}
	defer form.RemoveAll()
	for _, k := range slices.Sorted(maps.Keys(form.Value)) { // as in flatten
		if vs := form.Value[k]; len(vs) > 0 {
			f[normKey(k)] = strings.TrimSpace(vs[0])
		}
	}
	return nil
}

// normKey turns PHP-style "user[email]" into "user.email".
func normKey(k string) string {
	k = strings.ToLower(strings.TrimSpace(k))
	k = strings.ReplaceAll(k, "][", ".")
	k = strings.ReplaceAll(k, "[", ".")
	return strings.TrimSuffix(k, "]")
}

// maxField bounds one event field: GetCourse's own values are short, and a
// sender must not be able to store megabytes in a name.
const maxField = 500

// reader picks event fields, remembering template variables GetCourse sent
// literally (it could not fill them) so they count as missing with a reason.
type reader struct {
	f        Fields
	unfilled []string
}

// get returns the first non-empty, filled value among names, as field key.
func (r *reader) get(key string, names ...string) string {
	for _, n := range names {
		v := strings.TrimSpace(r.f[n])
		if v == "" {
			continue
		}
		if unfilledVariable(v) {
			r.note(key, v)
			continue
		}
		return clip(v)
	}
	return ""
}

func (r *reader) note(key, v string) {
	item := key + "=" + clip(v)
	for _, u := range r.unfilled {
		if u == item {
			return
		}
	}
	r.unfilled = append(r.unfilled, item)
}

// unfilledVariable reports whether v is a GetCourse template variable left
// as typed, such as "{object.user.email}" or "{object.payed_at format='Y'}".
func unfilledVariable(v string) bool {
	return strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}") && strings.Contains(v, "object")
}

// clip bounds a field and cleans it: an email or a name with NUL or broken
// UTF-8 would otherwise be accepted and then fail in the database forever.
func clip(v string) string {
	v = store.CleanText(v)
	if len(v) <= maxField {
		return v
	}
	cut := maxField
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut]
}

// Tech API event types (GETCOURSE_REALITY §1 B), in GetCourse's spelling;
// the lowercased form is what a sender's case turns into.
var techEventNames = map[string]string{
	"getcourse/dealcreated":       enrol.EventTechDealCreated,
	"getcourse/dealstatuschanged": enrol.EventTechDealStatusChanged,
	"getcourse/dealpaid":          enrol.EventTechDealPaid,
}

// Event maps the fields to an enrol.Event. It reads the three shapes of
// SPEC §4: a Tech API delivery (eventType, user.gcId, deal.*), a process
// call with the parameters of ProcessParams, and the guide's nested or flat
// names.
func (f Fields) Event() enrol.Event {
	r := &reader{f: f}
	ev := enrol.Event{
		Name:            strings.ToLower(r.get("action", "action", "event", "eventtype", "event_type", "type")),
		Email:           emailValue(r.get("email", "user.email", "email", "user_email", "client.email", "client_email", "deal.user.email", "object.user.email")),
		FirstName:       r.get("first_name", "user.first_name", "first_name", "user.name", "name"),
		LastName:        r.get("last_name", "user.last_name", "last_name"),
		Phone:           r.get("phone", "user.phone", "phone"),
		GetCourseUserID: gcUserID(r.get("user_id", "user.gcid", "user.id", "user.user_id", "user_id", "uid")),
		DealID:          r.get("deal_id", "deal.id", "deal.deal_id", "deal_id"),
		DealNumber:      r.get("deal_number", "deal.number", "deal.deal_number", "deal_number", "number"),
		Status:          r.get("status", "deal.status", "deal.deal_status", "status", "deal_status", "payment_status"),
		Cost:            r.get("cost", "deal.cost", "deal.deal_cost", "cost", "deal_cost", "amount"),
		PayedValue:      r.get("payed", "deal.payedvalue", "payed", "payed_money", "payed_value", "paid"),
		Currency:        strings.ToUpper(r.get("currency", "deal.currency", "currency")),
		IsPayed:         boolValue(r.get("is_payed", "deal.ispayed", "is_payed", "ispayed")),
		ProductTitle:    r.get("positions", "deal.product_title", "product_title", "product", "positions", "deal.positions"),
		OfferCode:       r.get("offer_code", "deal.offer_code", "offer_code"),
		EventID:         r.get("event_id", "event_id", "id_event"),
		OfferIDs:        offerIDs(r),
	}
	if canon, ok := techEventNames[ev.Name]; ok {
		ev.Name, ev.Source = canon, enrol.SourceTechAPI
	} else if ev.Name == ProcessEvent {
		ev.Source = enrol.SourceProcess
	} else {
		ev.Source = enrol.SourceGuide
	}
	ev.Unfilled = r.unfilled
	return ev
}

// offerIDs reads deal.offerIds (a JSON array, flattened to deal.offerids.N)
// or a list in one parameter ({object.offers} prints ids with commas).
func offerIDs(r *reader) []string {
	var ids []string
	for i := 0; ; i++ {
		v, ok := r.f["deal.offerids."+strconv.Itoa(i)]
		if !ok {
			break
		}
		if v = strings.TrimSpace(v); v != "" && len(ids) < 50 {
			ids = append(ids, clip(v))
		}
	}
	if len(ids) > 0 {
		return ids
	}
	list := r.get("offers", "offers", "offer_ids", "offer_id", "deal.offer_ids", "deal.offerids")
	for _, v := range strings.FieldsFunc(list, func(c rune) bool { return c == ',' || c == ';' || unicode.IsSpace(c) }) {
		if len(ids) < 50 {
			ids = append(ids, v)
		}
	}
	return ids
}

// gcUserID reads a GetCourse user id: a number, or the Tech API's
// "<account>:<uid>".
func gcUserID(v string) string {
	if i := strings.LastIndexByte(v, ':'); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// emailValue undoes what an unencoded template substitution does to an
// address: in a query string "+" reads as a space, and no address holds one.
func emailValue(v string) string {
	if strings.Contains(v, " ") && !strings.Contains(v, "+") {
		v = strings.ReplaceAll(strings.TrimSpace(v), " ", "+")
	}
	return v
}

// boolValue normalises GetCourse's 0/1, true/false and "да"/"нет" to "1"
// or "0"; "" stays "" (absent).
func boolValue(v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "":
		return ""
	case "1", "true", "yes", "да", "y", "on":
		return "1"
	}
	return "0"
}

// canonical is a stable text of the fields, used to hash events that carry
// no id of their own (GET callbacks put fields in any order).
func (f Fields) canonical() string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(f[k])
		b.WriteByte('\n')
	}
	return b.String()
}
