package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"booksmeta/internal/getcourse/getcoursetest"
)

func TestGetCoursePageAndPushOnCreate(t *testing.T) {
	gc := getcoursetest.New()
	defer gc.Close()
	f := start(t, map[string]string{"GETCOURSE_API_URL": gc.URL(), "GETCOURSE_API_KEY": gc.Key(),
		"MAIL_HOST": "127.0.0.1", "MAIL_PORT": "2525", "MAIL_FROM_EMAIL": "school@example.com", "MAIL_ENCRYPTION": "none"})
	a := f.as(t, f.super)
	expect(t, a.get("/admin/getcourse"), 200, "Синхронизировать сейчас", "Запросов пока не было")

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
