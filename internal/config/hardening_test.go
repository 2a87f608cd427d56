package config_test

import (
	"net/netip"
	"strings"
	"testing"

	"booksmeta/internal/config"
)

// TestDotenvWarnsAboutMalformedLines: a line that cannot be used is
// reported by file and line number, and nothing of the line itself is
// repeated: it may be a secret pasted without its name.
func TestDotenvWarnsAboutMalformedLines(t *testing.T) {
	p := writeFile(t, "# comment\nMAIL_HOST=smtp.example.ru\nsk-live-SECRET-PASTED-ALONE\n"+
		"MAIL PASSWORD=SECRET-WITH-SPACE-IN-NAME\n=SECRET-WITHOUT-NAME\nMAIL_PASSWORD=\"SECRET-UNCLOSED\n\nMAIL_PORT=587\n")
	c := mustLoad(t, env{}, p)
	all := strings.Join(c.Warnings, "\n")
	for _, want := range []string{p + ", строка 3: нет знака «=»", p + ", строка 4: перед «=» стоит не имя", p + ", строка 5: перед «=»", p + ", строка 6: MAIL_PASSWORD: кавычка не закрыта"} {
		if !strings.Contains(all, want) {
			t.Errorf("no warning %q in:\n%s", want, all)
		}
	}
	if len(c.Warnings) != 4 {
		t.Errorf("%d warnings, want 4:\n%s", len(c.Warnings), all)
	}
	if strings.Contains(all, "SECRET") {
		t.Fatalf("a warning repeats a value:\n%s", all)
	}
	if c.MailHost != "smtp.example.ru" || c.MailPort != 587 {
		t.Fatalf("good lines around the bad ones: %q %d", c.MailHost, c.MailPort)
	}
}

func TestTrustedProxies(t *testing.T) {
	def := mustLoad(t, env{}, "")
	if len(def.TrustedProxies) != 2 || !def.TrustedProxies[0].Contains(netip.MustParseAddr("127.0.0.1")) {
		t.Fatalf("default: %v", def.TrustedProxies)
	}
	c := mustLoad(t, env{"BOOKSMETA_TRUSTED_PROXIES": "172.16.0.0/12, 10.0.0.5 ::1"}, "")
	want := []string{"172.16.0.0/12", "10.0.0.5/32", "::1/128"}
	if len(c.TrustedProxies) != len(want) {
		t.Fatalf("parsed %v", c.TrustedProxies)
	}
	for i, w := range want {
		if c.TrustedProxies[i].String() != w {
			t.Fatalf("parsed %v, want %v", c.TrustedProxies, want)
		}
	}
	if c := mustLoad(t, env{"BOOKSMETA_TRUSTED_PROXIES": "none"}, ""); c.TrustedProxies == nil || len(c.TrustedProxies) != 0 {
		t.Fatalf("none: %v", c.TrustedProxies)
	}
	_, err := config.Load(env{"BOOKSMETA_TRUSTED_PROXIES": "172.16.0.0/12,nginx"}.get, "")
	if err == nil || !strings.Contains(err.Error(), "BOOKSMETA_TRUSTED_PROXIES") || !strings.Contains(err.Error(), `"nginx"`) {
		t.Fatalf("bad entry: %v", err)
	}
}
