package webhook

import (
	"booksmeta"

	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("action", "user_payment")
	mw.WriteField("user[email]", "mp@example.ru")
	mw.Close()

	tests := []struct {
		name, method, ct, query, body string
		want                          map[string]string // on the resulting Event-relevant fields
		err                           string
	}{
		{"guide JSON", "POST", "application/json", "", `{"action":"user_payment","user":{"email":"A@B.ru","first_name":"Анна","last_name":"Ли","phone":"+7 900","user_id":42}}`,
			map[string]string{"event": "user_payment", "email": "A@B.ru", "first": "Анна", "last": "Ли", "phone": "+7 900", "uid": "42"}, ""},
		{"flat JSON with charset", "POST", "application/json; charset=utf-8", "", `{"event":"deal_created","email":"x@y.ru","deal_id":"77","status":"payed","cost":"12 000,00"}`,
			map[string]string{"event": "deal_created", "email": "x@y.ru", "deal": "77", "status": "payed", "cost": "12 000,00"}, ""},
		{"json wrapper object", "POST", "application/json", "", `{"json":{"action":"user_payment","email":"w@x.ru"}}`,
			map[string]string{"event": "user_payment", "email": "w@x.ru"}, ""},
		{"json wrapper string", "POST", "application/json", "", `{"json":"{\"action\":\"test\"}"}`,
			map[string]string{"event": "test"}, ""},
		{"form flat", "POST", "application/x-www-form-urlencoded", "", "action=user_payment&email=f%40x.ru&first_name=%D0%98",
			map[string]string{"event": "user_payment", "email": "f@x.ru", "first": "И"}, ""},
		{"form PHP nested", "POST", "application/x-www-form-urlencoded", "", "action=user_payment&user%5Bemail%5D=n%40x.ru",
			map[string]string{"event": "user_payment", "email": "n@x.ru"}, ""},
		{"multipart", "POST", mw.FormDataContentType(), "", mp.String(),
			map[string]string{"event": "user_payment", "email": "mp@example.ru"}, ""},
		{"GET process call", "GET", "", "secret=s&action=user_payment&email=g%40x.ru&first_name=Gena", "",
			map[string]string{"event": "user_payment", "email": "g@x.ru", "first": "Gena"}, ""},
		{"POST fields from query", "POST", "", "action=user_registered&email=q%40x.ru", "",
			map[string]string{"event": "user_registered", "email": "q@x.ru"}, ""},
		{"body wins over query", "POST", "application/json", "email=query%40x.ru", `{"action":"test","email":"body@x.ru"}`,
			map[string]string{"email": "body@x.ru"}, ""},
		{"JSON without content type", "POST", "", "", `{"action":"test"}`, map[string]string{"event": "test"}, ""},
		{"event name upper case", "POST", "application/json", "", `{"action":"USER_PAYMENT"}`, map[string]string{"event": "user_payment"}, ""},
		{"malformed JSON", "POST", "application/json", "", `{"action": "test"`, nil, "не корректный JSON"},
		{"JSON array", "POST", "application/json", "", `[1,2]`, nil, "JSON-объектом"},
		{"trailing garbage", "POST", "application/json", "", `{"action":"test"} {}`, nil, "лишние данные"},
		{"unsupported content type", "POST", "application/xml", "", `<a/>`, nil, "не поддерживается"},
		{"plain text nonsense", "POST", "text/plain", "", `hello`, nil, "не похоже"},
		{"empty", "POST", "application/json", "", ``, nil, "пустой"},
		{"bad form escape", "POST", "application/x-www-form-urlencoded", "", "a=%zz", nil, "испорчена"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			f, err := Parse(tc.method, tc.ct, q, []byte(tc.body))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, leaked := f["secret"]; leaked {
				t.Fatal("the secret query parameter must not become a field")
			}
			ev := f.Event()
			got := map[string]string{"event": ev.Name, "email": ev.Email, "first": ev.FirstName, "last": ev.LastName,
				"phone": ev.Phone, "uid": ev.GetCourseUserID, "deal": ev.DealID, "status": ev.Status, "cost": ev.Cost}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	f := func(s string) Fields { q, _ := url.ParseQuery(s); r, _ := Parse("GET", "", q, nil); return r }
	key := func(h http.Header, fs Fields) (string, []booksmeta.Head) { return eventKey(h, fs, fs.Event()) }
	h := http.Header{"Idempotency-Key": {"abc"}}
	if k, heads := key(h, f("action=test")); k != "h:abc" || heads != nil {
		t.Fatalf("header key = %q %v", k, heads)
	}
	if k, _ := key(nil, f("action=test&event_id=9")); k != "e:9" {
		t.Fatalf("event_id key = %q", k)
	}
	// A deal's state is the subject's state: the name of the event does not
	// matter (dealPaid and dealStatusChanged are one payment).
	k1, heads := key(nil, f("action=deal_created&deal_id=5&status=payed&email=A@b.ru"))
	k2, _ := key(nil, f("action=user_payment&deal_id=5&email=a@b.ru"))
	k3, _ := key(nil, f("action=deal_updated&deal_id=5&status=%D0%97%D0%B0%D0%B2%D0%B5%D1%80%D1%88%D0%B5%D0%BD"))
	if k1 != "d:id:5:payed||" || k2 != k1 || k3 != k1 {
		t.Fatalf("deal keys = %q %q %q", k1, k2, k3)
	}
	if len(heads) != 2 || heads[0].Subject != "d:id:5" || heads[1].Subject != "u:a@b.ru" {
		t.Fatalf("deal heads = %+v", heads)
	}
	a, ha := key(nil, f("action=user_payment&email=a@b.ru&first_name=A"))
	b, _ := key(nil, f("first_name=A&email=a@b.ru&action=user_payment"))
	c, _ := key(nil, f("action=user_payment&email=other@b.ru"))
	if a != b || a == c || !strings.HasPrefix(a, "u:") || len(ha) != 1 || ha[0].Subject != "u:a@b.ru" {
		t.Fatalf("content keys: %q %q %q %+v", a, b, c, ha)
	}
	if k, heads := key(nil, f("action=test&note=x")); !strings.HasPrefix(k, "b:") || heads != nil {
		t.Fatalf("subjectless key = %q %v", k, heads)
	}
	if k, _ := key(http.Header{"Webhook-Id": {strings.Repeat("x", 500)}}, f("action=test")); len(k) > 200 {
		t.Fatalf("long key not bounded: %d", len(k))
	}
}

func TestRedaction(t *testing.T) {
	r := newRedactor("supersecretvalue")
	h := map[string][]string{"X-Getcourse-Signature": {"sha256=abc"}, "Authorization": {"Bearer x"}, "X-Other": {"has supersecretvalue inside"}}
	got := r.headers(h)
	if strings.Contains(got, "sha256=abc") || strings.Contains(got, "Bearer") || strings.Contains(got, "supersecretvalue") {
		t.Fatalf("headers not redacted: %s", got)
	}
	q := r.query(url.Values{"secret": {"supersecretvalue"}, "email": {"a@b.ru"}})
	if strings.Contains(q, "supersecretvalue") || !strings.Contains(q, "email=a@b.ru") {
		t.Fatalf("query: %s", q)
	}
	b := r.body(`{"action":"x","user":{"password":"p4ss"},"api_key":"k"}`, "application/json")
	if strings.Contains(b, "p4ss") || strings.Contains(b, `"k"`) {
		t.Fatalf("json body: %s", b)
	}
	fb := r.body("secret=zzz&email=a", "application/x-www-form-urlencoded")
	if strings.Contains(fb, "zzz") {
		t.Fatalf("form body: %s", fb)
	}
}

// TestParseGetCourseShapes reads the two shapes GetCourse really sends
// (GETCOURSE_REALITY §1) field by field.
func TestParseGetCourseShapes(t *testing.T) {
	tech := `{"json":{"eventType":"getcourse/dealStatusChanged","user":{"email":"Olga@Example.ru","gcId":345678,"id":"school:345678","type":"user"},
		"deal":{"id":"9876543","number":1234,"status":"part_payed","isPayed":0,"cost":12000,"payedValue":4999.99,"currency":"USD",
		"offerIds":[111,222],"createdAt":"2026-12-01 10:00:00","clientDealNumber":1234},"ts":"2026-12-01T10:00:00Z","ts64":1764572400,
		"gcAccountId":42,"gcSessionId":null,"gcVisitorId":null}}`
	f, err := Parse("POST", "application/json", nil, []byte(tech))
	if err != nil {
		t.Fatal(err)
	}
	ev := f.Event()
	want := map[string]string{"name": ev.Name, "source": ev.Source, "email": ev.Email, "gc": ev.GetCourseUserID, "deal": ev.DealID,
		"number": ev.DealNumber, "status": ev.Status, "is_payed": ev.IsPayed, "cost": ev.Cost, "payed": ev.PayedValue,
		"currency": ev.Currency, "offers": strings.Join(ev.OfferIDs, ",")}
	for k, v := range map[string]string{"name": "getcourse/dealStatusChanged", "source": "techapi", "email": "Olga@Example.ru",
		"gc": "345678", "deal": "9876543", "number": "1234", "status": "part_payed", "is_payed": "0", "cost": "12000",
		"payed": "4999.99", "currency": "USD", "offers": "111,222"} {
		if want[k] != v {
			t.Errorf("%s = %q, want %q", k, want[k], v)
		}
	}
	if ev.EventID != "" {
		t.Errorf("ts/ts64 or ids taken as an event id: %q", ev.EventID)
	}

	// A process call: the panel's address with the variables GetCourse
	// filled in, the status as a Russian label, the phone left unfilled,
	// the email with "+" unencoded (a space once decoded).
	q, _ := url.ParseQuery("secret=s&action=deal_updated&deal_id=77&deal_number=501&status=%D0%97%D0%B0%D0%B2%D0%B5%D1%80%D1%88%D0%B5%D0%BD" +
		"&email=ivan+gc@example.ru&first_name=%D0%98%D0%B2%D0%B0%D0%BD&phone={object.user.phone}&user_id=555&cost=12000" +
		"&payed=12+000+%D1%80%D1%83%D0%B1.&offers=111,+222&positions=%D0%9A%D1%83%D1%80%D1%81")
	f, err = Parse("GET", "", q, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev = f.Event()
	if ev.Name != ProcessEvent || ev.Source != "process" || ev.Email != "ivan+gc@example.ru" || ev.Status != "Завершен" ||
		ev.DealID != "77" || ev.GetCourseUserID != "555" || ev.Phone != "" || ev.ProductTitle != "Курс" ||
		strings.Join(ev.OfferIDs, ",") != "111,222" || ev.PayedValue != "12 000 руб." {
		t.Fatalf("process call read as %+v", ev)
	}
	if len(ev.Unfilled) != 1 || ev.Unfilled[0] != "phone={object.user.phone}" {
		t.Fatalf("unfilled = %v", ev.Unfilled)
	}
	report := map[string]bool{}
	for _, r := range ev.FieldReport() {
		report[r.Key] = r.Present
		if r.Key == "phone" && r.Unfilled != "{object.user.phone}" {
			t.Errorf("report does not name the unfilled phone: %+v", r)
		}
	}
	if !report["email"] || report["phone"] || !report["offers"] {
		t.Fatalf("field report %v", report)
	}

	// The guide's shape still reads as before.
	f, _ = Parse("POST", "application/json", nil, []byte(`{"action":"user_payment","user":{"email":"a@b.ru"},"offer_code":"BASE","product_title":"Курс"}`))
	if ev := f.Event(); ev.Source != "guide" || ev.OfferCode != "BASE" || ev.ProductTitle != "Курс" || ev.Name != "user_payment" {
		t.Fatalf("guide shape %+v", ev)
	}
	// Fields are bounded.
	f, _ = Parse("POST", "application/json", nil, []byte(`{"action":"user_payment","email":"a@b.ru","first_name":"`+strings.Repeat("Я", 400)+`"}`))
	if ev := f.Event(); len(ev.FirstName) > maxField || !utf8.ValidString(ev.FirstName) {
		t.Fatalf("first name of %d bytes kept", len(ev.FirstName))
	}
}
