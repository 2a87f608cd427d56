package gcsync_test

import (
	"strings"
	"testing"

	"booksmeta/internal/gcsync"
	"booksmeta/internal/getcourse/getcoursetest"
	"booksmeta/internal/store"
)

// One event refused out of three: the result names both groups, says the
// button can be pressed again, and every request is in the call log without
// the developer key or the webhook secret of the address.
func TestSubscribeOrdersPartialFailure(t *testing.T) {
	const devKey, secret = "dev-key-0123456789abcdef", "webhook-secret-0123456789abcdef"
	e, fake := setup(t, getcoursetest.WithDeveloperKey(devKey))
	if err := e.set.Put(e.ctx, map[string]string{gcsync.SettingDeveloperKey: devKey}, 0); err != nil {
		t.Fatal(err)
	}
	ok := getcoursetest.Response{Body: `{"success":true}`}
	fake.Inject("techapi.set_uri", ok, ok, getcoursetest.Response{Status: 500, Body: "Internal Server Error", ContentType: "text/plain"})
	uri := "https://book.example.ru/api/getcourse/webhook?secret=" + secret
	res := e.svc.SubscribeOrders(e.ctx, uri)
	if res.OK || strings.Join(res.Subscribed, ",") != "«Заказ создан»,«Статус заказа изменён»" || strings.Join(res.Failed, ",") != "«Заказ оплачен»" {
		t.Fatalf("result: %+v", res)
	}
	if !strings.Contains(res.Message, "Не удалось подписаться на события: «Заказ оплачен».") || !strings.Contains(res.Message, "Уже подписаны:") {
		t.Fatalf("message: %s", res.Message)
	}
	calls, err := e.svc.ListCalls(e.ctx, store.GetCourseCallFilter{Op: "techapi.", Limit: 10})
	if err != nil || len(calls) != 3 {
		t.Fatalf("calls: %d %v", len(calls), err)
	}
	for _, c := range calls {
		for _, s := range []string{c.URL, c.Message, c.Detail} {
			if strings.Contains(s, devKey) || strings.Contains(s, secret) || strings.Contains(s, testKey) {
				t.Fatalf("a key or the secret in the call log: %+v", c)
			}
		}
	}

	// Pressed again: all three.
	if res := e.svc.SubscribeOrders(e.ctx, uri); !res.OK || len(res.Subscribed) != 3 || !strings.Contains(res.Message, "Готово") {
		t.Fatalf("second try: %+v", res)
	}
	if subs := fake.Subscriptions(); len(subs) != 3 || subs[2].URI != uri {
		t.Fatalf("subscriptions: %+v", subs)
	}
}

// Nothing is asked of GetCourse while the school's key or the developer key
// is missing; each refusal says what to fill in.
func TestSubscribeOrdersNeedsBothKeys(t *testing.T) {
	e, fake := setup(t)
	res := e.svc.SubscribeOrders(e.ctx, "https://book.example.ru/api/getcourse/webhook?secret=x")
	if res.OK || !strings.Contains(res.Message, "Не указан ключ разработчика") {
		t.Fatalf("without a developer key: %+v", res)
	}
	if err := e.set.Put(e.ctx, map[string]string{gcsync.SettingDeveloperKey: "dev-key-0123456789abcdef", "getcourse_api_key": ""}, 0); err != nil {
		t.Fatal(err)
	}
	res = e.svc.SubscribeOrders(e.ctx, "https://book.example.ru/api/getcourse/webhook?secret=x")
	if res.OK || !strings.Contains(res.Message, "API ключ школы") {
		t.Fatalf("without the school's key: %+v", res)
	}
	if n := len(fake.RequestsFor("techapi.set_uri")); n != 0 {
		t.Fatalf("%d set-uri requests without both keys", n)
	}
}
