package store_test

import (
	"context"
	"testing"

	"booksmeta/internal/dbtest"
	"booksmeta/internal/store"
)

// The audit log's text filter ignores case in Russian too, on both
// databases (SQLite's LOWER folds only Latin letters).
func TestAuditTextFilterIgnoresCyrillicCase(t *testing.T) {
	ctx := context.Background()
	s := store.New(dbtest.Open(t))
	for _, e := range []store.AuditEntry{
		{Action: "user.update", Target: "user:7", Summary: "Анна Иванова: оплата включена."},
		{Action: "slot.create", Target: "slot:3", Summary: "Слот 02.12.2026 10:00–11:00."},
	} {
		if err := s.AddAudit(ctx, &e); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string]int{"анна": 1, "АННА ИВАНОВА": 1, "Оплата": 1, "USER:7": 1, "слот": 1, "петров": 0} {
		if _, n, err := s.ListAudit(ctx, store.AuditFilter{Target: q}); err != nil || n != want {
			t.Errorf("filter %q: %d entries (%v), want %d", q, n, err, want)
		}
	}
}
