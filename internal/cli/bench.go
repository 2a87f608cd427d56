package cli

import (
	"booksmeta"

	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"booksmeta/internal/app"
	"booksmeta/internal/bench"
	"booksmeta/internal/config"
	"booksmeta/internal/password"
	"booksmeta/internal/settings"
	"booksmeta/internal/store"
)

const benchUsage = "как вызвать: booksmeta bench webhook|booking [--url U --secret S] [--concurrency N] [--duration D] [--baseline] [--database URL] [--flood N]" +
	" | booksmeta bench enrol [--rate 10] [--duration 30s] [--database URL] [--secret-in-query]"

func runBench(ctx context.Context, e *Env, args []string) error {
	if len(args) > 0 && args[0] == "enrol" {
		return runBenchEnrol(ctx, e, args[1:])
	}
	if len(args) == 0 || (args[0] != "webhook" && args[0] != "booking") {
		return usageError{benchUsage}
	}
	fs := newFlags("bench "+args[0], e)
	url := fs.String("url", "", "адрес сервера, например http://127.0.0.1:8080 (по умолчанию запускается временный сервер в этом процессе)")
	secret := fs.String("secret", "", "секрет webhook этого сервера")
	conc := fs.Int("concurrency", 32, "сколько отправителей одновременно")
	dur := fs.Duration("duration", 10*time.Second, "сколько длится каждый прогон")
	baseline := fs.Bool("baseline", false, "измерить ещё и простейший обработчик в том же прогоне и напечатать отношение")
	cpuProfile := fs.String("cpuprofile", "", "записать в этот файл профиль CPU всего прогона (генератор нагрузки и временный сервер)")
	noProc := fs.Bool("no-processing", false, "временный сервер: принимать и сохранять события без фоновой обработки (только приём)")
	dbURL := fs.String("database", "", "база временного сервера (по умолчанию новый файл SQLite во временной папке)")
	flood := fs.Int("flood", 0, "webhook, временный сервер: измерить ещё и приём, пока N соединений заваливают его неподписанными запросами, и рост базы")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *conc < 1 || *dur <= 0 {
		return usageError{"--concurrency должно быть не меньше 1, а --duration больше 0"}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *url == "" {
		srv, err := startBenchServer(ctx, *dbURL, *noProc, nil)
		if err != nil {
			return err
		}
		defer srv.close()
		*url, *secret = srv.url, srv.secret
		fmt.Fprintf(e.Stdout, "временный сервер: %s (%s)\n", srv.url, srv.app.DB.Dialect)
		if args[0] == "booking" {
			return benchBooking(ctx, e, srv, *conc, *dur)
		}
		if *flood > 0 {
			return benchFlood(ctx, e, srv, *conc, *flood, *dur)
		}
	} else if args[0] == "booking" {
		return usageError{"bench booking работает только с временным сервером в этом процессе (он сам создаёт учеников и слоты): уберите --url"}
	} else if *flood > 0 {
		return usageError{"--flood измеряет базу временного сервера в этом процессе: уберите --url"}
	}
	return benchWebhook(ctx, e, strings.TrimRight(*url, "/"), *secret, *conc, *dur, *baseline)
}

func benchWebhook(ctx context.Context, e *Env, url, secret string, conc int, dur time.Duration, baseline bool) error {
	client := bench.Client(conc)
	runID := randomID()
	fmt.Fprintf(e.Stdout, "приём webhook: отправителей %d, прогон %s, подписанные неповторяющиеся события user_payment\n", conc, dur)
	var base bench.Result
	if baseline {
		bs := bench.BaselineServer(secret)
		base = bench.Run(ctx, "baseline", client, conc, dur, bench.WebhookRequests(bs.URL, secret, runID), bench.Accepted200)
		bs.Close()
		fmt.Fprintln(e.Stdout, base)
	}
	r := bench.Run(ctx, "intake", client, conc, dur, bench.WebhookRequests(url+"/api/getcourse/webhook", secret, runID), bench.Accepted200)
	fmt.Fprintln(e.Stdout, r)
	if baseline && base.PerSecond() > 0 {
		fmt.Fprintf(e.Stdout, "приём / простейший обработчик: %.0f%%\n", 100*r.PerSecond()/base.PerSecond())
	}
	if r.OK == 0 {
		return fmt.Errorf("ни один запрос не принят: %s", r.FirstError)
	}
	return nil
}

type benchServer struct {
	app    *app.App
	url    string
	secret string
	close  func()
}

// startBenchServer runs a whole Book Smeta on a loopback port with a fresh
// database, the way `serve` would, but quiet; env adds configuration.
func startBenchServer(ctx context.Context, dbURL string, noProcessing bool, extra map[string]string) (*benchServer, error) {
	dir, err := os.MkdirTemp("", "booksmeta-bench-")
	if err != nil {
		return nil, err
	}
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(dir, "bench.db")
	}
	env := map[string]string{"BOOKSMETA_DATABASE_URL": dbURL, "BOOKSMETA_SECRET_KEY": randomID()}
	for k, v := range extra {
		env[k] = v
	}
	cfg, err := config.Load(func(k string) string { return env[k] }, "")
	if err != nil {
		return nil, err
	}
	a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), true)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	secret := randomID() + randomID()
	if err := a.Settings.Put(ctx, map[string]string{settings.GetCourseWebhookSecret: secret}, 0); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if noProcessing {
		a.Jobs.Workers = 0
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { a.Run(runCtx, ln, 10*time.Second); close(done) }()
	return &benchServer{app: a, url: "http://" + ln.Addr().String(), secret: secret, close: func() {
		cancel()
		<-done
		a.Close()
		os.RemoveAll(dir)
	}}, nil
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// benchBooking: students (one per sender) book through the JSON API, several
// senders per slot, so capacity checks contend. 201 and 409 are both
// answers; bookings/s counts the 201s.
func benchBooking(ctx context.Context, e *Env, srv *benchServer, conc int, dur time.Duration) error {
	a := srv.app
	cheap := password.Params{Time: 1, Memory: 1024, Threads: 1}
	const slots = 2000
	start := time.Now().Add(24 * time.Hour).Truncate(time.Hour)
	err := a.Store.InTx(ctx, func(tx *store.Tx) error {
		for i := range conc {
			u := &booksmeta.User{Email: fmt.Sprintf("bench%d@example.ru", i), Role: booksmeta.RoleStudent, Paid: true, Active: true,
				BookingLimit: 1 << 20, PasswordHash: password.HashWith("bench-password", cheap)}
			if err := tx.InsertUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Slots through the schedule's own insert path would need settings; raw
	// inserts keep the bench independent of the schedule rules.
	for i := range slots {
		st := start.Add(time.Duration(i) * time.Hour)
		if _, err := a.DB.Write.ExecContext(ctx, `INSERT INTO slots (starts_at, ends_at, capacity, created_at, updated_at) VALUES ($1,$2,$3,$4,$4)`,
			st.UnixMilli(), st.Add(time.Hour).UnixMilli(), 3, time.Now().UnixMilli()); err != nil {
			return err
		}
	}
	var firstID int64
	a.DB.Read.QueryRowContext(ctx, "SELECT MIN(id) FROM slots").Scan(&firstID)
	clients := make([]*http.Client, conc)
	tokens := make([]string, conc)
	tr := bench.Client(conc).Transport
	for i := range conc {
		jar, _ := cookiejar.New(nil)
		clients[i] = &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second}
		resp, err := clients[i].Post(srv.url+"/api/v1/auth/login", "application/json",
			strings.NewReader(fmt.Sprintf(`{"email":"bench%d@example.ru","password":"bench-password"}`, i)))
		if err != nil {
			return err
		}
		var body struct {
			CSRF string `json:"csrf_token"`
		}
		decodeJSON(resp.Body, &body)
		resp.Body.Close()
		tokens[i] = body.CSRF
	}
	fmt.Fprintf(e.Stdout, "бронирование: учеников одновременно %d, по 4 на слот вместимостью 3\n", conc)
	// Each group of 4 senders walks the slots together, so every slot sees contention.
	build := func(w, i int) (*http.Request, error) {
		slot := firstID + int64((w/4)*slots/max(conc/4, 1)+i)%slots
		req, err := http.NewRequest(http.MethodPost, srv.url+"/api/v1/bookings", strings.NewReader(`{"slot_id":`+strconv.FormatInt(slot, 10)+`}`))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", tokens[w])
		for _, c := range clients[w].Jar.Cookies(req.URL) {
			req.AddCookie(c)
		}
		return req, nil
	}
	answered := func(status int, _ []byte) bool { return status == http.StatusCreated || status == http.StatusConflict }
	r := bench.Run(ctx, "booking", &http.Client{Transport: tr, Timeout: 30 * time.Second}, conc, dur, build, answered)
	var booked int
	a.DB.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM bookings WHERE status = 'active'").Scan(&booked)
	var over int
	a.DB.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM slots WHERE booked > capacity").Scan(&over)
	fmt.Fprintln(e.Stdout, r)
	fmt.Fprintf(e.Stdout, "бронирований: %d (%.0f/с); слотов сверх вместимости: %d\n", booked, float64(booked)/r.Elapsed.Seconds(), over)
	if over > 0 {
		return fmt.Errorf("слотов сверх вместимости: %d", over)
	}
	return nil
}

// benchFlood measures the valid intake alone, then again while flood
// connections send unsigned requests, and the database's growth due to the
// flood (issue 13: at least half the rate kept, at most 1 MB a minute).
func benchFlood(ctx context.Context, e *Env, srv *benchServer, conc, flood int, dur time.Duration) error {
	client, fclient := bench.Client(conc), bench.Client(flood)
	url := srv.url + "/api/getcourse/webhook"
	size := func() int64 { n, _ := srv.app.Store.DatabaseSize(ctx); return n }
	fmt.Fprintf(e.Stdout, "приём webhook под потоком мусора: подписанных отправителей %d, заваливающих соединений %d (без подписи, тела по 16 КиБ), прогон %s\n", conc, flood, dur)
	// The flood alone first, on the fresh database with nothing else being
	// written, for what it costs the disk.
	s0 := size()
	only := bench.Run(ctx, "flood", fclient, flood, dur, bench.FloodRequests(url), bench.Refused401)
	srv.app.Rejects.Flush()
	s1 := size()
	fmt.Fprintln(e.Stdout, only)
	alone := bench.Run(ctx, "alone", client, conc, dur, bench.WebhookRequests(url, srv.secret, randomID()), bench.Accepted200)
	fmt.Fprintln(e.Stdout, alone)
	if alone.OK == 0 {
		return fmt.Errorf("ни одно верное событие не принято: %s", alone.FirstError)
	}

	// Let the background processing of the run alone finish, so that the
	// flooded run competes with the flood and not with that work.
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if es, err := srv.app.Store.ListWebhooks(ctx, store.WebhookFilter{State: booksmeta.StatePending, Limit: 1}); err != nil || len(es) == 0 {
			break
		}
	}
	var flooded bench.Result
	done := make(chan struct{})
	go func() {
		flooded = bench.Run(ctx, "flood", fclient, flood, dur, bench.FloodRequests(url), bench.Refused401)
		close(done)
	}()
	during := bench.Run(ctx, "flooded", client, conc, dur, bench.WebhookRequests(url, srv.secret, randomID()), bench.Accepted200)
	<-done
	fmt.Fprintln(e.Stdout, during)
	fmt.Fprintln(e.Stdout, flooded)
	fmt.Fprintf(e.Stdout, "приём верных событий под потоком: %.0f%% (%.0f/с из %.0f/с без потока)\n", 100*during.PerSecond()/alone.PerSecond(), during.PerSecond(), alone.PerSecond())
	fmt.Fprintf(e.Stdout, "рост базы от %d отклонённых запросов за %s: %.3f МБ (%.3f МБ в минуту потока)\n",
		only.OK, dur, float64(s1-s0)/1e6, float64(s1-s0)/1e6/dur.Minutes())
	if during.OK == 0 {
		return fmt.Errorf("под потоком не принято ни одного верного события: %s", during.FirstError)
	}
	return nil
}
