package main

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"booksmeta/internal/access"
)

// fakeWindows records the commands the receiver runs and answers as
// Windows would; there is no Windows here.
type fakeWindows struct {
	mu       sync.Mutex
	commands []string
	quser    string
	missing  map[string]bool
}

func (f *fakeWindows) run(name string, args ...string) (string, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.commands = append(f.commands, strings.Join(append([]string{name}, args...), " "))
	switch {
	case name == "quser" && f.quser == "":
		return "No User exists for " + args[0], 1, nil
	case name == "quser":
		return f.quser, 0, nil
	case name == "net" && len(args) == 2 && f.missing[args[1]]:
		return "The user name could not be found.", 2, nil
	}
	return "The command completed successfully.", 0, nil
}

func (f *fakeWindows) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.commands
	f.commands = nil
	return c
}

func setup(t *testing.T, key string) (*fakeWindows, *httptest.Server) {
	t.Helper()
	env := map[string]string{"SERVER_API_KEY": key, "ACCESS_ACCOUNTS": "stud01-stud03", "ACCESS_HOST": "rdp.school.example",
		"ACCESS_INSTRUCTIONS": "Подключитесь по RDP."}
	cfg, err := loadConfig("", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	fw := &fakeWindows{missing: map[string]bool{}}
	srv := httptest.NewServer(newHandler(cfg, fw.run, log.New(io.Discard, "", 0)))
	t.Cleanup(srv.Close)
	return fw, srv
}

func provider(t *testing.T, url, key string) access.Provider {
	t.Helper()
	p, err := access.NewHTTP(access.HTTPConfig{URL: url, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Book Smeta's own http provider against the reference receiver: the two
// ends of the protocol agree.
func TestReceiverWithBookSmeta(t *testing.T) {
	const key = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	fw, srv := setup(t, key)
	p := provider(t, srv.URL, key)
	ctx := context.Background()

	g := access.GrantRequest{BookingID: 11, SlotID: 2, Login: "stud02", StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour)}
	c, err := p.Grant(ctx, g)
	if err != nil {
		t.Fatalf("grant: %v (%s)", err, access.Message(err))
	}
	if c.Host != "rdp.school.example" || c.Login != "stud02" || len(c.Password) != 14 || c.Instructions == "" {
		t.Fatalf("credentials %v", c)
	}
	if got := fw.take(); len(got) != 1 || got[0] != "net user stud02 "+c.Password+" /active:yes" {
		t.Fatalf("grant ran %q", got)
	}
	// Book Smeta retries a grant whose answer it lost with the same
	// webhook-id: the same password comes back and nothing runs again.
	again, err := p.Grant(ctx, g)
	if err != nil || again.Password != c.Password {
		t.Fatalf("retried grant: %v, password changed %v", err, again.Password != c.Password)
	}
	if got := fw.take(); len(got) != 0 {
		t.Fatalf("retried grant ran %q", got)
	}

	fw.quser = " USERNAME              SESSIONNAME        ID  STATE   IDLE TIME  LOGON TIME\n" +
		" stud02                rdp-tcp#5           3  Active          .  12/2/2026 10:01 AM\n" +
		" stud02                                    5  Disc         1:02  12/2/2026 9:00 AM\n"
	if err := p.Revoke(ctx, access.RevokeRequest{BookingID: 11, Login: "stud02"}); err != nil {
		t.Fatalf("revoke: %v (%s)", err, access.Message(err))
	}
	want := "net user stud02 /active:no|quser stud02|logoff 3|logoff 5"
	if got := strings.Join(fw.take(), "|"); got != want {
		t.Fatalf("revoke ran %s", got)
	}
	fw.quser = ""
	if err := p.Revoke(ctx, access.RevokeRequest{BookingID: 11, Login: "stud02"}); err != nil {
		t.Fatalf("repeated revoke: %v", err)
	}
	fw.take()

	if v := p.Check(ctx); !v.OK {
		t.Fatalf("check: %+v", v)
	}
	fw.missing["stud03"] = true
	if v := p.Check(ctx); v.OK || !strings.Contains(v.Message, "нет учётных записей: stud03") {
		t.Fatalf("check with a missing account: %+v", v)
	}
	fw.take()

	// Accounts outside ACCESS_ACCOUNTS are never touched.
	_, err = p.Grant(ctx, access.GrantRequest{BookingID: 12, Login: "Administrator"})
	if err == nil || !strings.Contains(access.Message(err), "нет в ACCESS_ACCOUNTS") {
		t.Fatalf("grant of Administrator: %v", access.Message(err))
	}
	if got := fw.take(); len(got) != 0 {
		t.Fatalf("ran %q", got)
	}
}

func TestReceiverRefusesBadSignatures(t *testing.T) {
	fw, srv := setup(t, "the-key")
	_, err := provider(t, srv.URL, "another-key").Grant(context.Background(), access.GrantRequest{BookingID: 1, Login: "stud01"})
	if err == nil || !strings.Contains(access.Message(err), "отклонил подпись") {
		t.Fatalf("wrong key: %v", access.Message(err))
	}
	// A request signed with the right key ten minutes ago is a replay.
	old := time.Now().Add(-10 * time.Minute)
	p, _ := access.NewHTTP(access.HTTPConfig{URL: srv.URL, Key: "the-key", Now: func() time.Time { return old }})
	if err := p.Revoke(context.Background(), access.RevokeRequest{BookingID: 1, Login: "stud01"}); err == nil {
		t.Fatal("old timestamp accepted")
	}
	// Unsigned.
	resp, err := http.Post(srv.URL+"/grant", "application/json", strings.NewReader(`{"login":"stud01"}`))
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("unsigned: %v %v", resp.StatusCode, err)
	}
	if got := fw.take(); len(got) != 0 {
		t.Fatalf("refused requests ran %q", got)
	}
}
