package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"reflect"
	"regexp"
	"strings"
	texttemplate "text/template"
	"time"
)

//go:embed templates
var templateFS embed.FS

// Kind is a kind of message.
type Kind string

const (
	KindWelcome             Kind = "welcome"
	KindBookingConfirmation Kind = "booking_confirmation"
	KindBookingCancelled    Kind = "booking_cancelled"
	KindReminder            Kind = "reminder"
	KindPasswordReset       Kind = "password_reset"
	KindAdminAlert          Kind = "admin_alert"
	KindAccessAlert         Kind = "access_alert"
	KindPaymentRevoked      Kind = "payment_revoked"
	KindAccessEnding        Kind = "access_ending"
	KindAccessEnded         Kind = "access_ended"
	KindTest                Kind = "test"
)

// KindInfo describes a kind for the template editor.
type KindInfo struct {
	Kind        Kind
	Title       string // Russian
	Description string // Russian: when it is sent
}

// Kinds lists every kind in the order the admin panel shows them.
func Kinds() []KindInfo {
	return []KindInfo{
		{KindWelcome, "Приветствие нового ученика", "После оплаты в GetCourse: ссылка, чтобы задать пароль (действует 7 дней). Пароль в письме не отправляется."},
		{KindBookingConfirmation, "Подтверждение бронирования", "Когда ученик бронирует время: дата и время в часовом поясе школы и когда откроется доступ."},
		{KindBookingCancelled, "Отмена бронирования", "Когда бронь отменяет ученик, администратор (с причиной) или когда оплата возвращена."},
		{KindReminder, "Напоминание о занятии", "За настроенное время до начала (по умолчанию за час): ссылка на панель доступа."},
		{KindPasswordReset, "Смена пароля", "По запросу «Забыли пароль?»: одноразовая ссылка."},
		{KindPaymentRevoked, "Оплата отменена", "Когда GetCourse сообщает об отмене или возврате оплаты: доступ к бронированию закрыт, будущие брони отменены."},
		{KindAccessEnding, "Доступ скоро закончится", "За настроенное число дней до конца срока доступа по тарифу (по умолчанию за 7): когда закончится и что делать."},
		{KindAccessEnded, "Доступ закончился", "Когда срок доступа по тарифу истёк или после пересчёта тарифов доступа не осталось: будущие брони отменены."},
		{KindAdminAlert, "Предупреждение администратору", "Когда событие GetCourse раз за разом не удаётся обработать."},
		{KindAccessAlert, "Доступ к серверу: сбой", "Когда закрыть доступ по бронированию (или выдать его) раз за разом не удаётся: закрытие повторяется, пока не получится."},
		{KindTest, "Тестовое письмо", "Кнопка «Отправить тестовое письмо» в разделе «Настройки → Почта»."},
	}
}

func knownKind(k Kind) bool {
	for _, info := range Kinds() {
		if info.Kind == k {
			return true
		}
	}
	return false
}

// SampleData returns realistic data for previews and for validating edited
// templates; nil for an unknown kind.
func SampleData(kind Kind) any {
	zone, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		zone = time.FixedZone("UTC+3", 3*60*60)
	}
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, zone)
	slot := Slot{Start: start, End: start.Add(time.Hour), Zone: zone}
	switch kind {
	case KindWelcome:
		return WelcomeData{Name: "Анна", Email: "anna@example.ru", SetPasswordURL: "/set-password?token=primer", LinkValidFor: 7 * 24 * time.Hour}
	case KindBookingConfirmation:
		return BookingConfirmationData{Name: "Анна", BookingID: 1042, Slot: slot, AccessOpensBefore: 15 * time.Minute, CancelCutoff: 2 * time.Hour}
	case KindBookingCancelled:
		return BookingCancelledData{Name: "Анна", BookingID: 1042, Slot: slot, By: CancelledByAdmin, Reason: "Сервер на профилактике в это время."}
	case KindReminder:
		return ReminderData{Name: "Анна", BookingID: 1042, Slot: slot, StartsIn: time.Hour, AccessOpensBefore: 15 * time.Minute}
	case KindPasswordReset:
		return PasswordResetData{Name: "Анна", Email: "anna@example.ru", ResetURL: "/reset-password?token=primer", ValidFor: time.Hour}
	case KindPaymentRevoked:
		return PaymentRevokedData{Name: "Анна", Deal: "№1042"}
	case KindAccessEnding:
		return AccessEndingData{Name: "Анна", Until: start.AddDate(0, 0, 7), Zone: zone}
	case KindAccessEnded:
		return AccessEndedData{Name: "Анна", Reason: "Срок доступа к серверу по вашей покупке закончился."}
	case KindAdminAlert:
		return AdminAlertData{EventID: "gc-7f3a9c", Event: "user_payment", Email: "anna@example.ru", Error: "в событии нет адреса почты ученика", Attempts: 5, LastTry: start.Add(-time.Hour), Zone: zone}
	case KindAccessAlert:
		return AccessAlertData{Action: "revoke", BookingID: 1042, Email: "anna@example.ru", Account: "stud02", Slot: slot,
			Error: "Сервер не ответил вовремя. Book Smeta повторит попытку сама.", Attempts: 3}
	case KindTest:
		return TestData{Server: "smtp.yandex.ru:465, SSL", RequestedBy: "admin@example.ru", SentAt: start, Zone: zone}
	}
	return nil
}

// Template is the editable text of one kind. Subject and Text are written
// with named placeholders ({Имя}, see Placeholders); an edited Text also
// gives the HTML version, built from it. HTML is only ever set by templates
// stored before placeholders existed: it, and any part still in the old Go
// template syntax (IsLegacy), renders the old way. In an override an empty
// part means "use the default".
type Template struct {
	Subject string
	HTML    string
	Text    string
}

// DefaultTemplate is the built-in text of a kind, for the editor to start
// from. Its HTML is the built-in design, which the editor does not show.
func DefaultTemplate(kind Kind) (Template, error) {
	if !knownKind(kind) {
		return Template{}, fmt.Errorf("mail: unknown message kind %q", kind)
	}
	read := func(ext string) (string, error) {
		b, err := templateFS.ReadFile("templates/" + string(kind) + "." + ext)
		return string(b), err
	}
	var t Template
	var err error
	if t.Subject, err = read("subject"); err != nil {
		return Template{}, err
	}
	t.Subject = strings.TrimSpace(t.Subject)
	if t.HTML, err = read("html"); err != nil {
		return Template{}, err
	}
	if t.Text, err = read("txt"); err != nil {
		return Template{}, err
	}
	t.Text = strings.TrimRight(t.Text, "\n")
	return t, nil
}

// Renderer turns a kind and its data into a Message (without recipient).
// It is safe for concurrent use.
type Renderer struct {
	appName string
	baseURL string
	// The layouts are parsed once and never executed, so they can be cloned
	// for every kind and every old-style override.
	htmlLayout *htmltemplate.Template
	textLayout *texttemplate.Template
	// htmlPlain and textPlain pour ready content into the layouts.
	htmlPlain *htmltemplate.Template
	textPlain *texttemplate.Template
	defaults  map[Kind]*compiled
}

// compiled is a kind's built-in text: placeholders for subject and text,
// the designed HTML as html/template.
type compiled struct {
	subject [][]segment
	text    [][]segment
	html    *htmltemplate.Template
}

type button struct{ URL, Label string }

// NewRenderer prepares the built-in templates. appName (the school's name)
// appears in subjects and the layout; baseURL (BOOKSMETA_BASE_URL)
// completes links given as paths.
func NewRenderer(appName, baseURL string) *Renderer {
	r := &Renderer{
		appName:  strings.TrimSpace(appName),
		baseURL:  strings.TrimRight(strings.TrimSpace(baseURL), "/"),
		defaults: make(map[Kind]*compiled),
	}
	if r.appName == "" {
		r.appName = "Book Smeta"
	}
	r.htmlLayout = htmltemplate.Must(htmltemplate.New("layout.html").Funcs(r.funcs()).ParseFS(templateFS, "templates/layout.html"))
	r.textLayout = texttemplate.Must(texttemplate.New("layout.txt").Funcs(r.funcs()).ParseFS(templateFS, "templates/layout.txt"))
	r.htmlPlain = htmltemplate.Must(htmltemplate.Must(r.htmlLayout.Clone()).New("plain").Parse(`{{define "content"}}{{.}}{{end}}`))
	r.textPlain = texttemplate.Must(texttemplate.Must(r.textLayout.Clone()).New("plain").Parse(`{{define "content"}}{{.}}{{end}}`))
	for _, info := range Kinds() {
		def, err := DefaultTemplate(info.Kind)
		if err != nil {
			panic(err) // embedded files: caught by the tests, never at run time
		}
		c := &compiled{}
		var perr *parseError
		if c.subject, perr = parsePlaceholders(info.Kind, def.Subject); perr != nil {
			panic(fmt.Sprintf("mail: built-in subject %s: %s", info.Kind, perr.problem))
		}
		if c.text, perr = parsePlaceholders(info.Kind, def.Text); perr != nil {
			panic(fmt.Sprintf("mail: built-in text %s, line %d: %s", info.Kind, perr.line, perr.problem))
		}
		if c.html, err = r.legacyHTML(def.HTML); err != nil {
			panic(fmt.Sprintf("mail: built-in template %s: %v", info.Kind, err))
		}
		r.defaults[info.Kind] = c
	}
	return r
}

func (r *Renderer) funcs() map[string]any {
	return map[string]any{
		"appName":  func() string { return r.appName },
		"baseURL":  func() string { return r.baseURL },
		"url":      r.absURL,
		"duration": formatDuration,
		"plural": func(n int, one, few, many string) string {
			return fmt.Sprintf("%d %s", n, plural(n, one, few, many))
		},
		"button": func(url, label string) button { return button{URL: url, Label: label} },
	}
}

// absURL completes a path ("/bookings") with the base URL; full URLs pass.
func (r *Renderer) absURL(u string) string {
	if strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") {
		return r.baseURL + u
	}
	return u
}

// The legacy* functions parse the old Go template syntax: the built-in HTML,
// and templates admins stored before placeholders. Part names in errors are
// "subject", "html" and "text" so TemplateError can say which one is broken.

func (r *Renderer) legacySubject(src string) (*texttemplate.Template, error) {
	t, err := texttemplate.New("subject").Funcs(r.funcs()).Parse(src)
	if err != nil {
		return nil, &TemplateError{Part: "subject", Err: err, legacy: true}
	}
	return t, nil
}

func (r *Renderer) legacyHTML(src string) (*htmltemplate.Template, error) {
	h, err := r.htmlLayout.Clone()
	if err != nil {
		return nil, err
	}
	if _, err := h.New("html").Parse(`{{define "content"}}` + src + `{{end}}`); err != nil {
		return nil, &TemplateError{Part: "html", Err: err, legacy: true}
	}
	return h, nil
}

func (r *Renderer) legacyText(src string) (*texttemplate.Template, error) {
	x, err := r.textLayout.Clone()
	if err != nil {
		return nil, err
	}
	if _, err := x.New("text").Parse(`{{define "content"}}` + src + `{{end}}`); err != nil {
		return nil, &TemplateError{Part: "text", Err: err, legacy: true}
	}
	return x, nil
}

// Render renders a kind with its built-in template. data is the kind's data
// struct (WelcomeData for KindWelcome, …), by value or pointer.
func (r *Renderer) Render(kind Kind, data any) (Message, error) {
	return r.RenderWith(kind, nil, data)
}

// RenderWith renders with an admin's override; its empty parts fall back to
// the built-in ones. Overrides are meant to pass ValidateTemplate before they
// are saved, so an error here is a *TemplateError only for unchecked text.
func (r *Renderer) RenderWith(kind Kind, override *Template, data any) (Message, error) {
	c, ok := r.defaults[kind]
	if !ok {
		return Message{}, fmt.Errorf("mail: unknown message kind %q", kind)
	}
	data, err := r.prepare(kind, data)
	if err != nil {
		return Message{}, err
	}
	var o Template
	if override != nil {
		o = *override
	}
	m, err := r.execute(kind, c, o, data)
	if err != nil {
		return Message{}, annotate(err, kind, data)
	}
	return m, nil
}

func (r *Renderer) execute(kind Kind, c *compiled, o Template, data any) (Message, error) {
	// Subject.
	var subject string
	switch {
	case o.Subject == "":
		subject = plainText(r.fill(c.subject, data))
	case IsLegacy(o.Subject):
		t, err := r.legacySubject(o.Subject)
		if err != nil {
			return Message{}, err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return Message{}, &TemplateError{Part: "subject", Err: err, legacy: true}
		}
		subject = b.String()
	default:
		lines, perr := parsePlaceholders(kind, o.Subject)
		if perr != nil {
			return Message{}, &TemplateError{Part: "subject", problem: perr.problem}
		}
		subject = plainText(r.fill(lines, data))
	}
	subject = oneLine(subject)
	if subject == "" {
		return Message{}, &TemplateError{Part: "subject", problem: "тема письма получилась пустой"}
	}
	pour := func(content any) any {
		return struct {
			Subject string
			Data    any
		}{subject, content}
	}
	page := pour(data)

	// Text, and the HTML an edited text gives.
	var text, body bytes.Buffer
	var madeHTML *htmltemplate.HTML
	switch {
	case o.Text != "" && IsLegacy(o.Text):
		t, err := r.legacyText(o.Text)
		if err != nil {
			return Message{}, err
		}
		if err := t.ExecuteTemplate(&text, "layout", page); err != nil {
			return Message{}, &TemplateError{Part: "text", Err: err, legacy: true}
		}
	default:
		lines := c.text
		if o.Text != "" {
			var perr *parseError
			if lines, perr = parsePlaceholders(kind, o.Text); perr != nil {
				return Message{}, &TemplateError{Part: "text", Line: perr.line, problem: perr.problem}
			}
		}
		filled := r.fill(lines, data)
		if o.Text != "" {
			h := htmltemplate.HTML(htmlBody(filled)) // every value escaped by htmlBody
			madeHTML = &h
		}
		if err := r.textPlain.ExecuteTemplate(&text, "layout", pour(plainText(filled))); err != nil {
			return Message{}, err
		}
	}

	// HTML: an old stored HTML override, else the one made from an edited
	// text, else the built-in design.
	switch {
	case o.HTML != "":
		h, err := r.legacyHTML(o.HTML)
		if err != nil {
			return Message{}, err
		}
		if err := h.ExecuteTemplate(&body, "layout", page); err != nil {
			return Message{}, &TemplateError{Part: "html", Err: err, legacy: true}
		}
	case madeHTML != nil:
		if err := r.htmlPlain.ExecuteTemplate(&body, "layout", pour(*madeHTML)); err != nil {
			return Message{}, err
		}
	default:
		if err := c.html.ExecuteTemplate(&body, "layout", page); err != nil {
			return Message{}, &TemplateError{Part: "html", Err: err, legacy: true}
		}
	}
	return Message{Subject: subject, HTML: body.String(), Text: tidyText(text.String())}, nil
}

// ValidateTemplate checks a template edited in the panel before it is
// saved: subject and text must be there, every placeholder must be one of
// the kind's (Placeholders) and every brace must have its pair, and the
// result must render the kind's sample data with a subject left. The error
// is a *TemplateError whose Error() is Russian, with the line and the
// placeholders one may use.
//
// An empty value leaves its line out, so the text is also rendered with the
// zero value and, for cancellations, with every cause: the subject must not
// come out empty in any of them.
func (r *Renderer) ValidateTemplate(kind Kind, t Template) error {
	sample := SampleData(kind)
	if sample == nil {
		return fmt.Errorf("mail: unknown message kind %q", kind)
	}
	fail := func(te *TemplateError) error { return annotate(te, kind, sample) }
	for _, part := range []struct{ name, src, empty string }{
		{"subject", t.Subject, "тема пустая — напишите тему письма"},
		{"text", t.Text, "текст письма пустой — напишите текст или нажмите «Вернуть стандартный текст»"},
	} {
		if strings.TrimSpace(part.src) == "" {
			return fail(&TemplateError{Part: part.name, problem: part.empty})
		}
		if IsLegacy(part.src) {
			line := 1 + strings.Count(part.src[:strings.Index(part.src, "{{")], "\n")
			return fail(&TemplateError{Part: part.name, Line: line,
				problem: "запись «{{…}}» — старый формат; подстановки теперь пишутся в одинарных фигурных скобках, например {Имя}"})
		}
		if _, perr := parsePlaceholders(kind, part.src); perr != nil {
			te := &TemplateError{Part: part.name, problem: perr.problem}
			if part.name == "text" {
				te.Line = perr.line
			}
			return fail(te)
		}
	}
	variants := []any{sample, reflect.Zero(reflect.TypeOf(sample)).Interface()}
	if c, ok := sample.(BookingCancelledData); ok {
		for _, by := range []CancelledBy{CancelledByStudent, CancelledByAdmin, CancelledByRefund} {
			c.By = by
			variants = append(variants, c)
		}
	}
	for _, data := range variants {
		if _, err := r.RenderWith(kind, &t, data); err != nil {
			return err
		}
	}
	return nil
}

// prepare checks that data fits the kind and fills links left empty or
// given as paths.
func (r *Renderer) prepare(kind Kind, data any) (any, error) {
	if v := reflect.ValueOf(data); v.Kind() == reflect.Pointer && !v.IsNil() {
		data = v.Elem().Interface()
	}
	wrong := func() (any, error) {
		return nil, fmt.Errorf("mail: kind %s does not take %T", kind, data)
	}
	switch kind {
	case KindWelcome:
		d, ok := data.(WelcomeData)
		if !ok {
			return wrong()
		}
		d.SetPasswordURL = r.absURL(d.SetPasswordURL)
		d.LoginURL = r.link(d.LoginURL, "/login")
		return d, nil
	case KindBookingConfirmation:
		d, ok := data.(BookingConfirmationData)
		if !ok {
			return wrong()
		}
		d.BookingsURL = r.link(d.BookingsURL, "/bookings")
		return d, nil
	case KindBookingCancelled:
		d, ok := data.(BookingCancelledData)
		if !ok {
			return wrong()
		}
		if d.By == "" {
			d.By = CancelledByStudent
		}
		d.BookingsURL = r.link(d.BookingsURL, "/bookings")
		return d, nil
	case KindReminder:
		d, ok := data.(ReminderData)
		if !ok {
			return wrong()
		}
		d.AccessURL = r.link(d.AccessURL, "/bookings")
		return d, nil
	case KindPasswordReset:
		d, ok := data.(PasswordResetData)
		if !ok {
			return wrong()
		}
		d.ResetURL = r.absURL(d.ResetURL)
		return d, nil
	case KindPaymentRevoked:
		d, ok := data.(PaymentRevokedData)
		if !ok {
			return wrong()
		}
		d.BookingsURL = r.link(d.BookingsURL, "/bookings")
		return d, nil
	case KindAccessEnding:
		d, ok := data.(AccessEndingData)
		if !ok {
			return wrong()
		}
		d.BookingsURL = r.link(d.BookingsURL, "/bookings")
		return d, nil
	case KindAccessEnded:
		d, ok := data.(AccessEndedData)
		if !ok {
			return wrong()
		}
		d.BookingsURL = r.link(d.BookingsURL, "/bookings")
		return d, nil
	case KindAdminAlert:
		d, ok := data.(AdminAlertData)
		if !ok {
			return wrong()
		}
		d.LogURL = r.link(d.LogURL, "/admin/webhooks")
		return d, nil
	case KindAccessAlert:
		d, ok := data.(AccessAlertData)
		if !ok {
			return wrong()
		}
		d.PageURL = r.link(d.PageURL, "/admin/access")
		return d, nil
	case KindTest:
		d, ok := data.(TestData)
		if !ok {
			return wrong()
		}
		if d.SentAt.IsZero() {
			d.SentAt = time.Now()
		}
		return d, nil
	}
	return nil, fmt.Errorf("mail: unknown message kind %q", kind)
}

func (r *Renderer) link(u, defaultPath string) string {
	if u == "" {
		u = defaultPath
	}
	return r.absURL(u)
}

var reManyBlank = regexp.MustCompile(`\n{3,}`)

// tidyText removes the blank lines template conditionals leave behind.
func tidyText(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimSpace(reManyBlank.ReplaceAllString(strings.Join(lines, "\n"), "\n\n")) + "\n"
}

// TemplateError is a broken edited template. Error() is Russian because it
// goes straight to the admin who edited the template.
type TemplateError struct {
	Part    string // "subject", "html" or "text"
	Line    int    // 1-based line in the edited text, 0 when unknown
	Err     error
	problem string
	fields  []string
	// legacy marks a template in the old Go syntax, whose errors list the
	// fields and functions of that syntax.
	legacy bool
}

func (e *TemplateError) Unwrap() error { return e.Err }

func (e *TemplateError) Error() string {
	part := map[string]string{"subject": "тема", "html": "HTML-версия", "text": "текст письма"}[e.Part]
	s := "Шаблон не сохранён: ошибка в части «" + part + "»"
	if e.Line > 0 {
		s += fmt.Sprintf(", строка %d", e.Line)
	}
	problem := e.problem
	if problem == "" {
		problem = "шаблон не разобран"
	}
	s += ": " + problem + "."
	if len(e.fields) > 0 {
		s += " Можно использовать: " + strings.Join(e.fields, ", ")
		if e.legacy {
			s += "; функции: appName, baseURL, url, duration, plural, button"
		}
		s += "."
	}
	return s
}

var (
	reTemplatePos = regexp.MustCompile(`^(?:html/)?template: ?(?:[\w.]+):(\d+)(?::\d+)?: (.*)$`)
	reNoFunc      = regexp.MustCompile(`function "([^"]+)" not defined`)
	reNoField     = regexp.MustCompile(`can't evaluate field (\w+)`)
)

// annotate lists what the admin may use, which is what they need to fix a
// typo, and translates Go's template error of an old-style template.
func annotate(err error, kind Kind, data any) error {
	var te *TemplateError
	if !errors.As(err, &te) {
		return err
	}
	if !te.legacy {
		for _, p := range Placeholders(kind) {
			te.fields = append(te.fields, p.Token())
		}
		return te
	}
	te.fields = fieldNames(data)
	if te.Err == nil {
		return te
	}
	msg := te.Err.Error()
	detail := msg
	if m := reTemplatePos.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &te.Line)
		detail = m[2]
	}
	// html/template reports broken markup with its own codes, often against
	// the layout the edited text was poured into, so the position is useless.
	var he *htmltemplate.Error
	if errors.As(te.Err, &he) && he.ErrorCode != htmltemplate.OK && he.ErrorCode != htmltemplate.ErrNoSuchTemplate {
		te.Line = 0
		if he.Name == "html" || he.Name == "content" {
			te.Line = he.Line
		}
		te.problem = "HTML не закрыт: проверьте, что у каждого тега есть «>», у каждого атрибута закрыта кавычка, а комментарии <!-- закрыты -->"
		return te
	}
	switch {
	case reNoFunc.MatchString(detail):
		te.problem = "неизвестная функция «" + reNoFunc.FindStringSubmatch(detail)[1] + "»"
	case reNoField.MatchString(detail):
		te.problem = "нет поля «." + reNoField.FindStringSubmatch(detail)[1] + "»"
	case strings.Contains(detail, "unexpected EOF"), strings.Contains(detail, "unclosed action"):
		te.problem = "не закрыта конструкция: у каждой «{{» должна быть «}}», а у каждого {{if}}, {{with}} и {{range}} — свой {{end}}"
	case strings.Contains(detail, "unexpected {{end}}"):
		te.problem = "лишний {{end}}"
	default:
		te.problem = "ошибка в записи шаблона (" + detail + ")"
	}
	return te
}

// fieldNames lists what a template can write after the dot for this data:
// fields, including the promoted ones of Slot, and argument-less methods.
func fieldNames(data any) []string {
	t := reflect.TypeOf(data)
	if t == nil {
		return nil
	}
	var names []string
	if t.Kind() == reflect.Struct {
		for _, f := range reflect.VisibleFields(t) {
			if f.IsExported() && !f.Anonymous {
				names = append(names, "{{."+f.Name+"}}")
			}
		}
	}
	for i := range t.NumMethod() {
		m := t.Method(i)
		if m.Type.NumIn() == 1 && m.Type.NumOut() == 1 {
			names = append(names, "{{."+m.Name+"}}")
		}
	}
	return names
}
