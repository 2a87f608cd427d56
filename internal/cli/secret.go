package cli

import (
	"context"
	"fmt"

	"booksmeta/internal/webhook"
)

func runSecret(ctx context.Context, e *Env, args []string) error {
	if err := parse(newFlags("secret", e), args); err != nil {
		return err
	}
	fmt.Fprintln(e.Stdout, webhook.NewSecret())
	return nil
}
