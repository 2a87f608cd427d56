// Package web serves Book Smeta's pages: server-rendered html/template,
// Russian, embedded templates and assets. No rule lives here: the pages ask
// booking, schedule and accounts what to offer (CanCancel, Window,
// CanManage …) and show their refusals in the rules' own words, at the
// status of booksmeta's one table; what a page adds to a refusal is in
// refusals.go.
package web

import (
	"booksmeta"

	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/accounts"
	"booksmeta/internal/audit"
	"booksmeta/internal/auth"
	"booksmeta/internal/backup"
	"booksmeta/internal/booking"
	"booksmeta/internal/enrol"
	"booksmeta/internal/gcsync"
	"booksmeta/internal/getcourse"
	"booksmeta/internal/grants"
	"booksmeta/internal/jobs"
	"booksmeta/internal/outbox"
	"booksmeta/internal/ru"
	"booksmeta/internal/schedule"
	"booksmeta/internal/secretbox"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

//go:embed templates/*.html
var templatesFS embed.FS

//go:embed static
var staticFS embed.FS

// Server holds what the pages need.
type Server struct {
	Store     *store.Store
	Settings  *settings.Service
	Accounts  *accounts.Service
	Booking   *booking.Service
	Box       *secretbox.Box
	Schedule  *schedule.Service
	GetCourse *gcsync.Service
	Outbox    *outbox.Service
	Backups   *backup.Service
	Enrol     *enrol.Service
	Auth      *auth.Service
	Jobs      *jobs.Runner
	Audit     audit.Recorder
	Grants    *grants.Service
	Log       *slog.Logger
	BaseURL   string
	Version   string
	// SecureCookies marks the session cookie Secure (public URL is https).
	SecureCookies bool
	// GetCourseTest runs the connection test; override replaces the saved
	// values with the ones being entered (nil: the saved ones).
	GetCourseTest func(ctx context.Context, override *getcourse.Config) getcourse.Verdict

	pages map[string]*template.Template
	// started is when Routes ran: the "about the system" page's uptime.
	started time.Time
}

// maxForm bounds a page form's body; the largest is the settings form.
const maxForm = 1 << 20

// Routes registers the pages on mux.
func (s *Server) Routes(mux *http.ServeMux) {
	s.parse()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	mux.HandleFunc("GET /setup", s.setupForm)
	mux.HandleFunc("POST /setup", s.setupSubmit)
	mux.HandleFunc("GET /set-password", s.setPasswordForm)
	mux.HandleFunc("POST /set-password", s.setPasswordSubmit)

	mux.HandleFunc("GET /{$}", s.home)
	s.studentRoutes(mux)
	s.accessRoutes(mux)
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.loginSubmit)
	mux.HandleFunc("POST /logout", s.signedIn(s.logout))

	mux.HandleFunc("GET /admin", s.admin(s.dashboard))
	mux.HandleFunc("GET /admin/{$}", s.admin(s.dashboard))
	mux.HandleFunc("GET /admin/settings", s.admin(s.settingsForm))
	mux.HandleFunc("POST /admin/settings", s.admin(s.settingsSave))
	mux.HandleFunc("POST /admin/settings/webhook-secret", s.admin(s.settingsGenerateSecret))
	mux.HandleFunc("POST /admin/settings/reveal", s.admin(s.settingsReveal))
	mux.HandleFunc("POST /admin/settings/test", s.admin(s.settingsTest))
	mux.HandleFunc("GET /admin/settings/general", s.admin(s.generalForm))
	mux.HandleFunc("POST /admin/settings/general", s.admin(s.generalSave))
	mux.HandleFunc("POST /admin/settings/mail-test", s.admin(s.mailTest))
	mux.HandleFunc("GET /admin/webhooks", s.admin(s.webhookList))
	mux.HandleFunc("POST /admin/webhooks/prune", s.admin(s.webhookPrune))
	mux.HandleFunc("GET /admin/webhooks/{id}", s.admin(s.webhookDetail))
	mux.HandleFunc("POST /admin/webhooks/{id}/rerun", s.admin(s.webhookRerun))
	s.slotRoutes(mux)
	mux.HandleFunc("GET /admin/mail", s.admin(s.outboxPage))
	mux.HandleFunc("POST /admin/mail/{id}/resend", s.admin(s.outboxResend))
	mux.HandleFunc("GET /admin/mail-templates", s.admin(s.templatesList))
	mux.HandleFunc("GET /admin/mail-templates/{kind}", s.admin(s.templateEdit))
	mux.HandleFunc("POST /admin/mail-templates/{kind}", s.admin(s.templateSave))
	s.mailAliasRoutes(mux)
	mux.HandleFunc("GET /admin/getcourse", s.admin(s.gcPage))
	s.connectRoutes(mux)
	s.offerRoutes(mux)
	s.auditSystemRoutes(mux)
	mux.HandleFunc("GET /admin/backups", s.admin(s.backupsPage))
	mux.HandleFunc("POST /admin/backups", s.admin(s.backupsNow))
	mux.HandleFunc("POST /admin/backups/settings", s.admin(s.backupsSettings))
	mux.HandleFunc("POST /admin/getcourse/sync", s.admin(s.gcSyncNow))
	mux.HandleFunc("GET /admin/users", s.admin(s.userList))
	mux.HandleFunc("GET /admin/users/new", s.admin(s.userNewForm))
	mux.HandleFunc("POST /admin/users/new", s.admin(s.userCreate))
	mux.HandleFunc("GET /admin/users/{id}", s.admin(s.userEdit))
	mux.HandleFunc("POST /admin/users/{id}", s.admin(s.userUpdate))
	mux.HandleFunc("POST /admin/users/{id}/password", s.admin(s.userSetPassword))
	mux.HandleFunc("POST /admin/users/{id}/link", s.admin(s.userIssueLink))
	mux.HandleFunc("POST /admin/users/{id}/active", s.admin(s.userSetActive))
	mux.HandleFunc("POST /admin/users/{id}/delete", s.admin(s.userDelete))
	mux.HandleFunc("/admin/", s.admin(func(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
		s.render(w, http.StatusNotFound, "notfound", s.adminData(r, "Страница не найдена", ""))
	}))
	mux.HandleFunc("/", s.notFound)
}

var funcs = template.FuncMap{
	"when":       formatTime,
	"outcome":    outcomeLabel,
	"state":      stateLabel,
	"authm":      authLabel,
	"role":       booksmeta.RoleName,
	"source":     sourceLabel,
	"hm":         func(t time.Time, loc *time.Location) string { return t.In(loc).Format("15:04") },
	"day":        dayLabel,
	"date":       func(t time.Time) string { return t.Format("2006-01-02") },
	"dmy":        dateForPeople,
	"dur":        ru.Duration,
	"span":       booking.Span,
	"email":      breakableEmail,
	"optionOf":   optionOf,
	"code":       breakableCode,
	"mailkind":   mailKindLabel,
	"mailstatus": mailStatusLabel,
	"where":      func(nav any, id int64) soonWhere { n, _ := nav.(string); return soonWhere{Nav: n, ID: id} },
}

func (s *Server) parse() {
	s.pages = map[string]*template.Template{}
	names, _ := fs.Glob(templatesFS, "templates/*.html")
	for _, n := range names {
		base := n[len("templates/") : len(n)-len(".html")]
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		s.pages[base] = template.Must(template.New(base).Funcs(funcs).ParseFS(templatesFS,
			"templates/layout.html", "templates/_parts.html", n))
	}
}

// render writes a page; data fields are escaped by html/template.
func (s *Server) render(w http.ResponseWriter, status int, page string, data map[string]any) {
	t, ok := s.pages[page]
	if !ok {
		s.Log.Error("unknown page template", "page", page)
		http.Error(w, "Внутренняя ошибка: страница не найдена.", http.StatusInternalServerError)
		return
	}
	if data == nil {
		data = map[string]any{}
	}
	for _, k := range []string{"Nav", "Flash", "CSRF", "ErrField"} {
		if _, ok := data[k]; !ok {
			data[k] = ""
		}
	}
	data["Version"] = s.Version
	// Render fully before answering, so a template error becomes a clear
	// 500 instead of half a page with a 200.
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		s.Log.Error("render page", "page", page, "err", err)
		http.Error(w, "Внутренняя ошибка при показе страницы. Обновите страницу; если повторяется, сообщите администратору.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// Pages carry CSRF tokens and sometimes a deliberately shown secret:
	// never keep them in a cache.
	w.Header().Set("Cache-Control", "no-store")
	securityHeaders(w)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusNotFound, "notfound", s.data(r, "Страница не найдена"))
}

// WriteJSON writes v as a JSON answer.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// data starts a page's template data with what the layout needs: the
// signed-in user and the session's CSRF token for the sign-out form.
func (s *Server) data(r *http.Request, title string) map[string]any {
	d := map[string]any{"Title": title, "School": s.Settings.School(r.Context())}
	if u, sess := auth.FromContext(r.Context()); u != nil && sess != nil {
		d["User"], d["CSRF"], d["IsAdmin"] = u, sess.CSRFToken, u.IsAdmin()
		if !u.IsAdmin() {
			d["Unread"] = s.unreadNotices(r, u)
		}
		s.maintenanceBanner(r, u, d)
	}
	if msg := flashMessage(r.URL.Query()); msg != "" {
		d["Flash"] = msg
	}
	return d
}

// maintenanceBanner marks every page of a signed-in user while maintenance
// mode is on: admins are reminded that students cannot book (and where to
// switch it off), students read the school's message on every page.
func (s *Server) maintenanceBanner(r *http.Request, u *booksmeta.User, d map[string]any) {
	if s.Booking == nil {
		return
	}
	on, err := s.Booking.Maintenance(r.Context())
	if err != nil {
		s.Log.Error("read maintenance mode", "err", err)
		return
	}
	if !on {
		return
	}
	d["MaintenanceOn"] = true
	if !u.IsAdmin() {
		msg, err := s.Booking.Message(r.Context(), u, booking.OpBook, booksmeta.CodeMaintenance)
		if err != nil {
			s.Log.Error("read maintenance message", "err", err)
		}
		d["MaintenanceText"] = msg
	}
}

// adminData adds the admin menu and the red banner shown on every admin page
// while webhooks are accepted unverified.
func (s *Server) adminData(r *http.Request, title, nav string) map[string]any {
	d := s.data(r, title)
	d["Nav"] = nav
	secret, err := s.Settings.WebhookSecret(r.Context())
	if err != nil {
		s.Log.Error("read webhook secret", "err", err)
	}
	d["SecretMissing"] = err == nil && secret == ""
	u, _ := auth.FromContext(r.Context())
	d["IsSuper"] = u != nil && u.Role == booksmeta.RoleSuperAdmin
	return d
}

// flashMessage turns a ?ok= code (set by a redirect after a POST) into its
// text. Only known codes are shown: a link cannot put words on the page.
func flashMessage(q url.Values) string {
	switch q.Get("ok") {
	case "settings_saved":
		return "Настройки сохранены."
	case "settings_unchanged":
		return "Ничего не изменилось: все поля совпадают с сохранёнными значениями."
	case "rerun":
		return "Событие поставлено в очередь на повторную обработку. Обновите страницу через несколько секунд, чтобы увидеть результат."
	case "pruned":
		n, _ := strconv.Atoi(q.Get("n"))
		return "Удалено записей журнала: " + strconv.Itoa(n) + ". Необработанные и ошибочные события сохранены: они ещё требуют внимания."
	case "devkey_saved":
		return "Ключ разработчика сохранён. Теперь нажмите «Подписать Book Smeta на события заказов»."
	case "devkey_cleared":
		return "Ключ разработчика удалён. Уже оформленная подписка в GetCourse при этом остаётся."
	case "user_created":
		return "Пользователь создан."
	case "user_saved":
		return "Изменения сохранены."
	case "password_set":
		return "Пароль установлен. Все сеансы этого пользователя завершены: ему нужно войти заново с новым паролем."
	case "deactivated":
		return "Аккаунт отключён: пользователь больше не может войти, его сеансы завершены."
	case "activated":
		return "Аккаунт включён: пользователь снова может войти."
	case "deleted":
		return "Пользователь удалён."
	case "logout":
		return "Вы вышли из Book Smeta."
	case "relogin":
		return "Пароль изменён. Войдите с новым паролем."
	}
	return ""
}

type pageHandler func(w http.ResponseWriter, r *http.Request, u *booksmeta.User)

// signedIn requires a signed-in user (else: to the sign-in page, coming back
// afterwards) and a valid CSRF token on every POST.
func (s *Server) signedIn(h pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, sess := auth.FromContext(r.Context())
		if u == nil || sess == nil {
			s.toLogin(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			parseForm(r)
			if !auth.ValidCSRF(sess, auth.SubmittedCSRF(r)) {
				s.csrfRefused(w, r)
				return
			}
		}
		h(w, r, u)
	}
}

// admin additionally requires an admin role, re-read from the database on
// every request: a demoted admin loses the panel at once.
func (s *Server) admin(h pageHandler) http.HandlerFunc {
	return s.signedIn(func(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
		if !u.IsAdmin() {
			d := s.data(r, "Доступ запрещён")
			d["Message"] = "Этот раздел только для администраторов школы. Вы вошли как " + u.Email +
				" (ученик). Вернитесь на главную страницу или выйдите и войдите под аккаунтом администратора."
			d["Link"], d["LinkText"] = "/", "На главную"
			s.render(w, http.StatusForbidden, "message", d)
			return
		}
		h(w, r, u)
	})
}

func (s *Server) toLogin(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if next := r.URL.RequestURI(); next != "/" {
			target += "?next=" + url.QueryEscape(next)
		}
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (s *Server) csrfRefused(w http.ResponseWriter, r *http.Request) {
	d := s.data(r, "Форма устарела")
	d["Message"] = "Действие не выполнено: форма пришла без действующего защитного токена (CSRF). " +
		"Так бывает, если страница открыта давно, вы за это время выходили из системы или форму отправил другой сайт. " +
		"Вернитесь назад, обновите страницу (F5) и отправьте форму ещё раз."
	s.render(w, http.StatusForbidden, "message", d)
}

// fail shows a page-level error in plain words.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	d := s.data(r, title)
	d["Message"] = msg
	if u, _ := auth.FromContext(r.Context()); u != nil && u.IsAdmin() {
		d = s.adminData(r, title, "")
		d["Message"] = msg
	}
	s.render(w, status, "message", d)
}

func (s *Server) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.Log.Error(what, "err", err, "path", r.URL.Path)
	s.fail(w, r, http.StatusInternalServerError, "Ошибка сервера",
		"Не получилось выполнить действие из-за внутренней ошибки. Повторите через минуту; если ошибка повторяется, сообщите тому, кто обслуживает сервер (подробности записаны в журнал сервера).")
}

// parseForm reads a urlencoded or multipart form into r.PostForm; a body
// that does not parse leaves the form empty, which the handlers treat as
// missing fields (and the CSRF check as a missing token).
func parseForm(r *http.Request) {
	if err := r.ParseMultipartForm(maxForm); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		r.PostForm = url.Values{}
	}
}

func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// formatTime shows t in the school's zone as people read it: "02.12.2026 14:05".
func formatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("02.01.2006 15:04")
}

// breakableEmail lets a long address wrap only at its "@" (and the dots of
// its domain), never letter by letter: the parts are escaped, the break
// points are <wbr>.
func breakableEmail(addr string) template.HTML {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok {
		return template.HTML(template.HTMLEscapeString(addr))
	}
	parts := strings.Split(domain, ".")
	for i, p := range parts {
		parts[i] = template.HTMLEscapeString(p)
	}
	return template.HTML(template.HTMLEscapeString(local) + "<wbr>@" + strings.Join(parts, "<wbr>."))
}

// breakableCode lets an event name such as getcourse/dealStatusChanged wrap
// after its "/" instead of widening its column.
func breakableCode(v string) template.HTML {
	parts := strings.Split(v, "/")
	for i, p := range parts {
		parts[i] = template.HTMLEscapeString(p)
	}
	return template.HTML(strings.Join(parts, "/<wbr>"))
}

// dateForPeople is "02.12.2026" for a time already in the school zone or a
// "2026-12-02" value (the form of <input type=date> and of the API), the one
// date format people read in the panel.
func dateForPeople(v any) string {
	switch v := v.(type) {
	case time.Time:
		if v.IsZero() {
			return "—"
		}
		return v.Format("02.01.2006")
	case string:
		if t, err := time.Parse(time.DateOnly, v); err == nil {
			return t.Format("02.01.2006")
		}
		return v
	}
	return ""
}

func outcomeLabel(o string) string {
	switch o {
	case booksmeta.OutcomeAccepted:
		return "принято"
	case booksmeta.OutcomeDuplicate:
		return "повтор"
	case booksmeta.OutcomeRejected:
		return "отклонено: подпись или секрет"
	case booksmeta.OutcomeInvalid:
		return "отклонено: ошибка в данных"
	case booksmeta.OutcomeTooLarge:
		return "отклонено: слишком большой запрос"
	}
	return o
}

func stateLabel(st string) string {
	switch st {
	case booksmeta.StatePending:
		return "ожидает обработки"
	case booksmeta.StateDone:
		return "обработано"
	case booksmeta.StateIgnored:
		return "пропущено: событие не используется"
	case booksmeta.StateFailed:
		return "ошибка: нужна проверка"
	case booksmeta.StateRetry:
		return "повторная попытка"
	case "":
		return "—"
	}
	return st
}

func authLabel(a string) string {
	switch a {
	case booksmeta.AuthSignature:
		return "подпись HMAC-SHA256"
	case booksmeta.AuthQuerySecret:
		return "секрет в адресе (?secret=)"
	case booksmeta.AuthUnverified:
		return "без проверки: секрет не задан"
	case booksmeta.AuthFailed:
		return "проверка не пройдена"
	}
	return a
}

func sourceLabel(src string) string {
	switch src {
	case "panel":
		return "сохранено в панели"
	case "env":
		return "переменная окружения"
	case "dotenv":
		return "файл .env"
	case "default":
		return "по умолчанию"
	}
	return src
}

var weekdays = [...]string{"Вс", "Пн", "Вт", "Ср", "Чт", "Пт", "Сб"}

var months = [...]string{"", "января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"}

// dayLabel is "Пн, 30 ноября" for a date in the school zone.
func dayLabel(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return weekdays[t.Weekday()] + ", " + strconv.Itoa(t.Day()) + " " + months[t.Month()]
}
