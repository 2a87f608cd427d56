package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"booksmeta/internal/accounts"
	"booksmeta/internal/app"
	"booksmeta/internal/store"
)

func appVersion() string { return app.Version }

func runAdmin(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError{"usage: booksmeta admin create --email E [--password-stdin]"}
	}
	fs := newFlags("admin create", e)
	email := fs.String("email", "", "administrator email (required)")
	stdin := fs.Bool("password-stdin", false, "read the password from standard input instead of printing a one-time link")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if strings.TrimSpace(*email) == "" {
		return usageError{"--email is required"}
	}
	var pw string
	if *stdin {
		line, err := bufio.NewReader(e.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("no password on standard input")
		}
		pw = strings.TrimRight(line, "\r\n")
		if pw == "" {
			return fmt.Errorf("the password on standard input is empty")
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
		fmt.Fprintf(e.Stdout, "super-admin %s is ready; sign in at %s/login\n", u.Email, a.Config.BaseURL)
		return nil
	}
	tok, err := acc.IssueLink(ctx, u.ID, store.TokenSetPassword, accounts.AdminLinkTTL)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "super-admin %s is ready. Open this one-time link (valid 24 hours) to set the password:\n%s/set-password?token=%s\n", u.Email, a.Config.BaseURL, tok)
	return nil
}
