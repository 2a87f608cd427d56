package getcoursetest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestConsolePlaysGetCourse(t *testing.T) {
	rc := newReceiver(t)
	rc.answer = func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"success":true,"event_id":"ответ-book-smeta"}`))
	}
	s := NewUnstarted(WithKey("k"))
	ts := httptest.NewServer(s.ConsoleHandler())
	defer ts.Close()
	// A browser: it follows the redirect after each form back to the page.
	browser := &http.Client{}
	submit := func(path string, form url.Values) string {
		t.Helper()
		resp, err := browser.PostForm(ts.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Request.URL.Path != "/" {
			t.Fatalf("%s: %d at %s", path, resp.StatusCode, resp.Request.URL)
		}
		return string(body)
	}

	page := submit("/console/processes", url.Values{"url": {rc.URL + "/api/getcourse/webhook?secret=very-secret&status={object.status}&email={object.user.email}&phone={object.user.phone}"}, "method": {"GET"}, "status_label": {"1"}})
	if !strings.Contains(page, "Процесс «Вызвать URL» добавлен") || strings.Contains(page, "very-secret") {
		t.Fatalf("after adding a process the page shows the message and hides the secret:\n%s", page)
	}
	submit("/console/subscriptions", url.Values{"uri": {rc.URL + "/tech?secret=very-secret"}})
	if len(s.Subscriptions()) != 3 {
		t.Fatalf("subscriptions %+v", s.Subscriptions())
	}
	page = submit("/console/orders", url.Values{"email": {"new@example.ru"}, "first_name": {"Пётр"}, "offer_ids": {"3301, 3302"}, "positions": {"10 часов"}, "cost": {"12 000,50"}, "currency": {"RUB"}})
	if !strings.Contains(page, "создан в статусе «Новый»") || !strings.Contains(page, "Отправлено запросов: 2, принято (2xx): 2") {
		t.Fatalf("create message missing:\n%s", page)
	}
	orders := s.Orders()
	if len(orders) != 1 || orders[0].Cost != 12000.5 || len(orders[0].OfferIDs) != 2 {
		t.Fatalf("orders %+v", orders)
	}
	id := strconv.FormatInt(orders[0].DealID, 10)
	submit("/console/orders/"+id+"/pay", nil)
	page = submit("/console/orders/"+id+"/refund", url.Values{"final": {"cancelled"}})
	if !strings.Contains(page, "теперь в статусе «Отменен»") {
		t.Fatalf("refund message missing")
	}
	page = submit("/console/orders/"+id+"/status", url.Values{"status": {"cancelled"}})
	if !strings.Contains(page, "уже в этом статусе") {
		t.Fatal("same status not explained")
	}

	// create 2 + pay 3 + refund 2×2
	got := rc.all()
	if len(got) != 9 {
		t.Fatalf("receiver saw %d requests", len(got))
	}
	var labels []string
	for _, r := range got {
		if r.Path == "/api/getcourse/webhook" {
			labels = append(labels, r.Query.Get("status"))
			if r.Query.Get("phone") != "{object.user.phone}" {
				t.Fatalf("phone %q", r.Query.Get("phone"))
			}
		}
	}
	if strings.Join(labels, ",") != "Новый,Завершен,Ожидаем возврата,Отменен" {
		t.Fatalf("process statuses %v", labels)
	}

	// The log shows what went where and what Book Smeta answered.
	for _, want := range []string{"Журнал отправок", "getcourse/dealPaid", "&#34;eventType&#34;: &#34;getcourse/dealStatusChanged&#34;", "ответ-book-smeta", "HTTP 200", "status = Ожидаем возврата", "new@example.ru", "12\u00a0000,50 руб."} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "very-secret") {
		t.Error("the page shows the webhook secret")
	}

	// An intake that does not answer: the reason is shown, the secret not.
	gone := newReceiver(t)
	gone.Close()
	submit("/console/processes", url.Values{"url": {gone.URL + "/?secret=very-secret&id={object.id}"}})
	page = submit("/console/orders/"+id+"/status", url.Values{"status": {"new"}})
	if !strings.Contains(page, "нет ответа: ") || !strings.Contains(page, "процесс «Вызвать URL»") || strings.Contains(page, "very-secret") {
		t.Fatal("a failed delivery is not shown, or shows the secret")
	}

	// Bad input is explained in Russian, nothing is created.
	page = submit("/console/orders", url.Values{"email": {"x@example.ru"}, "cost": {"дорого"}})
	if !strings.Contains(page, "Стоимость должна быть числом") || len(s.Orders()) != 1 {
		t.Fatal("bad cost accepted")
	}

	// The API is still served on the same address.
	resp, err := http.Get(ts.URL + "/pl/api/account/groups?key=k")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"success":true`) {
		t.Fatalf("API behind the console: %s", body)
	}
}
