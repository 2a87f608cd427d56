package securitytest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/apptest"
)

// TestNginxLogKeepsNoQuery: the shipped nginx config logs requests without
// their query string, so a webhook's ?secret= and a /set-password?token=
// never reach the access log. The config's http-level part (the map and
// the log format) runs in a real nginx when one is installed.
func TestNginxLogKeepsNoQuery(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(raw)
	httpLevel, servers, ok := strings.Cut(conf, "\nserver {")
	if !ok {
		t.Fatal("no server block in deploy/nginx.conf")
	}
	// Every server logs with the query-free format, and the format names no
	// variable that carries the query or the Referer.
	if n, m := strings.Count(servers, "server {")+1, len(regexp.MustCompile(`(?m)^\s*access_log\s+\S+\s+booksmeta;`).FindAllString(servers, -1)); m != n {
		t.Fatalf("%d server blocks, %d log with the booksmeta format", n, m)
	}
	format := httpLevel[strings.Index(httpLevel, "log_format booksmeta"):]
	for _, v := range []string{"$request ", "$request\"", "$request_uri", "$args", "$query_string", "$http_referer", "$uri?"} {
		if strings.Contains(format, v) {
			t.Fatalf("the booksmeta log format uses %s", v)
		}
	}

	bin, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx is not installed; the format was checked as text only")
	}
	s := apptest.Start(t, apptest.Options{})
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	for _, d := range []string{"body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		os.MkdirAll(filepath.Join(dir, d), 0o700)
	}
	test := fmt.Sprintf(`daemon off; master_process off; pid %[1]s/nginx.pid; error_log %[1]s/error.log;
events {}
http {
%[2]s
client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy; fastcgi_temp_path %[1]s/fastcgi;
uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
server {
    listen 127.0.0.1:%[3]d;
    access_log %[1]s/access.log booksmeta;
    location / { proxy_pass %[4]s; proxy_set_header X-Forwarded-For $remote_addr; }
}
}
`, dir, httpLevel, port, s.URL)
	cfg := filepath.Join(dir, "nginx.conf")
	os.WriteFile(cfg, []byte(test), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-p", dir, "-c", cfg)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	apptest.WaitFor(t, 5*time.Second, "nginx to listen", func() bool {
		r, err := http.Get(base + "/healthz")
		if err == nil {
			r.Body.Close()
		}
		return err == nil
	})
	for _, p := range []string{"/api/getcourse/webhook?secret=query-secret-123&x=1", "/api/getcourse_webhook.php?secret=query-secret-123",
		"/set-password?token=link-token-456"} {
		r, err := http.Post(base+p, "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
	}
	var log []byte
	apptest.WaitFor(t, 5*time.Second, "the access log", func() bool {
		log, _ = os.ReadFile(filepath.Join(dir, "access.log"))
		return strings.Count(string(log), "\n") >= 4
	})
	for _, secret := range []string{"query-secret-123", "link-token-456", "secret=", "token="} {
		if strings.Contains(string(log), secret) {
			t.Fatalf("%q in the nginx access log:\n%s", secret, log)
		}
	}
	if !strings.Contains(string(log), "POST /api/getcourse/webhook?*** HTTP/1.1") {
		t.Fatalf("the webhook request is not logged recognisably:\n%s\n%s", log, stderr.String())
	}
}
