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
		return usageError{"как вызвать: booksmeta webhook send [--url АДРЕС] [--secret СЕКРЕТ] [--event СОБЫТИЕ] [--email ПОЧТА] [--file body.json] [--get]"}
	}
	fs := newFlags("webhook send", e)
	target := fs.String("url", "", "адрес webhook (по умолчанию BOOKSMETA_BASE_URL + /api/getcourse/webhook)")
	secret := fs.String("secret", "", "секрет webhook (по умолчанию настроенный)")
	event := fs.String("event", "test", "событие: test, user_payment, user_registered, deal_created")
	email := fs.String("email", "", "почта ученика (нужна для user_payment, user_registered)")
	first := fs.String("first-name", "", "имя ученика")
	dealID := fs.String("deal-id", "", "номер заказа (deal_created)")
	status := fs.String("status", "", "статус заказа (deal_created), например payed или cancelled")
	file := fs.String("file", "", "отправить этот файл как JSON-тело вместо собранного")
	get := fs.Bool("get", false, "отправить GET с ?secret= и полями в адресе, как вызывает процесс GetCourse")
	eventID := fs.String("id", "", "заголовок X-GetCourse-Event-Id (ключ от повторов)")
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
			return fmt.Errorf("файл --file %s не прочитать: проверьте путь и права (%w)", *file, err)
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
		fmt.Fprintln(e.Stderr, "внимание: секрет webhook не настроен и не указан — отправляем без подписи")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("нет связи с %s: %w (запущен ли booksmeta serve и верен ли --url?)", *target, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	fmt.Fprintf(e.Stdout, "%s %s\n%s\n", req.Method, resp.Status, strings.TrimSpace(string(answer)))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("сервер ответил %s", resp.Status)
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
