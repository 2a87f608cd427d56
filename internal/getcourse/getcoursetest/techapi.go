package getcoursetest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Tech API order events, as set-uri numbers them (event_object_id 2).
const (
	TechEventDealCreated       = 1
	TechEventDealStatusChanged = 2
	TechEventDealPaid          = 3
)

// Tech API eventType values.
const (
	EventDealCreated       = "getcourse/dealCreated"
	EventDealStatusChanged = "getcourse/dealStatusChanged"
	EventDealPaid          = "getcourse/dealPaid"
)

// eventTypes is the eventType each set-uri event id delivers.
var eventTypes = map[int]string{
	TechEventDealCreated:       EventDealCreated,
	TechEventDealStatusChanged: EventDealStatusChanged,
	TechEventDealPaid:          EventDealPaid,
}

// WithDeveloperKey sets the developer key set-uri accepts (default
// "developer-key"). The bearer token is "<developer key>_<school key>".
func WithDeveloperKey(key string) Option { return func(s *Server) { s.developerKey = key } }

// DeveloperKey is the developer key set-uri accepts.
func (s *Server) DeveloperKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.developerKey
}

// Subscription is one Tech API subscription: GetCourse keeps one URI per
// event.
type Subscription struct {
	EventID   int
	EventType string // getcourse/dealPaid, …
	URI       string
}

// Subscriptions returns the current subscriptions, by event id.
func (s *Server) Subscriptions() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Subscription, 0, len(s.subscriptions))
	for id, uri := range s.subscriptions {
		out = append(out, Subscription{EventID: id, EventType: eventTypes[id], URI: uri})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].EventID < out[j].EventID })
	return out
}

// Subscribe sets a subscription directly, as if set-uri had been called; ""
// removes it.
func (s *Server) Subscribe(eventID int, uri string) {
	s.locked(func() {
		if uri == "" {
			delete(s.subscriptions, eventID)
		} else {
			s.subscriptions[eventID] = uri
		}
	})
}

const maxTechBody = 1 << 20

func readTechBody(r *http.Request) []byte {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, maxTechBody))
	return raw
}

// techError answers like an API that knows HTTP: a status and a JSON reason.
func techError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "error": true, "error_message": message})
}

func (s *Server) serveSetURILocked(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost {
		techError(w, http.StatusMethodNotAllowed, "Метод не поддерживается, используйте POST")
		return
	}
	auth := strings.TrimSpace(r.Header.Get("Authorization"))
	token, ok := strings.CutPrefix(auth, "Bearer ")
	token = strings.TrimSpace(token)
	switch {
	case auth == "" || !ok || token == "":
		techError(w, http.StatusUnauthorized, "Не передан токен авторизации")
		return
	case s.developerKey == "" || token != s.developerKey+"_"+s.key:
		techError(w, http.StatusForbidden, "Неверный токен авторизации")
		return
	case s.planNoAPI:
		writeJSON(w, exportError(917, "Функционал недоступен на вашем тарифе"))
		return
	}

	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil || in == nil {
		techError(w, http.StatusBadRequest, "Тело запроса должно быть JSON-объектом")
		return
	}
	var uri string
	if raw, ok := in["uri"]; !ok || json.Unmarshal(raw, &uri) != nil || strings.TrimSpace(uri) == "" {
		techError(w, http.StatusBadRequest, "Не указан параметр uri")
		return
	}
	if u, err := url.Parse(uri); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		techError(w, http.StatusBadRequest, "Параметр uri должен быть полным адресом http(s)")
		return
	}
	objectID, ok := techInt(in["event_object_id"])
	if !ok {
		techError(w, http.StatusBadRequest, "Не указан параметр event_object_id")
		return
	}
	if objectID != 2 {
		techError(w, http.StatusBadRequest, "Неизвестный тип объекта event_object_id="+strconv.FormatInt(objectID, 10))
		return
	}
	eventID, ok := techInt(in["event_id"])
	if !ok {
		techError(w, http.StatusBadRequest, "Не указан параметр event_id")
		return
	}
	if _, known := eventTypes[int(eventID)]; !known {
		techError(w, http.StatusBadRequest, "Неизвестное событие event_id="+strconv.FormatInt(eventID, 10))
		return
	}
	subscribe := true
	if raw, ok := in["subscribe"]; ok {
		v, valid := techFlag(raw)
		if !valid {
			techError(w, http.StatusBadRequest, "Параметр subscribe должен быть true или false")
			return
		}
		subscribe = v
	}
	// Unsubscribing names the URI, so a stale request for an old address
	// leaves the event's current subscription alone.
	if subscribe {
		s.subscriptions[int(eventID)] = uri
	} else if s.subscriptions[int(eventID)] == uri {
		delete(s.subscriptions, int(eventID))
	}
	writeJSON(w, map[string]any{"success": true})
}

// techInt reads a number sent as a number or a string of digits.
func techInt(raw json.RawMessage) (int64, bool) {
	if raw == nil {
		return 0, false
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		v, err := n.Int64()
		return v, err == nil
	}
	var text string
	if err := json.Unmarshal(raw, &text); err == nil {
		v, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		return v, err == nil
	}
	return 0, false
}

func techFlag(raw json.RawMessage) (bool, bool) {
	switch strings.Trim(strings.TrimSpace(string(raw)), `"`) {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}
