package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"booksmeta/internal/app"
	"booksmeta/internal/webhook"
)

func runWebhook(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 || args[0] != "send" {
		return usageError{"usage: booksmeta webhook send [--url U] [--secret S] [--event E] [--email M] [--file body.json] [--get]"}
	}
	fs := newFlags("webhook send", e)
	target := fs.String("url", "", "webhook URL (default BOOKSMETA_BASE_URL + /api/getcourse/webhook)")
	secret := fs.String("secret", "", "webhook secret (default: the configured one)")
	event := fs.String("event", "test", "event name: test, user_payment, user_registered, deal_created")
	email := fs.String("email", "", "student email (needed for user_payment, user_registered)")
	first := fs.String("first-name", "", "student first name")
	dealID := fs.String("deal-id", "", "deal id (deal_created)")
	status := fs.String("status", "", "deal status (deal_created), e.g. payed or cancelled")
	file := fs.String("file", "", "send this file as the JSON body instead of building one")
	get := fs.Bool("get", false, "send as GET with ?secret= and fields in the URL, the way a GetCourse process calls")
	eventID := fs.String("id", "", "X-GetCourse-Event-Id header (idempotency key)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if *target == "" {
		*target = cfg.BaseURL + "/api/getcourse/webhook"
	}
	if *secret == "" {
		*secret = configuredSecret(ctx, e)
	}
	var body []byte
	fields := map[string]string{"action": *event, "email": *email, "first_name": *first, "deal_id": *dealID, "status": *status}
	if *file != "" {
		if body, err = os.ReadFile(*file); err != nil {
			return err
		}
	} else {
		m := map[string]any{"action": *event}
		user := map[string]string{}
		if *email != "" {
			user["email"] = *email
		}
		if *first != "" {
			user["first_name"] = *first
		}
		if len(user) > 0 {
			m["user"] = user
		}
		if *dealID != "" || *status != "" {
			m["deal"] = map[string]string{"id": *dealID, "status": *status}
		}
		body, _ = json.Marshal(m)
	}
	var req *http.Request
	if *get {
		u, err := url.Parse(*target)
		if err != nil {
			return err
		}
		q := u.Query()
		for k, v := range fields {
			if v != "" {
				q.Set(k, v)
			}
		}
		if *secret != "" {
			q.Set("secret", *secret)
		}
		u.RawQuery = q.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return err
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, *target, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if *secret != "" {
			req.Header.Set("X-GetCourse-Signature", webhook.Sign(*secret, body))
		}
	}
	if *eventID != "" {
		req.Header.Set("X-GetCourse-Event-Id", *eventID)
	}
	req.Header.Set("User-Agent", "booksmeta-webhook-send/"+app.Version)
	if *secret == "" {
		fmt.Fprintln(e.Stderr, "note: no webhook secret configured or given; sending unsigned")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %w (is booksmeta serve running, and is --url right?)", *target, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	fmt.Fprintf(e.Stdout, "%s %s\n%s\n", req.Method, resp.Status, strings.TrimSpace(string(answer)))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the server answered %s", resp.Status)
	}
	return nil
}

// configuredSecret reads the secret as the server resolves it (panel, then
// env, then .env); when the database cannot be opened, env and .env only.
func configuredSecret(ctx context.Context, e *Env) string {
	cfg, err := e.config()
	if err != nil {
		return ""
	}
	a, err := app.Open(ctx, cfg, discardLogger(), false)
	if err != nil {
		return cfg.GetCourseWebhookSecret
	}
	defer a.Close()
	s, err := a.Settings.WebhookSecret(ctx)
	if err != nil {
		return cfg.GetCourseWebhookSecret
	}
	return s
}
