package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"booksmeta"
	"booksmeta/internal/access"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

// «Доступ к серверу» (SPEC §7): how a booking becomes access to the server,
// the connection check, and every grant and revoke with its outcome. The
// static provider's shared account stays on the general settings page,
// where it always was.

func (s *Server) accessRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/access", s.admin(s.accessPage))
	mux.HandleFunc("POST /admin/access", s.admin(s.accessSave))
	mux.HandleFunc("POST /admin/access/check", s.admin(s.accessCheck))
	mux.HandleFunc("GET /admin/access/bookings/{id}", s.admin(s.accessHistory))
}

func init() {
	selectOpts[access.KeyProvider] = []string{
		access.Static + "=Общий логин и пароль (static): показываются в окне брони, как раньше",
		access.HTTP + "=API вашего сервера (http): Book Smeta просит сервер выдать и забрать доступ",
		access.SSH + "=Учётные записи по SSH (ssh): Book Smeta сама включает и выключает их на сервере",
	}
	selectOpts[access.KeySSHPreset] = []string{
		access.PresetWindows + "=Windows Server (встроенный OpenSSH)",
		access.PresetLinux + "=Linux",
	}
}

var accessSections = []sectionDef{
	{"provider", "Способ доступа", "Общий логин видят все, кто хоть раз бронировал, и он работает в любое время. С http или ssh у каждого бронирования свой пароль, и он работает только в забронированный час.", []fieldDef{
		{access.KeyProvider, "Как ученик получает доступ", "", "select"},
	}},
	{"http", "API вашего сервера (http)", "Book Smeta отправляет подписанные запросы POST …/grant, …/revoke и …/check (что нужно на сервере — в «Что сделать на сервере» выше, пример приёмника — в deploy/access-receiver).", []fieldDef{
		{settings.ServerAPIURL, "Адрес API", "Например https://server.school.ru/booksmeta — без /grant на конце.", "url"},
		{settings.ServerAPIKey, "Ключ подписи", "Тот же ключ укажите на сервере. Хранится зашифрованным.", "password"},
	}},
	{"ssh", "Учётные записи по SSH (ssh)", "Book Smeta входит на сервер по ключу и для каждой брони задаёт учётной записи из списка новый пароль, а после брони отключает её и завершает сеансы.", []fieldDef{
		{access.KeySSHHost, "Адрес сервера для SSH", "Имя или IP, например rdp.school.ru.", "text"},
		{access.KeySSHPort, "Порт SSH", "Обычно 22.", "number"},
		{access.KeySSHUser, "Пользователь SSH", "Администратор сервера, от имени которого Book Smeta включает и выключает учётные записи.", "text"},
		{access.KeySSHPrivateKey, "Закрытый ключ SSH", "Файл ключа целиком, от -----BEGIN до -----END; ключ без пароля. Хранится зашифрованным.", "textarea"},
		{access.KeySSHHostKey, "Ключ сервера", "Строка вида «ssh-ed25519 AAAA…» из файла ssh_host_ed25519_key.pub на сервере. Без неё Book Smeta не подключается: так нельзя подменить сервер.", "textarea"},
		{access.KeySSHPreset, "Тип сервера", "", "select"},
		{access.KeyAccounts, "Учётные записи для учеников", "Через запятую или диапазоном, например stud01-stud05. Нужно не меньше, чем мест в самом большом слоте; создайте их на сервере заранее.", "text"},
	}},
}

func accessKeys() []string {
	var keys []string
	for _, sec := range accessSections {
		for _, f := range sec.fields {
			keys = append(keys, f.key)
		}
	}
	return keys
}

// grantRow is one grant for the page.
type grantRow struct {
	*booksmeta.AccessGrant
	StateText string
	Danger    bool // open although its booking is over: a revoke that fails
}

func grantStateText(g *booksmeta.AccessGrant) (string, bool) {
	switch g.State {
	case booksmeta.GrantPending:
		if g.Attempts > 0 {
			return "выдача не удаётся, повторяется", false
		}
		return "выдаётся", false
	case booksmeta.GrantGranted:
		return "открыт", false
	case booksmeta.GrantRevoking:
		if g.Attempts > 0 {
			return "закрыть не удаётся, повторяется", true
		}
		return "закрывается", false
	}
	return "закрыт", false
}

func (s *Server) accessPage(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	s.accessRender(w, r, http.StatusOK, nil, nil, "", nil)
}

func (s *Server) accessRender(w http.ResponseWriter, r *http.Request, status int, entered, errs map[string]string, formErr string, verdict *access.Verdict) {
	ctx := r.Context()
	sections, err := s.buildSections(ctx, accessSections, entered, errs)
	if err != nil {
		s.internalError(w, r, "read access settings", err)
		return
	}
	gs, err := s.Store.RecentGrants(ctx, 100)
	if err != nil {
		s.internalError(w, r, "list grants", err)
		return
	}
	rows := make([]grantRow, 0, len(gs))
	failing := 0
	for _, g := range gs {
		text, danger := grantStateText(g)
		if danger {
			failing++
		}
		rows = append(rows, grantRow{AccessGrant: g, StateText: text, Danger: danger})
	}
	d := s.adminData(r, "Доступ к серверу", "access")
	d["Sections"], d["FormError"], d["Verdict"], d["Grants"], d["Failing"] = sections, formErr, verdict, rows, failing
	d["Loc"] = s.Settings.Location(ctx)
	d["PoolWarning"] = s.poolWarning(ctx)
	if r.URL.Query().Get("ok") == "saved" {
		d["Flash"] = "Настройки доступа сохранены. Нажмите «Проверить подключение», чтобы убедиться, что они работают."
	}
	s.render(w, status, "admin_access", d)
}

// poolWarning says when access_accounts is smaller than the largest slot:
// then a student of a full slot would wait for an account forever.
func (s *Server) poolWarning(ctx context.Context) string {
	cfg, err := s.Grants.Config(ctx)
	if err != nil || len(cfg.Accounts) == 0 {
		return ""
	}
	largest, err := s.Store.LargestUpcomingCapacity(ctx)
	if err != nil {
		return ""
	}
	if err := cfg.Accounts.CheckCapacity(largest); err != nil {
		return access.Message(err)
	}
	// Adjacent slots' windows overlap by access_opens_minutes_before: the
	// next slot's students need accounts while the previous ones still hold
	// theirs, or they get access only when the previous slot ends.
	before, err := s.Booking.AccessOpensBefore(ctx)
	if err == nil && before > 0 && len(cfg.Accounts) < 2*largest {
		return fmt.Sprintf("Учётных записей %d, а в самом большом слоте %d мест. Если слоты идут подряд и заполнены, ученики следующего слота получат доступ только с его началом, а не за %d мин.: учётные записи предыдущего слота освобождаются в его конце. Чтобы доступ открывался заранее, нужно %d учётных записей.",
			len(cfg.Accounts), largest, int(before.Minutes()), 2*largest)
	}
	return ""
}

func (s *Server) accessSave(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	values, ok := s.saveForm(w, r, u, accessKeys(), func(entered, errs map[string]string) {
		s.accessRender(w, r, http.StatusUnprocessableEntity, entered, errs, notSaved, nil)
	})
	if !ok {
		return
	}
	if len(values) > 0 {
		// A new provider or account list applies to the bookings in their
		// window now, not at the next periodic sync.
		if err := s.Store.InTx(r.Context(), func(tx *store.Tx) error {
			_, err := tx.EnqueueJob(r.Context(), &store.Job{Kind: store.AccessSyncJob, MaxAttempts: 3})
			return err
		}); err != nil {
			s.Log.Error("queue access sync after saving settings", "err", err)
		}
	}
	http.Redirect(w, r, "/admin/access?ok=saved", http.StatusSeeOther)
}

// accessCheck is «Проверить подключение»: the saved settings, checked by
// the provider without changing anything on the server.
func (s *Server) accessCheck(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	ctx := r.Context()
	var v access.Verdict
	cfg, err := s.Grants.Config(ctx)
	if err != nil {
		v = access.Verdict{Message: access.Message(err)}
	} else {
		largest, err := s.Store.LargestUpcomingCapacity(ctx)
		if err != nil {
			s.internalError(w, r, "read slot capacity", err)
			return
		}
		v = access.CheckConfig(ctx, cfg, largest)
	}
	s.accessRender(w, r, http.StatusOK, nil, nil, "", &v)
}

func (s *Server) accessHistory(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.notFound(w, r)
		return
	}
	gs, err := s.Store.GrantsOfBooking(ctx, id)
	if err != nil {
		s.internalError(w, r, "list grants", err)
		return
	}
	as, err := s.Store.GrantAttempts(ctx, id)
	if err != nil {
		s.internalError(w, r, "list grant attempts", err)
		return
	}
	rows := make([]grantRow, 0, len(gs))
	for _, g := range gs {
		text, danger := grantStateText(g)
		rows = append(rows, grantRow{AccessGrant: g, StateText: text, Danger: danger})
	}
	b, err := s.Store.BookingByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		b = nil
	} else if err != nil {
		s.internalError(w, r, "read booking", err)
		return
	}
	email := ""
	if b != nil {
		if u, err := s.Store.UserByID(ctx, b.UserID); err == nil {
			email = u.Email
		}
	}
	d := s.adminData(r, "Доступ по бронированию "+strconv.FormatInt(id, 10), "access")
	d["BookingID"], d["Booking"], d["Grants"], d["Attempts"], d["Email"] = id, b, rows, as, email
	d["Loc"] = s.Settings.Location(ctx)
	s.render(w, http.StatusOK, "admin_access_booking", d)
}
