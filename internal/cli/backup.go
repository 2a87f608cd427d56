package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"booksmeta/internal/backup"
	"booksmeta/internal/db"
)

func runBackup(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("backup", e)
	to := fs.String("to", "", "файл для копии (его ещё не должно быть)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" {
		return usageError{"укажите --to ФАЙЛ, например booksmeta backup --to data/backups/booksmeta-manual.db"}
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
		return fmt.Errorf("копию PostgreSQL делает pg_dump: %s", backup.PgDumpCommand(cfg.DatabaseURL))
	}
	if err := backup.Backup(ctx, d, *to); err != nil {
		return err
	}
	v, err := backup.Check(ctx, *to)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "копия записана в %s (версия схемы %d, целостность в порядке)\n", *to, v)
	key := "BOOKSMETA_SECRET_KEY"
	if cfg.SecretKey == "" {
		key = filepath.Join(filepath.Dir(d.Path), "secret.key")
	}
	fmt.Fprintf(e.Stdout, "храните вместе с ней %s: без этого ключа сохранённые API-ключи и пароли сервера не прочитать\n", key)
	return nil
}

func runRestore(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("restore", e)
	from := fs.String("from", "", "файл копии, которую вернуть")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *from == "" {
		return usageError{"укажите --from ФАЙЛ — копию, которую вернуть"}
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	path := cfg.SQLitePath()
	if path == "" {
		return errors.New("restore возвращает копию встроенной базы SQLite; для PostgreSQL используйте pg_restore")
	}
	if err := backup.Restore(ctx, *from, path); err != nil {
		return err
	}
	v, _ := backup.Check(ctx, path)
	fmt.Fprintf(e.Stdout, "база %s восстановлена из %s (версия схемы %d); запустите %s serve снова\n", path, *from, v, e.command())
	return nil
}
