package web

import (
	"booksmeta"

	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"booksmeta/internal/audit"
	"booksmeta/internal/enrol"
	"booksmeta/internal/gcsync"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
	"booksmeta/internal/webhook"
)

// connectPath is the page that says what a school admin really does in
// GetCourse: a process with «Вызвать URL», or a Tech API subscription.
const connectPath = "/admin/getcourse/connect"

// recentDeliveries is how many webhook log rows the page shows: enough to
// see that a process fired for the last few orders, short enough to read.
const recentDeliveries = 10

func (s *Server) connectRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+connectPath, s.admin(s.connectForm))
	mux.HandleFunc("POST "+connectPath+"/reveal", s.admin(s.connectReveal))
	mux.HandleFunc("POST "+connectPath+"/developer-key", s.admin(s.connectSaveDeveloperKey))
	mux.HandleFunc("POST "+connectPath+"/subscribe", s.admin(s.connectSubscribe))
}

// connectView holds what a request changes on the page.
type connectView struct {
	Revealed   bool   // the addresses are shown with the secret, on request
	OneTime    string // a secret generated just now, shown once
	FormError  string
	KeyError   string
	KeyEntered bool // a refused developer key is never echoed; only that one was typed
	Subscribe  *gcsync.SubscribeResult
}

// fieldRow is one line of the last delivery's field report, worded for the page.
type fieldRow struct {
	enrol.FieldState
	Variable string // the GetCourse variable our process address uses for it
}

// endpoint is the intake address on the public base URL.
func (s *Server) endpoint() string {
	return strings.TrimRight(s.BaseURL, "/") + "/api/getcourse/webhook"
}

// techURI is the address a Tech API subscription delivers to: a
// subscription sends no headers, so the secret rides in the query.
func techURI(endpoint, secret string) string {
	if secret == "" {
		return endpoint
	}
	return endpoint + "?secret=" + url.QueryEscape(secret)
}

// maskIn replaces the secret in an address by its mask, so the page can show
// the address's shape without the secret.
func maskIn(addr, secret, masked string) string {
	if secret == "" {
		return addr
	}
	return strings.Replace(addr, "secret="+url.QueryEscape(secret), "secret="+masked, 1)
}

// localBase reports whether the public base URL is one GetCourse cannot
// reach (localhost, a loopback or private address).
func localBase(base string) bool {
	u, err := url.Parse(base)
	if err != nil || u.Hostname() == "" {
		return true
	}
	h := u.Hostname()
	if h == "localhost" || strings.HasSuffix(h, ".localhost") || strings.HasSuffix(h, ".local") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified() || ip.IsLinkLocalUnicast())
}

func (s *Server) connectPage(w http.ResponseWriter, r *http.Request, status int, v connectView) {
	ctx := r.Context()
	d := s.adminData(r, "Подключение GetCourse", "getcourse")
	secretVal, err := s.Settings.Get(ctx, settings.GetCourseWebhookSecret)
	if err != nil {
		s.internalError(w, r, "read webhook secret", err)
		return
	}
	devKey, err := s.Settings.Get(ctx, gcsync.SettingDeveloperKey)
	if err != nil {
		s.internalError(w, r, "read developer key", err)
		return
	}
	secret := secretVal.Value
	if v.OneTime != "" {
		secret = v.OneTime
	}
	endpoint := s.endpoint()
	processURL, tech := webhook.ProcessURL(endpoint, secret), techURI(endpoint, secret)
	d["Endpoint"], d["LegacyURL"] = endpoint, strings.TrimRight(s.BaseURL, "/")+"/api/getcourse_webhook.php"
	d["SecretSet"] = secret != ""
	d["SecretSource"] = sourceLabel(string(secretVal.Source))
	d["LocalBase"], d["BaseURL"] = localBase(s.BaseURL), s.BaseURL
	// The secret is in the HTML only when the admin asked for it (or it was
	// generated just now); otherwise the page carries its mask.
	if secret == "" || v.Revealed || v.OneTime != "" {
		d["ProcessURL"], d["TechURI"], d["Shown"] = processURL, tech, secret != ""
	} else {
		masked := secretVal.Masked()
		d["ProcessURL"], d["TechURI"] = maskIn(processURL, secret, masked), maskIn(tech, secret, masked)
		d["Masked"] = true
	}
	d["OneTime"] = v.OneTime
	d["Params"] = webhook.ProcessParams
	d["DevKeySet"], d["DevKeyMasked"] = devKey.Value != "", devKey.Masked()
	d["DevKeySource"] = sourceLabel(string(devKey.Source))
	d["SchoolConfigured"] = s.GetCourse != nil && s.GetCourse.Configured(ctx)
	d["FormError"], d["KeyError"], d["KeyEntered"], d["Subscribe"] = v.FormError, v.KeyError, v.KeyEntered, v.Subscribe

	recent, err := s.Store.RecentDeliveries(ctx, recentDeliveries)
	if err != nil {
		s.internalError(w, r, "recent webhook deliveries", err)
		return
	}
	d["Deliveries"], d["Loc"] = recent, s.Settings.Location(ctx)
	last, err := s.Store.LastAcceptedDelivery(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		s.internalError(w, r, "last accepted delivery", err)
		return
	default:
		var ev enrol.Event
		if json.Unmarshal([]byte(last.Payload), &ev) == nil {
			vars := map[string]string{}
			for _, p := range webhook.ProcessParams {
				vars[p.Name] = p.Variable
			}
			var rows []fieldRow
			missingRequired := false
			for _, f := range ev.FieldReport() {
				rows = append(rows, fieldRow{FieldState: f, Variable: vars[f.Key]})
				missingRequired = missingRequired || (f.Required && !f.Present)
			}
			d["Last"], d["LastEvent"], d["Fields"], d["MissingRequired"] = last, ev, rows, missingRequired
			d["LastSource"] = sourceName(ev.Source)
		}
	}
	s.render(w, status, "getcourse_connect", d)
}

// sourceName words the shape a delivery came in.
func sourceName(src string) string {
	switch src {
	case enrol.SourceTechAPI:
		return "подписка Tech API"
	case enrol.SourceProcess:
		return "процесс «Вызвать URL»"
	case enrol.SourceGuide:
		return "посредник или свой скрипт (формат старой инструкции)"
	}
	return ""
}

func (s *Server) connectForm(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	s.connectPage(w, r, http.StatusOK, connectView{})
}

// connectReveal shows the addresses with the secret on an explicit request:
// a POST, so the secret never sits in history, a cache or an access log. With
// JavaScript the page asks for JSON and swaps the field's value in place.
func (s *Server) connectReveal(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	secret, err := s.Settings.WebhookSecret(r.Context())
	if err != nil {
		s.internalError(w, r, "read webhook secret", err)
		return
	}
	if secret == "" {
		const msg = "Секрет не задан, показывать нечего: адрес на странице уже полный. Чтобы чужие не могли отправлять события, сначала нажмите «Сгенерировать секрет»."
		if r.Header.Get("X-Requested-With") == "fetch" {
			WriteJSON(w, http.StatusConflict, map[string]any{"ok": false, "message": msg})
			return
		}
		s.connectPage(w, r, http.StatusConflict, connectView{FormError: msg})
		return
	}
	// Which address was revealed, never the address itself.
	s.Log.Info("webhook address revealed", "what", r.PostFormValue("what"), "by", u.ID)
	s.record(r, audit.By(u, audit.SecretReveal, audit.Settings, "Показан адрес webhook с секретом (подключение GetCourse)."))
	if r.Header.Get("X-Requested-With") == "fetch" {
		addr := webhook.ProcessURL(s.endpoint(), secret)
		if r.PostFormValue("what") == "techapi" {
			addr = techURI(s.endpoint(), secret)
		}
		WriteJSON(w, http.StatusOK, map[string]any{"ok": true, "value": addr})
		return
	}
	s.connectPage(w, r, http.StatusOK, connectView{Revealed: true})
}

// developerKeyFrom reads a typed developer key: "" with ok when the field
// means "keep the saved one", an error sentence when it cannot be a key.
func developerKeyFrom(r *http.Request) (key, problem string) {
	k := strings.TrimSpace(r.PostFormValue(gcsync.SettingDeveloperKey))
	if keepsSecret(k) {
		return "", ""
	}
	if strings.ContainsAny(k, " \t\r\n") || len(k) < 8 {
		return "", "Ключ разработчика выглядит неполным: в нём не бывает пробелов, и он длиннее 8 символов. Скопируйте его заново из письма GetCourse целиком."
	}
	return k, ""
}

func (s *Server) connectSaveDeveloperKey(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	ctx := r.Context()
	if r.PostFormValue("clear_"+gcsync.SettingDeveloperKey) != "" {
		if err := s.Settings.Put(ctx, map[string]string{gcsync.SettingDeveloperKey: ""}, u.ID); err != nil {
			s.internalError(w, r, "clear developer key", err)
			return
		}
		s.Log.Info("getcourse developer key cleared", "by", u.ID)
		s.record(r, audit.By(u, audit.SettingUpdate, audit.Settings, s.settingsSummary(map[string]string{gcsync.SettingDeveloperKey: ""})))
		http.Redirect(w, r, connectPath+"?ok=devkey_cleared#techapi", http.StatusSeeOther)
		return
	}
	key, problem := developerKeyFrom(r)
	if problem != "" {
		s.connectPage(w, r, http.StatusUnprocessableEntity, connectView{KeyError: problem, KeyEntered: true})
		return
	}
	if key == "" {
		http.Redirect(w, r, connectPath+"?ok=settings_unchanged#techapi", http.StatusSeeOther)
		return
	}
	if err := s.Settings.Put(ctx, map[string]string{gcsync.SettingDeveloperKey: key}, u.ID); err != nil {
		s.internalError(w, r, "save developer key", err)
		return
	}
	s.Log.Info("getcourse developer key saved", "by", u.ID)
	s.record(r, audit.By(u, audit.SettingUpdate, audit.Settings, s.settingsSummary(map[string]string{gcsync.SettingDeveloperKey: key})))
	http.Redirect(w, r, connectPath+"?ok=devkey_saved#techapi", http.StatusSeeOther)
}

// connectSubscribe subscribes our address to the order events through the
// recorded GetCourse service, so the request shows in the call log. A key
// typed into the form is saved first: the admin pressed one button meaning
// "use this key".
func (s *Server) connectSubscribe(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	ctx := r.Context()
	key, problem := developerKeyFrom(r)
	if problem != "" {
		s.connectPage(w, r, http.StatusUnprocessableEntity, connectView{KeyError: problem, KeyEntered: true})
		return
	}
	if key != "" {
		if err := s.Settings.Put(ctx, map[string]string{gcsync.SettingDeveloperKey: key}, u.ID); err != nil {
			s.internalError(w, r, "save developer key", err)
			return
		}
		s.Log.Info("getcourse developer key saved", "by", u.ID)
		s.record(r, audit.By(u, audit.SettingUpdate, audit.Settings, s.settingsSummary(map[string]string{gcsync.SettingDeveloperKey: key})))
	}
	secret, err := s.Settings.WebhookSecret(ctx)
	if err != nil {
		s.internalError(w, r, "read webhook secret", err)
		return
	}
	if secret == "" {
		msg := "Подписка не оформлена: сначала нажмите «Сгенерировать секрет» выше. " +
			"Без секрета в адресе Book Smeta принимал бы события заказов от кого угодно, а если задать секрет позже, GetCourse продолжит слать на старый адрес без него и события будут отклоняться."
		if key != "" {
			msg += " Ключ разработчика сохранён: после секрета просто нажмите кнопку подписки ещё раз."
		}
		s.connectPage(w, r, http.StatusConflict, connectView{FormError: msg})
		return
	}
	if s.GetCourse == nil {
		s.connectPage(w, r, http.StatusOK, connectView{Subscribe: &gcsync.SubscribeResult{Message: "Подписка через Tech API недоступна в этой сборке. Подключите GetCourse процессом с операцией «Вызвать URL»."}})
		return
	}
	res := s.GetCourse.SubscribeOrders(ctx, techURI(s.endpoint(), secret))
	s.Log.Info("getcourse tech api subscription", "ok", res.OK, "by", u.ID)
	// A refusal is GetCourse's verdict shown on the page, as with the
	// connection test, not a failure of this page.
	s.connectPage(w, r, http.StatusOK, connectView{Subscribe: &res})
}
