package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"booksmeta/internal/getcourse/getcoursetest"
)

const devUsage = "usage: booksmeta dev fake-getcourse [--addr 127.0.0.1:8091] [--key K] [--read-only-key K] [--ready-after N] [--rate-limit N]"

func runDev(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 || args[0] != "fake-getcourse" {
		return usageError{devUsage}
	}
	fs := newFlags("dev fake-getcourse", e)
	addr := fs.String("addr", "127.0.0.1:8091", "listen address")
	account := fs.String("account", "school", "account name")
	key := fs.String("key", "demo-secret-key", "API key with full rights")
	roKey := fs.String("read-only-key", "demo-read-only-key", "API key created «Только для чтения» (exports only)")
	readyAfter := fs.Int("ready-after", 1, "status polls an export answers «not ready» (909) before it is ready")
	rateLimit := fs.Int("rate-limit", 0, "Export API requests allowed per 2 hours before error 903 (0: no limit)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	opts := []getcoursetest.Option{
		getcoursetest.WithAccount(*account), getcoursetest.WithKey(*key),
		getcoursetest.WithExportReadyAfter(*readyAfter), getcoursetest.WithDemoData(),
	}
	if *roKey != "" {
		opts = append(opts, getcoursetest.WithReadOnlyKey(*roKey))
	}
	if *rateLimit > 0 {
		opts = append(opts, getcoursetest.WithRateLimit(*rateLimit, 2*time.Hour))
	}
	fake := getcoursetest.NewUnstarted(opts...)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w (is another program using this port? pass --addr)", *addr, err)
	}
	api := "http://" + ln.Addr().String() + getcoursetest.APIPath
	fmt.Fprintf(e.Stdout, `Фейковый GetCourse (аккаунт %q с демонстрационными учениками и заказами) слушает %s
Укажите в настройках Book Smeta (или в .env):

  GETCOURSE_API_URL=%s
  GETCOURSE_API_KEY=%s

Ключ только для чтения (импорт отклоняется): %s
Неверный ключ — любой другой. Проверка: booksmeta getcourse test; синхронизация: booksmeta getcourse sync.
Остановить: Ctrl+C.
`, *account, ln.Addr().String(), api, *key, *roKey)
	srv := &http.Server{Handler: fake.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	if e.Ready != nil {
		e.Ready(ln.Addr().String())
	}
	select {
	case <-ctx.Done():
	case err := <-done:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
