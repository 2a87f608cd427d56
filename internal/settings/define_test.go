package settings_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"booksmeta/internal/secretbox"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

// TestBoolSpellings: a yes-or-no setting takes what people type and is
// stored as 1 or 0; anything else is refused with the reason, never read
// as "off" (the maintenance switch once took «да» and stayed off).
func TestBoolSpellings(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, "")
	f.svc.Define(settings.Def{Key: "maintenance_mode", Type: settings.Bool, Default: "0"})
	yes := []string{"1", "да", "Да", "ДА", "вкл", "включено", "включён", "on", "ON", "true", "True", "yes", " да "}
	no := []string{"0", "нет", "Нет", "выкл", "выключено", "off", "false", "no"}
	for _, list := range []struct {
		spellings []string
		want      bool
	}{{yes, true}, {no, false}} {
		for _, v := range list.spellings {
			f.put(t, map[string]string{"maintenance_mode": v})
			if raw, _, _ := f.rawRow(t, "maintenance_mode"); raw != map[bool]string{true: "1", false: "0"}[list.want] {
				t.Errorf("%q stored as %q", v, raw)
			}
			if got, err := f.svc.Bool(f.ctx, "maintenance_mode"); err != nil || got != list.want {
				t.Errorf("%q read as %v (%v), want %v", v, got, err, list.want)
			}
		}
	}
	for _, v := range []string{"abc", "yes please", "2", "-1", "д", "включить?"} {
		err := f.svc.Put(f.ctx, map[string]string{"maintenance_mode": v}, 0)
		key, msg, ok := settings.Refusal(err)
		if !ok || key != "maintenance_mode" || !strings.Contains(msg, "«да» или «нет»") {
			t.Errorf("%q: %v, want a refusal that says what to write", v, err)
		}
	}
	// Empty means the default.
	f.put(t, map[string]string{"maintenance_mode": ""})
	if got, err := f.svc.Bool(f.ctx, "maintenance_mode"); err != nil || got {
		t.Errorf("empty read as %v %v", got, err)
	}
}

// TestTypedGettersReturnReadErrors: a secret that no longer decrypts, a
// database that cannot be read and a stored number that is not one are
// errors from the typed getters, never "" or the default.
func TestTypedGettersReturnReadErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, "")
	f.svc.Define(settings.Def{Key: "server_password", Secret: true})
	f.svc.Define(settings.Def{Key: "cancel_cutoff_minutes", Type: settings.Number, Default: "120", Max: 43200})
	f.svc.Define(settings.Def{Key: "maintenance_mode", Type: settings.Bool, Default: "0"})

	// Sealed under another key: the instance key was changed.
	other, err := secretbox.New("another-instance-key")
	if err != nil {
		t.Fatal(err)
	}
	// Saved before the definitions said what they hold.
	if err := f.st.InTx(f.ctx, func(tx *store.Tx) error {
		for _, st := range []store.Setting{
			{Key: "server_password", Value: other.Seal("Server-Pass"), Secret: true},
			{Key: "cancel_cutoff_minutes", Value: "два часа"},
			{Key: "maintenance_mode", Value: "abc"},
		} {
			if err := tx.PutSetting(f.ctx, st, 0); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if v, err := f.svc.String(f.ctx, "server_password"); err == nil {
		t.Errorf("undecryptable secret read as %q without an error", v)
	}
	if n, err := f.svc.Int(f.ctx, "cancel_cutoff_minutes"); err == nil {
		t.Errorf("a stored non-number read as %d", n)
	}
	if d, err := f.svc.Minutes(f.ctx, "cancel_cutoff_minutes"); err == nil {
		t.Errorf("a stored non-number read as %v", d)
	}
	if b, err := f.svc.Bool(f.ctx, "maintenance_mode"); err == nil {
		t.Errorf("a stored non-answer read as %v", b)
	}

	// The database goes away: every typed read says so.
	g := newFixture(t, nil, "")
	g.svc.Define(settings.Def{Key: "maintenance_mode", Type: settings.Bool, Default: "0"})
	if err := g.st.DB().Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := g.svc.String(g.ctx, settings.MailHost); err == nil {
		t.Error("String on a closed database: no error")
	}
	if _, err := g.svc.Int(g.ctx, settings.MailPort); err == nil {
		t.Error("Int on a closed database: no error")
	}
	if _, err := g.svc.Bool(g.ctx, "maintenance_mode"); err == nil {
		t.Error("Bool on a closed database: no error")
	}
	if _, err := g.svc.DefaultLimit(g.ctx); err == nil {
		t.Error("DefaultLimit on a closed database: no error")
	}
	if _, err := g.svc.Zone(g.ctx); err == nil {
		t.Error("Zone on a closed database: no error")
	}
}

// TestRelateChecksValuesTogether: a check of several settings runs only
// when the save touches them, sees the pending values, and its refusal
// fails the save.
func TestRelateChecksValuesTogether(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, "")
	f.svc.Define(settings.Def{Key: "a", Type: settings.Number, Max: 100})
	f.svc.Define(settings.Def{Key: "b", Type: settings.Number, Max: 100})
	calls := 0
	f.svc.Relate(func(ctx context.Context, pending map[string]string) error {
		calls++
		if pending["a"] == "1" {
			return settings.Refuse("a", "«a» не может быть 1 вместе с «b».")
		}
		if pending["a"] == "2" {
			return errors.New("read failed")
		}
		return nil
	}, "a", "b")
	f.put(t, map[string]string{settings.MailFromName: "Школа"})
	if calls != 0 {
		t.Errorf("an unrelated save ran the check %d times", calls)
	}
	err := f.svc.Put(f.ctx, map[string]string{"a": "1"}, 0)
	if k, msg, ok := settings.Refusal(err); !ok || k != "a" || !strings.Contains(msg, "вместе") {
		t.Errorf("refusal of the relation: %v", err)
	}
	if err := f.svc.Put(f.ctx, map[string]string{"a": "2"}, 0); err == nil || errors.Is(err, settings.ErrInvalidValue) {
		t.Errorf("a failed check is an internal error, not a refusal: %v", err)
	}
	// A value refused by its own definition never reaches the relation.
	before := calls
	if err := f.svc.Put(f.ctx, map[string]string{"a": "1000"}, 0); !errors.Is(err, settings.ErrInvalidValue) || calls != before {
		t.Errorf("out of range: %v, relation calls %d→%d", err, before, calls)
	}
	f.put(t, map[string]string{"a": "3", "b": "4"})
	if v := f.get(t, "a"); v.Value != "3" {
		t.Errorf("a = %q", v.Value)
	}
}
