package web_test

import (
	"booksmeta"

	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/apptest"
	"booksmeta/internal/enrol"
	"booksmeta/internal/gcsync"
	"booksmeta/internal/getcourse/getcoursetest"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
	"booksmeta/internal/syncbuf"
	"booksmeta/internal/webhook"
)

const connect = "/admin/getcourse/connect"

// endpointOf is the intake address the pages build from the public base URL
// (apptest leaves BOOKSMETA_BASE_URL at its default).
func endpointOf(t *testing.T, f *fixture) string {
	t.Helper()
	return strings.TrimRight(f.srv.Web.BaseURL, "/") + "/api/getcourse/webhook"
}

// inputValue is the value of the input or text area with id on the page, unescaped.
func inputValue(t *testing.T, p page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]* value="([^"]*)"`).FindStringSubmatch(p.Body)
	if m == nil {
		m = regexp.MustCompile(`<textarea id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)</textarea>`).FindStringSubmatch(p.Body)
	}
	if m == nil {
		t.Fatalf("no input #%s on the page:\n%s", id, p.Body)
	}
	return html.UnescapeString(m[1])
}

func TestConnectPageWithoutSecret(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.admin)
	p := a.get(connect)
	expect(t, p, 200, "<h1>Подключение GetCourse</h1>", `href="/admin/getcourse/connect" aria-current="page">GetCourse`,
		"Способ 1. Процесс с операцией «Вызвать URL»", "«Процессы»", "«Создать процесс»", "«Заказы»", "«Операция»",
		"Метод — <strong>GET</strong>", "«Запустить»", "для существующих заказов",
		"Секрет не задан, поэтому в адресе ниже его нет", `<input type="hidden" name="return" value="connect">`,
		"Сгенерировать секрет", "Запросов от GetCourse ещё не было",
		// apptest's base URL is localhost: GetCourse could not reach it.
		"GetCourse не сможет до него достучаться")
	expectNot(t, p, "Настройки → API → Webhooks", "Показать</button>")
	endpoint := endpointOf(t, f)
	if got := inputValue(t, p, "process-url"); got != webhook.ProcessURL(endpoint, "") {
		t.Fatalf("process address %q, want %q", got, webhook.ProcessURL(endpoint, ""))
	}
	for _, prm := range webhook.ProcessParams {
		expect(t, p, 200, "<code>"+prm.Name+"</code></td><td>"+prm.Label+"</td><td><code>"+prm.Variable+"</code>")
	}
	// Without a developer key: how to get one, and that the process does the same.
	expect(t, p, 200, "GetCourse выдаёт интеграторам по запросу", "Ключа разработчика нет", "ключ школы создаётся в GetCourse",
		"Аккаунт GetCourse или API ключ школы не указаны", "Подписать Book Smeta на события заказов")
	// The HMAC secret is worded as what it is, with the guide's curl.
	expect(t, p, 200, "Для посредников, которые умеют подписывать запросы", `-H "X-GetCourse-Signature: sha256=test"`,
		"/api/getcourse_webhook.php", "booksmeta webhook send --url "+endpoint+" --event test")

	// Generating from this page comes back to it with the secret in the address, once.
	g := a.submit(connect, "/admin/settings/webhook-secret", url.Values{"return": {"connect"}})
	expect(t, g, 200, "<h1>Подключение GetCourse</h1>", "Новый секрет сохранён и уже вставлен в адреса ниже")
	secret := setting(t, f, settings.GetCourseWebhookSecret).Value
	if len(secret) != 64 {
		t.Fatalf("generated secret %q", secret)
	}
	if got := inputValue(t, g, "process-url"); got != webhook.ProcessURL(endpoint, secret) {
		t.Fatalf("process address after generating: %q", got)
	}
	if got := inputValue(t, g, "tech-uri"); got != endpoint+"?secret="+secret {
		t.Fatalf("Tech API address after generating: %q", got)
	}
	again := a.get(connect)
	expectNot(t, again, secret, "Секрет не задан, поэтому")
	expect(t, again, 200, "secret=••••••••&amp;action=deal_updated", "Показать</button>")
}

func TestConnectPageSecretMaskedAndRevealed(t *testing.T) {
	logs := &syncbuf.Buffer{}
	srv := apptest.Start(t, apptest.Options{Log: logs})
	ctx := context.Background()
	super, err := srv.Accounts.EnsureSuperAdmin(ctx, "owner@example.com", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: srv, super: super}
	putSettings(t, f, map[string]string{settings.GetCourseWebhookSecret: panelSecret})
	a := newBrowser(t, srv)
	a.mustLogin(super.Email)
	endpoint := endpointOf(t, f)
	full, tech := webhook.ProcessURL(endpoint, panelSecret), endpoint+"?secret="+panelSecret

	p := a.get(connect)
	expectNot(t, p, panelSecret, "Секрет не задан, поэтому")
	if got, want := inputValue(t, p, "process-url"), strings.Replace(full, panelSecret, "••••••••", 1); got != want {
		t.Fatalf("masked process address %q, want %q", got, want)
	}
	if got := inputValue(t, p, "tech-uri"); got != endpoint+"?secret=••••••••" {
		t.Fatalf("masked Tech API address %q", got)
	}
	expect(t, p, 200, `data-reveal-form="reveal-process"`, `id="reveal-process" data-reveal="process-url"`, "Показать</button>",
		"кнопка «Копировать» копирует полный адрес")

	// Without JavaScript: the page again, with the addresses in full.
	r := a.submit(connect, connect+"/reveal", url.Values{"what": {"process"}})
	expect(t, r, 200, "Скрыть</a>")
	if got := inputValue(t, r, "process-url"); got != full {
		t.Fatalf("revealed process address %q", got)
	}
	if got := inputValue(t, r, "tech-uri"); got != tech {
		t.Fatalf("revealed Tech API address %q", got)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Fatal("a page with the secret may be cached")
	}
	// With JavaScript: only the value, as JSON.
	for what, want := range map[string]string{"process": full, "techapi": tech} {
		form := url.Values{"what": {what}, "csrf_token": {a.token(connect)}}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+connect+"/reveal", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Requested-With", "fetch")
		jp := a.do(req)
		var v struct {
			OK    bool   `json:"ok"`
			Value string `json:"value"`
		}
		if err := json.Unmarshal([]byte(jp.Body), &v); err != nil || !v.OK || v.Value != want {
			t.Fatalf("reveal %s as JSON: %d %s", what, jp.Status, jp.Body)
		}
	}
	// Hidden again on the next visit, and never in the log.
	expectNot(t, a.get(connect), panelSecret)
	if strings.Contains(logs.String(), panelSecret) {
		t.Fatal("the secret is in the server log")
	}
	if !strings.Contains(logs.String(), "webhook address revealed") {
		t.Fatal("revealing is not logged")
	}
	// A student gets neither the page nor the secret.
	f.student = f.user(t, "student@example.com", booksmeta.RoleStudent, true)
	st := f.as(t, f.student)
	expect(t, st.get(connect), http.StatusForbidden)
	expectNot(t, st.submit("/", connect+"/reveal", nil), panelSecret)
}

func TestConnectRevealWithoutSecret(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.admin)
	p := a.submit(connect, connect+"/reveal", url.Values{"what": {"process"}})
	expect(t, p, http.StatusConflict, "Секрет не задан, показывать нечего", "Сгенерировать секрет")
}

func TestConnectPostsNeedCSRF(t *testing.T) {
	f := start(t, nil)
	putSettings(t, f, map[string]string{settings.GetCourseWebhookSecret: panelSecret})
	a := f.as(t, f.admin)
	for _, path := range []string{connect + "/reveal", connect + "/developer-key", connect + "/subscribe"} {
		for _, tok := range []string{"", "wrong"} {
			p := a.post(path, url.Values{"csrf_token": {tok}, "what": {"process"}, gcsync.SettingDeveloperKey: {"hijacked-developer-key"}})
			expect(t, p, http.StatusForbidden, "Форма устарела")
			expectNot(t, p, panelSecret)
		}
	}
	if v := setting(t, f, gcsync.SettingDeveloperKey); v.Value != "" {
		t.Fatal("a refused POST saved the developer key")
	}
}

func TestConnectDeveloperKeySavedEncryptedAndMasked(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.admin)
	const devKey = "developer-key-0123456789abcdef"
	// Not a key: refused, never echoed.
	p := a.submit(connect, connect+"/developer-key", url.Values{gcsync.SettingDeveloperKey: {"has spaces in it"}})
	expect(t, p, http.StatusUnprocessableEntity, "Ключ разработчика выглядит неполным", `aria-invalid="true"`, "Введённый ключ не сохранён")
	expectNot(t, p, "has spaces in it")

	p = a.submit(connect, connect+"/developer-key", url.Values{gcsync.SettingDeveloperKey: {devKey}})
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.location(), connect+"?ok=devkey_saved") {
		t.Fatalf("save: %d %q", p.Status, p.location())
	}
	if v := setting(t, f, gcsync.SettingDeveloperKey); v.Value != devKey || !v.Secret {
		t.Fatalf("developer key setting: %+v", v)
	}
	raw, ok, err := f.srv.Store.Setting(context.Background(), gcsync.SettingDeveloperKey)
	if err != nil || !ok || strings.Contains(raw.Value, devKey) || !raw.Secret {
		t.Fatalf("stored in the clear: %+v %v %v", raw, ok, err)
	}
	p = a.get(connect + "?ok=devkey_saved")
	expect(t, p, 200, "Ключ разработчика сохранён", "Сохранён: <code>••••••••</code>", "сохранено в панели")
	expectNot(t, p, devKey, "Ключа разработчика нет")

	// An empty or masked field keeps it; the box clears it.
	a.submit(connect, connect+"/developer-key", url.Values{gcsync.SettingDeveloperKey: {"••••••••cdef"}})
	if v := setting(t, f, gcsync.SettingDeveloperKey); v.Value != devKey {
		t.Fatal("a masked value replaced the key")
	}
	a.submit(connect, connect+"/developer-key", url.Values{"clear_" + gcsync.SettingDeveloperKey: {"on"}})
	if v := setting(t, f, gcsync.SettingDeveloperKey); v.Value != "" {
		t.Fatal("key not cleared")
	}
}

// sendProcessCall sends what GetCourse sends when the process runs: our
// process address with its variables filled in, URL-encoded. Variables in
// unfilled are left as GetCourse leaves those it cannot fill.
func sendProcessCall(t *testing.T, f *fixture, secret string, values map[string]string) {
	t.Helper()
	u, err := url.Parse(webhook.ProcessURL(endpointOf(t, f), secret))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for _, prm := range webhook.ProcessParams {
		if v, ok := values[prm.Name]; ok {
			q.Set(prm.Name, v)
		}
	}
	status, body := f.srv.Do(t, http.MethodGet, u.Path+"?"+q.Encode(), nil, "")
	if status != http.StatusOK {
		t.Fatalf("process call: %d %s", status, body)
	}
}

func TestConnectPageShowsDeliveriesAndFieldReport(t *testing.T) {
	f := start(t, nil)
	putSettings(t, f, map[string]string{settings.GetCourseWebhookSecret: panelSecret})
	a := f.as(t, f.admin)

	// A refused request shows with its reason in Russian.
	if status, _ := f.srv.Do(t, http.MethodGet, "/api/getcourse/webhook?secret=wrong-secret&email=x@example.com", nil, ""); status != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d", status)
	}
	sendProcessCall(t, f, panelSecret, map[string]string{"deal_id": "9001", "deal_number": "77", "status": "payed",
		"email": "anna@example.com", "first_name": "Анна", "last_name": "Иванова", "cost": "12000"})
	p := a.get(connect)
	expect(t, p, 200, "Последние запросы от GetCourse", "anna@example.com", "принято", "отклонено: подпись или секрет",
		"Что пришло в последнем принятом запросе", "<td class=\"field-name\">Email ученика <span class=\"muted\">(обязательно)</span></td>",
		"✓</span> пришло</span></td><td class=\"wrap\">anna@example.com", "пришло</span></td><td class=\"wrap\">Анна</td>",
		"пришло</span></td><td class=\"wrap\">9001</td>")
	expectNot(t, p, panelSecret, "Без email ученика Book Smeta не может")
	es, err := f.srv.Store.RecentDeliveries(context.Background(), 10)
	if err != nil || len(es) != 2 {
		t.Fatalf("deliveries: %d %v", len(es), err)
	}
	expect(t, p, 200, `href="/admin/webhooks/`+itoa(es[0].ID)+`"`, `href="/admin/webhooks/`+itoa(es[1].ID)+`"`)

	// A process call where GetCourse left the email unfilled: the report says
	// which variable and what to do. Stored as the intake stores it.
	ev := enrol.Event{Name: webhook.ProcessEvent, Source: enrol.SourceProcess, DealID: "9002", Status: "payed",
		FirstName: "Борис", Unfilled: []string{"email={object.user.email}"}}
	payload, _ := json.Marshal(ev)
	err = f.srv.Store.InTx(context.Background(), func(tx *store.Tx) error {
		_, err := tx.InsertAcceptedWebhook(context.Background(), &booksmeta.WebhookEvent{ReceivedAt: time.Now(), Method: "GET",
			Path: "/api/getcourse/webhook", Headers: "{}", Auth: booksmeta.AuthQuerySecret, Outcome: booksmeta.OutcomeAccepted,
			HTTPStatus: 200, Event: ev.Name, IdempotencyKey: "test-unfilled-9002", Payload: string(payload), State: booksmeta.StateFailed})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	p = a.get(connect)
	expect(t, p, 200, "способ: процесс «Вызвать URL»", "GetCourse не подставил <code>{object.user.email}</code>",
		"у пользователя не указан email", "Без email ученика Book Smeta не может", `class="missing-required"`,
		"пришло</span></td><td class=\"wrap\">Борис</td>",
		// A parameter missing from the address: copy the address again.
		"В адресе процесса нет параметра <code>phone</code> (<code>{object.user.phone}</code>)")

	// A test event has no fields: the report stays on the last real one.
	signed := `{"action":"test","event_id":"connect-test-1"}`
	status, _ := f.srv.Do(t, http.MethodPost, "/api/getcourse/webhook",
		http.Header{"Content-Type": {"application/json"}, "X-Getcourse-Signature": {webhook.Sign(panelSecret, []byte(signed))}}, signed)
	if status != http.StatusOK {
		t.Fatalf("signed test: %d", status)
	}
	expect(t, a.get(connect), 200, "Борис", "<td data-label=\"Событие\">test</td>")
}

func TestSettingsPointToConnectPage(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.admin)
	for _, path := range []string{"/admin/settings", "/admin/getcourse", "/admin/webhooks"} {
		p := a.get(path)
		expect(t, p, 200, `href="/admin/getcourse/connect"`)
		expectNot(t, p, "Настройки → API → Webhooks", "секретный ключ из настроек webhook", "Если GetCourse сам сгенерировал")
	}
	expect(t, a.get("/admin/getcourse"), 200, `href="/admin/getcourse" aria-current="page">Запросы к API и синхронизация`,
		`<option value="techapi.">подписка на события (Tech API)</option>`)
}

func TestConnectSubscribeAgainstFakeGetCourse(t *testing.T) {
	gc := getcoursetest.New(getcoursetest.WithDeveloperKey("dev0123456789abcdefXYZ"))
	defer gc.Close()
	f := start(t, nil)
	putSettings(t, f, map[string]string{settings.GetCourseAPIURL: gc.URL(), settings.GetCourseAPIKey: gc.Key()})
	a := f.as(t, f.admin)
	expectNot(t, a.get(connect), "Аккаунт GetCourse или API ключ школы не указаны")

	// No secret yet: refused before asking GetCourse, with the way out.
	p := a.submit(connect, connect+"/subscribe", nil)
	expect(t, p, http.StatusConflict, "Подписка не оформлена: сначала нажмите «Сгенерировать секрет»")
	expectNot(t, p, "Ключ разработчика сохранён")
	if len(gc.Subscriptions()) != 0 {
		t.Fatal("subscribed without a secret")
	}
	putSettings(t, f, map[string]string{settings.GetCourseWebhookSecret: panelSecret})

	// No developer key, saved or typed: where to get one, and the other way.
	p = a.submit(connect, connect+"/subscribe", nil)
	expect(t, p, 200, `class="error"`, "Не указан ключ разработчика GetCourse", "«Вызвать URL»")
	if len(gc.Subscriptions()) != 0 {
		t.Fatal("subscribed without a developer key")
	}

	// A wrong developer key: GetCourse's refusal in plain words, nothing subscribed.
	p = a.submit(connect, connect+"/subscribe", url.Values{gcsync.SettingDeveloperKey: {"wrong-developer-key-000"}})
	expect(t, p, 200, `class="error"`, "GetCourse не принял ключи подписки", "Не подписаны: «Заказ создан», «Статус заказа изменён», «Заказ оплачен».")
	expectNot(t, p, "Готово:", "wrong-developer-key-000", panelSecret, gc.Key())
	if len(gc.Subscriptions()) != 0 {
		t.Fatalf("subscriptions after a refusal: %+v", gc.Subscriptions())
	}

	// The right one, typed into the form: saved, and all three order events
	// go to our address with the secret in its query.
	p = a.submit(connect, connect+"/subscribe", url.Values{gcsync.SettingDeveloperKey: {gc.DeveloperKey()}})
	expect(t, p, 200, `class="ok-box"`, "Готово: GetCourse будет присылать в Book Smeta события заказов «Заказ создан», «Статус заказа изменён», «Заказ оплачен»")
	expectNot(t, p, gc.DeveloperKey(), panelSecret, gc.Key())
	if v := setting(t, f, gcsync.SettingDeveloperKey); v.Value != gc.DeveloperKey() {
		t.Fatal("the typed developer key was not saved")
	}
	subs := gc.Subscriptions()
	want := endpointOf(t, f) + "?secret=" + panelSecret
	if len(subs) != 3 {
		t.Fatalf("subscriptions: %+v", subs)
	}
	for _, s := range subs {
		if s.URI != want {
			t.Fatalf("event %d subscribed to %q, want %q", s.EventID, s.URI, want)
		}
	}

	// Pressing it again with the saved key is harmless.
	expect(t, a.submit(connect, connect+"/subscribe", nil), 200, "Готово:")

	// Every set-uri request is in the call log, without keys or the secret:
	// one refused (a wrong key stops the rest), then three and three.
	calls, err := f.srv.GetCourse.ListCalls(context.Background(), store.GetCourseCallFilter{Op: "techapi.", Limit: 100})
	if err != nil || len(calls) != 7 {
		t.Fatalf("recorded set-uri calls: %d %v", len(calls), err)
	}
	log := a.get("/admin/getcourse?op=techapi.")
	expect(t, log, 200, "techapi.set_uri", "успешно", "ошибка")
	expectNot(t, log, gc.DeveloperKey(), "wrong-developer-key-000", panelSecret, gc.Key())
}
