package cli

import (
	"context"
	"fmt"
	"path/filepath"

	"booksmeta/internal/backup"
	"booksmeta/internal/db"
)

func runBackup(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("backup", e)
	to := fs.String("to", "", "file to write the copy to (must not exist)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" {
		return usageError{"--to FILE is required, e.g. booksmeta backup --to data/backups/booksmeta-manual.db"}
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
	if d.Dialect != db.SQLite {
		return fmt.Errorf("backups of PostgreSQL are made with pg_dump: %s", backup.PgDumpCommand(cfg.DatabaseURL))
	}
	if err := backup.Backup(ctx, d, *to); err != nil {
		return err
	}
	v, err := backup.Check(ctx, *to)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "backup written to %s (schema version %d, integrity ok)\n", *to, v)
	key := "BOOKSMETA_SECRET_KEY"
	if cfg.SecretKey == "" {
		key = filepath.Join(filepath.Dir(d.Path), "secret.key")
	}
	fmt.Fprintf(e.Stdout, "keep %s with it: without that key stored API keys and server passwords cannot be read\n", key)
	return nil
}

func runRestore(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("restore", e)
	from := fs.String("from", "", "backup file to restore")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *from == "" {
		return usageError{"--from FILE is required"}
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	path := cfg.SQLitePath()
	if path == "" {
		return fmt.Errorf("restore works for the embedded SQLite database; for PostgreSQL use pg_restore")
	}
	if err := backup.Restore(ctx, *from, path); err != nil {
		return err
	}
	v, _ := backup.Check(ctx, path)
	fmt.Fprintf(e.Stdout, "restored %s from %s (schema version %d); start booksmeta serve again\n", path, *from, v)
	return nil
}
