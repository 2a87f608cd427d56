package web_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"booksmeta/internal/backup"
	"booksmeta/internal/db"
)

func TestAdminBackupsPage(t *testing.T) {
	f := start(t, nil)
	b := f.as(t, f.admin)
	if f.srv.DB.Dialect == db.Postgres {
		p := b.get("/admin/backups")
		expect(t, p, http.StatusOK, "pg_dump --format=custom")
		if u, _ := url.Parse(f.srv.Config.DatabaseURL); u != nil {
			if pw, ok := u.User.Password(); ok && pw != "" {
				expectNot(t, p, pw)
			}
		}
		expectNot(t, p, "Сделать резервную копию сейчас")
		return
	}
	dir := t.TempDir()
	// A bad schedule is refused with the reason, nothing saved.
	p := b.submit("/admin/backups", "/admin/backups/settings", url.Values{"backup_enabled": {"1"}, "backup_time": {"25:99"},
		"backup_keep": {"7"}, "backup_dir": {dir}})
	expect(t, p, http.StatusUnprocessableEntity, "ЧЧ:ММ")
	if on, err := f.srv.Settings.Bool(context.Background(), backup.Enabled); err != nil || on {
		t.Fatal("an invalid schedule was saved")
	}
	// Saved switched off: the scheduled job (tested in package backup) stays out of this count.
	p = b.submit("/admin/backups", "/admin/backups/settings", url.Values{"backup_time": {"04:30"},
		"backup_keep": {"2"}, "backup_dir": {dir}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("save schedule: %d %s", p.Status, p.Body)
	}
	expect(t, b.get("/admin/backups"), http.StatusOK, "Копий пока нет", `value="04:30"`, "Сделать резервную копию сейчас")
	for i := 0; i < 3; i++ {
		if p := b.submit("/admin/backups", "/admin/backups", nil); p.Status != http.StatusSeeOther || !strings.Contains(p.location(), "ok=made") {
			t.Fatalf("backup now: %d %s", p.Status, p.location())
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 { // retention keeps 2
		t.Fatalf("%d files in the backup folder, want 2 (keep=2)", len(entries))
	}
	p = b.get("/admin/backups")
	expect(t, p, http.StatusOK, "booksmeta-manual-", "КБ", "вручную")
	if _, err := backup.Check(context.Background(), dir+"/"+entries[0].Name()); err != nil {
		t.Fatalf("the copy made from the panel does not check: %v", err)
	}
	// Students never reach the page.
	s := f.as(t, f.student)
	if p := s.get("/admin/backups"); p.Status == http.StatusOK {
		t.Fatal("a student opened the backups page")
	}
}
