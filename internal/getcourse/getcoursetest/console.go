package getcoursetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ConsoleHandler serves a small Russian page at / where a newcomer plays
// GetCourse: creates an order, pays it, refunds it, and sees what was sent
// where and what came back. Plain forms, no JavaScript. Everything else goes
// to Handler(), so the API stays at /pl/api on the same address.
func (s *Server) ConsoleHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.consolePage)
	mux.HandleFunc("POST /console/orders", s.consoleCreate)
	mux.HandleFunc("POST /console/orders/{id}/{action}", s.consoleOrder)
	mux.HandleFunc("POST /console/processes", s.consoleAddProcess)
	mux.HandleFunc("POST /console/processes/{i}/delete", s.consoleDeleteProcess)
	mux.HandleFunc("POST /console/subscriptions", s.consoleSubscribe)
	mux.HandleFunc("POST /console/quirks", s.consoleQuirks)
	mux.Handle("/", s.Handler())
	return mux
}

// back returns to the page with a message: post, redirect, get, so that a
// reload does not pay an order twice.
func back(w http.ResponseWriter, r *http.Request, msg string) {
	http.Redirect(w, r, "/?msg="+url.QueryEscape(msg), http.StatusSeeOther)
}

func russianOrderError(err error) string {
	switch {
	case errors.Is(err, ErrNoOrder):
		return "Заказ не найден."
	case errors.Is(err, ErrSameStatus):
		return "Заказ уже в этом статусе — GetCourse ничего не отправляет."
	case errors.Is(err, ErrUnknownStatus):
		return "Неизвестный статус заказа."
	case errors.Is(err, ErrBadOrder):
		return "Проверьте данные: нужен email, стоимость не меньше нуля, частичная оплата — больше нуля и не больше остатка."
	}
	return "Не получилось: " + err.Error()
}

// summary tells in one sentence what was sent and what came back.
func summary(what string, ds []Delivery) string {
	if len(ds) == 0 {
		return what + " Отправлять некуда: нет подписок (set-uri) и процессов «Вызвать URL»."
	}
	ok := 0
	for _, d := range ds {
		if d.OK() {
			ok++
		}
	}
	return fmt.Sprintf("%s Отправлено запросов: %d, принято (2xx): %d. Подробности — в журнале ниже.", what, len(ds), ok)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseMoney(s string) (float64, error) {
	s = strings.NewReplacer(" ", "", "\u00a0", "", ",", ".").Replace(strings.TrimSpace(s))
	if s == "" {
		return 0, nil
	}
	return strconv.ParseFloat(s, 64)
}

func (s *Server) consoleCreate(w http.ResponseWriter, r *http.Request) {
	cost, err := parseMoney(r.FormValue("cost"))
	if err != nil {
		back(w, r, "Стоимость должна быть числом, например 12000 или 12000,50.")
		return
	}
	var offers []int64
	for _, p := range splitList(r.FormValue("offer_ids")) {
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil || id <= 0 {
			back(w, r, "ID предложений — целые числа через запятую, например 3301, 3302.")
			return
		}
		offers = append(offers, id)
	}
	n := NewOrder{
		Email: r.FormValue("email"), FirstName: strings.TrimSpace(r.FormValue("first_name")),
		LastName: strings.TrimSpace(r.FormValue("last_name")), Phone: strings.TrimSpace(r.FormValue("phone")),
		OfferIDs: offers, Positions: splitList(r.FormValue("positions")), Cost: cost,
		Currency: r.FormValue("currency"), Promocode: strings.TrimSpace(r.FormValue("promocode")),
	}
	if r.FormValue("paid") != "" {
		n.Status = "payed"
	}
	o, ds, err := s.CreateOrder(r.Context(), n)
	if err != nil {
		back(w, r, russianOrderError(err))
		return
	}
	back(w, r, summary(fmt.Sprintf("Заказ №%d (ID %d) для %s создан в статусе «%s».", o.Number, o.DealID, o.User.Email, DealStatusLabel(o.Status)), ds))
}

func (s *Server) consoleOrder(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		back(w, r, "Заказ не найден.")
		return
	}
	var (
		o  Order
		ds []Delivery
	)
	switch r.PathValue("action") {
	case "pay":
		o, ds, err = s.PayOrder(r.Context(), id)
	case "part-pay":
		amount, perr := parseMoney(r.FormValue("amount"))
		if perr != nil {
			back(w, r, "Сумма частичной оплаты должна быть числом.")
			return
		}
		o, ds, err = s.PartPayOrder(r.Context(), id, amount)
	case "refund":
		o, ds, err = s.RefundOrder(r.Context(), id, r.FormValue("final"))
	case "status":
		o, ds, err = s.SetOrderStatus(r.Context(), id, r.FormValue("status"))
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		back(w, r, russianOrderError(err))
		return
	}
	back(w, r, summary(fmt.Sprintf("Заказ №%d теперь в статусе «%s».", o.Number, DealStatusLabel(o.Status)), ds))
}

func (s *Server) consoleAddProcess(w http.ResponseWriter, r *http.Request) {
	raw := strings.TrimSpace(r.FormValue("url"))
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		back(w, r, "Нужен полный адрес, например скопированный из панели Book Smeta: http://127.0.0.1:8080/api/getcourse/webhook?secret=…")
		return
	}
	method := http.MethodGet
	if r.FormValue("method") == http.MethodPost {
		method = http.MethodPost
	}
	s.AddProcess(ProcessHook{URL: raw, Method: method, Quirks: ProcessQuirks{StatusLabel: r.FormValue("status_label") != ""}})
	back(w, r, "Процесс «Вызвать URL» добавлен: он сработает при создании заказа и при каждой смене статуса.")
}

func (s *Server) consoleDeleteProcess(w http.ResponseWriter, r *http.Request) {
	i, err := strconv.Atoi(r.PathValue("i"))
	if err == nil {
		s.RemoveProcess(i)
	}
	back(w, r, "Процесс удалён.")
}

func (s *Server) consoleSubscribe(w http.ResponseWriter, r *http.Request) {
	raw := strings.TrimSpace(r.FormValue("uri"))
	if raw == "" {
		for id := range eventTypes {
			s.Subscribe(id, "")
		}
		back(w, r, "Подписки сняты.")
		return
	}
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		back(w, r, "Нужен полный адрес для уведомлений, например http://127.0.0.1:8080/api/getcourse/webhook?secret=…")
		return
	}
	for id := range eventTypes {
		s.Subscribe(id, raw)
	}
	back(w, r, "Адрес подписан на все три события заказов, как это сделал бы set-uri.")
}

func (s *Server) consoleQuirks(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.techQuirks.IsPayedBool = r.FormValue("is_payed_bool") != ""
	s.techQuirks.StatusChangedFirst = r.FormValue("status_changed_first") != ""
	s.mu.Unlock()
	back(w, r, "Особенности доставки сохранены.")
}

// MaskSecret hides the secret parameter of an address that is shown: people
// share screenshots of this page and of terminals.
func MaskSecret(raw string) string {
	base, query, ok := strings.Cut(raw, "?")
	if !ok {
		return raw
	}
	parts := strings.Split(query, "&")
	for i, p := range parts {
		if name, _, _ := strings.Cut(p, "="); name == "secret" {
			parts[i] = "secret=•••"
		}
	}
	return base + "?" + strings.Join(parts, "&")
}

type consoleDelivery struct {
	Delivery
	What, Where, Request, Answer, When, StatusLabel string
}

type consoleOrder struct {
	Order
	StatusLabel string
	Offers      string
}

func (s *Server) consolePage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	account, key, devKey := s.account, s.key, s.developerKey
	quirks := s.techQuirks
	s.mu.Unlock()

	var orders []consoleOrder
	list := s.Orders()
	for i := len(list) - 1; i >= 0; i-- {
		o := list[i]
		ids := make([]string, len(o.OfferIDs))
		for j, id := range o.OfferIDs {
			ids[j] = strconv.FormatInt(id, 10)
		}
		orders = append(orders, consoleOrder{Order: o, StatusLabel: DealStatusLabel(o.Status), Offers: strings.Join(ids, ", ")})
	}
	var deliveries []consoleDelivery
	ds := s.Deliveries()
	for i := len(ds) - 1; i >= 0 && len(deliveries) < 50; i-- {
		d := ds[i]
		cd := consoleDelivery{Delivery: d, Where: d.Method + " " + MaskSecret(d.URL), When: d.At.In(s.loc).Format("15:04:05"), StatusLabel: DealStatusLabel(d.Status), What: d.Event}
		if d.Shape != ShapeTechAPI {
			cd.What = "процесс «Вызвать URL»"
		}
		cd.Request = d.Text()
		if d.Error != "" {
			cd.Answer = "нет ответа: " + d.Error
		} else {
			cd.Answer = fmt.Sprintf("HTTP %d, %d мс\n%s", d.HTTPStatus, d.Duration.Milliseconds(), truncateText(string(d.Answer), 2000))
		}
		deliveries = append(deliveries, cd)
	}
	var subs []Subscription
	for _, sub := range s.Subscriptions() {
		sub.URI = MaskSecret(sub.URI)
		subs = append(subs, sub)
	}
	var procs []ProcessHook
	for _, p := range s.Processes() {
		p.URL = MaskSecret(p.URL)
		procs = append(procs, p)
	}
	statuses := make([]struct{ Code, Label string }, 0, len(dealStatusLabels))
	for _, code := range []string{"new", "in_work", "payment_waiting", "part_payed", "payed", "waiting_for_return", "cancelled", "false", "not_confirmed", "pending"} {
		statuses = append(statuses, struct{ Code, Label string }{code, dealStatusLabels[code]})
	}
	api := "http://" + r.Host + APIPath
	data := map[string]any{
		"Account": account, "API": api, "Key": key, "DeveloperKey": devKey,
		"Msg": r.URL.Query().Get("msg"), "Orders": orders, "Deliveries": deliveries,
		"Subscriptions": subs, "Processes": procs, "Quirks": quirks, "Statuses": statuses,
		"Now": s.now().In(s.loc).Format("02.01.2006 15:04"),
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := consoleTemplate.Execute(w, data); err != nil {
		http.Error(w, "page: "+err.Error(), http.StatusInternalServerError)
	}
}

// Text shows what a delivery carried, for people: Tech API JSON indented,
// process parameters one per line and decoded, as the receiver reads them,
// the secret masked.
func (d Delivery) Text() string {
	var pretty bytes.Buffer
	if d.Shape == ShapeTechAPI && json.Indent(&pretty, d.Body, "", "  ") == nil {
		return pretty.String()
	}
	raw := string(d.Body)
	if d.Shape == ShapeProcessGET {
		_, raw, _ = strings.Cut(d.URL, "?")
	}
	var b strings.Builder
	for _, part := range strings.Split(raw, "&") {
		name, value, _ := strings.Cut(part, "=")
		n, err1 := url.QueryUnescape(name)
		v, err2 := url.QueryUnescape(value)
		if err1 != nil || err2 != nil {
			n, v = name, value
		}
		if n == "secret" {
			v = "•••"
		}
		if n != "" {
			b.WriteString(n + " = " + v + "\n")
		}
	}
	return b.String()
}

func truncateText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

var consoleTemplate = template.Must(template.New("console").Funcs(template.FuncMap{
	"money": func(v float64, currency string) string { return money(v, currency) },
	"time":  func(t time.Time) string { return t.Format("02.01.2006 15:04:05") },
}).Parse(consoleHTML))

const consoleHTML = `<!DOCTYPE html>
<html lang="ru"><head><meta charset="utf-8">
<title>Фейковый GetCourse — {{.Account}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:72rem;margin:1rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%} td,th{border:1px solid #ddd;padding:.3rem;vertical-align:top;text-align:left}
pre{white-space:pre-wrap;word-break:break-all;margin:0;font-size:.8rem;max-height:16rem;overflow:auto}
.msg{background:#eef6ff;border:1px solid #9cc3ee;padding:.6rem} .ok{color:#176317} .bad{color:#a31515}
form.inline{display:inline} label{display:inline-block;margin:.2rem .6rem .2rem 0} input[type=text],input[type=email]{width:14rem}
.wide{width:40rem!important} small{color:#666}
</style></head><body>
<h1>Фейковый GetCourse: аккаунт «{{.Account}}»</h1>
<p>Эта страница изображает школу на GetCourse. Создайте заказ, оплатите или верните его — фейк отправит
в Book Smeta то же, что отправил бы настоящий GetCourse: уведомления Tech API на адреса, подписанные через
set-uri, и вызовы процессов «Вызвать URL». Внизу видно, что куда ушло и что ответила Book Smeta.</p>
<p><small>API: <code>{{.API}}</code>, ключ школы: <code>{{.Key}}</code>, ключ разработчика (для set-uri): <code>{{.DeveloperKey}}</code>. Сейчас {{.Now}} по времени аккаунта.</small></p>
{{with .Msg}}<p class="msg">{{.}}</p>{{end}}

<h2>Куда GetCourse отправляет</h2>
<p><b>Подписки Tech API</b> (оформляются через set-uri или здесь):</p>
{{if .Subscriptions}}<table><tr><th>Событие</th><th>Адрес</th></tr>
{{range .Subscriptions}}<tr><td>{{.EventType}}</td><td><code>{{.URI}}</code></td></tr>{{end}}</table>
{{else}}<p><small>Подписок нет.</small></p>{{end}}
<form method="post" action="/console/subscriptions">
<label>Адрес для уведомлений <input type="text" class="wide" name="uri" placeholder="http://127.0.0.1:8080/api/getcourse/webhook?secret=…"></label>
<button>Подписать на все события заказов</button> <small>(пустой адрес — снять подписки)</small>
</form>
<p><b>Процессы «Вызвать URL»</b> (срабатывают при создании заказа и при каждой смене статуса):</p>
{{if .Processes}}<table><tr><th>Метод</th><th>Адрес</th><th>Статус</th><th></th></tr>
{{range $i, $p := .Processes}}<tr><td>{{$p.Method}}</td><td><code>{{$p.URL}}</code></td><td>{{if $p.Quirks.StatusLabel}}по-русски{{else}}кодом{{end}}</td>
<td><form class="inline" method="post" action="/console/processes/{{$i}}/delete"><button>Удалить</button></form></td></tr>{{end}}</table>
{{else}}<p><small>Процессов нет.</small></p>{{end}}
<form method="post" action="/console/processes">
<label>Адрес процесса <input type="text" class="wide" name="url" placeholder="адрес из панели Book Smeta с {object.id}, {object.user.email}, …"></label><br>
<label>Метод <select name="method"><option>GET</option><option>POST</option></select></label>
<label><input type="checkbox" name="status_label" value="1"> статус по-русски («Завершен» вместо payed)</label>
<button>Добавить процесс</button>
</form>
<form method="post" action="/console/quirks">
<p><b>Особенности Tech API:</b>
<label><input type="checkbox" name="is_payed_bool" value="1" {{if .Quirks.IsPayedBool}}checked{{end}}> isPayed как true/false (а не 1/0)</label>
<label><input type="checkbox" name="status_changed_first" value="1" {{if .Quirks.StatusChangedFirst}}checked{{end}}> при оплате сначала dealStatusChanged, потом dealPaid</label>
<button>Сохранить</button></p>
</form>

<h2>Новый заказ</h2>
<form method="post" action="/console/orders">
<label>Email <input type="email" name="email" required placeholder="student@example.ru"></label>
<label>Имя <input type="text" name="first_name"></label>
<label>Фамилия <input type="text" name="last_name"></label>
<label>Телефон <input type="text" name="phone" placeholder="можно оставить пустым"></label><br>
<label>ID предложений <input type="text" name="offer_ids" placeholder="3301, 3302"></label>
<label>Названия <input type="text" name="positions" placeholder="Доступ к серверу: 10 часов"></label>
<label>Стоимость <input type="text" name="cost" value="12000" size="8"></label>
<label>Валюта <select name="currency"><option>RUB</option><option>USD</option><option>EUR</option></select></label>
<label>Промокод <input type="text" name="promocode"></label><br>
<label><input type="checkbox" name="paid" value="1"> создать сразу оплаченным (так приходит бесплатный заказ)</label>
<button>Создать заказ</button>
</form>

<h2>Заказы</h2>
{{if .Orders}}<table><tr><th>№ / ID</th><th>Ученик</th><th>Состав</th><th>Стоимость / оплачено</th><th>Статус</th><th>Действия</th></tr>
{{range .Orders}}<tr><td>№{{.Number}}<br><small>ID {{.DealID}}</small></td><td>{{.User.Email}}<br><small>{{.User.FirstName}} {{.User.LastName}} (ID {{.User.ID}})</small></td>
<td>{{range .Positions}}{{.}}<br>{{end}}<small>предложения: {{or .Offers "—"}}</small></td>
<td>{{money .Cost .Currency}}<br><small>оплачено {{money .Payed .Currency}}</small></td><td>{{.StatusLabel}}<br><small>{{.Status}}</small></td>
<td>
<form class="inline" method="post" action="/console/orders/{{.DealID}}/pay"><button>Оплатить</button></form>
<form class="inline" method="post" action="/console/orders/{{.DealID}}/part-pay"><input type="text" name="amount" size="6" placeholder="сумма"><button>Частично</button></form><br>
<form class="inline" method="post" action="/console/orders/{{.DealID}}/refund"><input type="hidden" name="final" value="cancelled"><button>Возврат → Отменен</button></form>
<form class="inline" method="post" action="/console/orders/{{.DealID}}/refund"><input type="hidden" name="final" value="false"><button>Возврат → Ложный</button></form><br>
<form class="inline" method="post" action="/console/orders/{{.DealID}}/status"><select name="status">{{range $.Statuses}}<option value="{{.Code}}">{{.Label}}</option>{{end}}</select><button>Сменить статус</button></form>
</td></tr>{{end}}</table>
{{else}}<p><small>Заказов пока нет.</small></p>{{end}}

<h2>Журнал отправок</h2>
{{if .Deliveries}}<table><tr><th>Когда</th><th>Что и куда</th><th>Запрос</th><th>Ответ</th></tr>
{{range .Deliveries}}<tr><td>{{.When}}</td><td>{{.What}}<br><small>заказ ID {{.DealID}}, «{{.StatusLabel}}»</small><br><code>{{.Where}}</code></td>
<td><pre>{{.Request}}</pre></td><td class="{{if .OK}}ok{{else}}bad{{end}}"><pre>{{.Answer}}</pre></td></tr>{{end}}</table>
{{else}}<p><small>Пока ничего не отправлено.</small></p>{{end}}
</body></html>
`
