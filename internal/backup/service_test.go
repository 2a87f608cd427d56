package backup_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/apptest"
	"booksmeta/internal/backup"
	"booksmeta/internal/db"
)

// TestScheduledBackupAndRetention: the job takes one copy a day once the
// school's clock passes backup_time, and keeps only backup_keep copies.
func TestScheduledBackupAndRetention(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{NoJobs: true, Env: map[string]string{"BOOKSMETA_TIMEZONE": "Europe/Moscow"}})
	if srv.DB.Dialect != db.SQLite {
		if srv.Backups.Supported() || !strings.Contains(srv.Backups.PgDump(), "pg_dump") {
			t.Fatal("PostgreSQL: backups must be left to pg_dump")
		}
		return
	}
	ctx := context.Background()
	dir := t.TempDir()
	msk, _ := time.LoadLocation("Europe/Moscow")
	srv.Clock.Set(time.Date(2026, 3, 10, 2, 59, 0, 0, msk))
	run := func() int {
		t.Helper()
		if err := srv.Backups.HandleJob(ctx, nil); err != nil {
			t.Fatal(err)
		}
		es, _ := os.ReadDir(dir)
		return len(es)
	}
	if err := srv.Settings.Put(ctx, map[string]string{backup.Dir: dir, backup.Time: "03:00", backup.Keep: "2"}, 0); err != nil {
		t.Fatal(err)
	}
	srv.Clock.Advance(2 * time.Minute)
	if n := run(); n != 0 {
		t.Fatalf("switched off, yet %d copies", n)
	}
	srv.Settings.Put(ctx, map[string]string{backup.Enabled: "1"}, 0)
	srv.Clock.Set(time.Date(2026, 3, 10, 2, 59, 0, 0, msk))
	if n := run(); n != 0 {
		t.Fatalf("before 03:00: %d copies", n)
	}
	srv.Clock.Advance(2 * time.Minute)
	if n := run(); n != 1 {
		t.Fatalf("after 03:00: %d copies, want 1", n)
	}
	srv.Clock.Advance(3 * time.Hour)
	if n := run(); n != 1 {
		t.Fatalf("second run the same day: %d copies, want 1", n)
	}
	for day := 1; day <= 3; day++ {
		srv.Clock.Set(time.Date(2026, 3, 10+day, 3, 5, 0, 0, msk))
		run()
	}
	cs, err := srv.Backups.List(ctx)
	if err != nil || len(cs) != 2 {
		t.Fatalf("retention: %d copies (%v), want 2", len(cs), err)
	}
	if !strings.Contains(cs[0].Name, "auto-20260313") || !strings.Contains(cs[1].Name, "auto-20260312") || !cs[0].Auto {
		t.Fatalf("kept the wrong copies: %s, %s", cs[0].Name, cs[1].Name)
	}
	for _, c := range cs {
		if _, err := backup.Check(ctx, c.Path); err != nil {
			t.Fatalf("scheduled copy %s: %v", c.Name, err)
		}
	}
}

func TestPgDumpCommandHidesPassword(t *testing.T) {
	c := backup.PgDumpCommand("postgres://school:s3cr3t-pw@db.example:5432/booksmeta?sslmode=require")
	if strings.Contains(c, "s3cr3t-pw") || !strings.Contains(c, "postgres://school@db.example:5432/booksmeta?sslmode=require") {
		t.Fatalf("pg_dump command: %s", c)
	}
}
