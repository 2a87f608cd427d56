package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"strings"
	"time"

	gosmtp "github.com/wneessen/go-mail/smtp"
)

// DefaultTimeout bounds connecting and every single SMTP step, so a dead
// server costs a background job seconds, not minutes.
const DefaultTimeout = 15 * time.Second

// Sender sends messages with one Config; it is safe for concurrent use. It
// opens a connection per message: the volume is a few mails an hour, and a
// fresh connection means one message's failure never leaks into the next.
//
// The SMTP conversation is driven step by step with go-mail's smtp client
// rather than go-mail's Client.DialAndSend, because the step a reply comes
// from decides what it means (a 550 to RCPT is a bad address, a 550 after
// DATA is a refused message) and DialAndSend folds the steps together.
type Sender struct {
	cfg     Config
	timeout time.Duration
	helo    string
	rootCAs *x509.CertPool
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	scrub   scrubber
}

// Option adjusts a Sender.
type Option func(*Sender)

// WithTimeout replaces DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(s *Sender) {
		if d > 0 {
			s.timeout = d
		}
	}
}

// WithRootCAs trusts these roots instead of the system's, so tests can
// verify a self-signed server rather than skip verification.
func WithRootCAs(pool *x509.CertPool) Option {
	return func(s *Sender) { s.rootCAs = pool }
}

// NewSender prepares a Sender; it does not connect. Settings are checked on
// every Send, so a Sender for incomplete settings is fine to hold.
func NewSender(cfg Config, opts ...Option) *Sender {
	s := &Sender{
		cfg:     cfg,
		timeout: DefaultTimeout,
		helo:    "localhost",
		dial:    (&net.Dialer{}).DialContext,
		scrub:   newScrubber(cfg.Username, cfg.Password),
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		s.helo = h
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Configured reports whether the settings are complete enough to try.
func (s *Sender) Configured() bool { return s.cfg.Configured() }

// Send delivers one message. Every error is a *SendError.
func (s *Sender) Send(ctx context.Context, m Message) error {
	t, err := s.transport()
	if err != nil {
		return err
	}
	msg, rcpt, err := compose(t, m)
	if err != nil {
		se := err.(*SendError)
		se.addr = t.addr()
		return s.scrub.apply(se)
	}
	c, err := s.connect(ctx, t)
	if err != nil {
		return err
	}
	defer c.close()

	fail := func(ph phase, err error) error {
		return s.scrub.apply(classify(ctx, ph, err, t, rcpt))
	}
	c.refresh(s.timeout)
	if err := c.client.Mail(t.from.Address); err != nil {
		return fail(phaseMail, err)
	}
	c.refresh(s.timeout)
	if err := c.client.Rcpt(rcpt); err != nil {
		return fail(phaseRcpt, err)
	}
	c.refresh(s.timeout)
	w, err := c.client.Data()
	if err != nil {
		return fail(phaseData, err)
	}
	c.refresh(s.timeout)
	if _, err := msg.WriteTo(w); err != nil {
		return fail(phaseContent, err)
	}
	c.refresh(s.timeout)
	if err := w.Close(); err != nil {
		return fail(phaseDataEnd, err)
	}
	// The server has taken the message; a failing QUIT changes nothing.
	c.refresh(s.timeout)
	_ = c.client.Quit()
	return nil
}

// TestConnection connects, sets up encryption, logs in and announces the
// From address (MAIL FROM, then RSET), without sending anything. The last
// step catches a From address the provider would refuse, the most common
// mistake after a wrong password.
func (s *Sender) TestConnection(ctx context.Context) error {
	t, err := s.transport()
	if err != nil {
		return err
	}
	c, err := s.connect(ctx, t)
	if err != nil {
		return err
	}
	defer c.close()
	c.refresh(s.timeout)
	if err := c.client.Mail(t.from.Address); err != nil {
		return s.scrub.apply(classify(ctx, phaseMail, err, t, ""))
	}
	c.refresh(s.timeout)
	_ = c.client.Reset()
	_ = c.client.Quit()
	return nil
}

// Description says where mail goes, for the admin panel and the test
// message: "smtp.yandex.ru:465, SSL". It never includes credentials.
func (s *Sender) Description() string {
	t, err := s.transport()
	if err != nil {
		return ""
	}
	mode := map[tlsMode]string{
		tlsImplicit:       "SSL",
		tlsStartRequired:  "STARTTLS",
		tlsStartIfOffered: "STARTTLS, если сервер его предлагает",
		tlsOff:            "без шифрования",
	}[t.mode]
	return t.addr() + ", " + mode
}

func (s *Sender) transport() (transport, error) {
	if !s.cfg.Configured() {
		return transport{}, &SendError{Kind: ErrorNotConfigured}
	}
	return s.cfg.transport()
}

func (s *Sender) tlsConfig(t transport) *tls.Config {
	return &tls.Config{
		ServerName:         t.host,
		MinVersion:         tls.VersionTLS12,
		RootCAs:            s.rootCAs,
		InsecureSkipVerify: s.cfg.InsecureSkipVerify, //nolint:gosec // only set by tests
	}
}

type conn struct {
	raw    net.Conn
	client *gosmtp.Client
	stop   func() bool
}

// refresh gives the next step its own full timeout.
func (c *conn) refresh(d time.Duration) {
	_ = c.raw.SetDeadline(time.Now().Add(d))
}

func (c *conn) close() {
	c.stop()
	_ = c.raw.Close()
}

// connect runs everything before the mail transaction: TCP, TLS, greeting,
// EHLO, STARTTLS and AUTH, each failure classified by its step.
func (s *Sender) connect(ctx context.Context, t transport) (_ *conn, err error) {
	fail := func(ph phase, err error) error {
		return s.scrub.apply(classify(ctx, ph, err, t, ""))
	}
	dialCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	raw, err := s.dial(dialCtx, "tcp", t.addr())
	if err != nil {
		return nil, fail(phaseDial, err)
	}
	// Cancelling ctx must interrupt a step blocked on the network.
	c := &conn{raw: raw, stop: context.AfterFunc(ctx, func() { _ = raw.Close() })}
	defer func() {
		if err != nil {
			c.close()
		}
	}()

	tlsConfig := s.tlsConfig(t)
	var nc net.Conn = raw
	if t.mode == tlsImplicit {
		tc := tls.Client(raw, tlsConfig)
		if err := tc.HandshakeContext(dialCtx); err != nil {
			return nil, fail(phaseHandshake, err)
		}
		nc = tc
	}

	c.refresh(s.timeout)
	client, err := gosmtp.NewClient(nc, t.host)
	if err != nil {
		return nil, fail(phaseGreeting, err)
	}
	c.client = client
	c.refresh(s.timeout)
	if err := client.Hello(s.helo); err != nil {
		return nil, fail(phaseHello, err)
	}

	encrypted := t.mode == tlsImplicit
	if t.mode == tlsStartRequired || t.mode == tlsStartIfOffered {
		offered, _ := client.Extension("STARTTLS")
		switch {
		case offered:
			c.refresh(s.timeout)
			if err := client.StartTLS(tlsConfig); err != nil {
				return nil, fail(phaseStartTLS, err)
			}
			encrypted = true
		case t.mode == tlsStartRequired:
			return nil, &SendError{Kind: ErrorTLS, addr: t.addr(),
				hint: "Сервер не предлагает STARTTLS на этом порту: выберите SSL с портом 465 или уточните настройки у почтового сервиса."}
		}
	}

	if s.cfg.Username == "" {
		return c, nil
	}
	has, mechs := client.Extension("AUTH")
	if !has {
		se := &SendError{Kind: ErrorAuth, addr: t.addr()}
		if !encrypted && t.mode != tlsOff {
			se.detail = "Сервер " + t.addr() + " не предложил шифрование, а вход по паролю без него не выполняется."
			se.hint = "Выберите SSL (порт 465) или STARTTLS (порт 587)."
		} else {
			se.detail = "Сервер " + t.addr() + " не предлагает вход по логину и паролю. Если он принимает почту без входа, оставьте логин и пароль пустыми; иначе проверьте адрес сервера и порт."
		}
		return nil, se
	}
	auth := chooseAuth(mechs, s.cfg.Username, s.cfg.Password, t.host, encrypted, t.mode == tlsOff)
	if auth == nil {
		return nil, &SendError{Kind: ErrorAuth, addr: t.addr(), Reply: oneLine("AUTH " + mechs),
			detail: "Сервер " + t.addr() + " предлагает только неизвестные программе способы входа. Выберите другой порт или шифрование либо обратитесь в поддержку почтового сервиса."}
	}
	c.refresh(s.timeout)
	if err := client.Auth(auth); err != nil {
		return nil, fail(phaseAuth, err)
	}
	return c, nil
}

// chooseAuth prefers the mechanisms every provider supports once the line is
// encrypted, and challenge-response ones when it is not. Clear-text PLAIN and
// LOGIN on an unencrypted line are allowed only when the admin explicitly
// chose "none"; go-mail refuses them otherwise (except for localhost).
func chooseAuth(mechs, user, pass, host string, encrypted, plainTextAllowed bool) gosmtp.Auth {
	offered := map[string]bool{}
	for _, m := range strings.Fields(strings.ToUpper(mechs)) {
		offered[m] = true
	}
	order := []string{"PLAIN", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5"}
	if !encrypted {
		order = []string{"SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN"}
	}
	for _, m := range order {
		if !offered[m] {
			continue
		}
		switch m {
		case "PLAIN":
			return gosmtp.PlainAuth("", user, pass, host, plainTextAllowed)
		case "LOGIN":
			return gosmtp.LoginAuth(user, pass, host, plainTextAllowed)
		case "SCRAM-SHA-256":
			return gosmtp.ScramSHA256Auth(user, pass)
		case "SCRAM-SHA-1":
			return gosmtp.ScramSHA1Auth(user, pass)
		case "CRAM-MD5":
			return gosmtp.CRAMMD5Auth(user, pass)
		}
	}
	return nil
}
