package mail

import (
	"fmt"
	"html"
	"strconv"
	"strings"
	"unicode"
)

// Admins write the subject and text of a message with named Russian
// placeholders in single braces, «Здравствуйте, {Имя}!». The names come
// from a fixed list per kind, each with what it holds, so a template is
// checked completely before it is saved: there are no branches that only
// fail when some value happens to be empty, as Go templates had.
//
// A line made only of placeholders, or a label line like «Причина: {Причина}»
// (its text ends with a colon), is left out when all its placeholders came
// out empty: there is nothing to say. Other lines stay, with the gap the
// empty value left closed («оплата {Заказ} отменена»).

// Placeholder is one value a template may name as {Name}.
type Placeholder struct {
	Name        string // Russian, without braces
	Description string // Russian: what it holds
	// Link marks an address: the HTML made from an edited text turns it
	// into a link.
	Link bool
	// legacy is the Go template action an old stored template used for the
	// same value, e.g. ".Name" or "appName", for converting it in the editor.
	legacy string
	value  func(r *Renderer, data any) string
}

// Token is Name in braces, as it is typed into a template.
func (p Placeholder) Token() string { return "{" + p.Name + "}" }

// ph builds a placeholder for the data type T of one kind.
func ph[T any](name, desc, legacy string, f func(T) string) Placeholder {
	return Placeholder{Name: name, Description: desc, legacy: legacy, value: func(_ *Renderer, d any) string {
		v, ok := d.(T)
		if !ok {
			return ""
		}
		return f(v)
	}}
}

func link(p Placeholder) Placeholder { p.Link = true; return p }

func greeting(name string) string {
	if strings.TrimSpace(name) == "" {
		return "Здравствуйте!"
	}
	return "Здравствуйте, " + name + "!"
}

func common() []Placeholder {
	return []Placeholder{
		{Name: "Школа", Description: "название школы из настроек, раздел «Школа» (если не задано — Book Smeta)", legacy: "appName",
			value: func(r *Renderer, _ any) string { return r.appName }},
		{Name: "Сайт", Description: "адрес сайта бронирования", Link: true, legacy: "baseURL",
			value: func(r *Renderer, _ any) string { return r.baseURL }},
	}
}

// slotPlaceholders are the values of a booked time, for the kinds that have one.
func slotPlaceholders[T any](slot func(T) Slot) []Placeholder {
	return []Placeholder{
		ph("Время", "дата и время брони с часовым поясом: «27.11.2026, 10:00–11:00 (Москва, UTC+3)»", ".When", func(d T) string { return slot(d).When() }),
		ph("Дата", "день брони: «27.11.2026»", ".Date", func(d T) string { return slot(d).Date() }),
		ph("Часы", "часы брони: «10:00–11:00»", ".TimeRange", func(d T) string { return slot(d).TimeRange() }),
		ph("Начало", "время начала: «10:00»", ".StartTime", func(d T) string { return slot(d).StartTime() }),
		ph("День недели", "день недели брони: «пятница»", ".Weekday", func(d T) string { return slot(d).Weekday() }),
	}
}

func bookingID(id int64) string { return strconv.FormatInt(id, 10) }

// Placeholders lists what a template of kind may name, in the order the
// editor shows them; nil for an unknown kind.
func Placeholders(kind Kind) []Placeholder {
	var own []Placeholder
	switch kind {
	case KindWelcome:
		own = []Placeholder{
			ph("Приветствие", "«Здравствуйте, Анна!», или «Здравствуйте!», когда имя неизвестно", "", func(d WelcomeData) string { return greeting(d.Name) }),
			ph("Имя", "имя ученика (может быть пустым)", ".Name", func(d WelcomeData) string { return d.Name }),
			ph("Почта", "адрес почты ученика — это его логин", ".Email", func(d WelcomeData) string { return d.Email }),
			link(ph("Ссылка", "одноразовая ссылка, чтобы задать пароль", ".SetPasswordURL", func(d WelcomeData) string { return d.SetPasswordURL })),
			ph("Срок ссылки", "сколько действует ссылка: «7 дней»", "", func(d WelcomeData) string { return formatDuration(d.LinkValidFor) }),
			link(ph("Вход", "адрес страницы входа", ".LoginURL", func(d WelcomeData) string { return d.LoginURL })),
		}
	case KindBookingConfirmation:
		own = append([]Placeholder{
			ph("Приветствие", "«Здравствуйте, Анна!» или «Здравствуйте!»", "", func(d BookingConfirmationData) string { return greeting(d.Name) }),
			ph("Имя", "имя ученика (может быть пустым)", ".Name", func(d BookingConfirmationData) string { return d.Name }),
			ph("Номер брони", "номер бронирования: «1042»", ".BookingID", func(d BookingConfirmationData) string { return bookingID(d.BookingID) }),
		}, slotPlaceholders(func(d BookingConfirmationData) Slot { return d.Slot })...)
		own = append(own,
			ph("Доступ откроется", "когда появятся данные для подключения: «за 15 минут до начала»", ".AccessOpens", func(d BookingConfirmationData) string { return d.AccessOpens() }),
			ph("Срок отмены", "«не позже чем за 2 часа до начала», или пусто, если отменять можно до начала", "", func(d BookingConfirmationData) string {
				if d.CancelCutoff <= 0 {
					return ""
				}
				return "не позже чем за " + formatDuration(d.CancelCutoff) + " до начала"
			}),
			link(ph("Ссылка", "страница «Мои бронирования»", ".BookingsURL", func(d BookingConfirmationData) string { return d.BookingsURL })),
		)
	case KindBookingCancelled:
		own = append([]Placeholder{
			ph("Приветствие", "«Здравствуйте, Анна!» или «Здравствуйте!»", "", func(d BookingCancelledData) string { return greeting(d.Name) }),
			ph("Имя", "имя ученика (может быть пустым)", ".Name", func(d BookingCancelledData) string { return d.Name }),
			ph("Номер брони", "номер бронирования: «1042»", ".BookingID", func(d BookingCancelledData) string { return bookingID(d.BookingID) }),
		}, slotPlaceholders(func(d BookingCancelledData) Slot { return d.Slot })...)
		own = append(own,
			ph("Что случилось", "кто отменил бронь: ученик, администратор или возврат оплаты — одним предложением с номером и временем брони", "", cancelledWhat),
			ph("Причина", "слова администратора, почему он отменил бронь (пусто, если отменил не администратор)", ".Reason", func(d BookingCancelledData) string {
				if !d.ByAdmin() {
					return ""
				}
				return d.Reason
			}),
			ph("Что дальше", "что делать ученику: выбрать другое время или, при возврате оплаты, написать в школу", "", func(d BookingCancelledData) string {
				if d.ByRefund() {
					return "Если это ошибка, напишите в школу — администратор проверит оплату."
				}
				return "Это время больше не засчитывается в ваш лимит броней. Выбрать другое время можно в разделе «Мои бронирования»."
			}),
			link(ph("Ссылка", "страница «Мои бронирования» (пусто при возврате оплаты: выбирать время не из чего)", ".BookingsURL", func(d BookingCancelledData) string {
				if d.ByRefund() {
					return ""
				}
				return d.BookingsURL
			})),
		)
	case KindReminder:
		own = append([]Placeholder{
			ph("Приветствие", "«Здравствуйте, Анна!» или «Здравствуйте!»", "", func(d ReminderData) string { return greeting(d.Name) }),
			ph("Имя", "имя ученика (может быть пустым)", ".Name", func(d ReminderData) string { return d.Name }),
			ph("Номер брони", "номер бронирования: «1042»", ".BookingID", func(d ReminderData) string { return bookingID(d.BookingID) }),
		}, slotPlaceholders(func(d ReminderData) Slot { return d.Slot })...)
		own = append(own,
			ph("Через сколько", "«Через 1 час» (с большой буквы), или «Скоро»", "", func(d ReminderData) string {
				if d.StartsIn <= 0 {
					return "Скоро"
				}
				return "Через " + formatDuration(d.StartsIn)
			}),
			ph("Доступ откроется", "когда появятся данные для подключения: «за 15 минут до начала»", ".AccessOpens", func(d ReminderData) string { return d.AccessOpens() }),
			link(ph("Ссылка", "панель доступа в «Моих бронированиях»", ".AccessURL", func(d ReminderData) string { return d.AccessURL })),
		)
	case KindPasswordReset:
		own = []Placeholder{
			ph("Приветствие", "«Здравствуйте, Анна!» или «Здравствуйте!»", "", func(d PasswordResetData) string { return greeting(d.Name) }),
			ph("Имя", "имя (может быть пустым)", ".Name", func(d PasswordResetData) string { return d.Name }),
			ph("Почта", "адрес почты — логин", ".Email", func(d PasswordResetData) string { return d.Email }),
			link(ph("Ссылка", "одноразовая ссылка, чтобы задать новый пароль", ".ResetURL", func(d PasswordResetData) string { return d.ResetURL })),
			ph("Срок ссылки", "сколько действует ссылка: «2 часа»", "", func(d PasswordResetData) string { return formatDuration(d.ValidFor) }),
		}
	case KindPaymentRevoked:
		own = []Placeholder{
			ph("Приветствие", "«Здравствуйте, Анна!» или «Здравствуйте!»", "", func(d PaymentRevokedData) string { return greeting(d.Name) }),
			ph("Имя", "имя ученика (может быть пустым)", ".Name", func(d PaymentRevokedData) string { return d.Name }),
			ph("Заказ", "«по заказу №1042», или пусто, если GetCourse не прислал номер", "", func(d PaymentRevokedData) string {
				if d.Deal == "" {
					return ""
				}
				return "по заказу " + d.Deal
			}),
			link(ph("Ссылка", "страница «Мои бронирования»", ".BookingsURL", func(d PaymentRevokedData) string { return d.BookingsURL })),
		}
	case KindAccessEnding:
		own = []Placeholder{
			ph("Приветствие", "«Здравствуйте, Анна!» или «Здравствуйте!»", "", func(d AccessEndingData) string { return greeting(d.Name) }),
			ph("Имя", "имя ученика (может быть пустым)", ".Name", func(d AccessEndingData) string { return d.Name }),
			ph("Дата", "день, когда закончится доступ: «04.12.2026»", ".Date", func(d AccessEndingData) string { return d.Date() }),
			ph("Время", "час, когда закончится доступ: «10:00»", ".Time", func(d AccessEndingData) string { return d.Time() }),
			link(ph("Ссылка", "страница «Мои бронирования»", ".BookingsURL", func(d AccessEndingData) string { return d.BookingsURL })),
		}
	case KindAccessEnded:
		own = []Placeholder{
			ph("Приветствие", "«Здравствуйте, Анна!» или «Здравствуйте!»", "", func(d AccessEndedData) string { return greeting(d.Name) }),
			ph("Имя", "имя ученика (может быть пустым)", ".Name", func(d AccessEndedData) string { return d.Name }),
			ph("Причина", "почему доступ закончился, одним предложением", ".Reason", func(d AccessEndedData) string { return d.Reason }),
			link(ph("Ссылка", "страница «Мои бронирования»", ".BookingsURL", func(d AccessEndedData) string { return d.BookingsURL })),
		}
	case KindAdminAlert:
		own = []Placeholder{
			ph("Событие", "тип события GetCourse: «user_payment»", ".Event", func(d AdminAlertData) string { return d.Event }),
			ph("Номер события", "номер события в журнале вебхуков", ".EventID", func(d AdminAlertData) string { return d.EventID }),
			ph("Ученик", "почта ученика, о котором событие (может быть пустой)", ".Email", func(d AdminAlertData) string { return d.Email }),
			ph("Ошибка", "последняя ошибка обработки", ".Error", func(d AdminAlertData) string { return d.Error }),
			ph("Повторов", "сколько раз повторилась ошибка: «5 раз»", "", func(d AdminAlertData) string {
				return fmt.Sprintf("%d %s", d.Attempts, plural(d.Attempts, "раз", "раза", "раз"))
			}),
			ph("После попыток", "«после 5 попыток»", "", func(d AdminAlertData) string {
				return fmt.Sprintf("после %d %s", d.Attempts, plural(d.Attempts, "попытки", "попыток", "попыток"))
			}),
			ph("Последняя попытка", "дата и время последней попытки", ".When", func(d AdminAlertData) string { return d.When() }),
			link(ph("Ссылка", "событие в журнале вебхуков", ".LogURL", func(d AdminAlertData) string { return d.LogURL })),
		}
	case KindAccessAlert:
		own = []Placeholder{
			ph("Что", "«Закрыть доступ» или «Выдать доступ»", "", func(d AccessAlertData) string {
				if d.IsRevoke() {
					return "Закрыть доступ"
				}
				return "Выдать доступ"
			}),
			ph("Опасность", "что это значит для школы, одним предложением", "", func(d AccessAlertData) string {
				if d.IsRevoke() {
					return "Пока доступ не закрыт, ученик может входить на сервер вне своего времени."
				}
				return "Пока доступ не выдан, ученик не может войти на сервер в своё время."
			}),
			ph("Ученик", "почта ученика", ".Email", func(d AccessAlertData) string { return d.Email }),
			ph("Учётная запись", "учётная запись на сервере (может быть пустой)", ".Account", func(d AccessAlertData) string { return d.Account }),
			ph("Бронирование", "номер бронирования", ".BookingID", func(d AccessAlertData) string { return fmt.Sprint(d.BookingID) }),
			ph("Время", "время брони: «27.11.2026 10:00–11:00»", "", func(d AccessAlertData) string {
				st, en := d.Start, d.End
				if d.Zone != nil {
					st, en = st.In(d.Zone), en.In(d.Zone)
				}
				return st.Format("02.01.2006 15:04") + "–" + en.Format("15:04")
			}),
			ph("Ошибка", "причина сбоя", ".Error", func(d AccessAlertData) string { return d.Error }),
			ph("Попыток", "сколько попыток уже не удалось: «3»", ".Attempts", func(d AccessAlertData) string { return fmt.Sprint(d.Attempts) }),
			link(ph("Ссылка", "страница «Доступ к серверу» в панели", ".PageURL", func(d AccessAlertData) string { return d.PageURL })),
		}
	case KindTest:
		own = []Placeholder{
			ph("Сервер", "куда отправлено: «smtp.yandex.ru:465, SSL» (без логина и пароля)", ".Server", func(d TestData) string { return d.Server }),
			ph("Отправил", "почта администратора, нажавшего кнопку", ".RequestedBy", func(d TestData) string { return d.RequestedBy }),
			ph("Когда", "дата и время отправки", ".When", func(d TestData) string { return d.When() }),
		}
	default:
		return nil
	}
	return append(own, common()...)
}

func cancelledWhat(d BookingCancelledData) string {
	switch {
	case d.ByRefund():
		return "Бронирование №" + bookingID(d.BookingID) + " на " + d.When() + " отменено, потому что оплата курса была возвращена. Бронировать время снова можно будет после новой оплаты."
	case d.ByAdmin():
		return "Администратор отменил ваше бронирование №" + bookingID(d.BookingID) + " на " + d.When() + "."
	}
	return "Вы отменили бронирование №" + bookingID(d.BookingID) + " на " + d.When() + "."
}

// IsLegacy reports whether s is written in the old Go template syntax
// («{{.Name}}»): such stored templates keep rendering the old way.
func IsLegacy(s string) bool { return strings.Contains(s, "{{") }

// segment is a run of literal text or one placeholder of a parsed line.
type segment struct {
	text string
	ph   *Placeholder
}

// parseError is a problem with the line it is on, in Russian.
type parseError struct {
	line    int
	problem string
}

// parsePlaceholders splits text into lines of segments, refusing an
// unknown name or a brace without its pair.
func parsePlaceholders(kind Kind, text string) ([][]segment, *parseError) {
	known := Placeholders(kind)
	lookup := func(name string) *Placeholder {
		for i := range known {
			if strings.EqualFold(known[i].Name, name) {
				return &known[i]
			}
		}
		return nil
	}
	var lines [][]segment
	for n, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		var segs []segment
		rest := line
		for rest != "" {
			open, close := strings.IndexByte(rest, '{'), strings.IndexByte(rest, '}')
			if close >= 0 && (open < 0 || close < open) {
				return nil, &parseError{n + 1, "лишняя закрывающая скобка «}» — у неё нет открывающей «{»"}
			}
			if open < 0 {
				segs = append(segs, segment{text: rest})
				break
			}
			if open > 0 {
				segs = append(segs, segment{text: rest[:open]})
			}
			if close < 0 {
				return nil, &parseError{n + 1, "не закрыта скобка: после «" + clip(rest[open:]) + "» нет «}» (подстановка пишется в одной строке, например {Имя})"}
			}
			inner := rest[open+1 : close]
			if strings.ContainsRune(inner, '{') {
				return nil, &parseError{n + 1, "скобка «{» открыта дважды: «" + clip(rest[open:close+1]) + "»"}
			}
			name := strings.Join(strings.FieldsFunc(inner, unicode.IsSpace), " ")
			if name == "" {
				return nil, &parseError{n + 1, "пустые скобки «{}»: внутри должно быть имя подстановки"}
			}
			p := lookup(name)
			if p == nil {
				return nil, &parseError{n + 1, "неизвестная подстановка «{" + name + "}»"}
			}
			segs = append(segs, segment{ph: p})
			rest = rest[close+1:]
		}
		lines = append(lines, segs)
	}
	return lines, nil
}

func clip(s string) string {
	if r := []rune(s); len(r) > 30 {
		return string(r[:30]) + "…"
	}
	return s
}

// piece is rendered text; link marks a placeholder's address value.
type piece struct {
	text string
	link bool
}

// fill renders parsed lines with data, leaving out the label lines whose
// placeholders all came out empty.
func (r *Renderer) fill(lines [][]segment, data any) [][]piece {
	var out [][]piece
	for _, segs := range lines {
		var line []piece
		placeholders, empty := 0, 0
		var literal strings.Builder
		for _, s := range segs {
			if s.ph == nil {
				line = append(line, piece{text: s.text})
				literal.WriteString(s.text)
				continue
			}
			placeholders++
			v := strings.TrimSpace(s.ph.value(r, data))
			if v == "" {
				empty++
			}
			line = append(line, piece{text: v, link: s.ph.Link})
		}
		label := strings.TrimSpace(literal.String())
		if placeholders > 0 && empty == placeholders && (label == "" || strings.HasSuffix(label, ":")) {
			continue
		}
		if empty > 0 {
			line = closeGaps(line)
		}
		out = append(out, line)
	}
	return out
}

// closeGaps removes the double space or the space before a comma an empty
// placeholder leaves in the middle of a sentence («оплата {Заказ} отменена»).
func closeGaps(line []piece) []piece {
	var out []piece
	for _, p := range line {
		if p.text == "" {
			continue
		}
		if n := len(out); n > 0 && !p.link && !out[n-1].link {
			out[n-1].text += p.text
			continue
		}
		out = append(out, p)
	}
	for i := range out {
		if out[i].link {
			continue
		}
		t := out[i].text
		for strings.Contains(t, "  ") {
			t = strings.ReplaceAll(t, "  ", " ")
		}
		for _, mark := range []string{",", ".", "!", "?", ":", ";"} {
			t = strings.ReplaceAll(t, " "+mark, mark)
		}
		if i == 0 {
			t = strings.TrimLeft(t, " ")
		}
		out[i].text = t
	}
	return out
}

func plainText(lines [][]piece) string {
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		for _, p := range l {
			b.WriteString(p.text)
		}
	}
	return b.String()
}

// htmlBody makes the HTML of an edited text: paragraphs at blank lines,
// line breaks kept, every value escaped, web addresses as links.
func htmlBody(lines [][]piece) string {
	var b strings.Builder
	open := false
	for _, l := range lines {
		blank := true
		for _, p := range l {
			if strings.TrimSpace(p.text) != "" {
				blank = false
			}
		}
		if blank {
			if open {
				b.WriteString("</p>\n")
				open = false
			}
			continue
		}
		if open {
			b.WriteString("<br>\n")
		} else {
			b.WriteString(`<p style="margin:0 0 16px;">`)
			open = true
		}
		for _, p := range l {
			if p.link && (strings.HasPrefix(p.text, "https://") || strings.HasPrefix(p.text, "http://")) {
				u := html.EscapeString(p.text)
				b.WriteString(`<a href="` + u + `" style="color:#1d4ed8;word-break:break-all;">` + u + `</a>`)
				continue
			}
			b.WriteString(html.EscapeString(p.text))
		}
	}
	if open {
		b.WriteString("</p>\n")
	}
	return b.String()
}

// ConvertLegacy rewrites an old Go template text in placeholders when it
// uses nothing but plain values («{{.Name}}», «{{appName}}»); ok is false
// when it has conditions or functions only the old syntax can express.
func ConvertLegacy(kind Kind, text string) (string, bool) {
	if !IsLegacy(text) {
		return text, true
	}
	out := text
	for _, p := range Placeholders(kind) {
		if p.legacy == "" {
			continue
		}
		for _, form := range []string{"{{" + p.legacy + "}}", "{{ " + p.legacy + " }}"} {
			out = strings.ReplaceAll(out, form, p.Token())
		}
	}
	if strings.Contains(out, "{{") || strings.Contains(out, "}}") {
		return "", false
	}
	return out, true
}

// Sample is what p gives for the kind's sample data, for the editor's list.
func (r *Renderer) Sample(kind Kind, p Placeholder) string {
	data, err := r.prepare(kind, SampleData(kind))
	if err != nil || p.value == nil {
		return ""
	}
	return p.value(r, data)
}
