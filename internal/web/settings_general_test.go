package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"booksmeta/internal/mail/mailtest"
	"booksmeta/internal/store"
)

func TestGeneralSettings(t *testing.T) {
	srv := mailtest.Start(t)
	f := start(t, nil)
	ctx := context.Background()
	a := f.as(t, f.admin)
	p := a.get("/admin/settings/general")
	expect(t, p, 200, "Расписание слотов", "Доступ к серверу", "Почта не настроена", "Технические работы", "Яндекс Почта", "smtp.go1.unisender.ru")
	// A refused value saves nothing and says what is wrong.
	p = a.submit("/admin/settings/general", "/admin/settings/general", url.Values{"schedule_from": {"25:00"}, "server_host": {"rdp.school.example"}})
	expect(t, p, http.StatusUnprocessableEntity, "Настройки не сохранены")
	if v, err := f.srv.Settings.String(ctx, "server_host"); err != nil || v != "" {
		t.Fatalf("server_host saved despite an invalid neighbour: %q", v)
	}
	p = a.submit("/admin/settings/general", "/admin/settings/general", url.Values{"server_host": {"rdp.school.example"},
		"server_password": {"Shared-Server-Pass"}, "mail_host": {srv.Host()}, "mail_port": {strconv.Itoa(srv.Port())},
		"mail_encryption": {"none"}, "mail_from_email": {"school@example.com"}, "maintenance_mode": {"1"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", p.Status, p.Body)
	}
	p = a.get("/admin/settings/general?ok=saved")
	expect(t, p, 200, "Настройки сохранены", "rdp.school.example", "сохранено в панели")
	expectNot(t, p, "Shared-Server-Pass", "Почта не настроена")
	if on, err := f.srv.Booking.Maintenance(ctx); err != nil || !on {
		t.Fatal("maintenance mode not on")
	}
	expect(t, f.as(t, f.student).get("/"), 200, "технические работы")
	p = a.submit("/admin/settings/general", "/admin/settings/mail-test", url.Values{"to": {"owner@example.com"}})
	expect(t, p, 200, "Тестовое письмо отправлено на owner@example.com")
	srv.WaitMessages(1, 5*time.Second)

	// The webhook log's retention.
	p = a.submit("/admin/settings/general", "/admin/settings/general", url.Values{"webhook_log_keep_days": {"abc"}})
	expect(t, p, http.StatusUnprocessableEntity, "Срок хранения журнала webhook")
	p = a.submit("/admin/settings/general", "/admin/settings/general", url.Values{"webhook_log_keep_days": {"30"}})
	if n, err := f.srv.Settings.Int(ctx, "webhook_log_keep_days"); p.Status != http.StatusSeeOther || err != nil || n != 30 {
		t.Fatalf("retention not saved: %d", p.Status)
	}
}

func TestOutboxPage(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	a := f.as(t, f.admin)
	f.srv.Store.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.QueueMail(ctx, &store.OutboxMail{Kind: "welcome", ToEmail: "student@example.com", UserID: f.student.ID, Data: "{}"})
		return err
	})
	p := a.get("/admin/mail")
	expect(t, p, 200, "Почта не настроена", "приветствие", "в очереди", "student@example.com")
	mails, _ := f.srv.Store.MailByUser(ctx, f.student.ID)
	p = a.submit("/admin/mail", "/admin/mail/"+itoa(mails[0].ID)+"/resend", nil)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("resend: %d", p.Status)
	}
	expect(t, a.get(p.location()), 200, "Письмо не найдено или ещё в очереди")
	expect(t, f.as(t, f.student).get("/admin/mail"), http.StatusForbidden)
}

func TestMailTemplateEditing(t *testing.T) {
	f := start(t, nil)
	a := f.as(t, f.admin)
	expect(t, a.get("/admin/mail-templates"), 200, "Приветствие нового ученика", "стандартный")
	p := a.get("/admin/mail-templates/welcome")
	expect(t, p, 200, "Предпросмотр", "Вернуть стандартный текст")
	// A template that does not parse is refused with a Russian reason.
	p = a.submit("/admin/mail-templates/welcome", "/admin/mail-templates/welcome", url.Values{"action": {"save"},
		"subject": {"Привет {Имя"}, "text": {"x"}})
	expect(t, p, http.StatusUnprocessableEntity, `class="error"`)
	p = a.submit("/admin/mail-templates/welcome", "/admin/mail-templates/welcome", url.Values{"action": {"preview"},
		"subject": {"Добро пожаловать, {Имя}!"}, "text": {"Школа ждёт вас: {Ссылка}"}})
	expect(t, p, 200, "Добро пожаловать, Анна!", "Школа ждёт вас: http")
	p = a.submit("/admin/mail-templates/welcome", "/admin/mail-templates/welcome", url.Values{"action": {"save"},
		"subject": {"Добро пожаловать, {Имя}!"}, "text": {"Школа ждёт вас: {Ссылка}"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", p.Status, p.Body)
	}
	expect(t, a.get("/admin/mail-templates"), 200, "изменён")
	if _, ok, _ := f.srv.Store.MailTemplate(context.Background(), "welcome"); !ok {
		t.Fatal("override not stored")
	}
	a.submit("/admin/mail-templates/welcome", "/admin/mail-templates/welcome", url.Values{"action": {"reset"}})
	if _, ok, _ := f.srv.Store.MailTemplate(context.Background(), "welcome"); ok {
		t.Fatal("reset kept the override")
	}
	expect(t, a.get("/admin/mail-templates/nope"), http.StatusNotFound)
}

// TestMaintenanceSwitchOnThePanel: the switch is a select, a value that is
// not yes or no is refused beside the field with the reason (it used to be
// saved with «Настройки сохранены» and read as off), and «да» sent by a
// script or an old form turns it on.
func TestMaintenanceSwitchOnThePanel(t *testing.T) {
	f := start(t, nil)
	ctx := context.Background()
	a := f.as(t, f.admin)
	p := a.get("/admin/settings/general")
	expect(t, p, 200, `<select id="f-maintenance_mode" name="maintenance_mode">`, "Включён", "Выключен")
	p = a.submit("/admin/settings/general", "/admin/settings/general", url.Values{"maintenance_mode": {"abc"}, "server_host": {"rdp.school.example"}})
	expect(t, p, http.StatusUnprocessableEntity, "Настройки не сохранены", "Режим обслуживания: «да» — включён, «нет» — выключен")
	expectNot(t, p, "Настройки сохранены.")
	if on, err := f.srv.Booking.Maintenance(ctx); err != nil || on {
		t.Fatalf("maintenance after a refused value: %v %v", on, err)
	}
	if v, err := f.srv.Settings.String(ctx, "server_host"); err != nil || v != "" {
		t.Fatalf("server_host saved beside a refused value: %q %v", v, err)
	}
	p = a.submit("/admin/settings/general", "/admin/settings/general", url.Values{"maintenance_mode": {"да"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("save «да»: %d %s", p.Status, p.Body)
	}
	if on, err := f.srv.Booking.Maintenance(ctx); err != nil || !on {
		t.Fatalf("«да» did not turn maintenance on: %v %v", on, err)
	}
	expect(t, a.get("/admin/settings/general"), 200, `<option value="1" selected>Включён</option>`)
	expect(t, f.as(t, f.student).get("/"), 200, "технические работы")
}
