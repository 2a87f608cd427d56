package api

import (
	"booksmeta"

	"net/http"
	"strings"

	"booksmeta/internal/backup"
	"booksmeta/internal/dashboard"
	"booksmeta/internal/getcourse"
	"booksmeta/internal/schedule"
	"booksmeta/internal/settings"
)

type settingOut struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source string `json:"source"`
	Secret bool   `json:"secret"`
	Set    bool   `json:"set"`
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	vals, err := s.Settings.All(r.Context())
	if err != nil {
		s.failErr(w, err)
		return
	}
	out := make([]settingOut, 0, len(vals))
	flat := map[string]string{}
	for _, v := range vals {
		out = append(out, settingOut{Key: v.Key, Value: v.Masked(), Source: string(v.Source), Secret: v.Secret, Set: v.Value != ""})
		flat[v.Key] = v.Masked()
	}
	writeJSON(w, http.StatusOK, map[string]any{"settings": out, "values": flat})
}

func (s *Server) patchSettings(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	var in map[string]*string
	if !decode(w, r, &in) {
		return
	}
	values := map[string]string{}
	for k, v := range in {
		if !s.Settings.IsKnown(k) || strings.HasPrefix(k, "_") {
			writeJSON(w, http.StatusUnprocessableEntity, errorBody{Error: "unknown_setting", Field: k, Message: "Неизвестная настройка «" + k + "»."})
			return
		}
		if v == nil {
			continue
		}
		// A masked secret sent back unchanged means "keep it".
		if s.Settings.IsSecret(k) && strings.HasPrefix(*v, "••••") {
			continue
		}
		if err := validateSetting(k, *v); err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, errorBody{Error: "invalid", Field: k, Message: err.Error()})
			return
		}
		values[k] = *v
	}
	if err := s.Schedule.ValidateChange(r.Context(), values); err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, errorBody{Error: "invalid", Message: err.Error()})
		return
	}
	if err := s.Settings.Put(r.Context(), values, u.ID); err != nil {
		s.failErr(w, err)
		return
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	s.Log.Info("settings saved", "keys", keys, "by", u.ID)
	s.getSettings(w, r, u)
}

func (s *Server) getcourseTest(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	var in struct {
		APIURL  *string `json:"getcourse_api_url"`
		Account *string `json:"getcourse_account"`
		Key     *string `json:"getcourse_api_key"`
	}
	if r.ContentLength > 0 && !decode(w, r, &in) {
		return
	}
	var override *getcourse.Config
	if in.APIURL != nil || in.Account != nil || (in.Key != nil && !strings.HasPrefix(*in.Key, "••••")) {
		// The key stays empty unless typed: the GetCourse service fills in the
		// saved one only for the saved address.
		c := s.savedGetCourse(r)
		c.Key = ""
		if in.APIURL != nil {
			c.APIURL = *in.APIURL
		}
		if in.Account != nil {
			c.Account = *in.Account
		}
		if in.Key != nil && !strings.HasPrefix(*in.Key, "••••") {
			c.Key = *in.Key
		}
		override = &c
	}
	v := s.GetCourseTest(r.Context(), override)
	writeJSON(w, http.StatusOK, map[string]any{"ok": v.OK, "kind": string(v.Kind), "message": v.Message})
}

func (s *Server) savedGetCourse(r *http.Request) getcourse.Config {
	ctx := r.Context()
	return getcourse.Config{APIURL: s.Settings.String(ctx, settings.GetCourseAPIURL),
		Account: s.Settings.String(ctx, settings.GetCourseAccount), Key: s.Settings.String(ctx, settings.GetCourseAPIKey)}
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	d, err := dashboard.Build(r.Context(), s.Store, s.Settings)
	if err != nil {
		s.failErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// validateSetting checks one value with the rules of the package that owns the key.
func validateSetting(k, v string) error {
	if err := settings.Validate(k, v); err != nil {
		return err
	}
	if err := backup.ValidateSetting(k, v); err != nil {
		return err
	}
	return schedule.Validate(k, v)
}
