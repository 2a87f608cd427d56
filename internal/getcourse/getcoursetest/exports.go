package getcoursetest

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

type export struct {
	id        int64
	kind      string
	fields    []string
	items     [][]any
	pollsLeft int
}

// filterNames are the parameters GetCourse counts as filters per export;
// anything else is ignored and does not satisfy the filter rule.
var filterNames = map[string][]string{
	"users": {"status", "email", "created_at[from]", "created_at[to]"},
	"deals": {"status", "user_id", "created_at[from]", "created_at[to]", "payed_at[from]", "payed_at[to]",
		"finished_at[from]", "finished_at[to]", "status_changed_at[from]", "status_changed_at[to]"},
	"payments": {"status", "created_at[from]", "created_at[to]", "status_changed_at[from]", "status_changed_at[to]"},
}

// badStatusCodes are the codes for a status filter an export does not accept.
// GetCourse does not document which code belongs to which export; one per
// export type is what clients observed.
var badStatusCodes = map[string]int{"users": 913, "deals": 914, "payments": 918}

const timeLayout = "2006-01-02 15:04:05"

func (s *Server) serveGroups(w http.ResponseWriter) {
	items := make([]map[string]any, len(s.groups))
	for i, g := range s.groups {
		last := ""
		if !g.LastAddedAt.IsZero() {
			last = g.LastAddedAt.In(s.loc).Format(timeLayout)
		}
		// ids arrive as strings here, as numbers elsewhere.
		items[i] = map[string]any{"id": strconv.FormatInt(g.ID, 10), "name": g.Name, "last_added_at": last}
	}
	writeJSON(w, map[string]any{"success": true, "info": items})
}

func (s *Server) serveExportStart(w http.ResponseWriter, kind string, form url.Values) {
	// The one-export lock is checked before anything else, as on the real
	// service: a 905 means nothing was started.
	for _, e := range s.exports {
		if e.pollsLeft > 0 {
			writeJSON(w, exportError(905, "Уже запущен экспорт, дождитесь его завершения"))
			return
		}
	}
	given := false
	for _, name := range filterNames[kind] {
		if strings.TrimSpace(form.Get(name)) != "" {
			given = true
		}
	}
	if !given {
		writeJSON(w, exportError(908, "Должен быть передан хотя бы один фильтр"))
		return
	}
	if st := form.Get("status"); st != "" && !s.statusKnown(kind, st) {
		writeJSON(w, exportError(badStatusCodes[kind], "Неверное значение поле статус, попробуйте один из - "+strings.Join(s.statusList(kind), ",")))
		return
	}
	f, err := s.parseFilters(form)
	if err != "" {
		writeJSON(w, exportError(0, err))
		return
	}
	s.nextExportID++
	e := &export{id: s.nextExportID, kind: kind, pollsLeft: s.readyAfter}
	switch kind {
	case "users":
		e.fields, e.items = s.userRows(f)
	case "deals":
		e.fields, e.items = s.dealRows(f)
	default:
		e.fields, e.items = s.paymentRows(f)
	}
	s.exports[e.id] = e
	writeJSON(w, map[string]any{"success": true, "info": map[string]any{"export_id": e.id}})
}

func (s *Server) serveExportStatus(w http.ResponseWriter, idText string) {
	id, _ := strconv.ParseInt(idText, 10, 64)
	e := s.exports[id]
	if e == nil {
		writeJSON(w, map[string]any{"success": false, "error": true, "error_message": "Экспорт не найден", "info": nil})
		return
	}
	if e.pollsLeft > 0 {
		e.pollsLeft--
		writeJSON(w, exportError(909, "Файл еще не создан"))
		return
	}
	writeJSON(w, map[string]any{"success": true, "info": map[string]any{"fields": e.fields, "items": e.items}})
}

func (s *Server) statusKnown(kind, st string) bool {
	switch kind {
	case "users":
		return userStatuses[st]
	case "deals":
		return dealStatusLabels[st] != ""
	}
	return paymentStatusLabels[st] != ""
}

func (s *Server) statusList(kind string) []string {
	var m []string
	switch kind {
	case "users":
		for k := range userStatuses {
			m = append(m, k)
		}
	case "deals":
		for k := range dealStatusLabels {
			m = append(m, k)
		}
	default:
		for k := range paymentStatusLabels {
			m = append(m, k)
		}
	}
	sort.Strings(m)
	return m
}

type span struct{ from, to time.Time } // to is exclusive; zero means open

type filters struct {
	status  string
	email   string
	userID  int64
	created span
	payed   span
	changed span
}

func (s *Server) parseFilters(form url.Values) (filters, string) {
	f := filters{status: form.Get("status"), email: normEmail(form.Get("email"))}
	f.userID, _ = strconv.ParseInt(form.Get("user_id"), 10, 64)
	for _, x := range []struct {
		name string
		dst  *span
	}{{"created_at", &f.created}, {"payed_at", &f.payed}, {"finished_at", &f.payed}, {"status_changed_at", &f.changed}} {
		for _, bound := range []string{"from", "to"} {
			v := strings.TrimSpace(form.Get(x.name + "[" + bound + "]"))
			if v == "" {
				continue
			}
			t, dateOnly, ok := s.parseDate(v)
			if !ok {
				return f, "Неверный формат даты в фильтре " + x.name + ": " + v
			}
			if bound == "from" {
				x.dst.from = t
			} else {
				if dateOnly {
					// A date "to" takes in that whole day.
					t = t.AddDate(0, 0, 1)
				}
				x.dst.to = t
			}
		}
	}
	return f, ""
}

func (s *Server) parseDate(v string) (time.Time, bool, bool) {
	for _, layout := range []string{"2006-01-02", "02.01.2006"} {
		if t, err := time.ParseInLocation(layout, v, s.loc); err == nil {
			return t, true, true
		}
	}
	for _, layout := range []string{timeLayout, "2006-01-02 15:04", "02.01.2006 15:04"} {
		if t, err := time.ParseInLocation(layout, v, s.loc); err == nil {
			return t, false, true
		}
	}
	return time.Time{}, false, false
}

func (sp span) set() bool { return !sp.from.IsZero() || !sp.to.IsZero() }

func (sp span) holds(t time.Time) bool {
	if !sp.set() {
		return true
	}
	if t.IsZero() {
		return false
	}
	return (sp.from.IsZero() || !t.Before(sp.from)) && (sp.to.IsZero() || t.Before(sp.to))
}

func (s *Server) when(t time.Time, layout string) any {
	if t.IsZero() {
		return ""
	}
	return t.In(s.loc).Format(layout)
}

func fullName(first, last string) string { return strings.TrimSpace(first + " " + last) }

// numberOrText sends numeric strings as JSON numbers, as the export does for
// ids and deal numbers.
func numberOrText(s string) any {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	return s
}

func (s *Server) userRows(f filters) ([]string, [][]any) {
	var custom []string
	seen := map[string]bool{}
	for _, u := range s.users {
		for k := range u.AddFields {
			if !seen[k] {
				seen[k] = true
				custom = append(custom, k)
			}
		}
	}
	sort.Strings(custom)
	fields := []string{"id", "Email", "Тип регистрации", "Создан", "Последняя активность", "Имя", "Фамилия", "Телефон", "Дата рождения", "Возраст", "Страна", "Город"}
	// Custom fields are spliced into the middle, so rows must be read by
	// column title, never by position.
	fields = append(fields, custom...)
	fields = append(fields, "От партнера", "Откуда пришел", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_group")
	var items [][]any
	for _, u := range s.users {
		if (f.status != "" && u.Status != f.status) || (f.email != "" && u.Email != f.email) || !f.created.holds(u.CreatedAt) {
			continue
		}
		row := []any{u.ID, u.Email, "", s.when(u.CreatedAt, timeLayout), "", u.FirstName, u.LastName, u.Phone, nil, nil, u.Country, u.City}
		for _, k := range custom {
			row = append(row, u.AddFields[k])
		}
		row = append(row, "", "", "", "", "", "", "")
		items = append(items, row)
	}
	return fields, items
}

func (s *Server) dealRows(f filters) ([]string, [][]any) {
	fields := []string{"ID заказа", "Номер", "ID пользователя", "Пользователь", "Email", "Телефон", "Дата создания", "Дата оплаты",
		"Title", "Статус", "Стоимость, RUB", "Оплачено", "Комиссия платежной системы", "Получено", "Валюта", "Менеджер", "Город",
		"Платежная система", "ID партнера", "Состав заказа", "utm_source", "utm_medium", "utm_campaign", "utm_content"}
	var items [][]any
	for _, d := range s.deals {
		if (f.status != "" && d.Status != f.status) || (f.userID != 0 && d.UserID != f.userID) ||
			!f.created.holds(d.CreatedAt) || !f.payed.holds(d.PaidAt) || !f.changed.holds(d.StatusChangedAt) {
			continue
		}
		var name, phone, city string
		if u := s.userByIDLocked(d.UserID); u != nil {
			name, phone, city = fullName(u.FirstName, u.LastName), u.Phone, u.City
		}
		items = append(items, []any{
			d.ID, numberOrText(d.Number), d.UserID, name, d.UserEmail, phone,
			s.when(d.CreatedAt, timeLayout), s.when(d.PaidAt, timeLayout), d.Title, dealStatusLabels[d.Status],
			rub(d.Cost, "\u00a0", "руб."), rub(d.Paid, "\u00a0", "руб."), rub(0, "\u00a0", "руб."), rub(d.Paid, "\u00a0", "руб."),
			d.Currency, "", city, "", "", d.Title, "", "", "", "",
		})
	}
	return fields, items
}

func (s *Server) paymentRows(f filters) ([]string, [][]any) {
	fields := []string{"Номер", "Пользователь", "Email", "Заказ", "Дата создания", "Тип", "Статус", "Сумма", "Комиссии", "Получено", "Код платежа", "Название"}
	var items [][]any
	for _, p := range s.payments {
		if (f.status != "" && p.Status != f.status) || !f.created.holds(p.CreatedAt) || !f.changed.holds(p.CreatedAt) {
			continue
		}
		name := ""
		if u := s.userByEmailLocked(p.UserEmail); u != nil {
			name = fullName(u.FirstName, u.LastName)
		}
		items = append(items, []any{
			numberOrText(p.Number), name, p.UserEmail, numberOrText(p.DealNumber), s.when(p.CreatedAt, "02.01.2006 15:04"),
			p.Type, paymentStatusLabels[p.Status], rub(p.Amount, "\u202f", "руб."), rub(0, "\u202f", "руб."),
			rub(p.Amount, "\u202f", "руб."), "", p.Title,
		})
	}
	return fields, items
}
