package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"booksmeta/internal/getcourse/getcoursetest"
	"booksmeta/internal/settings"
)

const (
	panelKey    = "panel-api-key-0123456789abcdef"
	panelSecret = "panel-webhook-secret-fedcba9876543210"
)

func setting(t *testing.T, f *fixture, key string) settings.Value {
	t.Helper()
	v, err := f.srv.Settings.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func putSettings(t *testing.T, f *fixture, m map[string]string) {
	t.Helper()
	if err := f.srv.Settings.Put(context.Background(), m, f.super.ID); err != nil {
		t.Fatal(err)
	}
}

func TestSecretBannerOnEveryAdminPage(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.admin)
	const banner = "Webhook секрет не задан: кто угодно, кто знает адрес, может создавать оплаченные аккаунты. Задайте секрет в"
	for _, path := range []string{"/admin", "/admin/settings", "/admin/webhooks", "/admin/users", "/admin/users/new",
		"/admin/users/" + itoa(f.student.ID), "/admin/nothing"} {
		p := a.get(path)
		if !strings.Contains(p.Body, banner) {
			t.Errorf("%s: no red banner (status %d)", path, p.Status)
		}
	}
	// Students never see it.
	expectNot(t, f.as(t, f.student).get("/"), "Webhook секрет не задан")
	putSettings(t, f, map[string]string{settings.GetCourseWebhookSecret: panelSecret})
	expectNot(t, a.get("/admin"), "Webhook секрет не задан")
}

func TestSettingsPageShowsSourcesAndNeverSecrets(t *testing.T) {
	envKey := "env-api-key-abcdef0123456789"
	f := start(t, map[string]string{"GETCOURSE_ACCOUNT": "school", "GETCOURSE_API_KEY": envKey})
	putSettings(t, f, map[string]string{settings.GetCourseWebhookSecret: panelSecret})
	a := f.as(t, f.admin)
	p := a.get("/admin/settings")
	expect(t, p, 200, "GetCourse API", `value="school"`, "переменная окружения", "сохранено в панели", "по умолчанию",
		"••••••••", "/api/getcourse/webhook", "Тест подключения к GetCourse", "Сгенерировать",
		"Сгенерированный секрет — рекомендуется", "API ключ как секрет", "Пустой секрет")
	expectNot(t, p, envKey, panelSecret)
	// The process URL is masked; revealing it is a deliberate POST.
	expect(t, p, 200, "/api/getcourse/webhook?secret=••••••••&amp;")
	r := a.submit("/admin/settings", "/admin/settings/reveal", nil)
	expect(t, r, 200, "/api/getcourse/webhook?secret="+panelSecret)
	expectNot(t, r, envKey)
	expectNot(t, a.get("/admin/settings"), panelSecret)
	// No other admin page shows them either.
	for _, path := range []string{"/admin", "/admin/webhooks", "/admin/users"} {
		expectNot(t, a.get(path), envKey, panelSecret)
	}
}

func TestSettingsSaveKeepsOtherFields(t *testing.T) {
	f := start(t, map[string]string{"GETCOURSE_ACCOUNT": "envschool"})
	putSettings(t, f, map[string]string{settings.GetCourseAPIKey: panelKey, settings.GetCourseWebhookSecret: panelSecret})
	a := f.as(t, f.admin)

	// A new API address without the key entered again is refused: the
	// stored key goes only where it was saved for.
	p := a.submit("/admin/settings", "/admin/settings", url.Values{
		settings.GetCourseAPIURL: {"https://school.example.ru/pl/api"}, settings.GetCourseAccount: {"envschool"},
		settings.GetCourseAPIKey: {""}, settings.GetCourseWebhookSecret: {""}})
	expect(t, p, http.StatusUnprocessableEntity, "введите этот секрет заново", "Настройки не сохранены")
	if v := setting(t, f, settings.GetCourseAPIURL); v.Value == "https://school.example.ru/pl/api" {
		t.Fatal("the refused address was saved")
	}
	// The form as the page shows it, with the API URL changed and the key
	// entered again: the webhook secret comes back empty, the account unchanged.
	p = a.submit("/admin/settings", "/admin/settings", url.Values{
		settings.GetCourseAPIURL: {"https://school.example.ru/pl/api"}, settings.GetCourseAccount: {"envschool"},
		settings.GetCourseAPIKey: {panelKey}, settings.GetCourseWebhookSecret: {""}})
	if p.Status != http.StatusSeeOther || p.location() != "/admin/settings?ok=settings_saved" {
		t.Fatalf("save: %d → %q\n%s", p.Status, p.location(), p.Body)
	}
	expect(t, a.get(p.location()), 200, "Настройки сохранены")
	if v := setting(t, f, settings.GetCourseAPIURL); v.Value != "https://school.example.ru/pl/api" || v.Source != "panel" {
		t.Fatalf("api url: %+v", v)
	}
	if v := setting(t, f, settings.GetCourseAPIKey); v.Value != panelKey {
		t.Fatalf("API key changed by an unrelated save: %q", v.Value)
	}
	if v := setting(t, f, settings.GetCourseWebhookSecret); v.Value != panelSecret {
		t.Fatalf("secret changed by an unrelated save: %q", v.Value)
	}
	// The unchanged env value was not copied into the panel.
	if v := setting(t, f, settings.GetCourseAccount); v.Source != "env" {
		t.Fatalf("account source %q, want env", v.Source)
	}

	// A masked value sent back keeps the secret too.
	a.submit("/admin/settings", "/admin/settings", url.Values{settings.GetCourseWebhookSecret: {"••••••••3210"}})
	if v := setting(t, f, settings.GetCourseWebhookSecret); v.Value != panelSecret {
		t.Fatalf("masked value replaced the secret: %q", v.Value)
	}

	// A new key replaces only the key.
	a.submit("/admin/settings", "/admin/settings", url.Values{settings.GetCourseAPIKey: {"new-key-1234567890abcdef"}})
	if v := setting(t, f, settings.GetCourseAPIKey); v.Value != "new-key-1234567890abcdef" {
		t.Fatalf("key not saved: %q", v.Value)
	}
	if v := setting(t, f, settings.GetCourseWebhookSecret); v.Value != panelSecret {
		t.Fatal("secret lost")
	}

	// "Очистить" clears, and only that field.
	a.submit("/admin/settings", "/admin/settings", url.Values{settings.GetCourseAPIKey: {""}, "clear_" + settings.GetCourseAPIKey: {"on"}})
	if v := setting(t, f, settings.GetCourseAPIKey); v.Value != "" {
		t.Fatalf("key not cleared: %q", v.Value)
	}
	if v := setting(t, f, settings.GetCourseWebhookSecret); v.Value != panelSecret {
		t.Fatal("secret lost when clearing the key")
	}

	// Nothing changed: said so.
	p = a.submit("/admin/settings", "/admin/settings", url.Values{settings.GetCourseAccount: {"envschool"}})
	if p.location() != "/admin/settings?ok=settings_unchanged" {
		t.Fatalf("unchanged save: %q", p.location())
	}

	// A refused value saves nothing and says why, next to the field.
	p = a.submit("/admin/settings", "/admin/settings", url.Values{settings.GetCourseAPIURL: {"ftp://nope"},
		settings.GetCourseAccount: {"other"}, settings.GetCourseWebhookSecret: {"short"}})
	expect(t, p, http.StatusUnprocessableEntity, "API URL должен быть адресом", "Webhook секрет слишком короткий", `value="ftp://nope"`, `aria-invalid="true"`)
	expectNot(t, p, `value="short"`)
	if v := setting(t, f, settings.GetCourseAccount); v.Value != "envschool" {
		t.Fatalf("refused save changed the account: %q", v.Value)
	}
}

var oneTimeRe = regexp.MustCompile(`id="onetime-secret" type="text" readonly value="([0-9a-f]{64})"`)

func TestGenerateSecretShownOnce(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.admin)
	p := a.submit("/admin/settings", "/admin/settings/webhook-secret", nil)
	expect(t, p, 200, "Новый webhook секрет сохранён", "Копировать")
	m := oneTimeRe.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no one-time secret on the page:\n%s", p.Body)
	}
	if p.Header.Get("Cache-Control") != "no-store" {
		t.Fatal("one-time page may be cached")
	}
	secret := m[1]
	if v := setting(t, f, settings.GetCourseWebhookSecret); v.Value != secret {
		t.Fatal("generated secret not saved")
	}
	expect(t, p, 200, "/api/getcourse/webhook?secret="+secret)
	expectNot(t, p, "Webhook секрет не задан: кто угодно")
	again := a.get("/admin/settings")
	expect(t, again, 200, "Секрет длинный и случайный", "••••••••")
	expectNot(t, again, secret[60:])
	expectNot(t, again, secret)
	// A second generation replaces it; the page asks first (data-confirm).
	expect(t, again, 200, `data-confirm="Сгенерировать новый секрет?`)
	p2 := a.submit("/admin/settings", "/admin/settings/webhook-secret", nil)
	if m2 := oneTimeRe.FindStringSubmatch(p2.Body); m2 == nil || m2[1] == secret {
		t.Fatal("second generation did not make a new secret")
	}
}

func TestSecretChoicesWarnings(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.admin)
	expect(t, a.get("/admin/settings"), 200, "Секрет пустой: webhook принимаются без проверки")
	putSettings(t, f, map[string]string{settings.GetCourseAPIKey: panelKey, settings.GetCourseWebhookSecret: panelKey})
	p := a.get("/admin/settings")
	expect(t, p, 200, "Webhook секрет совпадает с API ключом")
	expectNot(t, p, panelKey, "Секрет пустой")
}

func TestConnectionTest(t *testing.T) {
	gc := getcoursetest.New(getcoursetest.WithGroups("Ученики"))
	defer gc.Close()
	f := start(t, nil)
	a := f.as(t, f.admin)

	// The entered, unsaved values are tested; the key is not echoed back.
	p := a.submit("/admin/settings", "/admin/settings/test", url.Values{
		settings.GetCourseAPIURL: {gc.URL()}, settings.GetCourseAccount: {""}, settings.GetCourseAPIKey: {gc.Key()}})
	expect(t, p, 200, "Подключение к GetCourse работает", `value="`+gc.URL()+`"`, "Введённый для теста API ключ не сохранён")
	expectNot(t, p, `value="`+gc.Key()+`"`)
	if v := setting(t, f, settings.GetCourseAPIURL); v.Value != "" {
		t.Fatal("the test saved the URL")
	}

	// Wrong key: a Russian verdict.
	p = a.submit("/admin/settings", "/admin/settings/test", url.Values{
		settings.GetCourseAPIURL: {gc.URL()}, settings.GetCourseAPIKey: {"wrong-key-0000000000"}})
	expect(t, p, 200, `class="error"`)
	expectNot(t, p, "Подключение к GetCourse работает", "wrong-key-0000000000")

	// Nothing configured: says what is missing.
	p = a.submit("/admin/settings", "/admin/settings/test", url.Values{settings.GetCourseAPIURL: {""}, settings.GetCourseAccount: {""}})
	expect(t, p, 200, "Не указан аккаунт GetCourse")

	// With JavaScript the page asks for JSON; an empty key field uses the
	// saved key, for the saved address only.
	putSettings(t, f, map[string]string{settings.GetCourseAPIURL: gc.URL(), settings.GetCourseAPIKey: gc.Key()})
	p = a.submit("/admin/settings", "/admin/settings/test", url.Values{
		settings.GetCourseAPIURL: {"https://other.example.com/pl/api"}, settings.GetCourseAPIKey: {""}})
	expect(t, p, 200, "введите API ключ заново")
	form := url.Values{settings.GetCourseAPIURL: {gc.URL()}, settings.GetCourseAPIKey: {""}, "csrf_token": {a.token("/admin/settings")}}
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/admin/settings/test", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Requested-With", "fetch")
	jp := a.do(req)
	var v struct {
		OK      bool   `json:"ok"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(jp.Body), &v); err != nil || !v.OK || !strings.Contains(v.Message, "работает") {
		t.Fatalf("JSON test: %d %s", jp.Status, jp.Body)
	}
	if strings.Contains(jp.Body, gc.Key()) {
		t.Fatal("key in the JSON answer")
	}
}

func TestSettingsPostsNeedCSRF(t *testing.T) {
	f := start(t, nil)
	putSettings(t, f, map[string]string{settings.GetCourseWebhookSecret: panelSecret})
	a := f.as(t, f.admin)
	for _, path := range []string{"/admin/settings", "/admin/settings/webhook-secret", "/admin/settings/reveal", "/admin/settings/test"} {
		for _, tok := range []string{"", "wrong"} {
			p := a.post(path, url.Values{"csrf_token": {tok}, settings.GetCourseAccount: {"hijack"}})
			expect(t, p, http.StatusForbidden, "Форма устарела")
			expectNot(t, p, panelSecret)
		}
	}
	if v := setting(t, f, settings.GetCourseWebhookSecret); v.Value != panelSecret {
		t.Fatal("refused POST changed the secret")
	}
	if v := setting(t, f, settings.GetCourseAccount); v.Value == "hijack" {
		t.Fatal("refused POST saved settings")
	}
}
