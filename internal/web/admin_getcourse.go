package web

import (
	"booksmeta"

	"net/http"
	"strconv"

	"booksmeta/internal/audit"
	"booksmeta/internal/gcsync"
	"booksmeta/internal/store"
)

// gcPage shows what Book Smeta asked GetCourse and what it answered (the
// API key is never recorded), and the state of the paid-students sync.
func (s *Server) gcPage(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	ctx := r.Context()
	q := r.URL.Query()
	f := store.GetCourseCallFilter{Op: q.Get("op"), OnlyFailed: q.Get("failed") == "1", Limit: 100}
	f.BeforeID, _ = strconv.ParseInt(q.Get("before_id"), 10, 64)
	calls, err := s.GetCourse.ListCalls(ctx, f)
	if err != nil {
		s.internalError(w, r, "list getcourse calls", err)
		return
	}
	st, err := s.GetCourse.Status(ctx)
	if err != nil {
		s.internalError(w, r, "getcourse sync status", err)
		return
	}
	d := s.adminData(r, "GetCourse: запросы и синхронизация", "getcourse")
	d["Calls"], d["Status"], d["Loc"] = calls, st, s.Settings.Location(ctx)
	d["Op"], d["Failed"] = f.Op, f.OnlyFailed
	if st.State != nil {
		d["StateLabel"] = syncStateLabel(st.State.State)
	}
	if len(calls) == f.Limit {
		d["Older"] = calls[len(calls)-1].ID
	}
	switch q.Get("ok") {
	case "sync":
		d["Flash"] = "Синхронизация запущена. Выгрузка в GetCourse готовится несколько минут — обновите страницу позже."
	}
	if msg := q.Get("err"); msg == "sync" {
		d["Error"] = "Синхронизацию не удалось запустить: проверьте настройки GetCourse API и нажмите «Тест подключения»."
	}
	s.render(w, http.StatusOK, "admin_getcourse", d)
}

func (s *Server) gcSyncNow(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	if err := s.GetCourse.RequestSync(r.Context()); err != nil {
		s.Log.Warn("manual getcourse sync refused", "err", err, "by", u.ID)
		http.Redirect(w, r, "/admin/getcourse?err=sync", http.StatusSeeOther)
		return
	}
	s.Log.Info("manual getcourse sync requested", "by", u.ID)
	s.record(r, audit.By(u, audit.SyncRequest, "getcourse", "Запущена синхронизация с GetCourse из панели."))
	http.Redirect(w, r, "/admin/getcourse?ok=sync", http.StatusSeeOther)
}

// syncStateLabel words a stored sync state for the admin.
func syncStateLabel(state string) string {
	switch state {
	case gcsync.StateExporting:
		return "выгрузка готовится в GetCourse"
	case gcsync.StateDone:
		return "завершена успешно"
	case gcsync.StateRateLimited:
		return "ждёт: исчерпан лимит запросов GetCourse"
	case gcsync.StateWaiting:
		return "ждёт, пока GetCourse освободится"
	case gcsync.StateError:
		return "ошибка, будет повтор"
	case gcsync.StateFailed:
		return "ошибка: нужна проверка настроек"
	case gcsync.StateInterrupted:
		return "прервана (программа перезапускалась), продолжится"
	case "", "idle":
		return "ещё не запускалась"
	}
	return state
}
