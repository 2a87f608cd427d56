package mail

import (
	"errors"
	"html"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func newTestRenderer() *Renderer { return NewRenderer("Book Smeta", "https://book.example.ru/") }

var cyrillic = regexp.MustCompile(`\p{Cyrillic}`)

func TestEveryKindRenders(t *testing.T) {
	r := newTestRenderer()
	for _, info := range Kinds() {
		if info.Title == "" || info.Description == "" {
			t.Errorf("%s: no Russian title or description", info.Kind)
		}
		data := SampleData(info.Kind)
		if data == nil {
			t.Fatalf("%s: no sample data", info.Kind)
		}
		m, err := r.Render(info.Kind, data)
		if err != nil {
			t.Fatalf("%s: %v", info.Kind, err)
		}
		if !cyrillic.MatchString(m.Subject) || strings.ContainsAny(m.Subject, "\r\n") {
			t.Errorf("%s: subject %q", info.Kind, m.Subject)
		}
		if !strings.Contains(m.HTML, `<html lang="ru">`) || !cyrillic.MatchString(m.Text) {
			t.Errorf("%s: missing HTML or text", info.Kind)
		}
		for _, part := range []string{m.Subject, m.HTML, m.Text} {
			for _, bad := range []string{"{{", "<no value>", "ZgotmplZ", "%!"} {
				if strings.Contains(part, bad) {
					t.Errorf("%s: rendered output contains %q", info.Kind, bad)
				}
			}
		}
		if m.To != "" {
			t.Errorf("%s: renderer set a recipient", info.Kind)
		}
	}
}

func TestKindContents(t *testing.T) {
	r := newTestRenderer()
	render := func(kind Kind, data any) Message {
		t.Helper()
		m, err := r.Render(kind, data)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	both := func(m Message, kind string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(m.Text, w) {
				t.Errorf("%s: text lacks %q", kind, w)
			}
			if !strings.Contains(html.UnescapeString(m.HTML), w) {
				t.Errorf("%s: HTML lacks %q", kind, w)
			}
		}
	}

	m := render(KindWelcome, SampleData(KindWelcome))
	both(m, "welcome", "Анна", "anna@example.ru", "https://book.example.ru/set-password?token=primer", "7 дней", "https://book.example.ru/login", "не присылаем")
	if m.Subject != "Добро пожаловать в Book Smeta: задайте пароль для входа" {
		t.Errorf("welcome subject %q", m.Subject)
	}

	m = render(KindBookingConfirmation, SampleData(KindBookingConfirmation))
	both(m, "booking_confirmation", "27.11.2026, 10:00–11:00 (Москва, UTC+3)", "1042", "за 15 минут до начала", "https://book.example.ru/bookings", "за 2 часа до начала")
	if !strings.Contains(m.Subject, "№1042") || !strings.Contains(m.Subject, "27.11.2026") {
		t.Errorf("booking subject %q", m.Subject)
	}

	cancel := SampleData(KindBookingCancelled).(BookingCancelledData)
	for by, want := range map[CancelledBy]string{
		CancelledByStudent: "Вы отменили бронирование №1042",
		CancelledByAdmin:   "Причина: Сервер на профилактике",
		CancelledByRefund:  "оплата курса была возвращена",
	} {
		cancel.By = by
		m = render(KindBookingCancelled, cancel)
		both(m, "booking_cancelled/"+string(by), want, "27.11.2026, 10:00–11:00 (Москва, UTC+3)")
		if by != CancelledByAdmin && strings.Contains(m.Text, "Причина") {
			t.Errorf("%s: reason shown although not cancelled by admin", by)
		}
	}

	m = render(KindReminder, SampleData(KindReminder))
	both(m, "reminder", "Через 1 час", "за 15 минут до начала", "https://book.example.ru/bookings", "1042")

	m = render(KindPasswordReset, SampleData(KindPasswordReset))
	both(m, "password_reset", "https://book.example.ru/reset-password?token=primer", "1 час", "anna@example.ru")

	m = render(KindAdminAlert, SampleData(KindAdminAlert))
	both(m, "admin_alert", "gc-7f3a9c", "user_payment", "5 раз", "в событии нет адреса почты ученика", "https://book.example.ru/admin/webhooks")
	if !strings.Contains(m.Subject, "5 попыток") {
		t.Errorf("alert subject %q", m.Subject)
	}

	m = render(KindTest, SampleData(KindTest))
	both(m, "test", "тестовое письмо", "smtp.yandex.ru:465, SSL", "admin@example.ru")
}

func TestValuesAreEscapedInHTML(t *testing.T) {
	r := newTestRenderer()
	const evil = `<script>alert("x")</script>`
	cases := map[Kind]any{
		KindWelcome:          WelcomeData{Name: evil, Email: "a@b.ru", SetPasswordURL: "/set", LinkValidFor: time.Hour},
		KindBookingCancelled: BookingCancelledData{Name: "Анна", By: CancelledByAdmin, Reason: evil, Slot: SampleData(KindReminder).(ReminderData).Slot},
		KindAdminAlert:       AdminAlertData{EventID: evil, Error: evil, Attempts: 3},
	}
	for kind, data := range cases {
		m, err := r.Render(kind, data)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(m.HTML, "<script>") {
			t.Errorf("%s: value arrived unescaped in HTML", kind)
		}
		if !strings.Contains(m.HTML, "&lt;script&gt;") {
			t.Errorf("%s: escaped value missing", kind)
		}
	}
	m, err := r.Render(KindWelcome, WelcomeData{SetPasswordURL: "javascript:alert(1)"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, `href="javascript:`) {
		t.Error("javascript: link survived")
	}
}

// The data structs are the only way values reach a message, so a struct
// with no secret-looking field is the guarantee; the rendered samples are
// checked as well in case a template ever starts printing one.
func TestNoSecretsCanReachMessages(t *testing.T) {
	secretish := regexp.MustCompile(`(?i)pass|secret|token|key|credential|login`)
	for _, info := range Kinds() {
		typ := reflect.TypeOf(SampleData(info.Kind))
		for _, f := range reflect.VisibleFields(typ) {
			if secretish.MatchString(f.Name) && !strings.HasSuffix(f.Name, "URL") {
				t.Errorf("%s: field %s looks like a secret; messages must never carry one", typ, f.Name)
			}
		}
	}

	r := newTestRenderer()
	// "Задать пароль: <link>" is a link label; any other value after
	// "пароль:" would be a password in the message.
	links := regexp.MustCompile(`https?://\S+`)
	leaked := regexp.MustCompile(`(?i)(?:парол[ьяе]|password)\s*[:=—-]\s*(\S+)`)
	for _, info := range Kinds() {
		m, err := r.Render(info.Kind, SampleData(info.Kind))
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range []string{m.Subject, m.Text, html.UnescapeString(m.HTML)} {
			part = links.ReplaceAllString(part, "LINK")
			for _, match := range leaked.FindAllStringSubmatch(part, -1) {
				if match[1] != "LINK" {
					t.Errorf("%s: message looks like it shows a password: %q", info.Kind, match[0])
				}
			}
		}
	}
}

func TestRenderRejectsWrongData(t *testing.T) {
	r := newTestRenderer()
	if _, err := r.Render(KindWelcome, BookingConfirmationData{}); err == nil {
		t.Error("welcome accepted booking data")
	}
	if _, err := r.Render("nonsense", WelcomeData{}); err == nil {
		t.Error("unknown kind accepted")
	}
	d := SampleData(KindWelcome).(WelcomeData)
	if _, err := r.Render(KindWelcome, &d); err != nil {
		t.Errorf("pointer data refused: %v", err)
	}
}

func TestRenderWithOverride(t *testing.T) {
	r := newTestRenderer()
	data := SampleData(KindWelcome).(WelcomeData)
	data.Name = "<b>Анна</b>"
	m, err := r.RenderWith(KindWelcome, &Template{
		Subject: "Привет, {{.Name}}!",
		HTML:    `<p>Ваша ссылка: <a href="{{.SetPasswordURL}}">{{.Name}}</a></p>`,
	}, data)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Привет, <b>Анна</b>!" {
		t.Errorf("subject %q", m.Subject)
	}
	if !strings.Contains(m.HTML, "&lt;b&gt;Анна&lt;/b&gt;") || !strings.Contains(m.HTML, "Book Smeta") {
		t.Errorf("override HTML not escaped or not in layout")
	}
	def, _ := r.Render(KindWelcome, data)
	if m.Text != def.Text {
		t.Error("empty override part did not fall back to the default")
	}
	same, err := r.RenderWith(KindWelcome, &Template{}, data)
	if err != nil || same.HTML != def.HTML {
		t.Errorf("empty override changed the message: %v", err)
	}
}

func TestValidateTemplate(t *testing.T) {
	r := newTestRenderer()
	for _, info := range Kinds() {
		def, err := DefaultTemplate(info.Kind)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.ValidateTemplate(info.Kind, def); err != nil {
			t.Errorf("%s: built-in template invalid: %v", info.Kind, err)
		}
	}

	const subj = "Добро пожаловать"
	cases := []struct {
		name string
		kind Kind
		tmpl Template
		part string
		line int
		want []string
	}{
		{"unknown placeholder", KindWelcome, Template{Subject: subj, Text: "Привет\n{Имяя}, ваша ссылка"}, "text", 2,
			[]string{"неизвестная подстановка «{Имяя}»", "строка 2", "{Имя}", "{Ссылка}", "{Школа}"}},
		{"unclosed brace", KindWelcome, Template{Subject: subj, Text: "Здравствуйте, {Имя!\nЕщё строка"}, "text", 1,
			[]string{"не закрыта скобка", "{Имя!"}},
		{"stray closing brace", KindWelcome, Template{Subject: subj, Text: "a\nb\nИмя}"}, "text", 3, []string{"лишняя закрывающая скобка «}»"}},
		{"empty braces", KindWelcome, Template{Subject: subj, Text: "{}"}, "text", 1, []string{"пустые скобки"}},
		{"old syntax", KindWelcome, Template{Subject: subj, Text: "Привет\n{{.Name}}"}, "text", 2, []string{"старый формат", "{Имя}"}},
		{"empty subject", KindWelcome, Template{Subject: "  ", Text: "Привет"}, "subject", 0, []string{"тема пустая"}},
		{"empty text", KindWelcome, Template{Subject: subj, Text: "\n"}, "text", 0, []string{"текст письма пустой"}},
		{"unknown in subject", KindBookingConfirmation, Template{Subject: "Бронь {Номер}", Text: "x"}, "subject", 0,
			[]string{"неизвестная подстановка «{Номер}»", "{Номер брони}", "{Время}"}},
		// The sample has a deal number, the zero value has none: a subject of
		// only {Заказ} would go out empty.
		{"subject empty without a value", KindPaymentRevoked, Template{Subject: "{Заказ}", Text: "x"}, "subject", 0,
			[]string{"тема письма получилась пустой"}},
	}
	for _, c := range cases {
		err := r.ValidateTemplate(c.kind, c.tmpl)
		var te *TemplateError
		if !errors.As(err, &te) {
			t.Errorf("%s: got %v, want *TemplateError", c.name, err)
			continue
		}
		if te.Part != c.part || te.Line != c.line {
			t.Errorf("%s: part %q line %d, want %q %d", c.name, te.Part, te.Line, c.part, c.line)
		}
		msg := te.Error()
		if !strings.HasPrefix(msg, "Шаблон не сохранён") {
			t.Errorf("%s: message %q", c.name, msg)
		}
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: message lacks %q: %s", c.name, w, msg)
			}
		}
	}
	// Names are forgiving about case and spaces, as people type them.
	if err := r.ValidateTemplate(KindBookingConfirmation, Template{Subject: "Бронь {номер  брони}", Text: "{ Время }"}); err != nil {
		t.Errorf("case and spaces refused: %v", err)
	}
}

func TestPlaceholderTemplateRenders(t *testing.T) {
	r := newTestRenderer()
	data := SampleData(KindBookingCancelled).(BookingCancelledData)
	data.Name = "<b>Анна</b>"
	tmpl := Template{
		Subject: "{Школа}: бронь №{Номер брони} на {Дата} отменена",
		Text:    "{Приветствие}\n\n{Что случилось}\nПричина: {Причина}\n\nДругое время: {Ссылка}",
	}
	if err := r.ValidateTemplate(KindBookingCancelled, tmpl); err != nil {
		t.Fatal(err)
	}
	m, err := r.RenderWith(KindBookingCancelled, &tmpl, data)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Book Smeta: бронь №1042 на 27.11.2026 отменена" {
		t.Errorf("subject %q", m.Subject)
	}
	for _, want := range []string{"Здравствуйте, <b>Анна</b>!", "Администратор отменил ваше бронирование №1042 на 27.11.2026, 10:00–11:00 (Москва, UTC+3).",
		"Причина: Сервер на профилактике в это время.", "Другое время: https://book.example.ru/bookings", "Письмо отправлено автоматически сервисом Book Smeta"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	// The HTML version is made from the edited text: values escaped, the
	// address a link, inside the common layout.
	for _, want := range []string{"Здравствуйте, &lt;b&gt;Анна&lt;/b&gt;!", `<a href="https://book.example.ru/bookings"`, "Причина: Сервер на профилактике", `<html lang="ru">`} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(m.HTML, "<b>Анна") {
		t.Error("name reached the HTML unescaped")
	}

	// Cancelled by the student: no reason, and its label line is left out.
	data.By = CancelledByStudent
	m, err = r.RenderWith(KindBookingCancelled, &tmpl, data)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text, "Причина") || strings.Contains(m.HTML, "Причина") || !strings.Contains(m.Text, "Вы отменили бронирование №1042") {
		t.Errorf("student's cancellation:\n%s", m.Text)
	}

	// An empty value in the middle of a sentence leaves no double space.
	pr := Template{Subject: "Оплата отменена", Text: "Оплата {Заказ} отменена."}
	m, err = r.RenderWith(KindPaymentRevoked, &pr, PaymentRevokedData{Name: "Анна"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Text, "Оплата отменена.\n") {
		t.Errorf("gap left: %q", m.Text)
	}
	m, _ = r.RenderWith(KindPaymentRevoked, &pr, PaymentRevokedData{Deal: "№7"})
	if !strings.HasPrefix(m.Text, "Оплата по заказу №7 отменена.") {
		t.Errorf("deal: %q", m.Text)
	}
}

// Templates saved before placeholders existed are Go templates; they keep
// rendering as they did, and plain ones convert for the editor.
func TestLegacyTemplates(t *testing.T) {
	r := newTestRenderer()
	old := Template{Subject: "Привет, {{.Name}} из {{appName}}", Text: "{{with .Name}}{{.}}, {{end}}ссылка: {{.SetPasswordURL}}"}
	m, err := r.RenderWith(KindWelcome, &old, SampleData(KindWelcome))
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Привет, Анна из Book Smeta" || !strings.Contains(m.Text, "Анна, ссылка: https://book.example.ru/set-password?token=primer") {
		t.Errorf("old template: %q\n%s", m.Subject, m.Text)
	}
	if s, ok := ConvertLegacy(KindWelcome, old.Subject); !ok || s != "Привет, {Имя} из {Школа}" {
		t.Errorf("convert subject: %q %v", s, ok)
	}
	if _, ok := ConvertLegacy(KindWelcome, old.Text); ok {
		t.Error("a condition cannot be converted, yet it was")
	}
}

func TestFormatting(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Minute:                     "1 минуту",
		15 * time.Minute:                "15 минут",
		21 * time.Minute:                "21 минуту",
		22 * time.Minute:                "22 минуты",
		time.Hour:                       "1 час",
		2 * time.Hour:                   "2 часа",
		90 * time.Minute:                "1 час 30 минут",
		7 * 24 * time.Hour:              "7 дней",
		24 * time.Hour:                  "1 день",
		11 * time.Hour:                  "11 часов",
		time.Duration(0):                "0 минут",
		3*24*time.Hour + 12*time.Minute: "3 дня 12 минут",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", d, got, want)
		}
	}

	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Skip("no tzdata")
	}
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	start := time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC)
	s := Slot{Start: start, End: start.Add(time.Hour), Zone: moscow}
	if got := s.When(); got != "27.11.2026, 10:00–11:00 (Москва, UTC+3)" {
		t.Errorf("When = %q", got)
	}
	if got := (Slot{Start: start, End: start.Add(time.Hour), Zone: kolkata}).ZoneLabel(); got != "Asia/Kolkata, UTC+5:30" {
		t.Errorf("ZoneLabel = %q", got)
	}
	late := time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC) // 23:00 in Moscow
	if got := (Slot{Start: late, End: late.Add(time.Hour), Zone: moscow}).TimeRange(); got != "23:00 – 28.11.2026, 00:00" {
		t.Errorf("overnight TimeRange = %q", got)
	}
	if got := (Slot{Start: start, End: start.Add(time.Hour)}).ZoneLabel(); got != "UTC+0" {
		t.Errorf("UTC label = %q", got)
	}
}

func TestMessageIDHeader(t *testing.T) {
	for _, c := range []struct{ id, from, want string }{
		{"outbox-42", "school@School.Example.RU", "<outbox-42@school.example.ru>"},
		{"row 7/<x>", "a@b.ru", "<row-7/-x-@b.ru>"},
		{"..a..b..", "a@b.ru", "<a.b@b.ru>"},
		{"x", "", "<x@booksmeta.local>"},
	} {
		if got := MessageIDHeader(c.id, c.from); got != c.want {
			t.Errorf("MessageIDHeader(%q, %q) = %q, want %q", c.id, c.from, got, c.want)
		}
	}
	if a, b := MessageIDHeader("", "a@b.ru"), MessageIDHeader("", "a@b.ru"); a == b || !strings.HasSuffix(a, "@b.ru>") {
		t.Errorf("random ids %q %q", a, b)
	}
}
