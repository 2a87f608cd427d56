package web

import (
	"booksmeta"
	"context"
	"strings"

	"net/http"

	"booksmeta/internal/audit"
	"booksmeta/internal/booking"
	"booksmeta/internal/mail"
	"booksmeta/internal/outbox"
	"booksmeta/internal/settings"
)

// generalField describes one input of the general settings page.
type generalField struct {
	settingField
	Label string
	Help  string
	Type  string // input type: text, number, time, email, password, textarea, select, bool
	Opts  []string
	// On and Unread are for a bool: its value, and whether the saved value
	// is not a yes or no at all (then it is offered as it is, so that saving
	// other fields does not change it behind the admin's back).
	On, Unread bool
}

type generalSection struct {
	ID, Title, Intro string
	Fields           []*generalField
}

type fieldDef struct{ key, label, help, typ string }

// selectOpts are the choices of the settings shown as a select, each
// "value=Label".
var selectOpts = map[string][]string{}

// generalSections lists the settings of this page, grouped as the school
// owner thinks of them.
var generalSections = []sectionDef{
	{"school", "Школа", "Название школы, насколько вперёд можно бронировать и отправка писем.", []fieldDef{
		{settings.SchoolName, "Название школы", "Показывается в заголовке страниц и в каждом письме (в теме и подписи). Пусто — «Book Smeta».", "text"},
		{booking.MaxAdvanceDays, "Бронировать вперёд, дней", "На сколько дней вперёд ученики видят и бронируют время: от 0 (только сегодня) до 365, обычно 60.", "number"},
		{outbox.MailEnabled, "Режим отправки писем", "Выключен — письма не уходят, а копятся в очереди «Почта»; когда включите, очередь отправится. Тестовое письмо уходит всегда.", "bool"},
	}},
	{"schedule", "Расписание слотов", "Из чего периодически создаются слоты на сервере. Удалённые вручную слоты не возвращаются.", []fieldDef{
		{"schedule_weekdays", "Дни недели", "Номера дней через запятую: 1 — понедельник … 7 — воскресенье, например 1,2,3,4,5.", "text"},
		{"schedule_from", "Начало дня", "Например 09:00.", "time"},
		{"schedule_to", "Конец дня", "Например 17:00.", "time"},
		{settings.SlotDurationMinutes, "Длительность слота, минут", "", "number"},
		{"slot_capacity", "Мест в слоте", "Сколько учеников одновременно на сервере.", "number"},
		{"schedule_weeks_ahead", "Держать открытыми, недель вперёд", "", "number"},
	}},
	{"access", "Доступ к серверу", "Показывается только забронировавшему ученику и только на время брони.", []fieldDef{
		{booking.ServerHost, "Адрес сервера", "Например rdp.school.ru.", "text"},
		{booking.ServerLogin, "Общий логин", "Если у слота задан свой логин, показывается он.", "text"},
		{booking.ServerPassword, "Общий пароль", "Хранится зашифрованным.", "password"},
		{booking.ServerInstructions, "Как подключиться", "Инструкция для ученика.", "textarea"},
		{booking.AccessOpensMinutesBefore, "Доступ открывается за, минут", "", "number"},
		{booking.CancelCutoffMinutes, "Отмена не позднее чем за, минут", "", "number"},
		{settings.DefaultBookingLimit, "Лимит бронирований для новых учеников", "", "number"},
	}},
	{"mail", "Почта", "SMTP-сервер, через который уходят письма ученикам и администраторам. Готовые значения для популярных сервисов — в «Подсказках для почты» внизу страницы.", []fieldDef{
		{settings.MailHost, "SMTP-сервер", "Например smtp.yandex.ru или smtp.go1.unisender.ru.", "text"},
		{settings.MailPort, "Порт", "465 (SSL) или 587 (STARTTLS).", "number"},
		{settings.MailEncryption, "Шифрование", "ssl, tls, starttls или none.", "text"},
		{settings.MailUsername, "Логин", "", "text"},
		{settings.MailPassword, "Пароль", "Хранится зашифрованным.", "password"},
		{settings.MailFromEmail, "Адрес отправителя", "", "email"},
		{settings.MailFromName, "Имя отправителя", "", "text"},
		{booking.ReminderMinutesBefore, "Напоминание до начала, минут", "0 — не напоминать.", "number"},
	}},
	{"log", "Журнал webhook", "Сколько хранить запросы к адресу webhook. Принятые события (оплаты, возвраты) хранятся не меньше 90 дней при любом значении.", []fieldDef{
		{settings.WebhookLogKeepDays, "Хранить отклонённые и повторные запросы, дней", "От 1 до 3650, обычно 90. Очистка идёт раз в час.", "number"},
	}},
	{"maintenance", "Технические работы", "Пока включено, ученики видят сообщение вместо календаря и не могут бронировать. Оплаты из GetCourse принимаются как обычно.", []fieldDef{
		{booking.MaintenanceMode, "Режим обслуживания", "", "bool"},
		{booking.MaintenanceMessage, "Сообщение ученикам", "", "textarea"},
	}},
}

func generalKeys() []string {
	var keys []string
	for _, sec := range generalSections {
		for _, f := range sec.fields {
			keys = append(keys, f.key)
		}
	}
	return keys
}

// mailVerdict is the answer to «Отправить тестовое письмо», shown at the
// top of the page: the form is at its foot, 4,700 px down.
type mailVerdict struct {
	OK   bool
	Text string
}

func (s *Server) generalPage(w http.ResponseWriter, r *http.Request, status int, entered, errs map[string]string, formErr string, verdict *mailVerdict) {
	ctx := r.Context()
	sections, err := s.buildSections(ctx, generalSections, entered, errs)
	if err != nil {
		s.internalError(w, r, "read settings", err)
		return
	}
	d := s.adminData(r, "Настройки → Расписание, доступ, почта", "settings")
	d["Sections"], d["FormError"], d["Presets"], d["MailVerdict"] = sections, formErr, mail.Presets(), verdict
	if s.Outbox != nil {
		on, err := s.Outbox.Configured(ctx)
		if err != nil {
			s.internalError(w, r, "read mail settings", err)
			return
		}
		d["MailConfigured"] = on
	}
	if r.URL.Query().Get("ok") == "saved" {
		d["Flash"] = "Настройки сохранены."
	}
	s.render(w, status, "settings_general", d)
}

// sectionDef is one fieldset of a settings page.
type sectionDef = struct {
	id, title, intro string
	fields           []fieldDef
}

// buildSections reads the settings of defs for a form: secrets masked, what
// was typed kept (entered), each refusal beside its field (errs).
func (s *Server) buildSections(ctx context.Context, defs []sectionDef, entered, errs map[string]string) ([]generalSection, error) {
	var sections []generalSection
	for _, sec := range defs {
		gs := generalSection{ID: sec.id, Title: sec.title, Intro: sec.intro}
		for _, fd := range sec.fields {
			val, err := s.Settings.Get(ctx, fd.key)
			if err != nil {
				return nil, err
			}
			f := &generalField{Label: fd.label, Help: fd.help, Type: fd.typ, Opts: selectOpts[fd.key]}
			// The definition decides: a yes-or-no setting is never free text.
			if d, _ := s.Settings.Lookup(fd.key); d.Type == settings.Bool {
				f.Type = "bool"
			}
			f.Key, f.Secret, f.Set, f.Source, f.Error = fd.key, val.Secret, val.Value != "", sourceLabel(string(val.Source)), errs[fd.key]
			if val.Secret {
				f.Masked = val.Masked()
			} else if e, ok := entered[fd.key]; ok {
				f.Value = e
			} else {
				f.Value = val.Value
			}
			if f.Type == "bool" {
				v := f.Value
				if v == "" {
					d, _ := s.Settings.Lookup(fd.key)
					v = d.Default
				}
				var ok bool
				f.On, ok = settings.ParseBool(v)
				f.Unread = !ok
			}
			gs.Fields = append(gs.Fields, f)
		}
		sections = append(sections, gs)
	}
	return sections, nil
}

func (s *Server) generalForm(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	s.generalPage(w, r, http.StatusOK, nil, nil, "", nil)
}

// saveForm saves the settings of keys a page's form posted, recording who
// changed what. Refused values come back to the page through refused (what
// was typed, and each reason beside its field); saved is nil then, and it is
// nil after an error already answered. saved holds the values that changed.
func (s *Server) saveForm(w http.ResponseWriter, r *http.Request, u *booksmeta.User, keys []string,
	refused func(entered, errs map[string]string)) (saved map[string]string, ok bool) {
	values, entered, err := s.collectSettings(r, keys)
	if err != nil {
		s.internalError(w, r, "read settings", err)
		return nil, false
	}
	if len(values) == 0 {
		return values, true
	}
	if err := s.Settings.Put(r.Context(), values, u.ID); err != nil {
		if errs := settings.Refusals(err); errs != nil {
			refused(entered, errs)
			return nil, false
		}
		s.internalError(w, r, "save settings", err)
		return nil, false
	}
	s.Log.Info("settings saved", "count", len(values), "by", u.ID)
	s.record(r, audit.By(u, audit.SettingUpdate, audit.Settings, s.settingsSummary(values)))
	return values, true
}

const notSaved = "Настройки не сохранены: исправьте отмеченные поля."

func (s *Server) generalSave(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	values, ok := s.saveForm(w, r, u, generalKeys(), func(entered, errs map[string]string) {
		s.generalPage(w, r, http.StatusUnprocessableEntity, entered, errs, notSaved, nil)
	})
	if !ok {
		return
	}
	if _, switched := values[outbox.MailEnabled]; switched && s.Outbox != nil {
		// Switched on: the queue leaves now, not at the next sweep.
		if n, err := s.Outbox.Sweep(r.Context()); err != nil {
			s.Log.Error("send queued mail after switching it on", "err", err)
		} else if n > 0 {
			s.Log.Info("queued mail handed to the sender after switching it on", "count", n)
		}
	}
	http.Redirect(w, r, "/admin/settings/general?ok=saved", http.StatusSeeOther)
}

// mailTest sends the test message and shows the SMTP server's verdict.
func (s *Server) mailTest(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	to := r.PostFormValue("to")
	if to == "" {
		to = u.Email
	}
	v := &mailVerdict{OK: true, Text: "Тестовое письмо отправлено на " + to + ". Проверьте почту (и папку «Спам»)."}
	if err := s.Outbox.SendTestBy(r.Context(), to, u.Email); err != nil {
		v = &mailVerdict{Text: "Тестовое письмо не отправлено. " + err.Error()}
	}
	s.record(r, audit.By(u, audit.MailTest, "mail:test", "Проверочное письмо на "+to+": "+v.Text))
	s.generalPage(w, r, http.StatusOK, nil, nil, "", v)
}

// selectOption is one choice of a select: "value=Label" split.
type selectOption struct{ Value, Label string }

func optionOf(s string) selectOption {
	v, l, _ := strings.Cut(s, "=")
	return selectOption{v, l}
}
