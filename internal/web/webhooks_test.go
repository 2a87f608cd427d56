package web_test

import (
	"booksmeta"

	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/apptest"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

func sendWebhook(t *testing.T, f *fixture, body string, header http.Header) int64 {
	t.Helper()
	h := http.Header{"Content-Type": {"application/json"}}
	for k, v := range header {
		h[k] = v
	}
	status, ans := f.srv.Do(t, http.MethodPost, "/api/getcourse/webhook", h, body)
	if status != 200 && status != 401 {
		t.Fatalf("webhook: %d %s", status, ans)
	}
	es, err := f.srv.Store.ListWebhooks(context.Background(), store.WebhookFilter{Limit: 1})
	if err != nil || len(es) == 0 {
		t.Fatal("webhook not logged", err)
	}
	return es[0].ID
}

func TestWebhookBodyIsShownInert(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.admin)
	payload := `<script>alert(1)</script>`
	id := sendWebhook(t, f, `{"action":"<img src=x onerror=alert(2)>","email":"xss@example.com","note":"`+payload+`","event_id":"x1"}`, nil)

	p := a.get("/admin/webhooks/" + itoa(id))
	expect(t, p, 200, "&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(2)&gt;", "xss@example.com", "без проверки")
	expectNot(t, p, payload, "<img src=x")
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}
	list := a.get("/admin/webhooks")
	expect(t, list, 200, "&lt;img src=x onerror=alert(2)&gt;", "/admin/webhooks/"+itoa(id))
	expectNot(t, list, "<img src=x")
}

func TestWebhookLogFiltersAndPages(t *testing.T) {
	f := start(t, map[string]string{"GETCOURSE_WEBHOOK_SECRET": "env-webhook-secret-123456"})
	a := f.as(t, f.admin)
	// A few refused requests (one source gets only a few rows of its own a
	// minute), then enough accepted ones to need a second page.
	for i := 0; i < 5; i++ {
		sendWebhook(t, f, fmt.Sprintf(`{"action":"test","email":"page%02d@example.com","event_id":"p%d"}`, i, i),
			http.Header{"X-Signature": {"sha256=" + strings.Repeat("0", 64)}})
	}
	for i := 5; i < 52; i++ {
		status, _ := f.srv.Do(t, http.MethodPost, "/api/getcourse/webhook?secret=env-webhook-secret-123456", http.Header{"Content-Type": {"application/json"}},
			fmt.Sprintf(`{"action":"test","email":"page%02d@example.com","event_id":"p%d"}`, i, i))
		if status != 200 {
			t.Fatalf("webhook %d: %d", i, status)
		}
	}
	ok := sendWebhook(t, f, `{"action":"test","email":"good@example.com","event_id":"g1"}`, nil)
	_ = ok
	// Accepted via ?secret=: the query is shown redacted.
	status, _ := f.srv.Do(t, http.MethodPost, "/api/getcourse/webhook?secret=env-webhook-secret-123456", http.Header{"Content-Type": {"application/json"}},
		`{"action":"test","email":"good@example.com","event_id":"g2"}`)
	if status != 200 {
		t.Fatalf("query-secret webhook: %d", status)
	}
	es, _ := f.srv.Store.ListWebhooks(context.Background(), store.WebhookFilter{Limit: 1})
	d := a.get("/admin/webhooks/" + itoa(es[0].ID))
	expect(t, d, 200, "secret=[скрыто]", "секрет в адресе")
	expectNot(t, d, "env-webhook-secret-123456")

	p := a.get("/admin/webhooks")
	expect(t, p, 200, "Более старые записи", "отклонено: подпись или секрет")
	expectNot(t, p, "env-webhook-secret-123456")
	next := regexpFind(t, p.Body, `href="(/admin/webhooks\?before_id=\d+)"`)
	p2 := a.get(strings.ReplaceAll(next, "&amp;", "&"))
	expect(t, p2, 200, "page00@example.com", "К самым новым")

	// Filters.
	p = a.get("/admin/webhooks?outcome=rejected&email=page03")
	expect(t, p, 200, "page03@example.com", `<option value="rejected" selected>`)
	expectNot(t, p, "page04@example.com", "good@example.com")
	p = a.get("/admin/webhooks?outcome=accepted")
	expect(t, p, 200, "good@example.com")
	expectNot(t, p, "page01@example.com")
	p = a.get("/admin/webhooks?event=user_payment")
	expect(t, p, 200, "По этим фильтрам записей нет")
	today := time.Now().In(f.srv.Settings.Location(context.Background())).Format("2006-01-02")
	expect(t, a.get("/admin/webhooks?from="+today+"&to="+today+"&outcome=accepted"), 200, "good@example.com")
	expect(t, a.get("/admin/webhooks?from=2001-01-01&to=2001-01-02"), 200, "По этим фильтрам записей нет")
	expect(t, a.get("/admin/webhooks?from=yesterday"), 200, "Дата «с» не распознана")
	expect(t, a.get("/admin/webhooks/999999"), 404, "Записи журнала с таким номером нет")
	expect(t, a.get("/admin/webhooks/abc"), 404)
}

func regexpFind(t *testing.T, s, re string) string {
	t.Helper()
	m := mustRe(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%s not found in:\n%s", re, s)
	}
	return m[1]
}

func TestWebhookRerun(t *testing.T) {
	f := start(t, map[string]string{"GETCOURSE_WEBHOOK_SECRET": "env-webhook-secret-123456"})
	a := f.as(t, f.admin)
	// A payment without an email cannot be applied: it fails and waits for the admin.
	status, _ := f.srv.Do(t, http.MethodPost, "/api/getcourse/webhook?secret=env-webhook-secret-123456",
		http.Header{"Content-Type": {"application/json"}}, `{"action":"user_payment","event_id":"no-email"}`)
	if status != 200 {
		t.Fatalf("webhook: %d", status)
	}
	es, _ := f.srv.Store.ListWebhooks(context.Background(), store.WebhookFilter{Limit: 1})
	id := es[0].ID
	var e *booksmeta.WebhookEvent
	apptest.WaitFor(t, 5*time.Second, "event failed", func() bool {
		e, _ = f.srv.Store.WebhookByID(context.Background(), id)
		return e.State == booksmeta.StateFailed
	})
	expect(t, a.get("/admin"), 200, "Событий с ошибкой обработки: <strong>1</strong>", "/admin/webhooks?outcome=accepted&amp;state=failed")
	expect(t, a.get("/admin/webhooks?outcome=accepted&state=failed"), 200, "/admin/webhooks/"+itoa(id))
	d := a.get("/admin/webhooks/" + itoa(id))
	expect(t, d, 200, "ошибка: нужна проверка", "Последняя ошибка", "Повторить", `action="/admin/webhooks/`+itoa(id)+`/rerun"`)

	expect(t, a.post("/admin/webhooks/"+itoa(id)+"/rerun", url.Values{}), http.StatusForbidden)
	p := a.submit("/admin/webhooks/"+itoa(id), "/admin/webhooks/"+itoa(id)+"/rerun", nil)
	if p.Status != http.StatusSeeOther || p.location() != "/admin/webhooks/"+itoa(id)+"?ok=rerun" {
		t.Fatalf("rerun: %d → %q", p.Status, p.location())
	}
	expect(t, a.get(p.location()), 200, "поставлено в очередь")
	apptest.WaitFor(t, 5*time.Second, "rerun processed", func() bool {
		e, _ = f.srv.Store.WebhookByID(context.Background(), id)
		return e.State == booksmeta.StateFailed && e.Attempts >= 2
	})

	// A rejected request cannot be re-run.
	status, _ = f.srv.Do(t, http.MethodPost, "/api/getcourse/webhook", http.Header{"Content-Type": {"application/json"}}, `{"action":"test"}`)
	if status != 401 {
		t.Fatalf("unsigned webhook: %d", status)
	}
	es, _ = f.srv.Store.ListWebhooks(context.Background(), store.WebhookFilter{Limit: 1})
	rej := itoa(es[0].ID)
	expectNot(t, a.get("/admin/webhooks/"+rej), `/rerun"`)
	expect(t, a.submit("/admin/webhooks/"+rej, "/admin/webhooks/"+rej+"/rerun", nil), http.StatusConflict, "Повторить можно только принятое событие")
}

func TestWebhookPrune(t *testing.T) {
	f := start(t, nil)
	// A long retention, so that the hourly prune job, which may run at any
	// moment of this test, leaves the rows to the admin's prune.
	putSettings(t, f, map[string]string{settings.GetCourseWebhookSecret: panelSecret, settings.WebhookLogKeepDays: "3650"})
	a := f.as(t, f.admin)
	ctx := context.Background()
	old := time.Now().AddDate(0, 0, -100)
	err := f.srv.Store.InTx(ctx, func(tx *store.Tx) error {
		for _, e := range []*booksmeta.WebhookEvent{
			{ReceivedAt: old, Method: "POST", Path: "/api/getcourse/webhook", Outcome: booksmeta.OutcomeRejected, HTTPStatus: 401, Email: "old@example.com", Headers: "{}"},
			{ReceivedAt: old.AddDate(0, 0, 60), Method: "POST", Path: "/api/getcourse/webhook", Outcome: booksmeta.OutcomeRejected, HTTPStatus: 401, Email: "recent@example.com", Headers: "{}"},
		} {
			if err := tx.InsertWebhookLog(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	list := a.get("/admin/webhooks")
	expect(t, list, 200, "Удалить записи старше", `<option value="365">`, `data-confirm=`)
	expect(t, a.post("/admin/webhooks/prune", url.Values{"older_than_days": {"90"}}), http.StatusForbidden)
	expect(t, a.submit("/admin/webhooks", "/admin/webhooks/prune", url.Values{"older_than_days": {"3"}}), http.StatusUnprocessableEntity, "Выберите возраст записей")
	p := a.submit("/admin/webhooks", "/admin/webhooks/prune", url.Values{"older_than_days": {"90"}})
	if p.Status != http.StatusSeeOther || p.location() != "/admin/webhooks?ok=pruned&n=1" {
		t.Fatalf("prune: %d → %q", p.Status, p.location())
	}
	after := a.get(p.location())
	expect(t, after, 200, "Удалено записей журнала: 1", "recent@example.com")
	expectNot(t, after, "old@example.com")
}
