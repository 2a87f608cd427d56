package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"booksmeta"
	"booksmeta/internal/access/accesstest"
	"booksmeta/internal/store"
)

// The «Доступ к серверу» page: a bad value is refused beside its field and
// what was typed stays; a good http configuration is saved with its key
// never shown back; «Проверить подключение» sends a signed no-op and says
// so in Russian; a pool smaller than the largest slot is called out.
func TestAccessSettingsPageAndCheck(t *testing.T) {
	f := start(t, nil)
	b := f.as(t, f.admin)
	const key = "school-access-key-0123456789"
	rc := &accesstest.Receiver{Key: []byte(key)}
	api := httptest.NewServer(rc)
	defer api.Close()

	p := b.get("/admin/access")
	expect(t, p, http.StatusOK, "Доступ к серверу", `id="f-access_provider"`, "Проверить подключение", "Пока не было")
	// What to do on the server is on the page, not in a README the school does not have open.
	expect(t, p, http.StatusOK, "Что сделать на сервере", `C:\ProgramData\ssh\administrators_authorized_keys`, "ssh_host_ed25519_key.pub", "deploy/access-receiver")
	expectNot(t, p, "README")

	p = b.submit("/admin/access", "/admin/access", url.Values{"access_provider": {"http"}, "server_api_url": {"server.school.ru"}})
	expect(t, p, http.StatusUnprocessableEntity, "Настройки не сохранены", "https://server.school.ru/booksmeta", `value="server.school.ru"`)

	p = b.submit("/admin/access", "/admin/access", url.Values{"access_provider": {"http"}, "server_api_url": {api.URL + "/bs"}, "server_api_key": {key}})
	if p.Status != http.StatusSeeOther || p.location() != "/admin/access?ok=saved" {
		t.Fatalf("save: %d %s\n%s", p.Status, p.location(), p.Body)
	}
	p = b.get("/admin/access?ok=saved")
	expect(t, p, http.StatusOK, "Настройки доступа сохранены", `value="http" selected`)
	expectNot(t, p, key)

	p = b.submit("/admin/access", "/admin/access/check", nil)
	expect(t, p, http.StatusOK, `id="access-verdict"`, "Сервер принял подписанный запрос")
	if d := rc.Deliveries(); len(d) != 1 || !strings.HasSuffix(d[0].Path, "/bs/check") || len(rc.Open()) != 0 {
		t.Fatalf("the check reached the receiver as %+v", d)
	}

	// Accounts for ssh: two, while a slot has three places.
	ctx := context.Background()
	sl := &booksmeta.Slot{StartsAt: time.Now().Add(24 * time.Hour).Truncate(time.Hour), Capacity: 3, Active: true}
	sl.EndsAt = sl.StartsAt.Add(time.Hour)
	if err := f.srv.Store.InTx(ctx, func(tx *store.Tx) error { _, err := tx.InsertSlot(ctx, sl); return err }); err != nil {
		t.Fatal(err)
	}
	p = b.submit("/admin/access", "/admin/access", url.Values{"access_accounts": {"stud01-stud02"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("save accounts: %d\n%s", p.Status, p.Body)
	}
	expect(t, b.get("/admin/access"), http.StatusOK, `id="pool-warning"`, "в самом большом слоте 3 мест")
	// Enough for one slot, not for two in a row whose windows overlap.
	if p := b.submit("/admin/access", "/admin/access", url.Values{"access_accounts": {"stud01-stud04"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("save accounts: %d\n%s", p.Status, p.Body)
	}
	expect(t, b.get("/admin/access"), http.StatusOK, `id="pool-warning"`, "только с его началом", "нужно 6 учётных записей")

	// Students have no business here.
	if p := f.as(t, f.student).get("/admin/access"); p.Status == http.StatusOK {
		t.Fatal("a student opened the access settings")
	}
}
