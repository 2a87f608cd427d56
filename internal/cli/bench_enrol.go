package cli

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"booksmeta/internal/bench"
	"booksmeta/internal/mail/mailtest"
)

// enrolTarget is issue 13's target for `bench enrol`: p99 under 2 s at 10
// payments/s.
const enrolTarget = 2 * time.Second

// runBenchEnrol measures what a paying student waits for: from the 200 that
// acknowledges GetCourse's payment notification to the moment a real SMTP
// server accepts that student's welcome mail, with payments of new students
// arriving at a steady rate.
func runBenchEnrol(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("bench enrol", e)
	rate := fs.Float64("rate", 10, "платежей в секунду")
	dur := fs.Duration("duration", 30*time.Second, "сколько времени идут платежи")
	dbURL := fs.String("database", "", "база временного сервера (по умолчанию новый файл SQLite во временной папке)")
	inQuery := fs.Bool("secret-in-query", false, "передавать секрет webhook в ?secret= (как процесс GetCourse) вместо подписи каждой отправки")
	wait := fs.Duration("wait", 30*time.Second, "сколько ждать последних приветственных писем после последнего платежа")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *rate <= 0 || *dur <= 0 {
		return usageError{"--rate и --duration должны быть больше 0"}
	}
	const smtpUser, smtpPass = "bench", "bench-smtp-password"
	smtp, err := mailtest.New(mailtest.WithAuth(smtpUser, smtpPass))
	if err != nil {
		return err
	}
	defer smtp.Close()
	srv, err := startBenchServer(ctx, *dbURL, false, map[string]string{
		"BOOKSMETA_BASE_URL": "https://school.example",
		"MAIL_HOST":          smtp.Host(), "MAIL_PORT": strconv.Itoa(smtp.Port()), "MAIL_ENCRYPTION": "none",
		"MAIL_USERNAME": smtpUser, "MAIL_PASSWORD": smtpPass,
		"MAIL_FROM_EMAIL": "school@example.ru", "MAIL_FROM_NAME": "Школа",
	})
	if err != nil {
		return err
	}
	defer srv.close()
	how := "подписанные"
	if *inQuery {
		how = "?secret="
	}
	fmt.Fprintf(e.Stdout, "временный сервер: %s (%s), SMTP-сервер: %s\n", srv.url, srv.app.DB.Dialect, smtp.Addr())
	fmt.Fprintf(e.Stdout, "зачисление: %g платежей/с в течение %s, %s user_payment новых учеников; время от ответа 200 на webhook до приёма приветственного письма SMTP-сервером\n",
		*rate, *dur, how)

	runID := randomID()
	email := func(i int) string { return "enrol-" + runID + "-" + strconv.Itoa(i) + "@example.ru" }
	client := bench.Client(64)
	var mu sync.Mutex
	acked := map[string]time.Time{}
	var refused int
	var firstErr string
	sent := bench.Paced(ctx, *rate, *dur, func(i int) {
		req, err := bench.PaymentRequest(srv.url+"/api/getcourse/webhook", srv.secret, "enrol-"+runID+"-"+strconv.Itoa(i), email(i), *inQuery)
		if err == nil {
			var resp *http.Response
			if resp, err = client.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("ответ HTTP %d", resp.StatusCode)
				}
			}
		}
		at := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			refused++
			if firstErr == "" {
				firstErr = err.Error()
			}
			return
		}
		acked[email(i)] = at
	})
	wctx, cancel := context.WithTimeout(ctx, *wait)
	msgs, _ := smtp.AwaitMessages(wctx, len(acked))
	cancel()

	var lat []time.Duration
	early := 0
	for _, m := range msgs {
		if len(m.To) != 1 {
			continue
		}
		at, ok := acked[m.To[0]]
		if !ok {
			continue
		}
		d := m.At.Sub(at)
		if d < 0 {
			// The job sent the mail before the 200 had reached the sender.
			d, early = 0, early+1
		}
		lat = append(lat, d)
	}
	l := bench.Summarize(lat)
	fmt.Fprintf(e.Stdout, "платежей %d  подтверждено %d  отклонено %d  приветственных писем %d\n", sent, len(acked), refused, l.Count)
	fmt.Fprintf(e.Stdout, "зачисление  %s\n", l)
	if early > 0 {
		fmt.Fprintf(e.Stdout, "(писем, принятых раньше, чем ответ 200 дошёл до отправителя: %d; считаются за 0)\n", early)
	}
	verdict := "выполнена"
	if l.P99 >= enrolTarget {
		verdict = "НЕ выполнена"
	}
	fmt.Fprintf(e.Stdout, "цель p99 < %s при 10 платежах/с (в этом прогоне %g/с): %s\n", enrolTarget, *rate, verdict)
	switch {
	case len(acked) == 0:
		return fmt.Errorf("ни один платёж не подтверждён: %s", firstErr)
	case l.Count < len(acked):
		return fmt.Errorf("подтверждённых платежей без приветственного письма за %s после последнего: %d", *wait, len(acked)-l.Count)
	case refused > 0:
		return fmt.Errorf("отклонено платежей: %d: %s", refused, firstErr)
	}
	return nil
}
