package access

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSHConfig is the server the ssh provider logs in to.
type SSHConfig struct {
	Host string
	Port int // 22 when zero
	User string
	// PrivateKey is the client key, PEM or OpenSSH format, without a passphrase.
	PrivateKey string
	// HostKey is the server's public host key, one or more lines in
	// authorized_keys format ("ssh-ed25519 AAAA…") or as ssh-keyscan prints
	// them ("host ssh-ed25519 AAAA…"). Required: an unknown server is never
	// trusted, not even the first time.
	HostKey string
	Preset  string // linux or windows
	// StudentHost and Instructions are what the student is shown beside
	// login and password (settings server_host and server_instructions):
	// students often reach the server by another name than Book Smeta's
	// SSH does. Host is shown when StudentHost is empty.
	StudentHost  string
	Instructions string
	// Timeout bounds connecting and one command; 20 s when zero.
	Timeout time.Duration
}

type sshProvider struct {
	addr    string
	user    string
	signer  ssh.Signer
	pinned  []ssh.PublicKey
	algos   []string
	preset  preset
	pool    Pool
	timeout time.Duration
	shown   Credentials
}

// NewSSH returns the provider that enables and disables pool accounts on the
// server over SSH, refusing an incomplete configuration, and above all a
// missing host key, with the reason in Russian.
func NewSSH(c SSHConfig, pool Pool) (Provider, error) {
	if c.Host == "" {
		return nil, permanent("config", "Укажите адрес сервера для SSH (access_ssh_host).", fmt.Errorf("empty %s", KeySSHHost))
	}
	if c.User == "" {
		return nil, permanent("config", "Укажите пользователя SSH (access_ssh_user): администратора сервера, от имени которого Book Smeta включает и выключает учётные записи.", fmt.Errorf("empty %s", KeySSHUser))
	}
	if c.Port == 0 {
		c.Port = 22
	}
	pinned, algos, err := ParseHostKeys(c.HostKey)
	if err != nil {
		return nil, err
	}
	signer, err := parsePrivateKey(c.PrivateKey)
	if err != nil {
		return nil, err
	}
	var p preset
	switch c.Preset {
	case PresetLinux:
		p = linuxPreset{sudo: c.User != "root"}
	case PresetWindows:
		p = windowsPreset{}
	default:
		return nil, permanent("config", "Выберите тип сервера (access_ssh_preset): windows или linux.", fmt.Errorf("bad %s %q", KeySSHPreset, c.Preset))
	}
	if len(pool) == 0 {
		return nil, permanent("config", "Укажите учётные записи для учеников (access_accounts), например stud01-stud05: их создают на сервере заранее.", fmt.Errorf("empty %s", KeyAccounts))
	}
	for _, a := range pool {
		if !validName(a) || isReserved(a) {
			return nil, poolError(fmt.Sprintf("Учётную запись «%s» Book Smeta ученикам не выдаёт.", a))
		}
		if strings.EqualFold(a, c.User) {
			return nil, permanent("config", fmt.Sprintf("Учётная запись «%s» — это пользователь SSH, через которого работает Book Smeta; ученикам её отдавать нельзя. Уберите её из access_accounts.", a),
				errors.New("pool contains the ssh user"))
		}
	}
	t := c.Timeout
	if t == 0 {
		t = 20 * time.Second
	}
	return &sshProvider{addr: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), user: c.User, signer: signer, pinned: pinned,
		algos: algos, preset: p, pool: pool, timeout: t, shown: Credentials{Host: cmp.Or(c.StudentHost, c.Host), Instructions: c.Instructions}}, nil
}

// ParseHostKeys reads access_ssh_host_key and returns the keys and the host
// key algorithms to ask the server for, so that it presents a pinned key and
// not another one it also has.
func ParseHostKeys(s string) ([]ssh.PublicKey, []string, error) {
	const where = " Ключ берут на сервере: на Linux — `cat /etc/ssh/ssh_host_ed25519_key.pub`, на Windows — `type C:\\ProgramData\\ssh\\ssh_host_ed25519_key.pub`; строку вставляют целиком."
	if strings.TrimSpace(s) == "" {
		return nil, nil, permanent("config", "Не задан ключ сервера (access_ssh_host_key), поэтому Book Smeta к серверу не подключается: без него нельзя убедиться, что это ваш сервер, а не подменённый."+where,
			fmt.Errorf("empty %s", KeySSHHostKey))
	}
	var keys []ssh.PublicKey
	var algos []string
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			// ssh-keyscan prints the host name first.
			if _, rest, ok := strings.Cut(line, " "); ok {
				k, _, _, _, err = ssh.ParseAuthorizedKey([]byte(rest))
			}
		}
		if err != nil {
			return nil, nil, permanent("config", "Ключ сервера (access_ssh_host_key) не читается: нужна строка вида «ssh-ed25519 AAAA…»."+where, fmt.Errorf("bad %s: %w", KeySSHHostKey, err))
		}
		keys = append(keys, k)
		algos = append(algos, hostKeyAlgos(k.Type())...)
	}
	if len(keys) == 0 {
		return nil, nil, permanent("config", "Не задан ключ сервера (access_ssh_host_key)."+where, fmt.Errorf("empty %s", KeySSHHostKey))
	}
	return keys, algos, nil
}

func hostKeyAlgos(t string) []string {
	if t == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{t}
}

func parsePrivateKey(s string) (ssh.Signer, error) {
	if strings.TrimSpace(s) == "" {
		return nil, permanent("config", "Укажите закрытый ключ SSH (access_ssh_private_key); его открытую часть добавьте на сервере пользователю SSH.", fmt.Errorf("empty %s", KeySSHPrivateKey))
	}
	signer, err := ssh.ParsePrivateKey([]byte(strings.TrimSpace(s) + "\n"))
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, permanent("config", "Закрытый ключ SSH защищён паролем: Book Smeta нужен ключ без пароля (создайте его командой ssh-keygen -t ed25519 -N \"\").", fmt.Errorf("%s has a passphrase", KeySSHPrivateKey))
	}
	if err != nil {
		// The parser's message is not quoted: it could echo key material.
		return nil, permanent("config", "Закрытый ключ SSH (access_ssh_private_key) не читается: вставьте файл ключа целиком, от строки -----BEGIN до строки -----END.", fmt.Errorf("bad %s", KeySSHPrivateKey))
	}
	return signer, nil
}

// hostKeyError is a server that presented a key other than the pinned one.
type hostKeyError struct{ got, want []string }

func (e *hostKeyError) Error() string {
	return "host key " + strings.Join(e.got, ",") + " is not the pinned " + strings.Join(e.want, ",")
}

// connect opens an authenticated connection to the server; the context
// bounds the whole of it.
func (s *sshProvider) connect(ctx context.Context, op string) (*ssh.Client, error) {
	var mismatch *hostKeyError
	cfg := &ssh.ClientConfig{
		User: s.user,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(s.signer)},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			for _, p := range s.pinned {
				if bytes.Equal(p.Marshal(), key.Marshal()) {
					return nil
				}
			}
			mismatch = &hostKeyError{got: []string{ssh.FingerprintSHA256(key)}}
			for _, p := range s.pinned {
				mismatch.want = append(mismatch.want, ssh.FingerprintSHA256(p))
			}
			return mismatch
		},
		HostKeyAlgorithms: s.algos,
		Timeout:           s.timeout,
	}
	d := net.Dialer{Timeout: s.timeout}
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, retryable(op, fmt.Sprintf("Не удалось подключиться к серверу %s по SSH: сервер выключен, адрес или порт неверны, или соединение закрыто брандмауэром. Book Smeta повторит попытку сама.", s.addr), err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	conn.SetDeadline(time.Now().Add(s.timeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, s.addr, cfg)
	if err != nil {
		conn.Close()
		switch {
		case mismatch != nil:
			return nil, permanent(op, fmt.Sprintf("Сервер %s предъявил другой ключ (%s), чем сохранён в access_ssh_host_key (%s). Book Smeta не подключается: так выглядит и переустановленный сервер, и подмена. Если сервер переустанавливали, возьмите новый ключ на самом сервере и сохраните его.",
				s.addr, strings.Join(mismatch.got, ", "), strings.Join(mismatch.want, ", ")), mismatch)
		case strings.Contains(err.Error(), "no common algorithm for host key"):
			return nil, permanent(op, fmt.Sprintf("У сервера %s нет ключа того типа, что сохранён в access_ssh_host_key. Book Smeta не подключается: возьмите ключ на самом сервере и сохраните его.", s.addr), err)
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, permanent(op, fmt.Sprintf("Сервер не принял ключ Book Smeta для пользователя %s: добавьте открытую часть ключа в его authorized_keys (на Windows для администраторов — в C:\\ProgramData\\ssh\\administrators_authorized_keys).", s.user), err)
		}
		return nil, retryable(op, fmt.Sprintf("Соединение SSH с сервером %s прервалось. Book Smeta повторит попытку сама.", s.addr), err)
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// result is one finished remote command.
type result struct {
	stdout, stderr string
	code           int
}

// runner runs one command on the server, with stdin; err is for the
// transport only, a command's own failure is in result.code.
type runner func(cmd, stdin string) (result, error)

// session connects and runs f; budget bounds the whole of it.
func (s *sshProvider) session(ctx context.Context, op string, budget time.Duration, f func(run runner) error) error {
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	c, err := s.connect(ctx, op)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	run := func(cmd, stdin string) (result, error) {
		sess, err := c.NewSession()
		if err != nil {
			return result{}, err
		}
		defer sess.Close()
		var out, errb limitedBuffer
		sess.Stdin, sess.Stdout, sess.Stderr = strings.NewReader(stdin), &out, &errb
		err = sess.Run(cmd)
		r := result{stdout: out.String(), stderr: errb.String()}
		var exit *ssh.ExitError
		if errors.As(err, &exit) {
			r.code = exit.ExitStatus()
			return r, nil
		}
		if err != nil && ctx.Err() != nil {
			return r, ctx.Err()
		}
		return r, err
	}
	err = f(run)
	var perr *Error
	if err != nil && !errors.As(err, &perr) {
		err = retryable(op, "Соединение SSH с сервером прервалось во время команды. Book Smeta повторит попытку сама.", err)
	}
	return err
}

// limitedBuffer keeps the first 16 KiB of a command's output: enough for
// quser or an error message, bounded against a runaway command.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := 16<<10 - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

var _ io.Writer = (*limitedBuffer)(nil)

func (s *sshProvider) Grant(ctx context.Context, r GrantRequest) (Credentials, error) {
	if !s.inPool(r.Login) {
		return Credentials{}, permanent("grant", fmt.Sprintf("Учётной записи «%s» нет в access_accounts: Book Smeta выдаёт только учётные записи из этого списка.", r.Login),
			fmt.Errorf("login %q not in the pool", r.Login))
	}
	pw, err := NewPassword(r.Login)
	if err != nil {
		return Credentials{}, retryable("grant", "Не удалось создать пароль. Book Smeta повторит попытку сама.", err)
	}
	err = s.session(ctx, "grant", 3*s.timeout, func(run runner) error { return s.preset.grant(run, r.Login, pw) })
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{Host: s.shown.Host, Login: r.Login, Password: pw, Instructions: s.shown.Instructions}, nil
}

func (s *sshProvider) Revoke(ctx context.Context, r RevokeRequest) error {
	if !s.inPool(r.Login) {
		return permanent("revoke", fmt.Sprintf("Учётной записи «%s» нет в access_accounts, Book Smeta её не трогает. Если её убрали из списка, а доступ по ней был выдан, выключите её на сервере вручную.", r.Login),
			fmt.Errorf("login %q not in the pool", r.Login))
	}
	return s.session(ctx, "revoke", 3*s.timeout, func(run runner) error { return s.preset.revoke(run, r.Login) })
}

func (s *sshProvider) Check(ctx context.Context) Verdict {
	var missing []string
	// The windows preset asks about each account in turn.
	err := s.session(ctx, "check", 3*s.timeout+time.Duration(len(s.pool))*time.Second, func(run runner) error {
		var err error
		missing, err = s.preset.check(run, s.pool)
		return err
	})
	if err != nil {
		return Verdict{Message: Message(err)}
	}
	if len(missing) > 0 {
		return Verdict{Message: fmt.Sprintf("Подключение и ключ сервера в порядке, но на сервере нет %d учётных записей из access_accounts: создайте их (ничего не изменено).", len(missing)),
			Details: missing}
	}
	return Verdict{OK: true, Message: fmt.Sprintf("Подключение в порядке: ключ сервера совпал, вход по ключу принят, все %d учётных записей для учеников на месте. Ничего не изменено.", len(s.pool))}
}

func (s *sshProvider) inPool(login string) bool {
	for _, a := range s.pool {
		if a == login {
			return true
		}
	}
	return false
}
