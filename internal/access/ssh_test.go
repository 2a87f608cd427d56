package access_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"booksmeta/internal/access"
)

func sshProvider(t *testing.T, s *sshd, user, preset, hostKey, accounts string) access.Provider {
	t.Helper()
	cfg, err := access.ConfigFrom(func(k string) string {
		return map[string]string{
			access.KeyProvider: "ssh", access.KeySSHHost: "127.0.0.1", access.KeySSHPort: itoa(s.Port), access.KeySSHUser: user,
			access.KeySSHPrivateKey: s.ClientPEM, access.KeySSHHostKey: hostKey, access.KeySSHPreset: preset, access.KeyAccounts: accounts,
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.SSH.Timeout = 10 * time.Second
	p, err := access.New(cfg)
	if err != nil {
		t.Fatalf("New: %v (%s)", err, access.Message(err))
	}
	return p
}

// The whole life of one seat on a real server: the granted password logs in
// only between Grant and Revoke, a session open at Revoke is ended, and an
// SSH key the student planted during the booking does not let them back in.
func TestSSHLinuxGrantRevoke(t *testing.T) {
	s := startSSHD(t, "")
	pre := testPrefix()
	a1, a2 := pre+"01", pre+"02"
	addUser(t, a1)
	addUser(t, a2)
	p := sshProvider(t, s, "root", "linux", s.HostLine, a1+"-"+a2)
	ctx := context.Background()

	if v := p.Check(ctx); !v.OK {
		t.Fatalf("Check: %+v", v)
	}
	guess, _ := access.NewPassword(a1)
	if s.LoginWorks(t, a1, ssh.Password(guess)) {
		t.Fatal("pool account logs in before any grant")
	}

	cred, err := p.Grant(ctx, access.GrantRequest{BookingID: 7, SlotID: 3, Login: a1})
	if err != nil {
		t.Fatalf("Grant: %v (%s)", err, access.Message(err))
	}
	if cred.Login != a1 || cred.Host != "127.0.0.1" || len(cred.Password) != 14 {
		t.Fatalf("credentials %v", cred)
	}
	if strings.Contains(s.Log.String(), cred.Password) {
		t.Fatal("the password reached sshd's log")
	}
	if !s.LoginWorks(t, a1, ssh.Password(cred.Password)) {
		t.Fatal("granted password does not log in")
	}
	if s.LoginWorks(t, a2, ssh.Password(cred.Password)) {
		t.Fatal("the other seat's account took the same password")
	}

	// The student, logged in, plants their own key and leaves a session open.
	student, err := s.DialAs(a1, ssh.Password(cred.Password))
	if err != nil {
		t.Fatal(err)
	}
	defer student.Close()
	_, keyPriv, _ := ed25519.GenerateKey(rand.Reader)
	keySigner, _ := ssh.NewSignerFromKey(keyPriv)
	plant, _ := student.NewSession()
	plant.Stdin = strings.NewReader(string(ssh.MarshalAuthorizedKey(keySigner.PublicKey())))
	if out, err := plant.CombinedOutput("mkdir -p ~/.ssh && cat > ~/.ssh/authorized_keys"); err != nil {
		t.Fatalf("planting a key: %v %s", err, out)
	}
	if !s.LoginWorks(t, a1, ssh.PublicKeys(keySigner)) {
		t.Fatal("the planted key does not work during the booking, so the test proves nothing")
	}
	open, _ := student.NewSession()
	if err := open.Start("sleep 300"); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- open.Wait() }()

	if err := p.Revoke(ctx, access.RevokeRequest{BookingID: 7, Login: a1}); err != nil {
		t.Fatalf("Revoke: %v (%s)", err, access.Message(err))
	}
	select {
	case <-ended:
	case <-time.After(15 * time.Second):
		t.Fatal("the session open at revoke is still running")
	}
	if out, _ := exec.Command("pgrep", "-u", a1).Output(); len(out) > 0 {
		t.Fatalf("processes of %s survive revoke: %s", a1, out)
	}
	if s.LoginWorks(t, a1, ssh.Password(cred.Password)) {
		t.Fatal("the password still logs in after revoke")
	}
	if s.LoginWorks(t, a1, ssh.PublicKeys(keySigner)) {
		t.Fatal("the key planted during the booking logs in after revoke")
	}

	// Safe to repeat: a second revoke succeeds; a repeated grant leaves the
	// account with the last answer's password only.
	if err := p.Revoke(ctx, access.RevokeRequest{BookingID: 7, Login: a1}); err != nil {
		t.Fatalf("repeated Revoke: %v", err)
	}
	first, err := p.Grant(ctx, access.GrantRequest{BookingID: 8, Login: a1})
	if err != nil {
		t.Fatal(err)
	}
	second, err := p.Grant(ctx, access.GrantRequest{BookingID: 8, Login: a1})
	if err != nil {
		t.Fatal(err)
	}
	if first.Password == second.Password || s.LoginWorks(t, a1, ssh.Password(first.Password)) || !s.LoginWorks(t, a1, ssh.Password(second.Password)) {
		t.Fatal("after a repeated grant only the last password must log in")
	}
	if err := p.Revoke(ctx, access.RevokeRequest{BookingID: 8, Login: a1}); err != nil {
		t.Fatal(err)
	}
	if s.LoginWorks(t, a1, ssh.Password(second.Password)) {
		t.Fatal("the password logs in after the second revoke")
	}

	// Accounts outside the pool are never touched.
	_, err = p.Grant(ctx, access.GrantRequest{BookingID: 9, Login: "root"})
	if err == nil || access.Retryable(err) {
		t.Fatalf("grant of root: %v", err)
	}
}

// Check connects and looks the pool accounts up without changing them.
func TestSSHCheckReportsMissingAccounts(t *testing.T) {
	s := startSSHD(t, "")
	pre := testPrefix()
	addUser(t, pre+"01")
	shadow := func() string {
		b, _ := os.ReadFile("/etc/shadow")
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, pre+"01:") {
				return l
			}
		}
		return ""
	}
	before := shadow()
	v := sshProvider(t, s, "root", "linux", s.HostLine, pre+"01-03").Check(context.Background())
	if v.OK || strings.Join(v.Details, ",") != pre+"02,"+pre+"03" || !strings.Contains(v.Message, "нет 2 учётных записей") {
		t.Fatalf("verdict %+v", v)
	}
	if shadow() != before {
		t.Fatal("Check changed the account")
	}
}

// The host key is pinned: a different key, a key of a type the server does
// not have, or none at all refuse, with the reason in Russian, before any
// command runs.
func TestSSHHostKeyPinned(t *testing.T) {
	s := startSSHD(t, "")
	pre := testPrefix()
	addUser(t, pre+"01")
	ctx := context.Background()

	// ssh-keyscan's format, host first, is accepted as well.
	if v := sshProvider(t, s, "root", "linux", "[127.0.0.1]:"+itoa(s.Port)+" "+s.HostLine, pre+"01").Check(ctx); !v.OK {
		t.Fatalf("keyscan format: %+v", v)
	}

	logBefore := len(s.Log.String())
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := ssh.NewPublicKey(otherPub)
	p := sshProvider(t, s, "root", "linux", string(ssh.MarshalAuthorizedKey(other)), pre+"01")
	v := p.Check(ctx)
	if v.OK || !strings.Contains(v.Message, "предъявил другой ключ") || !strings.Contains(v.Message, ssh.FingerprintSHA256(s.HostKey)) {
		t.Fatalf("wrong key verdict: %+v", v)
	}
	_, err := p.Grant(ctx, access.GrantRequest{BookingID: 1, Login: pre + "01"})
	if err == nil || access.Retryable(err) || !strings.Contains(access.Message(err), "не подключается") {
		t.Fatalf("grant with a wrong key: %v", err)
	}
	if err := p.Revoke(ctx, access.RevokeRequest{BookingID: 1, Login: pre + "01"}); err == nil {
		t.Fatal("revoke with a wrong key connected")
	}
	if strings.Contains(s.Log.String()[logBefore:], "Accepted publickey") {
		t.Fatal("Book Smeta authenticated to a server whose key it refused")
	}

	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaPub, _ := ssh.NewPublicKey(&rsaKey.PublicKey)
	v = sshProvider(t, s, "root", "linux", string(ssh.MarshalAuthorizedKey(rsaPub)), pre+"01").Check(ctx)
	if v.OK || !strings.Contains(v.Message, "нет ключа того типа") {
		t.Fatalf("key of another type: %+v", v)
	}

	_, err = access.New(access.Config{Provider: "ssh", Accounts: access.Pool{pre + "01"}, SSH: access.SSHConfig{
		Host: "127.0.0.1", Port: s.Port, User: "root", PrivateKey: s.ClientPEM, Preset: "linux"}})
	if err == nil || !strings.Contains(access.Message(err), "Не задан ключ сервера") {
		t.Fatalf("missing host key: %v", err)
	}
}

// An SSH user the server does not know by this key is a plain verdict.
func TestSSHKeyRefused(t *testing.T) {
	s := startSSHD(t, "")
	pre := testPrefix()
	addUser(t, pre+"01")
	os.WriteFile(filepath.Join(s.Dir, "authorized_keys"), nil, 0o644)
	v := sshProvider(t, s, "root", "linux", s.HostLine, pre+"01").Check(context.Background())
	if v.OK || !strings.Contains(v.Message, "не принял ключ") {
		t.Fatalf("verdict %+v", v)
	}
	_, err := sshProvider(t, s, "root", "linux", s.HostLine, pre+"01").Grant(context.Background(), access.GrantRequest{Login: pre + "01"})
	var e *access.Error
	if !errors.As(err, &e) || e.Retryable {
		t.Fatalf("refused key must be permanent: %v", err)
	}
}

// Students reach the server by server_host, not by Book Smeta's SSH
// address; the panel's check also weighs the pool against the slots.
func TestSSHShownHostAndCheckConfig(t *testing.T) {
	s := startSSHD(t, "")
	pre := testPrefix()
	addUser(t, pre+"01")
	addUser(t, pre+"02")
	m := map[string]string{
		access.KeyProvider: "ssh", access.KeySSHHost: "127.0.0.1", access.KeySSHPort: itoa(s.Port), access.KeySSHUser: "root",
		access.KeySSHPrivateKey: s.ClientPEM, access.KeySSHHostKey: s.HostLine, access.KeySSHPreset: "linux", access.KeyAccounts: pre + "01-" + pre + "02",
		access.KeyServerHost: "rdp.school.example", access.KeyServerInstructions: "Подключитесь по RDP.",
	}
	cfg, err := access.ConfigFrom(func(k string) string { return m[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if v := access.CheckConfig(ctx, cfg, 2); !v.OK {
		t.Fatalf("%+v", v)
	}
	if v := access.CheckConfig(ctx, cfg, 3); v.OK || len(v.Details) != 1 || !strings.Contains(v.Details[0], "самом большом слоте 3 мест") {
		t.Fatalf("capacity 3 over a pool of 2: %+v", v)
	}
	p, _ := access.New(cfg)
	c, err := p.Grant(ctx, access.GrantRequest{Login: pre + "02"})
	if err != nil || c.Host != "rdp.school.example" || c.Instructions != "Подключитесь по RDP." {
		t.Fatalf("%v %v", c, err)
	}
	if err := p.Revoke(ctx, access.RevokeRequest{Login: pre + "02"}); err != nil {
		t.Fatal(err)
	}
	cfg.SSH.HostKey = ""
	if v := access.CheckConfig(ctx, cfg, 2); v.OK || !strings.Contains(v.Message, "Не задан ключ сервера") {
		t.Fatalf("%+v", v)
	}
}
