package web

import (
	"booksmeta"

	"fmt"
	"net/http"
	"strings"

	"booksmeta/internal/audit"
	"booksmeta/internal/backup"
	"booksmeta/internal/settings"
)

// backupRow is one copy as the page shows it.
type backupRow struct {
	backup.Copy
	SizeText string
}

// humanSize writes a file size the way people read it.
func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f ГБ", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f МБ", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f КБ", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d байт", n)
}

var backupKeys = []string{backup.Enabled, backup.Time, backup.Keep, backup.Dir}

// backupsPage lists the copies, offers "back up now" and the schedule; on
// PostgreSQL it explains that pg_dump does the job.
func (s *Server) backupsPage(w http.ResponseWriter, r *http.Request, _ *booksmeta.User) {
	s.backupsRender(w, r, http.StatusOK, nil, "")
}

func (s *Server) backupsRender(w http.ResponseWriter, r *http.Request, status int, entered map[string]string, formErr string) {
	ctx := r.Context()
	d := s.adminData(r, "Резервные копии", "backups")
	d["Supported"] = s.Backups.Supported()
	d["PgDump"] = s.Backups.PgDump()
	folder, err := s.Backups.Folder(ctx)
	if err != nil {
		s.internalError(w, r, "read backup settings", err)
		return
	}
	d["Folder"] = folder
	d["Loc"] = s.Settings.Location(ctx)
	vals := map[string]string{}
	for _, k := range backupKeys {
		if vals[k], err = s.Settings.String(ctx, k); err != nil {
			s.internalError(w, r, "read backup settings", err)
			return
		}
		if v, ok := entered[k]; ok {
			vals[k] = v
		}
	}
	d["Enabled"], d["Time"], d["Keep"], d["Dir"] = vals[backup.Enabled] == "1", vals[backup.Time], vals[backup.Keep], vals[backup.Dir]
	d["FormError"] = formErr
	if s.Backups.Supported() {
		cs, err := s.Backups.List(ctx)
		if err != nil {
			d["ListError"] = "Не удалось прочитать папку с копиями " + folder + ": проверьте, что она существует и доступна программе."
		}
		rows := make([]backupRow, len(cs))
		for i, c := range cs {
			rows[i] = backupRow{c, humanSize(c.Size)}
		}
		d["Copies"] = rows
	}
	switch r.URL.Query().Get("ok") {
	case "made":
		d["Flash"] = "Резервная копия создана и проверена."
	case "saved":
		d["Flash"] = "Расписание копирования сохранено."
	}
	if r.URL.Query().Get("err") == "made" {
		d["Error"] = "Не удалось сделать копию. Подробности — в журнале сервера; чаще всего не хватает места на диске или нет прав на папку " + folder + "."
	}
	s.render(w, status, "admin_backups", d)
}

// backupsNow takes a copy now ("Сделать резервную копию сейчас").
func (s *Server) backupsNow(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	c, err := s.Backups.TakeNow(r.Context())
	if err != nil {
		s.Log.Error("manual backup failed", "err", err, "by", u.ID)
		s.record(r, audit.By(u, audit.BackupFailed, "backup", "Резервная копия из панели не сделана (подробности в журнале сервера)."))
		http.Redirect(w, r, "/admin/backups?err=made", http.StatusSeeOther)
		return
	}
	s.Log.Info("manual backup", "file", c.Name, "by", u.ID)
	s.record(r, audit.By(u, audit.BackupRun, "backup:"+c.Name, "Сделана резервная копия из панели: "+c.Name+" ("+humanSize(c.Size)+")."))
	http.Redirect(w, r, "/admin/backups?ok=made", http.StatusSeeOther)
}

// backupsSettings saves the schedule: on/off, time, copies kept, folder.
func (s *Server) backupsSettings(w http.ResponseWriter, r *http.Request, u *booksmeta.User) {
	vals := map[string]string{backup.Enabled: "0"}
	if r.PostFormValue(backup.Enabled) == "1" {
		vals[backup.Enabled] = "1"
	}
	for _, k := range []string{backup.Time, backup.Keep, backup.Dir} {
		vals[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	if err := s.Settings.Put(r.Context(), vals, u.ID); err != nil {
		if _, msg, ok := settings.Refusal(err); ok {
			s.backupsRender(w, r, http.StatusUnprocessableEntity, vals, msg)
			return
		}
		s.internalError(w, r, "save backup settings", err)
		return
	}
	s.Log.Info("backup schedule saved", "by", u.ID, "enabled", vals[backup.Enabled])
	s.record(r, audit.By(u, audit.SettingUpdate, audit.Settings, s.settingsSummary(vals)))
	http.Redirect(w, r, "/admin/backups?ok=saved", http.StatusSeeOther)
}
