package web_test

import (
	"net/http"
	"testing"

	"booksmeta/internal/store"
)

func TestDashboardNumbers(t *testing.T) {
	f := start(t, map[string]string{"GETCOURSE_WEBHOOK_SECRET": "env-webhook-secret-123456"})
	f.user(t, "unpaid@example.com", store.RoleStudent, false)
	sendWebhook(t, f, `{"action":"test","event_id":"d1"}`, http.Header{"X-Signature": {"sha256=00"}})
	sendWebhook(t, f, `{"action":"test","event_id":"d2"}`, http.Header{"X-Signature": {"sha256=00"}})
	a := f.as(t, f.admin)
	p := a.get("/admin")
	expect(t, p, 200,
		`<span class="num">2</span> <a href="/admin/users?role=student">всего учеников</a>`,
		`<span class="num">1</span> <a href="/admin/users?role=student&amp;paid=true&amp;active=true">оплатили и активны</a>`,
		`<span class="num">2</span> <span class="label">администраторов, включая главных</span>`,
		"Всего запросов от GetCourse сегодня: <strong>2</strong>",
		`<span class="num">2</span> <a href="/admin/webhooks?outcome=rejected">отклонено: подпись или секрет</a>`,
		`<span class="num">0</span> <a href="/admin/webhooks?outcome=accepted">принято</a>`,
		"Необработанных ошибок нет")
	expectNot(t, p, "Webhook секрет не задан", "env-webhook-secret-123456")
}
