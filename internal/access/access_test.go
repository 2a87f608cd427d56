package access_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"booksmeta/internal/access"
)

func TestParsePool(t *testing.T) {
	for in, want := range map[string]string{
		"stud01-stud05":           "stud01 stud02 stud03 stud04 stud05",
		"stud08-10":               "stud08 stud09 stud10",
		"stud9-stud11, teacher":   "stud9 stud10 stud11 teacher",
		" pc-lab ;a.b\nuser_1 ":   "pc-lab a.b user_1",
		"rdp1-rdp3,rdp7":          "rdp1 rdp2 rdp3 rdp7",
		"stud098-stud100":         "stud098 stud099 stud100",
		"Student-Stud01-Student3": "",
	} {
		p, err := access.ParsePool(in)
		if want == "" {
			if err == nil {
				t.Errorf("%q: accepted %v", in, p)
			}
			continue
		}
		if err != nil || strings.Join(p, " ") != want {
			t.Errorf("%q: %v %v", in, p, err)
		}
	}
	for in, message := range map[string]string{
		"":                       "пуст",
		"stud05-stud01":          "не больше второго",
		"a1-b3":                  "одна основа",
		"stud01, STUD01":         "дважды",
		"Administrator":          "нельзя отдавать",
		"root,stud01":            "нельзя отдавать",
		"stud1-stud100000":       "Слишком много",
		"имя":                    "латинские",
		"a;rm -rf":               "латинские",
		"averyveryverylongname1": "до 20 знаков",
	} {
		_, err := access.ParsePool(in)
		if err == nil || !strings.Contains(access.Message(err), message) || !strings.Contains(access.Message(err), "access_accounts") {
			t.Errorf("%q: %v", in, access.Message(err))
		}
	}
}

func TestPoolSeats(t *testing.T) {
	p, _ := access.ParsePool("stud01-stud04")
	got, err := p.Seats(3, nil)
	if err != nil || strings.Join(got, ",") != "stud01,stud02,stud03" {
		t.Fatalf("%v %v", got, err)
	}
	// Accounts still held by the previous slot (its window overlaps) are skipped.
	got, err = p.Seats(2, []string{"stud01", "STUD03"})
	if err != nil || strings.Join(got, ",") != "stud02,stud04" {
		t.Fatalf("%v %v", got, err)
	}
	_, err = p.Seats(3, []string{"stud01", "stud02"})
	if err == nil || !access.Retryable(err) || !strings.Contains(access.Message(err), "заняты") {
		t.Fatalf("exhausted pool: %v", err)
	}
	if err := p.CheckCapacity(4); err != nil {
		t.Fatal(err)
	}
	if err := p.CheckCapacity(5); err == nil || !strings.Contains(access.Message(err), "4 учётных записей, а в самом большом слоте 5 мест") {
		t.Fatalf("capacity: %v", access.Message(err))
	}
}

func TestNewPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		p, err := access.NewPassword("abc")
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != 14 || seen[p] || strings.Contains(strings.ToLower(p), "abc") {
			t.Fatalf("password %q", p)
		}
		seen[p] = true
		// Windows' complexity rule: three of the four classes; and nothing
		// a shell would read specially, nor a look-alike.
		if !strings.ContainsAny(p, "ABCDEFGHJKLMNPQRSTUVWXYZ") || !strings.ContainsAny(p, "abcdefghijkmnopqrstuvwxyz") || !strings.ContainsAny(p, "23456789") {
			t.Fatalf("password %q lacks a class", p)
		}
		if strings.ContainsAny(p, "0O1lI \"'`$&|<>^%!;") {
			t.Fatalf("password %q has a character it must not", p)
		}
	}
}

func TestCredentialsNeverPrintThePassword(t *testing.T) {
	c := access.Credentials{Host: "h", Login: "stud01", Password: "Sup3rSecretPw", Instructions: "x"}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("granted", "credentials", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), logs.String()} {
		if strings.Contains(s, "Sup3rSecretPw") || !strings.Contains(s, "stud01") {
			t.Fatalf("printed %s", s)
		}
	}
}

func TestStaticProvider(t *testing.T) {
	cfg, err := access.ConfigFrom(func(k string) string {
		return map[string]string{access.KeyServerHost: "rdp.school.ru", access.KeyServerLogin: "shared", access.KeyServerPassword: "shared-pass",
			access.KeyServerInstructions: "Откройте «Подключение к удалённому рабочему столу»."}[k]
	})
	if err != nil || cfg.Provider != access.Static {
		t.Fatalf("default provider %q %v", cfg.Provider, err)
	}
	p, _ := access.New(cfg)
	ctx := context.Background()
	c, err := p.Grant(ctx, access.GrantRequest{BookingID: 1})
	if err != nil || c.Host != "rdp.school.ru" || c.Login != "shared" || c.Password != "shared-pass" || c.Instructions == "" {
		t.Fatalf("%v %v", c, err)
	}
	// The slot's own account wins, as before providers existed.
	c, _ = p.Grant(ctx, access.GrantRequest{BookingID: 1, Slot: access.Credentials{Login: "slot-login", Password: "slot-pass"}})
	if c.Login != "slot-login" || c.Password != "slot-pass" || c.Host != "rdp.school.ru" {
		t.Fatalf("%v", c)
	}
	if err := p.Revoke(ctx, access.RevokeRequest{BookingID: 1}); err != nil {
		t.Fatal(err)
	}
	if v := p.Check(ctx); !v.OK {
		t.Fatalf("%+v", v)
	}
}

func TestConfigRefusals(t *testing.T) {
	for settings, message := range map[string]string{
		"access_provider=ftp":                   "static, http или ssh",
		"access_provider=ssh access_ssh_port=x": "access_ssh_port",
		"access_provider=ssh":                   "access_ssh_host",
		"access_provider=ssh access_ssh_host=h": "access_ssh_user",
	} {
		m := map[string]string{}
		for _, kv := range strings.Fields(settings) {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		cfg, err := access.ConfigFrom(func(k string) string { return m[k] })
		if err == nil {
			_, err = access.New(cfg)
		}
		if err == nil || access.Retryable(err) || !strings.Contains(access.Message(err), message) {
			t.Errorf("%s: %v", settings, access.Message(err))
		}
	}
}

func TestSSHConfigRefusals(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	plain, _ := ssh.MarshalPrivateKey(priv, "")
	locked, _ := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("pass"))
	signer, _ := ssh.NewSignerFromKey(priv)
	hostLine := string(ssh.MarshalAuthorizedKey(signer.PublicKey()))
	ok := access.SSHConfig{Host: "h", User: "smeta", PrivateKey: string(pem.EncodeToMemory(plain)), HostKey: hostLine, Preset: "windows"}
	pool := access.Pool{"stud01"}
	if _, err := access.NewSSH(ok, pool); err != nil {
		t.Fatalf("valid config refused: %s", access.Message(err))
	}
	// Pasted into the panel's textarea: CRLF lines and stray spaces.
	crlf := ok
	crlf.PrivateKey = "  " + strings.ReplaceAll(ok.PrivateKey, "\n", "\r\n")
	crlf.HostKey = "\r\n" + strings.TrimSpace(hostLine) + " admin@server\r\n"
	if _, err := access.NewSSH(crlf, pool); err != nil {
		t.Fatalf("pasted config refused: %s", access.Message(err))
	}
	for message, change := range map[string]func(c *access.SSHConfig, p *access.Pool){
		"защищён паролем": func(c *access.SSHConfig, _ *access.Pool) { c.PrivateKey = string(pem.EncodeToMemory(locked)) },
		"не читается: встав": func(c *access.SSHConfig, _ *access.Pool) {
			c.PrivateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"
		},
		"Укажите закрытый":  func(c *access.SSHConfig, _ *access.Pool) { c.PrivateKey = "" },
		"ssh-ed25519 AAAA…": func(c *access.SSHConfig, _ *access.Pool) { c.HostKey = "not a key" },
		"Не задан ключ":     func(c *access.SSHConfig, _ *access.Pool) { c.HostKey = " \n" },
		"windows или linux": func(c *access.SSHConfig, _ *access.Pool) { c.Preset = "" },
		"пользователь SSH":  func(c *access.SSHConfig, p *access.Pool) { *p = access.Pool{"stud01", "Smeta"} },
		"access_accounts":   func(_ *access.SSHConfig, p *access.Pool) { *p = nil },
	} {
		c, p := ok, pool
		change(&c, &p)
		_, err := access.NewSSH(c, p)
		if err == nil || !strings.Contains(access.Message(err), message) {
			t.Errorf("%s: %v", message, access.Message(err))
		}
		if err != nil && strings.Contains(err.Error()+access.Message(err), "PRIVATE KEY") {
			t.Errorf("%s: key material quoted", message)
		}
	}
}
