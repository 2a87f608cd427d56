package cli

import (
	"context"
	"fmt"

	"booksmeta/internal/legacy"
)

func runImportLegacy(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("import-legacy", e)
	dsn := fs.String("mysql", "", "база MySQL PHP-версии: 'user:pass@tcp(host:3306)/book_smeta'")
	dry := fs.Bool("dry-run", false, "показать, что будет перенесено, ничего не записывая")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dsn == "" {
		return usageError{"укажите --mysql, например --mysql 'user:pass@tcp(127.0.0.1:3306)/book_smeta'"}
	}
	src, err := legacy.OpenMySQL(ctx, *dsn)
	if err != nil {
		return err
	}
	defer src.Close()
	a, err := e.open(ctx, true)
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprintf(e.Stdout, "Импорт из %s в %s\n", legacy.Describe(*dsn), a.DB.Dialect)
	loc, err := a.Settings.Zone(ctx)
	if err != nil {
		return err
	}
	im := &legacy.Importer{Store: a.Store, Settings: a.Settings, Box: a.Box, Loc: loc, Out: e.Stdout}
	sum, err := im.Run(ctx, src, *dry)
	if err != nil {
		return err
	}
	fmt.Fprint(e.Stdout, sum.String())
	if !*dry && sum.WelcomeQueued > 0 {
		a.Jobs.Notify()
		fmt.Fprintln(e.Stdout, "Письма со ссылками уйдут, когда запущен booksmeta serve и настроена почта.")
	}
	return nil
}
