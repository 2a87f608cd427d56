package db_test

import (
	"context"
	"testing"

	"booksmeta/internal/db"
	"booksmeta/internal/dbtest"
)

// TestMigrateAppliesSkippedVersions: a migration numbered below the highest
// applied one (work that landed in another order) is still applied.
func TestMigrateAppliesSkippedVersions(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Forget migration 5 as if the database had skipped it.
	if _, err := d.Write.Exec("DROP TABLE calendar_feeds"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write.Exec("DELETE FROM schema_migrations WHERE version = 5"); err != nil {
		t.Fatal(err)
	}
	if p, err := d.Pending(ctx); err != nil || len(p) != 1 || p[0] != 5 {
		t.Fatalf("pending = %v, %v", p, err)
	}
	n, err := d.Migrate(ctx)
	if err != nil || n != 1 {
		t.Fatalf("migrate applied %d: %v", n, err)
	}
	if _, err := d.Write.Exec("SELECT COUNT(*) FROM calendar_feeds"); err != nil {
		t.Fatalf("the skipped migration was not applied: %v", err)
	}
	if p, _ := d.Pending(ctx); len(p) != 0 {
		t.Fatalf("still pending: %v", p)
	}
}
