package access

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// preset is how one kind of server enables and disables an account. Pool
// names are checked by ParsePool to need no quoting; the Linux preset quotes
// them all the same, so that safety does not rest on one regexp alone.
type preset interface {
	grant(run runner, login, password string) error
	revoke(run runner, login string) error
	check(run runner, pool Pool) (missing []string, err error)
}

// linuxPreset: chpasswd reads "login:password" from stdin, so the password is
// never in a command line (ps, audit logs, shell history). usermod -L locks
// the password and -e 1 expires the account: a lock alone would still let in
// an SSH key the student planted in ~/.ssh during the booking; an expired
// account is refused by every method (PAM's account stage, or sshd itself
// without PAM). Sessions end with pkill -KILL -u, not loginctl
// terminate-user: it needs systemd-logind, which minimal servers and
// containers lack, and it misses processes outside a logind session
// (nohup, screen started by cron); pkill is in procps everywhere. It is
// repeated until nothing is left, so a process forking at the moment of
// the kill does not survive, and checked with pgrep.
type linuxPreset struct{ sudo bool }

// sh runs script with POSIX sh whatever the SSH user's login shell is.
func (p linuxPreset) sh(script string) string { return "sh -c " + shQuote(script) }

func (p linuxPreset) priv() string {
	if p.sudo {
		// -n: fail at once instead of waiting for a password nobody types.
		return "sudo -n "
	}
	return ""
}

func (p linuxPreset) grant(run runner, login, password string) error {
	q := shQuote(login)
	r, err := run(p.sh(p.priv()+"chpasswd && "+p.priv()+"usermod -U -e '' "+q), login+":"+password+"\n")
	if err != nil {
		return err
	}
	return commandError("grant", "смена пароля и включение", login, r, password)
}

func (p linuxPreset) revoke(run runner, login string) error {
	q := shQuote(login)
	// pkill's exit 1 means "nothing matched", but sudo says 1 too when it
	// refuses; so the loop ends only when pgrep, which needs no rights to
	// list processes, finds none left.
	script := p.priv() + "usermod -L -e 1 " + q + ` || exit $?
i=0
while :; do
  rc=0; ` + p.priv() + `pkill -KILL -u ` + q + ` || rc=$?
  [ "$rc" -le 1 ] || exit "$rc"
  pgrep -u ` + q + ` >/dev/null || exit 0
  i=$((i+1))
  [ "$i" -lt 25 ] || { echo "processes of the account survive pkill -KILL" >&2; exit 3; }
  sleep 0.2
done`
	r, err := run(p.sh(script), "")
	if err != nil {
		return err
	}
	return commandError("revoke", "выключение и завершение сеансов", login, r, "")
}

func (p linuxPreset) check(run runner, pool Pool) ([]string, error) {
	var b strings.Builder
	b.WriteString("for u in")
	for _, a := range pool {
		b.WriteString(" " + shQuote(a))
	}
	b.WriteString(`; do getent passwd "$u" >/dev/null || echo "missing $u"; done` + "\n")
	for _, tool := range []string{"chpasswd", "usermod", "pkill"} {
		if p.sudo {
			// sudo -l answers whether this user may run the command, without running it.
			fmt.Fprintf(&b, "sudo -n -l %s >/dev/null 2>&1 || echo \"notool %s\"\n", tool, tool)
		} else {
			fmt.Fprintf(&b, "command -v %s >/dev/null 2>&1 || echo \"notool %s\"\n", tool, tool)
		}
	}
	b.WriteString("command -v pgrep >/dev/null 2>&1 || echo \"notool pgrep\"\n")
	r, err := run(p.sh(b.String()), "")
	if err != nil {
		return nil, err
	}
	if e := commandError("check", "проверка учётных записей", "", r, ""); e != nil {
		return nil, e
	}
	var missing, tools []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if name, ok := strings.CutPrefix(line, "missing "); ok {
			missing = append(missing, name)
		} else if name, ok := strings.CutPrefix(line, "notool "); ok {
			tools = append(tools, name)
		}
	}
	if len(tools) > 0 {
		msg := "На сервере нет команд " + strings.Join(tools, ", ") + " (пакеты passwd и procps)."
		if p.sudo {
			msg = "Пользователю SSH не разрешено выполнять через sudo без пароля: " + strings.Join(tools, ", ") + ". Разрешите их в /etc/sudoers.d или подключайтесь как root."
		}
		return nil, permanent("check", msg, fmt.Errorf("tools unavailable: %s", strings.Join(tools, ",")))
	}
	return missing, nil
}

// windowsPreset uses net user, quser and logoff, the commands every Windows
// Server has, which behave the same whether the built-in OpenSSH's default
// shell is cmd.exe (as installed) or PowerShell (when an admin changed it).
// PowerShell's Set-LocalUser could read the password from stdin, but only
// through a script that has to survive two shells' quoting; net user takes
// it as an argument, which is why NewPassword makes passwords of letters and
// digits that need no quoting, and of 14 characters, beyond which net user
// stops to ask a Y/N question. The argument lives only in the SSH channel
// (encrypted) and in the command line of net.exe for the moment it runs,
// which only administrators can read. net user /active:no stops new logons
// but leaves open sessions, so revoke then finds them with quser and ends
// each with logoff.
type windowsPreset struct{}

func (windowsPreset) grant(run runner, login, password string) error {
	r, err := run("net user "+winArg(login)+" "+winArg(password)+" /active:yes", "")
	if err != nil {
		return err
	}
	return commandError("grant", "смена пароля и включение (net user)", login, r, password)
}

func (windowsPreset) revoke(run runner, login string) error {
	r, err := run("net user "+winArg(login)+" /active:no", "")
	if err != nil {
		return err
	}
	if e := commandError("revoke", "выключение (net user)", login, r, ""); e != nil {
		return e
	}
	ids, err := quserSessions(run, login)
	if err != nil {
		return err
	}
	for _, id := range ids {
		r, err := run("logoff "+id, "")
		if err != nil {
			return err
		}
		if r.code != 0 {
			// The student may have logged off between quser and logoff.
			left, err := quserSessions(run, login)
			if err != nil {
				return err
			}
			for _, l := range left {
				if l == id {
					return commandError("revoke", "завершение сеанса "+id+" (logoff)", login, r, "")
				}
			}
		}
	}
	return nil
}

// quserSessions lists the session ids of login. quser exits 1 when the user
// has no session; cmd.exe's 9009 (no such command) and others are errors.
func quserSessions(run runner, login string) ([]string, error) {
	r, err := run("quser "+winArg(login), "")
	if err != nil {
		return nil, err
	}
	if r.code == 1 {
		return nil, nil
	}
	if e := commandError("revoke", "список сеансов (quser)", login, r, ""); e != nil {
		return nil, e
	}
	return parseQuser(r.stdout, login), nil
}

// parseQuser reads quser's table without relying on its column headers,
// which are translated on a Russian Windows: a row starts with the user name
// (">" marks the caller's own session) and its first number is the session
// id — the session name before it is empty for a disconnected session.
func parseQuser(out, login string) []string {
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

func (windowsPreset) check(run runner, pool Pool) ([]string, error) {
	var missing []string
	for _, a := range pool {
		r, err := run("net user "+winArg(a), "")
		if err != nil {
			return nil, err
		}
		switch r.code {
		case 0:
		case 2: // "The user name could not be found."
			missing = append(missing, a)
		default:
			return nil, commandError("check", "проверка учётной записи (net user)", a, r, "")
		}
	}
	return missing, nil
}

// winArg guards the promise that names and passwords need no quoting in cmd
// or PowerShell; ParsePool and NewPassword keep it, so this never fires in
// practice.
func winArg(s string) string {
	for _, r := range s {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '-') {
			panic("access: argument needs quoting for Windows")
		}
	}
	return s
}

// shQuote quotes s for POSIX sh.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// commandError is nil for a command that succeeded, else an *Error quoting
// its output with secret blanked out (no known tool echoes a password; this
// is in case one does).
func commandError(op, what, login string, r result, secret string) error {
	if r.code == 0 {
		return nil
	}
	out := strings.TrimSpace(r.stderr + "\n" + r.stdout)
	if secret != "" {
		out = strings.ReplaceAll(out, secret, "***")
	}
	out = snippet([]byte(out))
	who := ""
	if login != "" {
		who = " для " + login
	}
	e := permanent(op, fmt.Sprintf("На сервере не удалась команда «%s»%s (код %d): %s", what, who, r.code, out),
		fmt.Errorf("%s %s exited %d: %s", op, login, r.code, out))
	// Linux tools say "try again" when /etc/shadow is locked by another change.
	if strings.Contains(strings.ToLower(out), "try again") {
		e.Retryable = true
	}
	return e
}
