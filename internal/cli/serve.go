package cli

import (
	"context"
	"fmt"
	"time"

	"booksmeta/internal/accounts"
	"booksmeta/internal/db"
)

func runServe(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("serve", e)
	addr := fs.String("addr", "", "адрес, на котором принимать соединения (по умолчанию BOOKSMETA_ADDR или :8080)")
	if err := parse(fs, args); err != nil {
		return err
	}
	a, err := e.open(ctx, true)
	if err != nil {
		return err
	}
	defer a.Close()
	if *addr == "" {
		*addr = a.Config.Addr
	}
	ln, err := listen(*addr)
	if err != nil {
		return err
	}
	a.Log.Info("Book Smeta started", "addr", ln.Addr().String(), "database", string(a.DB.Dialect),
		"schema", db.LatestVersion(a.DB.Dialect), "base_url", a.Config.BaseURL)
	if a.KeyCreated {
		a.Log.Info("generated the encryption key for stored secrets; back it up with the database", "path", a.KeyPath)
	}
	if a.DB.Dialect == db.Postgres && a.Config.SecretKey == "" {
		a.Log.Warn("BOOKSMETA_SECRET_KEY is not set: with several instances every one needs the same key; copy " + a.KeyPath + " to each or set the variable")
	}
	// A start warning, not a reason to refuse to start: the webhook
	// handler reads the secret again and refuses requests while it cannot.
	if secret, err := a.Settings.WebhookSecret(ctx); err != nil {
		a.Log.Error("cannot read the webhook secret; webhooks are refused until it is entered again in Настройки → GetCourse API", "err", err)
	} else if secret == "" {
		a.Log.Warn("no webhook secret is set: anyone who knows the webhook URL can create paid accounts", "fix", "admin panel, settings page, GetCourse API section")
		fmt.Fprintln(e.Stderr, "Внимание: webhook-секрет не задан — любой, кто знает адрес для GetCourse, может создать оплаченный доступ. Задайте его в панели: Настройки → GetCourse API → Webhook секрет.")
	}
	if n, err := a.Store.CountAdmins(ctx); err == nil && n == 0 {
		tok, err := accounts.New(a.Store).NewSetupToken(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "\nАдминистратора ещё нет. Откройте эту одноразовую ссылку (действует 24 часа), чтобы создать его:\n\n  %s/setup?token=%s\n\nили выполните: %s admin create --email ВАШ_EMAIL\n\n", a.Config.BaseURL, tok, e.command())
	}
	fmt.Fprintf(e.Stdout, "Book Smeta запущен: %s (принимает соединения на %s). Остановить: Ctrl+C.\n", a.Config.BaseURL, ln.Addr())
	if e.Ready != nil {
		e.Ready(ln.Addr().String())
	}
	err = a.Run(ctx, ln, 10*time.Second)
	if err != nil {
		return err
	}
	// The log line is for the log collector, the Russian one for the person
	// who pressed Ctrl+C.
	a.Log.Info("shutdown complete")
	fmt.Fprintln(e.Stderr, "Book Smeta остановлен.")
	return nil
}

func runMigrate(ctx context.Context, e *Env, args []string) error {
	if err := parse(newFlags("migrate", e), args); err != nil {
		return err
	}
	a, err := e.open(ctx, true)
	if err != nil {
		return err
	}
	defer a.Close()
	v, err := a.DB.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "база данных на версии схемы %d\n", v)
	return nil
}

func runVersion(ctx context.Context, e *Env, args []string) error {
	if err := parse(newFlags("version", e), args); err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	d, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer d.Close()
	v, err := d.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "booksmeta %s\nсхема: в базе %d, в программе %d (%s)\n", appVersion(), v, db.LatestVersion(d.Dialect), d.Dialect)
	return nil
}
