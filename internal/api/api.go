// Package api is the JSON API under /api/v1 (SPEC §5). Handlers decode,
// call the business packages, and answer their refusals (*booksmeta.Error)
// with the code, message and field at the status of the one table in
// booksmeta (failErr); no rule lives here.
package api

import (
	"booksmeta"

	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"booksmeta/internal/accounts"
	"booksmeta/internal/audit"
	"booksmeta/internal/auth"
	"booksmeta/internal/booking"
	"booksmeta/internal/enrol"
	"booksmeta/internal/getcourse"
	"booksmeta/internal/grants"
	"booksmeta/internal/jobs"
	"booksmeta/internal/outbox"
	"booksmeta/internal/schedule"
	"booksmeta/internal/secretbox"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

// Server holds the API's dependencies.
type Server struct {
	Store         *store.Store
	Accounts      *accounts.Service
	Auth          *auth.Service
	Booking       *booking.Service
	Outbox        *outbox.Service
	Settings      *settings.Service
	Jobs          *jobs.Runner
	Box           *secretbox.Box
	Schedule      *schedule.Service
	Enrol         *enrol.Service
	Audit         audit.Recorder
	Grants        *grants.Service
	Log           *slog.Logger
	SecureCookies bool
	// GetCourseTest runs the connection test; override replaces the saved
	// values with the ones being entered (nil: the saved ones).
	GetCourseTest func(ctx context.Context, override *getcourse.Config) getcourse.Verdict
}

// Routes registers the API.
func (s *Server) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/auth/login", s.login)
	mux.Handle("POST /api/v1/auth/logout", s.user(s.logout))
	mux.Handle("GET /api/v1/me", s.user(s.me))

	mux.Handle("GET /api/v1/admin/dashboard", s.admin(s.dashboard))
	mux.Handle("GET /api/v1/admin/users", s.admin(s.listUsers))
	mux.Handle("POST /api/v1/admin/users", s.admin(s.createUser))
	mux.Handle("GET /api/v1/admin/users/{id}", s.admin(s.getUser))
	mux.Handle("PATCH /api/v1/admin/users/{id}", s.admin(s.patchUser))
	mux.Handle("DELETE /api/v1/admin/users/{id}", s.admin(s.deleteUser))
	mux.Handle("GET /api/v1/admin/webhooks", s.admin(s.listWebhooks))
	mux.Handle("GET /api/v1/admin/webhooks/{id}", s.admin(s.getWebhook))
	mux.Handle("POST /api/v1/admin/webhooks/{id}/rerun", s.admin(s.rerunWebhook))
	mux.Handle("POST /api/v1/admin/webhooks/prune", s.admin(s.pruneWebhooks))
	mux.Handle("GET /api/v1/admin/settings", s.admin(s.getSettings))
	mux.Handle("PATCH /api/v1/admin/settings", s.admin(s.patchSettings))
	mux.Handle("POST /api/v1/admin/getcourse/test", s.admin(s.getcourseTest))
	mux.Handle("GET /api/v1/admin/offers", s.admin(s.listOffers))
	mux.Handle("POST /api/v1/admin/offers", s.admin(s.createOffer))
	mux.Handle("POST /api/v1/admin/offers/recompute", s.admin(s.recomputeOffers))
	mux.Handle("PATCH /api/v1/admin/offers/{id}", s.admin(s.patchOffer))
	mux.Handle("DELETE /api/v1/admin/offers/{id}", s.admin(s.deleteOffer))
	s.bookingRoutes(mux)
	s.accessRoutes(mux)
	s.mailRoutes(mux)
	s.slotAdminRoutes(mux)
	s.auditRoutes(mux)
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, "not_found", "Такого адреса в API нет. Проверьте путь и метод запроса.")
	})
}

type handler func(w http.ResponseWriter, r *http.Request, u *booksmeta.User)

// user requires a signed-in user, and the CSRF token on anything that changes state.
func (s *Server) user(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, sess := auth.FromContext(r.Context())
		if u == nil {
			fail(w, http.StatusUnauthorized, "unauthorized", "Войдите в систему: сессия не найдена или истекла.")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !auth.ValidCSRF(sess, auth.SubmittedCSRF(r)) {
			fail(w, http.StatusForbidden, "csrf", "Запрос отклонён: нет CSRF-токена (заголовок X-CSRF-Token). Обновите страницу и повторите.")
			return
		}
		h(w, r, u)
	})
}

// admin additionally requires an admin role, re-read on every request.
func (s *Server) admin(h handler) http.Handler {
	return s.user(func(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
		if !u.IsAdmin() {
			fail(w, http.StatusForbidden, "forbidden", "Это действие доступно только администраторам.")
			return
		}
		h(w, r, u)
	})
}

type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// ActiveBookings is how many live bookings stand in the way of a slot change.
	ActiveBookings int `json:"active_bookings,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{Error: code, Message: msg})
}

// failErr answers a rule's refusal with its code, message and field, at
// the status booksmeta.Error.HTTPStatus gives; unknown errors are logged and
// answered with a generic message (no internal text leaks to the client).
func (s *Server) failErr(w http.ResponseWriter, err error) {
	var th *auth.ThrottledError
	switch re := booksmeta.AsError(err); {
	case re != nil:
		writeJSON(w, re.HTTPStatus(), errorBody{Error: re.Code, Message: re.Message, Field: re.Field, ActiveBookings: re.Count})
	case errors.As(err, &th):
		w.Header().Set("Retry-After", strconv.Itoa(int(time.Until(th.Until).Seconds())+1))
		fail(w, http.StatusTooManyRequests, "too_many_attempts", th.Error())
	case errors.Is(err, store.ErrNotFound):
		fail(w, http.StatusNotFound, "not_found", "Запись не найдена: возможно, её уже удалили.")
	case errors.Is(err, settings.ErrInvalidValue):
		k, msg, _ := settings.Refusal(err)
		writeJSON(w, http.StatusUnprocessableEntity, errorBody{Error: "invalid", Message: msg, Field: k})
	default:
		s.Log.Error("api error", "err", err)
		fail(w, http.StatusInternalServerError, "internal", "Внутренняя ошибка сервера. Повторите позже; если ошибка повторяется, сообщите администратору.")
	}
}

// decode reads a JSON body into v (at most 64 KiB).
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "" && mt != "application/json" {
		fail(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Отправляйте тело запроса в формате JSON (Content-Type: application/json).")
		return false
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	if err := dec.Decode(v); err != nil {
		fail(w, http.StatusBadRequest, "bad_request", "Тело запроса — не корректный JSON нужного вида: "+jsonHint(err))
		return false
	}
	return true
}

func jsonHint(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "поле " + te.Field + " имеет неверный тип."
	}
	if errors.Is(err, io.EOF) {
		return "тело пустое."
	}
	return "проверьте кавычки и скобки."
}

func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		fail(w, http.StatusNotFound, "not_found", "Неверный номер записи в адресе.")
		return 0, false
	}
	return id, true
}

// timeJSON formats t in the school zone (SPEC §5), "" for zero.
func (s *Server) timeJSON(ctx context.Context, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(s.Settings.Location(ctx)).Format(time.RFC3339)
}
