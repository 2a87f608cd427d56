package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/apptest"
	"booksmeta/internal/gcsync"
	"booksmeta/internal/getcourse/getcoursetest"
	"booksmeta/internal/store"
)

func TestGetCoursePageAndPushOnCreate(t *testing.T) {
	gc := getcoursetest.New()
	defer gc.Close()
	f := start(t, map[string]string{"GETCOURSE_API_URL": gc.URL(), "GETCOURSE_API_KEY": gc.Key(),
		"MAIL_HOST": "127.0.0.1", "MAIL_PORT": "2525", "MAIL_FROM_EMAIL": "school@example.com", "MAIL_ENCRYPTION": "none"})
	a := f.as(t, f.super)
	// Not "no calls yet": with GetCourse configured, the periodic sync may
	// already have run when the page is first opened.
	expect(t, a.get("/admin/getcourse"), 200, "Синхронизировать сейчас")

	form := url.Values{"email": {"pushed@example.com"}, "first_name": {"Пётр"}, "booking_limit": {"3"}, "paid": {"on"},
		"active": {"on"}, "invite": {"on"}, "push_getcourse": {"1"}}
	p := a.submit("/admin/users/new", "/admin/users/new", form)
	expect(t, p, http.StatusCreated, "Пользователь создан", "поставлено в очередь", `class="ok-box"`)
	if got := gc.Users(); len(got) != 1 || got[0].Email != "pushed@example.com" {
		t.Fatalf("GetCourse users after push: %+v", got)
	}
	u, _ := f.srv.Store.UserByEmail(context.Background(), "pushed@example.com")
	mails, _ := f.srv.Store.MailByUser(context.Background(), u.ID)
	if len(mails) != 1 || mails[0].Kind != "welcome" {
		t.Fatalf("invite mail: %+v", mails)
	}

	p = a.get("/admin/getcourse")
	expect(t, p, 200, "import.users", "успешно")
	expectNot(t, p, gc.Key())
	expect(t, a.get("/admin/getcourse?failed=1"), 200, "Запросов пока не было")
	if p := a.submit("/admin/getcourse", "/admin/getcourse/sync", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("sync now: %d", p.Status)
	}
	if p := a.post("/admin/getcourse/sync", url.Values{}); p.Status != http.StatusForbidden {
		t.Fatalf("sync without CSRF: %d", p.Status)
	}
	expect(t, f.as(t, f.student).get("/admin/getcourse"), http.StatusForbidden)
}

// A push with a wrong key fails once, in Russian, is not retried, and shows
// in the call log (failed-only filter) without the key. The invite without
// mail settings still queues the welcome mail and shows the link.
func TestGetCoursePushFailureAndInviteWithoutMail(t *testing.T) {
	gc := getcoursetest.New()
	defer gc.Close()
	const wrongKey = "wrong-key-0123456789abcdef"
	f := start(t, map[string]string{"GETCOURSE_API_URL": gc.URL(), "GETCOURSE_API_KEY": wrongKey})
	a := f.as(t, f.admin)
	p := a.get("/admin/getcourse")
	expect(t, p, 200, "Синхронизировать сейчас", `href="/admin/getcourse"`)

	form := url.Values{"email": {"failpush@example.com"}, "first_name": {"Ира"}, "booking_limit": {"3"}, "paid": {"on"},
		"active": {"on"}, "invite": {"on"}, "push_getcourse": {"1"}}
	p = a.submit("/admin/users/new", "/admin/users/new", form)
	expect(t, p, http.StatusCreated, "Пользователь создан", "Почта не настроена", "/set-password?token=")
	expectNot(t, p, `class="ok-box">Ученик`, wrongKey)
	if got := gc.Users(); len(got) != 0 {
		t.Fatalf("GetCourse users after a refused push: %+v", got)
	}
	ctx := context.Background()
	u, err := f.srv.Store.UserByEmail(ctx, "failpush@example.com")
	if err != nil {
		t.Fatal(err)
	}
	mails, _ := f.srv.Store.MailByUser(ctx, u.ID)
	if len(mails) != 1 || mails[0].Kind != "welcome" || mails[0].DedupeKey != "welcome:"+itoa(u.ID) || !strings.Contains(mails[0].Data, `"first_name":"Ира"`) {
		t.Fatalf("welcome mail queued without mail settings: %+v", mails)
	}

	calls, err := f.srv.GetCourse.ListCalls(ctx, store.GetCourseCallFilter{Op: "import.", Limit: 10})
	if err != nil || len(calls) != 1 || calls[0].OK {
		t.Fatalf("one failed import call recorded, never retried: %d %v", len(calls), err)
	}
	p = a.get("/admin/getcourse?failed=1")
	expect(t, p, 200, "import.users", "ошибка")
	expectNot(t, p, wrongKey, "Запросов пока не было")
	expect(t, a.get("/admin/getcourse?op=groups"), 200, "Запросов пока не было")
	expect(t, a.get("/admin/getcourse?op=import."), 200, "import.users")

	// Student: no page, no action; admin without CSRF: refused.
	st := f.as(t, f.student)
	expect(t, st.get("/admin/getcourse"), http.StatusForbidden)
	if p := st.post("/admin/getcourse/sync", url.Values{}); p.Status != http.StatusForbidden {
		t.Fatalf("student sync: %d", p.Status)
	}
}

func TestGetCoursePageNotConfigured(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.admin)
	p := a.get("/admin/getcourse")
	expect(t, p, 200, "GetCourse API не настроен", "Запросов пока не было")
	expectNot(t, p, "Синхронизировать сейчас")
	// The webhook log links here.
	expect(t, a.get("/admin/webhooks"), 200, `<a href="/admin/getcourse">GetCourse</a>`)
}

// The sync state is worded in Russian, with its counts and next retry.
func TestGetCoursePageSyncState(t *testing.T) {
	gc := getcoursetest.New()
	defer gc.Close()
	srv := apptest.Start(t, apptest.Options{NoJobs: true, Env: map[string]string{"GETCOURSE_API_URL": gc.URL(), "GETCOURSE_API_KEY": gc.Key()}})
	ctx := context.Background()
	if _, err := srv.Accounts.EnsureSuperAdmin(ctx, "owner@example.com", testPassword); err != nil {
		t.Fatal(err)
	}
	st, err := srv.GetCourse.Status(ctx)
	if err != nil || !st.Configured {
		t.Fatalf("status: %+v %v", st, err)
	}
	retry := time.Now().Add(90 * time.Minute)
	err = srv.Store.InTx(ctx, func(tx *store.Tx) error {
		return tx.PutGetCourseSync(ctx, &store.GetCourseSync{Account: st.Account, LastRunAt: time.Now().Add(-time.Hour),
			State: gcsync.StateRateLimited, Message: "Лимит запросов исчерпан, повтор позже.", RetryAt: retry,
			RowsFound: 7, EventsNew: 5, EventsKnown: 2, UpdatedAt: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, srv)
	b.mustLogin("owner@example.com")
	p := b.get("/admin/getcourse")
	expect(t, p, 200, "ждёт: исчерпан лимит запросов GetCourse", "Лимит запросов исчерпан, повтор позже.",
		"7 (новых событий: 5, уже известных: 2)", "Повтор", "Синхронизировать сейчас")
	expectNot(t, p, "rate_limited", gc.Key())
	if p := b.submit("/admin/getcourse", "/admin/getcourse/sync", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("sync now: %d", p.Status)
	}
}
