package api

import (
	"booksmeta"

	"net/http"
	"strings"

	"booksmeta/internal/audit"
	"booksmeta/internal/dashboard"
	"booksmeta/internal/getcourse"
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
		values[k] = *v
	}
	// Put checks every value by its definition (a masked secret keeps the
	// stored one) and the schedule as a whole; a refusal is a 422 naming the field.
	if err := s.Settings.Put(r.Context(), values, u.ID); err != nil {
		s.failErr(w, err)
		return
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	s.Log.Info("settings saved", "keys", keys, "by", u.ID)
	s.record(r, audit.By(u, audit.SettingUpdate, audit.Settings, s.settingsSummary(values)))
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
		c, err := s.savedGetCourse(r)
		if err != nil {
			s.failErr(w, err)
			return
		}
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

func (s *Server) savedGetCourse(r *http.Request) (getcourse.Config, error) {
	ctx := r.Context()
	var c getcourse.Config
	var err error
	if c.APIURL, err = s.Settings.String(ctx, settings.GetCourseAPIURL); err != nil {
		return c, err
	}
	c.Account, err = s.Settings.String(ctx, settings.GetCourseAccount)
	return c, err
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	d, err := dashboard.Build(r.Context(), s.Store, s.Settings)
	if err != nil {
		s.failErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}
