package web

import (
	"booksmeta"

	"context"
	"net/http"
	"regexp"
	"strings"
	"time"

	"booksmeta/internal/audit"
	"booksmeta/internal/getcourse"
	"booksmeta/internal/settings"
	"booksmeta/internal/webhook"
)

// settingField is one input of the GetCourse API section. A secret's value
// never goes into the page: only whether it is set, and its mask.
type settingField struct {
	Key    string
	Value  string // non-secret fields only: the current or entered value
	Masked string
	Set    bool
	Secret bool
	Source string
	Error  string
}

var gcKeys = []string{settings.GetCourseAPIURL, settings.GetCourseAccount, settings.GetCourseAPIKey, settings.GetCourseWebhookSecret}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// settingsView holds what a settings request changes on the page.
type settingsView struct {
	Entered     map[string]string // non-secret values as typed (after a refused save or a test)
	Errors      map[string]string
	Verdict     *getcourse.Verdict
	KeyEntered  bool   // an API key was typed for the test: it was not kept
	OneTime     string // the just-generated secret, shown once
	RevealedURL string // the process-call URL with the secret, shown on request
	FormError   string
}

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request, status int, v settingsView) {
	ctx := r.Context()
	d := s.adminData(r, "Настройки → GetCourse API", "settings")
	fields := map[string]*settingField{}
	vals := map[string]string{}
	for _, k := range gcKeys {
		val, err := s.Settings.Get(ctx, k)
		if err != nil {
			s.internalError(w, r, "read settings", err)
			return
		}
		vals[k] = val.Value
		f := &settingField{Key: k, Secret: val.Secret, Set: val.Value != "", Source: sourceLabel(string(val.Source)), Error: v.Errors[k]}
		if val.Secret {
			f.Masked = val.Masked()
		} else if e, ok := v.Entered[k]; ok {
			f.Value = e
		} else {
			f.Value = val.Value
		}
		fields[k] = f
	}
	d["APIURL"], d["Account"] = fields[settings.GetCourseAPIURL], fields[settings.GetCourseAccount]
	d["APIKey"], d["Secret"] = fields[settings.GetCourseAPIKey], fields[settings.GetCourseWebhookSecret]
	secret, key := vals[settings.GetCourseWebhookSecret], vals[settings.GetCourseAPIKey]
	switch {
	case secret == "":
		d["SecretKind"] = "empty"
	case secret == key:
		d["SecretKind"] = "api_key"
	case hex64.MatchString(secret):
		d["SecretKind"] = "generated"
	default:
		d["SecretKind"] = "custom"
	}
	base := strings.TrimRight(s.BaseURL, "/")
	d["WebhookURL"] = base + "/api/getcourse/webhook"
	d["LegacyURL"] = base + "/api/getcourse_webhook.php"
	if secret != "" {
		d["ProcessURLMasked"] = maskIn(webhook.ProcessURL(s.endpoint(), secret), secret, fields[settings.GetCourseWebhookSecret].Masked)
	}
	if v.OneTime != "" {
		d["OneTime"] = v.OneTime
		d["OneTimeURL"] = webhook.ProcessURL(s.endpoint(), v.OneTime)
	}
	d["RevealedURL"] = v.RevealedURL
	d["Verdict"], d["KeyEntered"], d["FormError"] = v.Verdict, v.KeyEntered, v.FormError
	if derived := (getcourse.Config{APIURL: vals[settings.GetCourseAPIURL], Account: vals[settings.GetCourseAccount]}).BaseURL(); derived != "" {
		d["EffectiveAPI"] = derived
	}
	s.render(w, status, "settings", d)
}

func (s *Server) settingsForm(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	s.settingsPage(w, r, http.StatusOK, settingsView{})
}

// keepsSecret says whether a submitted secret field means "leave it as it is":
// left empty, or the mask sent back.
func keepsSecret(v string) bool { return v == "" || strings.HasPrefix(v, "••••") }

// settingsSave stores what changed and nothing else: unchanged fields keep
// their source (an env value is not copied into the panel), an empty or
// masked secret keeps the stored one, and only the "очистить" box clears it.
func (s *Server) settingsSave(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	values, entered, err := s.collectSettings(r, gcKeys)
	if err != nil {
		s.internalError(w, r, "read settings", err)
		return
	}
	if len(values) == 0 {
		http.Redirect(w, r, "/admin/settings?ok=settings_unchanged", http.StatusSeeOther)
		return
	}
	if err := s.Settings.Put(r.Context(), values, u.ID); err != nil {
		if errs := settings.Refusals(err); errs != nil {
			s.settingsPage(w, r, http.StatusUnprocessableEntity, settingsView{Entered: entered, Errors: errs,
				FormError: "Настройки не сохранены: исправьте отмеченные поля. Секретные поля из соображений безопасности не показываются повторно — если вы их вводили, введите ещё раз."})
			return
		}
		s.internalError(w, r, "save settings", err)
		return
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	s.Log.Info("settings saved", "keys", keys, "by", u.ID)
	s.record(r, audit.By(u, audit.SettingUpdate, audit.Settings, s.settingsSummary(values)))
	http.Redirect(w, r, "/admin/settings?ok=settings_saved", http.StatusSeeOther)
}

// collectSettings reads the submitted values of keys and returns those that
// changed, and the non-secret values as typed. A key absent from the form
// is never touched; an empty or masked secret keeps the stored one, and
// only its "очистить" box clears it. Checking the values is Put's job.
func (s *Server) collectSettings(r *http.Request, keys []string) (values, entered map[string]string, err error) {
	ctx := r.Context()
	values, entered = map[string]string{}, map[string]string{}
	retyped := map[string]string{}
	defer func() {
		if len(values) > 0 {
			for k, v := range retyped {
				values[k] = v
			}
		}
	}()
	for _, k := range keys {
		cur, err := s.Settings.Get(ctx, k)
		if err != nil {
			return nil, nil, err
		}
		if _, present := r.PostForm[k]; !present && r.PostFormValue("clear_"+k) == "" {
			continue
		}
		v := strings.TrimSpace(r.PostFormValue(k))
		if cur.Secret {
			if r.PostFormValue("clear_"+k) != "" {
				if cur.Value != "" {
					values[k] = ""
				}
				continue
			}
			if keepsSecret(v) {
				continue
			}
			if v == cur.Value {
				// Typed again as it is: saved only alongside a change, where
				// it proves the admin knows the secret a new host will get.
				retyped[k] = v
				continue
			}
		} else {
			entered[k] = v
			if v == cur.Value {
				continue
			}
		}
		values[k] = v
	}
	return values, entered, nil
}

// settingsGenerateSecret saves a new webhook secret and shows it this once,
// to be pasted into GetCourse.
func (s *Server) settingsGenerateSecret(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	secret := webhook.NewSecret()
	if err := s.Settings.Put(r.Context(), map[string]string{settings.GetCourseWebhookSecret: secret}, u.ID); err != nil {
		s.internalError(w, r, "save generated webhook secret", err)
		return
	}
	s.Log.Info("webhook secret generated", "by", u.ID)
	s.record(r, audit.By(u, audit.SettingUpdate, audit.Settings, s.settingsSummary(map[string]string{settings.GetCourseWebhookSecret: secret})))
	if r.PostFormValue("return") == "connect" {
		s.connectPage(w, r, http.StatusOK, connectView{OneTime: secret})
		return
	}
	s.settingsPage(w, r, http.StatusOK, settingsView{OneTime: secret})
}

// settingsReveal shows the process-call URL with the secret, on an explicit
// request (a POST, so that it never sits in history or a cache).
func (s *Server) settingsReveal(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	secret, err := s.Settings.WebhookSecret(r.Context())
	if err != nil {
		s.internalError(w, r, "read webhook secret", err)
		return
	}
	if secret == "" {
		s.settingsPage(w, r, http.StatusConflict, settingsView{FormError: "Webhook секрет не задан, показывать нечего. Нажмите «Сгенерировать» или введите свой секрет."})
		return
	}
	s.Log.Info("webhook process URL revealed", "by", u.ID)
	s.record(r, audit.By(u, audit.SecretReveal, audit.Settings, "Показан адрес webhook с секретом (страница настроек)."))
	s.settingsPage(w, r, http.StatusOK, settingsView{RevealedURL: webhook.ProcessURL(s.endpoint(), secret)})
}

// settingsTest runs the connection test with the values in the form, saved
// or not. With JavaScript the page asks for JSON and stays as it is (the
// typed key stays in its field); without, the page is shown again.
func (s *Server) settingsTest(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	ctx := r.Context()
	// The key stays empty unless typed: the GetCourse service fills in the
	// saved one only for the saved address.
	var cfg getcourse.Config
	var err error
	if cfg.APIURL, err = s.Settings.String(ctx, settings.GetCourseAPIURL); err != nil {
		s.internalError(w, r, "read settings", err)
		return
	}
	if cfg.Account, err = s.Settings.String(ctx, settings.GetCourseAccount); err != nil {
		s.internalError(w, r, "read settings", err)
		return
	}
	entered := map[string]string{}
	if _, ok := r.PostForm[settings.GetCourseAPIURL]; ok {
		cfg.APIURL = strings.TrimSpace(r.PostFormValue(settings.GetCourseAPIURL))
		entered[settings.GetCourseAPIURL] = cfg.APIURL
	}
	if _, ok := r.PostForm[settings.GetCourseAccount]; ok {
		cfg.Account = strings.TrimSpace(r.PostFormValue(settings.GetCourseAccount))
		entered[settings.GetCourseAccount] = cfg.Account
	}
	keyEntered := false
	if k := strings.TrimSpace(r.PostFormValue(settings.GetCourseAPIKey)); r.PostFormValue("clear_"+settings.GetCourseAPIKey) != "" {
		cfg.Key = ""
	} else if !keepsSecret(k) {
		cfg.Key, keyEntered = k, true
	}
	var v getcourse.Verdict
	if s.GetCourseTest == nil {
		v = getcourse.Verdict{Kind: getcourse.KindInternal, Message: "Тест подключения недоступен в этой сборке."}
	} else {
		tctx, cancel := context.WithTimeout(ctx, 40*time.Second)
		v = s.GetCourseTest(tctx, &cfg)
		cancel()
	}
	s.Log.Info("getcourse connection test", "ok", v.OK, "kind", string(v.Kind), "by", u.ID)
	if r.Header.Get("X-Requested-With") == "fetch" {
		WriteJSON(w, http.StatusOK, map[string]any{"ok": v.OK, "kind": string(v.Kind), "message": v.Message})
		return
	}
	s.settingsPage(w, r, http.StatusOK, settingsView{Entered: entered, Verdict: &v, KeyEntered: keyEntered})
}
