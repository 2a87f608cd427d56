package webhook

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"booksmeta/internal/enrol"
	"booksmeta/internal/store"
)

// FuzzParse: no body, content type or query makes Parse panic, and what it
// accepts always maps to an event without a secret field.
func FuzzParse(f *testing.F) {
	f.Add("POST", "application/json", "", `{"action":"user_payment","user":{"email":"a@b.ru"}}`)
	f.Add("POST", "application/json", "", `{"json":"{\"action\":\"test\"}"}`)
	f.Add("POST", "application/x-www-form-urlencoded", "secret=x", "action=user_payment&user%5Bemail%5D=a%40b.ru")
	f.Add("GET", "", "secret=s&action=user_payment&email=a@b.ru", "")
	f.Add("POST", "multipart/form-data; boundary=x", "", "--x\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\ntest\r\n--x--\r\n")
	f.Add("POST", "text/plain", "", "{")
	f.Add("POST", "application/json", "secret=s", `{"json":{"eventType":"getcourse/dealPaid","user":{"email":"a@b.ru","gcId":12,"id":"school:12"},"deal":{"id":"5","number":7,"status":"payed","isPayed":true,"payedValue":1.5,"offerIds":[1,2]},"ts64":1700000000}}`)
	f.Add("GET", "", "secret=s&action=deal_updated&deal_id={object.id}&status=%D0%97%D0%B0%D0%B2%D0%B5%D1%80%D1%88%D0%B5%D0%BD&email={object.user.email}&offers=1,2", "")
	f.Fuzz(func(t *testing.T, method, ct, query, body string) {
		q, _ := url.ParseQuery(query)
		fields, err := Parse(method, ct, q, []byte(body))
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("non-ParseError %T %v", err, err)
			}
			return
		}
		if _, ok := fields["secret"]; ok {
			t.Fatal("secret became a field")
		}
		ev := fields.Event()
		for _, v := range []string{ev.Name, ev.FirstName, ev.LastName, ev.Phone, ev.GetCourseUserID, ev.DealID,
			ev.DealNumber, ev.Status, ev.Cost, ev.PayedValue, ev.ProductTitle, ev.OfferCode, ev.EventID} {
			if len(v) > maxField {
				t.Fatalf("field of %d bytes kept", len(v))
			}
			if unfilledVariable(v) {
				t.Fatalf("unfilled template variable %q taken as a value", v)
			}
		}
		// The same delivery sent again must get the same key, or a retry
		// would count as a new payment: parse it again from the start.
		q2, _ := url.ParseQuery(query)
		again, err := Parse(method, ct, q2, []byte(body))
		if err != nil {
			t.Fatalf("accepted once, refused the second time: %v", err)
		}
		k1, h1 := eventKey(http.Header{}, fields, ev)
		k2, h2 := eventKey(http.Header{}, again, again.Event())
		if k1 != k2 || len(h1) != len(h2) || len(k1) > 220 {
			t.Fatalf("key not stable or not bounded: %q %q", k1, k2)
		}
	})
}

// FuzzVerify: no header value panics, and a request is accepted only with
// the right signature or query secret.
func FuzzVerify(f *testing.F) {
	f.Add("sha256=test", "", []byte(`{"action":"test"}`))
	f.Add("SHA256=ABCDEF", "secret=x", []byte(""))
	f.Add(Sign("k3y-secret", []byte("b")), "", []byte("b"))
	f.Fuzz(func(t *testing.T, sig, query string, body []byte) {
		h := http.Header{}
		h.Set("X-GetCourse-Signature", sig)
		q, _ := url.ParseQuery(query)
		r := Verify("k3y-secret", h, q, body)
		if r.OK && r.Mode == "signature" && Sign("k3y-secret", body)[7:] != lowerHex(sig) {
			t.Fatalf("accepted a wrong signature %q", sig)
		}
		if r.OK && r.Mode == "query_secret" && q.Get("secret") != "k3y-secret" {
			t.Fatal("accepted a wrong query secret")
		}
	})
}

func lowerHex(sig string) string {
	b := []byte(sig)
	if len(b) > 7 && equalFoldASCII(string(b[:7]), "sha256=") {
		b = b[7:]
	}
	for i, c := range b {
		if c >= 'A' && c <= 'F' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if x >= 'A' && x <= 'Z' {
			x += 32
		}
		if y >= 'A' && y <= 'Z' {
			y += 32
		}
		if x != y {
			return false
		}
	}
	return true
}

// FuzzRedactBody: skipping the second decode of a JSON body that cannot hold
// a sensitive field name never changes what is stored: the result equals
// always decoding, and no sensitive value survives.
func FuzzRedactBody(f *testing.F) {
	f.Add(`{"action":"user_payment","user":{"email":"a@b.ru"}}`)
	f.Add(`{"Secret":"x","user":{"api_KEY":"y"}}`)
	f.Add(`{"\u0073ecret":"x"}`)
	f.Add(`{"\u212aey":"x"}`)
	f.Add(`[{"token":"t"},{"pass":"p"}]`)
	f.Fuzz(func(t *testing.T, body string) {
		red := newRedactor("k3y-secret")
		got := red.body(body, "application/json")
		want := body
		var v any
		if json.Unmarshal([]byte(body), &v) == nil && redactJSON(v) {
			b, _ := json.Marshal(v)
			want = string(b)
		}
		if want = red.scrub(want); got != want {
			t.Fatalf("fast path stored %q, full redaction %q", got, want)
		}
	})
}

// FuzzTechDelivery: a Tech API delivery built from arbitrary values reads
// back as what was put in — email, GetCourse id in either form, deal id,
// status, isPayed in any of GetCourse's spellings, offers — and its deal
// state does not depend on the event type, so the dealPaid +
// dealStatusChanged pair of one payment is always one event.
func FuzzTechDelivery(f *testing.F) {
	f.Add("a@b.ru", int64(12), "5", "payed", "1", 1.5, int64(77))
	f.Add("x@y.ru", int64(0), "00", "Завершен", "true", 0.0, int64(-1))
	f.Add("", int64(9), "", "false", "false", 12000.0, int64(0))
	f.Fuzz(func(t *testing.T, email string, gcID int64, dealID, status, isPayed string, payed float64, offer int64) {
		var isPayedJSON any = isPayed
		switch isPayed {
		case "1", "0":
			isPayedJSON = isPayed[0] - '0'
		case "true", "false":
			isPayedJSON = isPayed == "true"
		}
		build := func(eventType string) Fields {
			body, err := json.Marshal(map[string]any{"json": map[string]any{
				"eventType": eventType,
				"user":      map[string]any{"email": email, "gcId": gcID, "id": "school:" + strconv.FormatInt(gcID, 10)},
				"deal":      map[string]any{"id": dealID, "status": status, "isPayed": isPayedJSON, "payedValue": payed, "offerIds": []int64{offer}},
				"ts64":      1700000000, "gcSessionId": nil,
			}})
			if err != nil {
				t.Skip()
			}
			fs, err := Parse("POST", "application/json", nil, body)
			if err != nil {
				t.Fatalf("a Tech API delivery was refused: %v\n%s", err, body)
			}
			return fs
		}
		paid, changed := build("getcourse/dealPaid").Event(), build("getcourse/dealStatusChanged").Event()
		if paid.Name != enrol.EventTechDealPaid || paid.Source != enrol.SourceTechAPI {
			t.Fatalf("name %q source %q", paid.Name, paid.Source)
		}
		// GetCourse fires dealPaid only with a status; without one, a
		// dealPaid is a payment and a status change is not, so they differ.
		if enrol.StatusKnown(status) && (paid.DealState() != changed.DealState() || paid.DealKey() != changed.DealKey()) {
			t.Fatalf("the pair differs: %q/%q %q/%q", paid.DealState(), changed.DealState(), paid.DealKey(), changed.DealKey())
		}
		trimmed := strings.TrimSpace(email)
		if utf8.ValidString(email) && trimmed != "" && !unfilledVariable(trimmed) && len(trimmed) <= maxField && !strings.Contains(trimmed, " ") && paid.Email != store.CleanText(trimmed) {
			t.Fatalf("email %q read as %q", email, paid.Email)
		}
		if gcID != 0 && paid.GetCourseUserID != strconv.FormatInt(gcID, 10) {
			t.Fatalf("gcId %d read as %q", gcID, paid.GetCourseUserID)
		}
		if paid.IsPayed != "" && paid.IsPayed != "0" && paid.IsPayed != "1" {
			t.Fatalf("isPayed %q read as %q", isPayed, paid.IsPayed)
		}
		if (isPayed == "1" || isPayed == "true") && paid.IsPayed != "1" {
			t.Fatalf("isPayed %q read as %q", isPayed, paid.IsPayed)
		}
		if len(paid.OfferIDs) != 1 || paid.OfferIDs[0] != strconv.FormatInt(offer, 10) {
			t.Fatalf("offerIds [%d] read as %v", offer, paid.OfferIDs)
		}
		if code := enrol.StatusCode(paid.Status); enrol.StatusCode(code) != code {
			t.Fatalf("status code of %q not stable: %q", paid.Status, code)
		}
	})
}
