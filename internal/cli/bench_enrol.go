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
	rate := fs.Float64("rate", 10, "payments per second")
	dur := fs.Duration("duration", 30*time.Second, "how long payments arrive")
	dbURL := fs.String("database", "", "database URL of the temporary server (default: a fresh SQLite file in a temp folder)")
	inQuery := fs.Bool("secret-in-query", false, "pass the webhook secret as ?secret= (a GetCourse process) instead of signing each delivery")
	wait := fs.Duration("wait", 30*time.Second, "how long to wait for the last welcome mails after the last payment")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *rate <= 0 || *dur <= 0 {
		return usageError{"--rate and --duration must be > 0"}
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
	how := "signed"
	if *inQuery {
		how = "?secret="
	}
	fmt.Fprintf(e.Stdout, "temporary server on %s (%s), SMTP server on %s\n", srv.url, srv.app.DB.Dialect, smtp.Addr())
	fmt.Fprintf(e.Stdout, "enrol: %g payments/s for %s, %s user_payment of new students; measured from the webhook's 200 to the SMTP server accepting the welcome mail\n",
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
					err = fmt.Errorf("status %d", resp.StatusCode)
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
	fmt.Fprintf(e.Stdout, "payments %d  acknowledged %d  refused %d  welcome mails %d\n", sent, len(acked), refused, l.Count)
	fmt.Fprintf(e.Stdout, "enrol     %s\n", l)
	if early > 0 {
		fmt.Fprintf(e.Stdout, "(%d mails were accepted before their 200 reached the sender; counted as 0)\n", early)
	}
	verdict := "met"
	if l.P99 >= enrolTarget {
		verdict = "NOT met"
	}
	fmt.Fprintf(e.Stdout, "target p99 < %s at 10 payments/s (this run: %g/s): %s\n", enrolTarget, *rate, verdict)
	switch {
	case len(acked) == 0:
		return fmt.Errorf("no payment was acknowledged: %s", firstErr)
	case l.Count < len(acked):
		return fmt.Errorf("%d acknowledged payments got no welcome mail within %s of the last", len(acked)-l.Count, *wait)
	case refused > 0:
		return fmt.Errorf("%d payments were refused: %s", refused, firstErr)
	}
	return nil
}
