package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"booksmeta/internal/accounts"
	"booksmeta/internal/app"
	"booksmeta/internal/store"
)

func appVersion() string { return app.Version }

func runAdmin(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError{"как вызвать: booksmeta admin create --email АДРЕС [--password-stdin]"}
	}
	fs := newFlags("admin create", e)
	email := fs.String("email", "", "адрес почты администратора (обязательно)")
	stdin := fs.Bool("password-stdin", false, "прочитать пароль со стандартного ввода вместо одноразовой ссылки")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if strings.TrimSpace(*email) == "" {
		return usageError{"укажите --email: адрес почты администратора"}
	}
	var pw string
	if *stdin {
		line, err := bufio.NewReader(e.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return errors.New("на стандартном вводе нет пароля: передайте его, например echo 'пароль' | booksmeta admin create --email АДРЕС --password-stdin")
		}
		pw = strings.TrimRight(line, "\r\n")
		if pw == "" {
			return errors.New("пароль на стандартном вводе пустой")
		}
	}
	a, err := e.open(ctx, true)
	if err != nil {
		return err
	}
	defer a.Close()
	acc := accounts.New(a.Store)
	u, err := acc.EnsureSuperAdmin(ctx, *email, pw)
	if err != nil {
		return err
	}
	if *stdin {
		fmt.Fprintf(e.Stdout, "суперадминистратор %s готов; войдите на %s/login\n", u.Email, a.Config.BaseURL)
		return nil
	}
	tok, err := acc.IssueLink(ctx, u.ID, store.TokenSetPassword, accounts.AdminLinkTTL)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "суперадминистратор %s готов. Откройте одноразовую ссылку (действует 24 часа), чтобы задать пароль:\n%s/set-password?token=%s\n", u.Email, a.Config.BaseURL, tok)
	return nil
}
