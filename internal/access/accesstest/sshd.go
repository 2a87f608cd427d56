// Package accesstest holds what the tests of server access share: a real
// OpenSSH server started on loopback for one test, with its own host key and
// local accounts the test creates and removes, and a school's http receiver
// that verifies the Standard Webhooks signature on its own.
package accesstest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"booksmeta/internal/syncbuf"
)

// SSHD is a real OpenSSH server on loopback with its own host key, started
// for one test. It accepts the client key for every user and passwords for
// the pool accounts, and ends with the test.
type SSHD struct {
	Port      int
	HostKey   ssh.PublicKey
	HostLine  string // the host key in authorized_keys format, as an admin pastes it
	ClientPEM string // the private key Book Smeta logs in with
	Dir       string
	Log       *syncbuf.Buffer // the sshd's own log
}

const sshdPath = "/usr/sbin/sshd"

// NeedSSHD skips where a real sshd cannot run: not root (sshd must switch
// to the accounts it logs in) or OpenSSH not installed. In CI (CI=true, as
// root) a missing sshd fails instead, so a lost install line in .ci/run
// cannot turn these tests into silent skips.
func NeedSSHD(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the real-sshd tests run as root: sshd must switch to the test accounts, and useradd needs root")
	}
	if _, err := os.Stat(sshdPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing in CI: .ci/run must apt-get install openssh-server", sshdPath)
		}
		t.Skipf("%s missing: apt-get install -y openssh-server", sshdPath)
	}
	for _, tool := range []string{"useradd", "userdel", "chpasswd", "usermod", "pkill"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s missing: the linux preset's tests need the passwd and procps packages", tool)
		}
	}
}

// StartSSHD starts sshd with extra appended to its configuration.
func StartSSHD(t testing.TB, extra string) *SSHD {
	t.Helper()
	NeedSSHD(t)
	// sshd refuses to start without its privilege separation directory,
	// which only the ssh service's unit would create.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// The recording user is unprivileged and reads its key and script here.
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	s := &SSHD{Dir: dir, Log: &syncbuf.Buffer{}}

	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	writePrivate(t, filepath.Join(dir, "host_ed25519"), hostPriv)
	hostSigner, _ := ssh.NewSignerFromKey(hostPriv)
	s.HostKey = hostSigner.PublicKey()
	s.HostLine = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.HostKey)))

	_, clientPriv, _ := ed25519.GenerateKey(rand.Reader)
	s.ClientPEM = writePrivate(t, filepath.Join(dir, "client_ed25519"), clientPriv)
	clientSigner, _ := ssh.NewSignerFromKey(clientPriv)
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(clientSigner.PublicKey()), 0o644); err != nil {
		t.Fatal(err)
	}

	// UsePAM yes as on a stock Debian or Ubuntu server: password checks,
	// locks and expiry go through PAM there. StrictModes no because the
	// key file lives under /tmp, whose mode sshd would refuse.
	cfg := fmt.Sprintf(`ListenAddress 127.0.0.1
HostKey %[1]s/host_ed25519
PidFile %[1]s/sshd.pid
AuthorizedKeysFile %[1]s/authorized_keys .ssh/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
PrintMotd no
LogLevel VERBOSE
MaxStartups 100
MaxSessions 20
%[2]s
`, dir, extra)
	cfgPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	for attempt := 0; ; attempt++ {
		s.Port = freePort(t)
		cmd := exec.Command(sshdPath, "-D", "-e", "-f", cfgPath, "-p", strconv.Itoa(s.Port))
		cmd.Stdout, cmd.Stderr = s.Log, s.Log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		if waitBanner(s.Port, exited) {
			t.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
				if t.Failed() {
					t.Logf("sshd log:\n%s", s.Log.String())
				}
			})
			return s
		}
		cmd.Process.Kill()
		<-exited
		// Another process may have taken the port between freePort and sshd.
		if attempt == 2 {
			t.Fatalf("sshd did not start:\n%s", s.Log.String())
		}
	}
}

func writePrivate(t testing.TB, path string, key ed25519.PrivateKey) string {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(key, "")
	if err != nil {
		t.Fatal(err)
	}
	p := pem.EncodeToMemory(block)
	if err := os.WriteFile(path, p, 0o600); err != nil {
		t.Fatal(err)
	}
	return string(p)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitBanner(port int, exited <-chan struct{}) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			b := make([]byte, 4)
			_, err = c.Read(b)
			c.Close()
			if err == nil && string(b) == "SSH-" {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// AddUser creates a local account that is removed when the test ends, pass
// or fail, with every process it left.
func AddUser(t testing.TB, name string, args ...string) {
	t.Helper()
	t.Cleanup(func() {
		exec.Command("pkill", "-KILL", "-u", name).Run()
		// userdel refuses while the kernel still lists a killed process.
		for range 20 {
			if out, err := exec.Command("userdel", "-r", "-f", name).CombinedOutput(); err == nil || strings.Contains(string(out), "does not exist") {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("could not remove test account %s", name)
	})
	a := append([]string{"-m", "-s", "/bin/sh"}, args...)
	if out, err := exec.Command("useradd", append(a, name)...).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v: %s", name, err, out)
	}
}

// TestPrefix makes account names no other test run on this machine uses.
func TestPrefix() string {
	b := make([]byte, 4)
	rand.Read(b)
	for i := range b {
		b[i] = 'a' + b[i]%26
	}
	return "bsm" + string(b)
}

// DialAs logs in as user with auth, trusting only the sshd's own host key.
func (s *SSHD) DialAs(user string, auth ssh.AuthMethod) (*ssh.Client, error) {
	return ssh.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)), &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{auth}, HostKeyCallback: ssh.FixedHostKey(s.HostKey), Timeout: 10 * time.Second})
}

// LoginWorks tells whether user gets a shell with auth: it logs in and runs
// id -un, which must print the user's own name.
func (s *SSHD) LoginWorks(t testing.TB, user string, auth ssh.AuthMethod) bool {
	t.Helper()
	c, err := s.DialAs(user, auth)
	if err != nil {
		// A locked or expired account: sshd either refuses the password or,
		// after PAM's account stage says no, closes the connection.
		if !strings.Contains(err.Error(), "unable to authenticate") && !strings.HasSuffix(err.Error(), "handshake failed: EOF") {
			t.Fatalf("login as %s failed for another reason than authentication: %v", user, err)
		}
		return false
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		// PAM's account stage refuses after authentication, by closing.
		return false
	}
	defer sess.Close()
	out, err := sess.Output("id -un")
	var exit *ssh.ExitError
	if errors.As(err, &exit) || err != nil {
		return false
	}
	if got := strings.TrimSpace(string(out)); got != user {
		t.Fatalf("logged in as %s, id says %q", user, got)
	}
	return true
}

// Addr is the server's host:port.
func (s *SSHD) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }
