// Package crashtest runs the real booksmeta binary as separate processes,
// kills them with SIGKILL under load and checks what survived: the promises
// of SPEC §4 and §6 under faults, not just in a single process.
package crashtest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"booksmeta/internal/db"
	"booksmeta/internal/syncbuf"
	"booksmeta/internal/webhook"
)

const secret = "crash-test-secret-0123456789abcdef"

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "booksmeta-crash-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "booksmeta")
	out, err := exec.Command("go", "build", "-o", binary, "booksmeta/cmd/booksmeta").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build booksmeta: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one `booksmeta serve` process.
type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	logs *syncbuf.Buffer // written by exec's copying goroutines while the test reads it
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs serve on dbURL in dir and waits until /healthz answers.
func start(t *testing.T, dir, dbURL string) *server {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary, "serve")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BOOKSMETA_ADDR="+addr, "BOOKSMETA_DATABASE_URL="+dbURL,
		"BOOKSMETA_SECRET_KEY=crash-test-key", "GETCOURSE_WEBHOOK_SECRET="+secret, "BOOKSMETA_BASE_URL=http://"+addr)
	logs := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, url: "http://" + addr, logs: logs}
	t.Cleanup(func() { s.kill() })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(s.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("serve did not start:\n%s", logs.String())
	return nil
}

func (s *server) kill() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Signal(syscall.SIGKILL)
		s.cmd.Wait()
	}
}

type answer struct {
	Success   bool   `json:"success"`
	EventID   string `json:"event_id"`
	Duplicate bool   `json:"duplicate"`
}

var client = &http.Client{Timeout: 10 * time.Second}

// sendEvent posts a signed user_payment for email; ok is false on any
// failure (including a connection cut by the kill).
func sendEvent(url, email string) (answer, bool) {
	body := []byte(`{"action":"user_payment","event_id":"ev-` + email + `","user":{"email":"` + email + `"}}`)
	req, _ := http.NewRequest(http.MethodPost, url+"/api/getcourse/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GetCourse-Signature", webhook.Sign(secret, body))
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, false
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a answer
	if resp.StatusCode != 200 || json.Unmarshal(raw, &a) != nil || !a.Success {
		return a, false
	}
	return a, true
}

// load sends unique events from workers until stop closes, returning the
// emails whose events were acknowledged with 200.
func load(urls []string, workers int, stop <-chan struct{}) []string {
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				email := fmt.Sprintf("w%d-%d@crash.example.ru", w, i)
				if _, ok := sendEvent(urls[(w+i)%len(urls)], email); ok {
					mu.Lock()
					acked = append(acked, email)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return acked
}

func openDB(t *testing.T, url string) *sql.DB {
	d, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d.Read
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s (%s)", what, last)
}

func quote(emails []string) string {
	return "'" + strings.Join(emails, "','") + "'"
}

func openWriteDB(t *testing.T, url string) *sql.DB {
	d, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d.Write
}

func decode(resp *http.Response, v any) {
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(v)
}
