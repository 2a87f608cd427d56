// Command access-receiver is the reference receiver of Book Smeta's http
// access provider (SPEC §7), for a school to run on its Windows server: it
// verifies each request's Standard Webhooks signature and maps grant,
// revoke and check to net user, quser and logoff. It is an example, not
// part of the product: Book Smeta does not import it, and a school may
// write its own receiver to the same protocol. Standard library only, so
// it reads in one sitting; build it with
//
//	GOOS=windows GOARCH=amd64 go build -o access-receiver.exe ./deploy/access-receiver
//
// Settings come from a KEY=VALUE file (-config) and the environment, the
// environment winning: SERVER_API_KEY (required, the same as in Book
// Smeta), ACCESS_ACCOUNTS (required, the accounts it may touch, e.g.
// stud01-stud05), LISTEN (default :8443), ACCESS_HOST and
// ACCESS_INSTRUCTIONS (shown to the student), TLS_CERT and TLS_KEY (PEM
// files; without them it speaks plain HTTP), LOG_FILE.
package main

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	configPath := flag.String("config", "", "KEY=VALUE settings file (the environment wins over it)")
	flag.Parse()
	cfg, err := loadConfig(*configPath, os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "access-receiver:", err)
		os.Exit(2)
	}
	logger := log.New(os.Stderr, "", log.LstdFlags)
	if cfg.logFile != "" {
		f, err := os.OpenFile(cfg.logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, "access-receiver:", err)
			os.Exit(2)
		}
		logger.SetOutput(f)
	}
	h := newHandler(cfg, runCommand, logger)
	srv := &http.Server{Addr: cfg.listen, Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	logger.Printf("listening on %s (tls %v) for %d accounts", cfg.listen, cfg.tlsCert != "", len(cfg.accounts))
	if cfg.tlsCert != "" {
		err = srv.ListenAndServeTLS(cfg.tlsCert, cfg.tlsKey)
	} else {
		err = srv.ListenAndServe()
	}
	logger.Fatal(err)
}

type config struct {
	key                []byte
	accounts           map[string]bool
	order              []string
	listen             string
	host, instructions string
	tlsCert, tlsKey    string
	logFile            string
}

func loadConfig(path string, getenv func(string) string) (config, error) {
	file := map[string]string{}
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return config{}, err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
			if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
				file[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
			}
		}
	}
	get := func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return file[k]
	}
	c := config{listen: get("LISTEN"), host: get("ACCESS_HOST"), instructions: get("ACCESS_INSTRUCTIONS"),
		tlsCert: get("TLS_CERT"), tlsKey: get("TLS_KEY"), logFile: get("LOG_FILE"), accounts: map[string]bool{}}
	if c.listen == "" {
		c.listen = ":8443"
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return c, errors.New("TLS_CERT and TLS_KEY go together")
	}
	key := get("SERVER_API_KEY")
	if key == "" {
		return c, errors.New("SERVER_API_KEY is required: the same value as server_api_key in Book Smeta")
	}
	c.key = []byte(key)
	if rest, ok := strings.CutPrefix(key, "whsec_"); ok {
		k, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return c, errors.New("SERVER_API_KEY starts with whsec_ but the rest is not base64")
		}
		c.key = k
	}
	names, err := parseAccounts(get("ACCESS_ACCOUNTS"))
	if err != nil {
		return c, err
	}
	for _, n := range names {
		c.accounts[strings.ToLower(n)] = true
	}
	c.order = names
	return c, nil
}

// parseAccounts reads "stud01-stud05" or a comma list, as Book Smeta does.
// Only these accounts are ever changed: a leaked key must not be able to
// reset the Administrator's password.
func parseAccounts(s string) ([]string, error) {
	var out []string
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		if i := strings.LastIndex(item, "-"); i > 0 {
			lp, ld := trailingNumber(item[:i])
			rp, rd := trailingNumber(item[i+1:])
			if ld != "" && rd != "" && (rp == "" || rp == lp) {
				from, _ := strconv.Atoi(ld)
				to, _ := strconv.Atoi(rd)
				width := 0
				if len(ld) > 1 && ld[0] == '0' {
					width = len(ld)
				}
				for n := from; n <= to && len(out) < 500; n++ {
					out = append(out, fmt.Sprintf("%s%0*d", lp, width, n))
				}
				continue
			}
		}
		out = append(out, item)
	}
	for _, n := range out {
		if !validName(n) || strings.EqualFold(n, "administrator") || strings.EqualFold(n, "администратор") {
			return nil, fmt.Errorf("ACCESS_ACCOUNTS: %q cannot be a student account", n)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("ACCESS_ACCOUNTS is required, e.g. stud01-stud05, the same as access_accounts in Book Smeta")
	}
	return out, nil
}

func trailingNumber(s string) (prefix, digits string) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	return s[:i], s[i:]
}

// validName keeps to names that fit Windows (20 characters) and that no
// shell would read specially.
func validName(s string) bool {
	if s == "" || len(s) > 20 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// runner runs a program with arguments (no shell, so nothing needs
// quoting) and returns its output and exit code.
type runner func(name string, args ...string) (out string, code int, err error)

func runCommand(name string, args ...string) (string, int, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode(), nil
	}
	return string(out), 0, err
}

type handler struct {
	cfg config
	run runner
	log *log.Logger
	// One change at a time: two grants of one account must not interleave.
	mu sync.Mutex
	// Answers to grants by webhook-id, so that Book Smeta's retry of a grant
	// whose answer it lost gets the same password instead of a new one.
	answers map[string]cached
}

type cached struct {
	body []byte
	at   time.Time
}

func newHandler(cfg config, run runner, logger *log.Logger) *handler {
	return &handler{cfg: cfg, run: run, log: logger, answers: map[string]cached{}}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	id := r.Header.Get("webhook-id")
	if !h.verify(id, r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body) {
		h.log.Printf("refused %s from %s: bad signature or timestamp", r.URL.Path, r.RemoteAddr)
		http.Error(w, "подпись не совпала: ключ SERVER_API_KEY здесь и server_api_key в Book Smeta должны быть одинаковыми, часы обоих серверов — верными", http.StatusUnauthorized)
		return
	}
	var req struct {
		BookingID int64  `json:"booking_id"`
		Login     string `json:"login"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, "тело запроса не JSON", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case strings.HasSuffix(r.URL.Path, "/check"):
		h.check(w)
	case strings.HasSuffix(r.URL.Path, "/grant"):
		if h.allowed(w, req.Login) {
			h.grant(w, id, req.BookingID, req.Login)
		}
	case strings.HasSuffix(r.URL.Path, "/revoke"):
		if h.allowed(w, req.Login) {
			h.revoke(w, req.BookingID, req.Login)
		}
	default:
		http.NotFound(w, r)
	}
}

// verify checks the Standard Webhooks signature and that the timestamp is
// within five minutes, so a captured request cannot be replayed later.
func (h *handler) verify(id, ts, sigs string, body []byte) bool {
	n, err := strconv.ParseInt(ts, 10, 64)
	if id == "" || err != nil {
		return false
	}
	if d := time.Since(time.Unix(n, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return false
	}
	m := hmac.New(sha256.New, h.cfg.key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	want := m.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		if v, ok := strings.CutPrefix(s, "v1,"); ok {
			if got, err := base64.StdEncoding.DecodeString(v); err == nil && hmac.Equal(got, want) {
				return true
			}
		}
	}
	return false
}

func (h *handler) allowed(w http.ResponseWriter, login string) bool {
	if login == "" {
		http.Error(w, "не указана учётная запись: задайте access_accounts в Book Smeta (как ACCESS_ACCOUNTS здесь)", http.StatusUnprocessableEntity)
		return false
	}
	if !h.cfg.accounts[strings.ToLower(login)] {
		h.log.Printf("refused login %q: not in ACCESS_ACCOUNTS", login)
		http.Error(w, "учётной записи "+login+" нет в ACCESS_ACCOUNTS на сервере: списки в Book Smeta и здесь должны совпадать", http.StatusUnprocessableEntity)
		return false
	}
	return true
}

func (h *handler) grant(w http.ResponseWriter, id string, booking int64, login string) {
	for k, c := range h.answers {
		if time.Since(c.at) > 24*time.Hour {
			delete(h.answers, k)
		}
	}
	if c, ok := h.answers[id]; ok {
		h.log.Printf("grant booking %d login %s: repeated %s, same answer", booking, login, id)
		w.Header().Set("Content-Type", "application/json")
		w.Write(c.body)
		return
	}
	pw, err := newPassword(login)
	if err != nil {
		http.Error(w, "не удалось создать пароль", http.StatusInternalServerError)
		return
	}
	out, code, err := h.run("net", "user", login, pw, "/active:yes")
	if err != nil || code != 0 {
		h.fail(w, "grant", booking, login, "net user", strings.ReplaceAll(out, pw, "***"), code, err)
		return
	}
	body, _ := json.Marshal(map[string]string{"host": h.cfg.host, "login": login, "password": pw, "instructions": h.cfg.instructions})
	h.answers[id] = cached{body, time.Now()}
	h.log.Printf("grant booking %d login %s: enabled with a new password", booking, login)
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

func (h *handler) revoke(w http.ResponseWriter, booking int64, login string) {
	out, code, err := h.run("net", "user", login, "/active:no")
	if err != nil || code != 0 {
		h.fail(w, "revoke", booking, login, "net user", out, code, err)
		return
	}
	// Disabling stops new logons only; open sessions are ended one by one.
	// quser exits 1 when the account has no session.
	out, code, err = h.run("quser", login)
	if err != nil || (code != 0 && code != 1) {
		h.fail(w, "revoke", booking, login, "quser", out, code, err)
		return
	}
	for _, sid := range sessionIDs(out, login) {
		if out, code, err := h.run("logoff", sid); err != nil || code != 0 {
			h.fail(w, "revoke", booking, login, "logoff "+sid, out, code, err)
			return
		}
	}
	h.log.Printf("revoke booking %d login %s: disabled, sessions ended", booking, login)
	w.WriteHeader(http.StatusNoContent)
}

// sessionIDs reads quser's table by its rows, not its headers, which a
// Russian Windows translates: the row starts with the user name (">" marks
// the caller's own) and its first number is the session id.
func sessionIDs(out, login string) []string {
	var ids []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), ">"))
		if len(f) < 2 || !strings.EqualFold(f[0], login) {
			continue
		}
		for _, x := range f[1:min(len(f), 3)] {
			if _, err := strconv.Atoi(x); err == nil {
				ids = append(ids, x)
				break
			}
		}
	}
	return ids
}

func (h *handler) check(w http.ResponseWriter) {
	var missing []string
	for _, a := range h.cfg.order {
		if _, code, err := h.run("net", "user", a); err != nil || code != 0 {
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		http.Error(w, "на сервере нет учётных записей: "+strings.Join(missing, ", ")+" — создайте их (net user ИМЯ * /add)", http.StatusConflict)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"ok":true}`))
}

func (h *handler) fail(w http.ResponseWriter, action string, booking int64, login, what, out string, code int, err error) {
	msg := strings.Join(strings.Fields(out), " ")
	if err != nil {
		msg = err.Error()
	}
	h.log.Printf("%s booking %d login %s: %s failed (%d): %s", action, booking, login, what, code, msg)
	// 500: Book Smeta retries it, and shows this text to its admin.
	http.Error(w, fmt.Sprintf("%s %s: код %d: %s", what, login, code, msg), http.StatusInternalServerError)
}

// newPassword follows Book Smeta's rule: 14 letters and digits without
// look-alikes, all three classes present (Windows' default complexity
// policy), never containing the account name; net user asks a Y/N question
// for passwords over 14 characters.
func newPassword(login string) (string, error) {
	const upper, lower, digits = "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789"
	all := upper + lower + digits
	for {
		b := make([]byte, 14)
		for i := range b {
			n, err := rand.Int(rand.Reader, big.NewInt(int64(len(all))))
			if err != nil {
				return "", err
			}
			b[i] = all[n.Int64()]
		}
		p := string(b)
		if strings.ContainsAny(p, upper) && strings.ContainsAny(p, lower) && strings.ContainsAny(p, digits) &&
			!strings.Contains(strings.ToLower(p), strings.ToLower(login)) {
			return p, nil
		}
	}
}
