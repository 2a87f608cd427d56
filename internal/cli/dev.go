package cli

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/getcourse"
	"booksmeta/internal/getcourse/getcoursetest"
	"booksmeta/internal/webhook"
)

const devUsage = `как вызвать: booksmeta dev fake-getcourse [--addr 127.0.0.1:8091] [--key K] [--read-only-key K] [--developer-key K] [--ready-after N] [--rate-limit N] [--process-url URL] [--process-method GET|POST] [--subscribe URL]
       booksmeta dev deliver [--url URL] --email E [--shape techapi|process-get|process-post] [--status payed] [--pair] [--deal-id N] [--offer-id N] [--cost 12000] [--currency RUB]`

func runDev(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 {
		return usageError{devUsage}
	}
	switch args[0] {
	case "fake-getcourse":
		return runFakeGetCourse(ctx, e, args[1:])
	case "deliver":
		return runDeliver(ctx, e, args[1:])
	}
	return usageError{devUsage}
}

func runFakeGetCourse(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("dev fake-getcourse", e)
	addr := fs.String("addr", "127.0.0.1:8091", "адрес, на котором принимать соединения")
	account := fs.String("account", "school", "имя аккаунта")
	key := fs.String("key", "demo-secret-key", "API-ключ с полными правами")
	roKey := fs.String("read-only-key", "demo-read-only-key", "API-ключ «Только для чтения» (только выгрузки)")
	devKey := fs.String("developer-key", "demo-developer-key", "ключ разработчика, который принимает set-uri Tech API (bearer <ключ разработчика>_<API-ключ>)")
	readyAfter := fs.Int("ready-after", 1, "сколько проверок выгрузка отвечает «не готова» (909), прежде чем будет готова")
	rateLimit := fs.Int("rate-limit", 0, "сколько запросов Export API за 2 часа разрешено до ошибки 903 (0 — без предела)")
	var processURLs []string
	fs.Func("process-url", "адрес, который процесс «Вызвать URL» вызывает при каждой смене статуса заказа (можно несколько раз); к простому адресу приёма добавляются параметры Book Smeta", func(s string) error {
		processURLs = append(processURLs, s)
		return nil
	})
	processMethod := fs.String("process-method", "GET", "как вызывает процесс: GET (всё в адресе) или POST (поля формой, секрет в адресе)")
	statusLabel := fs.Bool("process-status-label", false, "процессы подставляют {object.status} по-русски («Завершен») вместо кода (payed)")
	subscribe := fs.String("subscribe", "", "при запуске подписать этот адрес на три события заказов Tech API, как сделал бы set-uri")
	timeout := fs.Duration("delivery-timeout", getcoursetest.DefaultDeliveryTimeout, "сколько отправка ждёт ответа (одна попытка)")
	if err := parse(fs, args); err != nil {
		return err
	}
	method, err := processMethodFlag(*processMethod)
	if err != nil {
		return err
	}
	opts := []getcoursetest.Option{
		getcoursetest.WithAccount(*account), getcoursetest.WithKey(*key), getcoursetest.WithDeveloperKey(*devKey),
		getcoursetest.WithExportReadyAfter(*readyAfter), getcoursetest.WithDemoData(),
		getcoursetest.WithDeliverer(getcoursetest.NewDeliverer(*timeout)),
	}
	if *roKey != "" {
		opts = append(opts, getcoursetest.WithReadOnlyKey(*roKey))
	}
	if *rateLimit > 0 {
		opts = append(opts, getcoursetest.WithRateLimit(*rateLimit, 2*time.Hour))
	}
	var templates []string
	for _, raw := range processURLs {
		tmpl, err := processTemplate(raw)
		if err != nil {
			return err
		}
		templates = append(templates, tmpl)
		opts = append(opts, getcoursetest.WithProcess(getcoursetest.ProcessHook{URL: tmpl, Method: method, Quirks: getcoursetest.ProcessQuirks{StatusLabel: *statusLabel}}))
	}
	if *subscribe != "" {
		if err := absoluteURL(*subscribe); err != nil {
			return usageError{"--subscribe: " + err.Error()}
		}
	}
	fake := getcoursetest.NewUnstarted(opts...)
	if *subscribe != "" {
		for _, id := range []int{getcoursetest.TechEventDealCreated, getcoursetest.TechEventDealStatusChanged, getcoursetest.TechEventDealPaid} {
			fake.Subscribe(id, *subscribe)
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("не удаётся занять адрес %s: %w (этот порт занят другой программой? укажите другой в --addr)", *addr, err)
	}
	host := "http://" + ln.Addr().String()
	api := host + getcoursetest.APIPath
	fmt.Fprintf(e.Stdout, `Фейковый GetCourse (аккаунт %q с демонстрационными учениками и заказами) слушает %s
Укажите в настройках Book Smeta (или в .env):

  GETCOURSE_API_URL=%s
  GETCOURSE_API_KEY=%s

Ключ только для чтения (импорт отклоняется): %s
Неверный ключ — любой другой. Проверка: %s getcourse test; синхронизация: %s getcourse sync.

Страница заказов: %s/ — создайте заказ, оплатите или верните его и посмотрите, что ушло в Book Smeta и что она ответила.
Подписка Tech API: POST %s/v1/set-uri, заголовок Authorization: Bearer %s_%s
`, *account, ln.Addr().String(), api, *key, *roKey, e.command(), e.command(), host, api, *devKey, *key)
	for _, t := range templates {
		fmt.Fprintf(e.Stdout, "Процесс «Вызвать URL» (%s) при каждой смене статуса: %s\n", method, t)
	}
	if *subscribe != "" {
		fmt.Fprintf(e.Stdout, "Адрес подписан на события заказов Tech API: %s\n", *subscribe)
	}
	fmt.Fprintln(e.Stdout, "Остановить: Ctrl+C.")
	srv := &http.Server{Handler: fake.ConsoleHandler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	if e.Ready != nil {
		e.Ready(ln.Addr().String())
	}
	select {
	case <-ctx.Done():
	case err := <-done:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func processMethodFlag(m string) (string, error) {
	switch strings.ToUpper(strings.TrimSpace(m)) {
	case "", http.MethodGet:
		return http.MethodGet, nil
	case http.MethodPost:
		return http.MethodPost, nil
	}
	return "", usageError{fmt.Sprintf("--process-method «%s»: нужно GET или POST", m)}
}

func absoluteURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("«%s» — не полный адрес http(s)://…", raw)
	}
	return nil
}

// processTemplate takes what a newcomer has at hand: the process address from
// our panel (with {object.…} variables) is used as it is; a bare intake
// address, secret in its query, becomes the address the panel would give.
func processTemplate(raw string) (string, error) {
	if err := absoluteURL(raw); err != nil {
		return "", usageError{"адрес процесса: " + err.Error()}
	}
	if strings.Contains(raw, "{object.") {
		return raw, nil
	}
	u, _ := url.Parse(raw)
	q := u.Query()
	secret := q.Get("secret")
	q.Del("secret")
	u.RawQuery = q.Encode()
	return webhook.ProcessURL(u.String(), secret), nil
}

// deliverFlags are the order a one-shot delivery describes.
type deliverFlags struct {
	target, secret, shape, email, status, event, offers, titles, currency string
	first, last, phone                                                    string
	dealID, number, userID                                                int64
	cost, payed                                                           float64
	pair, statusChangedFirst, isPayedBool, statusLabel                    bool
	timeout                                                               time.Duration
}

func runDeliver(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("dev deliver", e)
	var f deliverFlags
	fs.StringVar(&f.target, "url", "", "куда отправить (по умолчанию BOOKSMETA_BASE_URL + /api/getcourse/webhook с настроенным секретом); для процессов — и адрес процесса с переменными {object.…}")
	fs.StringVar(&f.secret, "secret", "", "секрет webhook для адреса (по умолчанию настроенный, если --url не указан)")
	fs.StringVar(&f.shape, "shape", getcoursetest.ShapeTechAPI, "techapi (JSON POST, как подписка set-uri), process-get или process-post (процесс «Вызвать URL»)")
	fs.StringVar(&f.email, "email", "", "почта ученика (обязательно)")
	fs.StringVar(&f.first, "first-name", "", "имя ученика")
	fs.StringVar(&f.last, "last-name", "", "фамилия ученика")
	fs.StringVar(&f.phone, "phone", "", "телефон ученика (пусто — {object.user.phone} остаётся как есть, как оставляет GetCourse)")
	fs.StringVar(&f.status, "status", "payed", "код статуса заказа: new, payed, part_payed, waiting_for_return, cancelled, false, …")
	fs.StringVar(&f.event, "event", "", "событие techapi без --pair: created, status или paid (по умолчанию paid для payed, иначе status)")
	fs.BoolVar(&f.pair, "pair", false, "techapi: отправить то, что GetCourse шлёт при смене статуса, — для payed и dealPaid, и dealStatusChanged")
	fs.BoolVar(&f.statusChangedFirst, "status-changed-first", false, "с --pair: dealStatusChanged раньше dealPaid")
	fs.BoolVar(&f.isPayedBool, "is-payed-bool", false, "techapi: deal.isPayed как true/false вместо 1/0")
	fs.BoolVar(&f.statusLabel, "status-label", false, "процесс: {object.status} по-русски («Завершен») вместо кода")
	fs.Int64Var(&f.dealID, "deal-id", 0, "номер заказа (по умолчанию новый при каждом запуске)")
	fs.Int64Var(&f.number, "number", 0, "номер заказа для людей (по умолчанию из номера заказа)")
	fs.Int64Var(&f.userID, "user-id", 0, "id пользователя в GetCourse (по умолчанию из почты, один и тот же при каждом запуске)")
	fs.StringVar(&f.offers, "offer-id", "", "id предложений через запятую")
	fs.StringVar(&f.titles, "offer-title", "", "названия предложений через запятую ({object.positions})")
	fs.Float64Var(&f.cost, "cost", 12000, "стоимость заказа")
	fs.Float64Var(&f.payed, "payed", -1, "оплачено (по умолчанию стоимость для payed, waiting_for_return, cancelled и false, иначе 0)")
	fs.StringVar(&f.currency, "currency", "RUB", "валюта")
	fs.DurationVar(&f.timeout, "timeout", getcoursetest.DefaultDeliveryTimeout, "сколько ждать ответа (одна попытка, как у GetCourse)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(f.email) == "" {
		return usageError{"укажите --email: почту ученика"}
	}
	if getcourse.DealStatusLabel(f.status) == "" {
		return usageError{fmt.Sprintf("--status «%s»: такого кода статуса заказа в GetCourse нет", f.status)}
	}
	o, err := f.order(time.Now())
	if err != nil {
		return err
	}
	if f.target == "" {
		cfg, err := e.config()
		if err != nil {
			return err
		}
		f.target = cfg.BaseURL + "/api/getcourse/webhook"
		if f.secret == "" {
			f.secret = configuredSecret(ctx, e)
		}
	}
	target, err := withSecret(f.target, f.secret)
	if err != nil {
		return err
	}
	d := getcoursetest.NewDeliverer(f.timeout)
	var sent []getcoursetest.Delivery
	switch f.shape {
	case getcoursetest.ShapeTechAPI:
		msgs, err := f.techMessages(o)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			out := d.SendTech(ctx, target, o.DealID, o.Status, m)
			printDelivery(e.Stdout, out)
			sent = append(sent, out)
		}
	case getcoursetest.ShapeProcessGET, getcoursetest.ShapeProcessPOST:
		tmpl, err := processTemplate(target)
		if err != nil {
			return err
		}
		method := http.MethodGet
		if f.shape == getcoursetest.ShapeProcessPOST {
			method = http.MethodPost
		}
		out := d.SendProcess(ctx, method, tmpl, o, getcoursetest.ProcessQuirks{StatusLabel: f.statusLabel})
		printDelivery(e.Stdout, out)
		sent = append(sent, out)
	default:
		return usageError{fmt.Sprintf("--shape «%s»: нужно techapi, process-get или process-post", f.shape)}
	}
	for _, s := range sent {
		switch {
		case s.Error != "":
			return fmt.Errorf("нет ответа от %s: %s (запущен ли booksmeta serve и верен ли --url?)", getcoursetest.MaskSecret(s.URL), s.Error)
		case !s.OK():
			return fmt.Errorf("%s %s: ответ HTTP %d", s.Method, getcoursetest.MaskSecret(s.URL), s.HTTPStatus)
		}
	}
	return nil
}

func (f deliverFlags) order(now time.Time) (getcoursetest.Order, error) {
	o := getcoursetest.Order{
		DealID: f.dealID, Number: f.number, Status: f.status, Cost: f.cost, Currency: strings.ToUpper(f.currency),
		Positions: splitComma(f.titles),
		// The order was placed a little before it is told about, as in life.
		CreatedAt: now.Add(-10 * time.Minute).Truncate(time.Second),
		User:      getcoursetest.OrderUser{ID: f.userID, Email: strings.TrimSpace(f.email), FirstName: f.first, LastName: f.last, Phone: f.phone},
	}
	for _, p := range splitComma(f.offers) {
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil || id <= 0 {
			return o, usageError{fmt.Sprintf("--offer-id «%s»: нужны целые положительные числа через запятую", p)}
		}
		o.OfferIDs = append(o.OfferIDs, id)
	}
	if o.DealID == 0 {
		// Fresh each run, so that a second run is a new order rather than a
		// duplicate; pass --deal-id to replay one.
		o.DealID = 100000000 + now.UnixNano()/1e6%900000000
	}
	if o.Number == 0 {
		o.Number = o.DealID % 1000000
	}
	if o.User.ID == 0 {
		h := fnv.New32a()
		_, _ = h.Write([]byte(strings.ToLower(o.User.Email)))
		o.User.ID = 10000000 + int64(h.Sum32()%90000000)
	}
	o.Payed = f.payed
	if o.Payed < 0 {
		o.Payed = 0
		switch f.status {
		case "payed", "waiting_for_return", "cancelled", "false":
			o.Payed = o.Cost
		}
	}
	o.IsPayed = (f.status == "payed" || f.status == "waiting_for_return") && o.Cost > 0
	if f.status == "payed" || o.Payed > 0 {
		o.PaidAt = now.Truncate(time.Second)
	}
	return o, nil
}

func (f deliverFlags) techMessages(o getcoursetest.Order) ([]getcoursetest.TechMessage, error) {
	q := getcoursetest.TechQuirks{IsPayedBool: f.isPayedBool, StatusChangedFirst: f.statusChangedFirst}
	if f.pair {
		return getcoursetest.TechStatusChanged(o, q), nil
	}
	event := f.event
	if event == "" {
		event = "status"
		if o.Status == "payed" {
			event = "paid"
		}
	}
	var id int
	var ev string
	switch event {
	case "created":
		id, ev = getcoursetest.TechEventDealCreated, getcoursetest.EventDealCreated
	case "status":
		id, ev = getcoursetest.TechEventDealStatusChanged, getcoursetest.EventDealStatusChanged
	case "paid":
		id, ev = getcoursetest.TechEventDealPaid, getcoursetest.EventDealPaid
	default:
		return nil, usageError{fmt.Sprintf("--event «%s»: нужно created, status или paid", event)}
	}
	return []getcoursetest.TechMessage{{EventID: id, EventType: ev, Body: getcoursetest.TechBody(ev, o, q)}}, nil
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// withSecret puts the secret into the query unless the URL has one already;
// the braces of a process address stay as typed.
func withSecret(raw, secret string) (string, error) {
	if err := absoluteURL(raw); err != nil {
		return "", usageError{"--url: " + err.Error()}
	}
	if secret == "" {
		return raw, nil
	}
	u, _ := url.Parse(raw)
	if u.Query().Has("secret") {
		return raw, nil
	}
	base, query, _ := strings.Cut(raw, "?")
	param := "secret=" + url.QueryEscape(secret)
	if query == "" {
		return base + "?" + param, nil
	}
	return base + "?" + param + "&" + query, nil
}

func printDelivery(w io.Writer, d getcoursetest.Delivery) {
	label := d.Event
	if d.Shape != getcoursetest.ShapeTechAPI {
		label = "process «Вызвать URL»"
	}
	fmt.Fprintf(w, "→ %s %s  [%s, заказ %d, %s]\n", d.Method, getcoursetest.MaskSecret(d.URL), label, d.DealID, d.Status)
	if d.ContentType != "" {
		fmt.Fprintf(w, "  Content-Type: %s\n", d.ContentType)
	}
	if text := strings.TrimRight(d.Text(), "\n"); text != "" {
		fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(text, "\n", "\n  "))
	}
	if d.Error != "" {
		fmt.Fprintf(w, "← нет ответа за %d мс: %s\n\n", d.Duration.Milliseconds(), d.Error)
		return
	}
	fmt.Fprintf(w, "← HTTP %d (%d мс)\n  %s\n\n", d.HTTPStatus, d.Duration.Milliseconds(), strings.TrimSpace(string(d.Answer)))
}
