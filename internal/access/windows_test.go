package access_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"booksmeta/internal/access"
	"booksmeta/internal/access/accesstest"
)

// recorder is an account of the test sshd whose every command is written to
// a file instead of run, answering quser and net user as a Windows server
// would; there is no Windows here, so this is what pins the windows
// preset's exact commands.
type recorder struct {
	dir string
}

func startRecorder(t *testing.T) (*sshd, string, *recorder) {
	t.Helper()
	accesstest.NeedSSHD(t)
	user := testPrefix() + "rec"
	recDir, err := os.MkdirTemp("", "access-rec-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(recDir) })
	os.Chmod(recDir, 0o777)
	script := filepath.Join(recDir, "record.sh")
	// SSH_ORIGINAL_COMMAND is the command exactly as Book Smeta sent it.
	os.WriteFile(script, []byte(`#!/bin/sh
d=`+recDir+`
printf '%s\n' "$SSH_ORIGINAL_COMMAND" >> "$d/commands"
in=$(cat)
[ -z "$in" ] || printf 'stdin: %s\n' "$in" >> "$d/commands"
case "$SSH_ORIGINAL_COMMAND" in
quser\ *) [ -f "$d/quser" ] && cat "$d/quser"; exit $(cat "$d/quser_code" 2>/dev/null || echo 1) ;;
net\ user\ *\ *) exit 0 ;;
net\ user\ *) grep -qx "${SSH_ORIGINAL_COMMAND#net user }" "$d/missing" 2>/dev/null && { echo "The user name could not be found." >&2; exit 2; }; exit 0 ;;
esac
exit 0
`), 0o755)
	s := startSSHD(t, fmt.Sprintf("Match User %s\n  ForceCommand %s\n", user, script))
	addUser(t, user)
	return s, user, &recorder{dir: recDir}
}

func (r *recorder) take(t *testing.T) []string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(r.dir, "commands"))
	os.Remove(filepath.Join(r.dir, "commands"))
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func (r *recorder) set(name, content string) {
	os.WriteFile(filepath.Join(r.dir, name), []byte(content), 0o644)
}

func TestSSHWindowsPresetCommands(t *testing.T) {
	s, user, rec := startRecorder(t)
	p := sshProvider(t, s, user, "windows", s.HostLine, "stud01-stud03")
	ctx := context.Background()

	cred, err := p.Grant(ctx, access.GrantRequest{BookingID: 5, Login: "stud02"})
	if err != nil {
		t.Fatalf("Grant: %v (%s)", err, access.Message(err))
	}
	want := []string{"net user stud02 " + cred.Password + " /active:yes"}
	if got := rec.take(t); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("grant sent\n%q\nwant\n%q", got, want)
	}

	// An active RDP session and a disconnected one (no session name), as a
	// Russian Windows Server prints them; the caller's own row starts with ">".
	rec.set("quser", ` ПОЛЬЗОВАТЕЛЬ          СЕАНС              ID  СТАТУС  БЕЗДЕЙСТВ. ВРЕМЯ ВХОДА
 stud02                rdp-tcp#5           2  Активно          .  02.12.2026 10:01
>stud02                                    4  Диск           1:02  02.12.2026 9:00
 stud020x              rdp-tcp#7           6  Активно          .  02.12.2026 10:05
`)
	rec.set("quser_code", "0")
	if err := p.Revoke(ctx, access.RevokeRequest{BookingID: 5, Login: "stud02"}); err != nil {
		t.Fatalf("Revoke: %v (%s)", err, access.Message(err))
	}
	want = []string{"net user stud02 /active:no", "quser stud02", "logoff 2", "logoff 4"}
	if got := rec.take(t); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("revoke sent\n%q\nwant\n%q", got, want)
	}

	// quser exits 1 when the account has no session: nothing to log off.
	rec.set("quser", "")
	rec.set("quser_code", "1")
	if err := p.Revoke(ctx, access.RevokeRequest{BookingID: 5, Login: "stud02"}); err != nil {
		t.Fatalf("Revoke without sessions: %v", err)
	}
	want = []string{"net user stud02 /active:no", "quser stud02"}
	if got := rec.take(t); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("revoke without sessions sent %q", got)
	}

	// cmd.exe's 9009 means quser is not there: not "no sessions".
	rec.set("quser_code", "9009")
	err = p.Revoke(ctx, access.RevokeRequest{BookingID: 5, Login: "stud02"})
	if err == nil || !strings.Contains(access.Message(err), "quser") {
		t.Fatalf("revoke with quser missing: %v", err)
	}
	rec.take(t)

	rec.set("missing", "stud03\n")
	v := p.Check(ctx)
	want = []string{"net user stud01", "net user stud02", "net user stud03"}
	if got := rec.take(t); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("check sent %q", got)
	}
	if v.OK || strings.Join(v.Details, ",") != "stud03" {
		t.Fatalf("verdict %+v", v)
	}
}

// A non-root Linux SSH user gets every privileged command through sudo -n,
// the password only on stdin.
func TestSSHLinuxPresetSudoCommands(t *testing.T) {
	s, user, rec := startRecorder(t)
	p := sshProvider(t, s, user, "linux", s.HostLine, "stud01")
	cred, err := p.Grant(context.Background(), access.GrantRequest{Login: "stud01"})
	if err != nil {
		t.Fatal(err)
	}
	got := rec.take(t)
	want := []string{`sh -c 'sudo -n chpasswd && sudo -n usermod -U -e '\'''\'' '\''stud01'\'''`, "stdin: stud01:" + cred.Password}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("grant sent\n%q\nwant\n%q", got, want)
	}
	if strings.Contains(got[0], cred.Password) {
		t.Fatal("password in the command line")
	}
	if err := p.Revoke(context.Background(), access.RevokeRequest{Login: "stud01"}); err != nil {
		t.Fatal(err)
	}
	got = rec.take(t)
	if !strings.HasPrefix(got[0], `sh -c 'sudo -n usermod -L -e 1 '\''stud01'\''`) || !strings.Contains(strings.Join(got, "\n"), `sudo -n pkill -KILL -u '\''stud01'\''`) {
		t.Fatalf("revoke sent %q", got)
	}
}
