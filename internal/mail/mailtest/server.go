// Package mailtest runs a real SMTP server inside the test process, so mail
// code is tested against the protocol rather than a mock: authentication,
// STARTTLS and implicit TLS with a throwaway certificate, and injected faults
// (temporary and permanent refusals, a connection dropped after the message
// was already accepted).
package mailtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Server is an SMTP server listening on 127.0.0.1 on a free port. It is
// closed automatically when the test ends.
type Server struct {
	t    testing.TB
	smtp *smtp.Server
	ln   net.Listener
	done chan struct{}

	opts    options
	cert    tls.Certificate
	certDER []byte

	mu           sync.Mutex
	msgs         []Received
	arrived      chan struct{} // closed and replaced whenever a message is stored
	faults       []fault
	rejectRcpt   map[string]reply
	dataAttempts int
	closed       bool
}

type options struct {
	user, pass  string
	startTLS    bool
	implicitTLS bool
}

// Option configures Start.
type Option func(*options)

// WithAuth makes the server require AUTH PLAIN with these credentials before
// it accepts MAIL FROM, the way submission servers of real providers do.
func WithAuth(user, pass string) Option {
	return func(o *options) { o.user, o.pass = user, pass }
}

// WithSTARTTLS advertises STARTTLS with a self-signed certificate. As on real
// servers, AUTH is then offered only after the connection is encrypted.
func WithSTARTTLS() Option {
	return func(o *options) { o.startTLS = true }
}

// WithImplicitTLS makes the listener speak TLS from the first byte, like
// port 465 of real providers.
func WithImplicitTLS() Option {
	return func(o *options) { o.implicitTLS = true }
}

type reply struct {
	code     int
	enhanced smtp.EnhancedCode
	text     string
}

type fault struct {
	drop  bool  // store the message, then cut the connection instead of answering
	hold  *hold // accept the message only once released
	reply reply // used when neither is set
}

type hold struct {
	arrived, release chan struct{}
}

// Start starts a server and registers its shutdown with t.Cleanup.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := start(t, opts)
	if err != nil {
		t.Fatalf("mailtest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// New starts a server for a program rather than a test (the enrol
// benchmark measures delivery to a real SMTP server). The caller closes it;
// methods that fail a test (WaitMessages) panic instead.
func New(opts ...Option) (*Server, error) { return start(nil, opts) }

func start(t testing.TB, opts []Option) (*Server, error) {
	s := &Server{
		t:          t,
		done:       make(chan struct{}),
		arrived:    make(chan struct{}),
		rejectRcpt: make(map[string]reply),
	}
	for _, o := range opts {
		o(&s.opts)
	}

	var tlsConfig *tls.Config
	if s.opts.startTLS || s.opts.implicitTLS {
		cert, der, err := selfSignedCert()
		if err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		s.cert, s.certDER = cert, der
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, conn: c}, nil
	}))
	srv.Domain = "mailtest.local"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 50
	// Dropped connections are part of the tests; their noise is not.
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if s.opts.startTLS {
		srv.TLSConfig = tlsConfig
	}
	// Without any TLS the only way to test credentials is in clear text;
	// with TLS available, behave like a real server and refuse that.
	srv.AllowInsecureAuth = !s.opts.startTLS && !s.opts.implicitTLS
	s.smtp = srv

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if s.opts.implicitTLS {
		ln = tls.NewListener(ln, tlsConfig)
	}
	s.ln = ln

	go func() {
		defer close(s.done)
		_ = srv.Serve(ln)
	}()
	return s, nil
}

// fatalf fails the test, or panics in a program, where it is a bug.
func (s *Server) fatalf(format string, args ...any) {
	if s.t == nil {
		panic(fmt.Sprintf(format, args...))
	}
	s.t.Helper()
	s.t.Fatalf(format, args...)
}

// Close stops the server and drops open connections. Calling it twice is
// harmless; tests call it early to make the server unreachable.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	_ = s.smtp.Close()
	// smtp.Server.Close only closes listeners Serve has registered; right
	// after Start the goroutine may not have got that far.
	_ = s.ln.Close()
	<-s.done
}

// Addr is "127.0.0.1:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host is the address clients should dial, always "127.0.0.1".
func (s *Server) Host() string {
	host, _, _ := net.SplitHostPort(s.Addr())
	return host
}

// Port is the port the server listens on.
func (s *Server) Port() int {
	_, port, _ := net.SplitHostPort(s.Addr())
	n, _ := strconv.Atoi(port)
	return n
}

// CertPool trusts the server's self-signed certificate, for clients that
// should verify it instead of skipping verification. It is nil without TLS.
func (s *Server) CertPool() *x509.CertPool {
	if s.certDER == nil {
		return nil
	}
	cert, err := x509.ParseCertificate(s.certDER)
	if err != nil {
		s.fatalf("mailtest: parse own certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// Messages returns a copy of every message the server accepted, in order,
// including messages whose connection was dropped after acceptance.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// WaitMessages waits until at least n messages have been accepted and returns
// them all; it fails the test when timeout passes first.
func (s *Server) WaitMessages(n int, timeout time.Duration) []Received {
	if s.t != nil {
		s.t.Helper()
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	msgs, err := s.AwaitMessages(ctx, n)
	if err != nil {
		s.fatalf("mailtest: waited %s for %d message(s), got %d", timeout, n, len(msgs))
	}
	return msgs
}

// AwaitMessages waits until at least n messages have been accepted and
// returns them all, or returns those received so far and ctx's error.
func (s *Server) AwaitMessages(ctx context.Context, n int) ([]Received, error) {
	for {
		s.mu.Lock()
		msgs := s.msgs
		arrived := s.arrived
		s.mu.Unlock()
		if len(msgs) >= n {
			return append([]Received(nil), msgs...), nil
		}
		select {
		case <-arrived:
		case <-ctx.Done():
			return append([]Received(nil), msgs...), ctx.Err()
		}
	}
}

// ClearMessages forgets the messages received so far.
func (s *Server) ClearMessages() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = nil
}

// DataAttempts counts message transfers that reached the end of DATA,
// whatever the answer was. Retry tests compare it with Messages.
func (s *Server) DataAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dataAttempts
}

// FailData makes the next n messages be refused at the end of DATA with the
// given reply code (4xx or 5xx) and text; the messages are not stored.
func (s *Server) FailData(n, code int, text string) {
	r := reply{code: code, enhanced: smtp.EnhancedCodeNotSet, text: text}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{reply: r})
	}
}

// FailDataTemporary refuses the next n messages with "451 4.3.0", which a
// client must treat as "try again later".
func (s *Server) FailDataTemporary(n int) {
	s.FailData(n, 451, "Temporary local problem, try again later")
}

// FailDataPermanent refuses the next n messages with "550 5.7.1", which a
// client must not retry.
func (s *Server) FailDataPermanent(n int) {
	s.FailData(n, 550, "Message rejected as spam")
}

// DropAfterData stores the next n messages and then closes the connection
// without answering, so the client cannot know the message was delivered:
// the situation of a crash between sending and recording the send.
func (s *Server) DropAfterData(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{drop: true})
	}
}

// HoldData makes the next message wait at the end of DATA, before the
// server answers, until release is called; arrived is closed when it gets
// there. Tests use it to act while a send is in progress.
func (s *Server) HoldData() (arrived <-chan struct{}, release func()) {
	h := &hold{arrived: make(chan struct{}), release: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{hold: h})
	var once sync.Once
	return h.arrived, func() { once.Do(func() { close(h.release) }) }
}

// RejectRecipient refuses RCPT TO for addr with "550 5.1.1 no such user".
func (s *Server) RejectRecipient(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectRcpt[strings.ToLower(addr)] = reply{code: 550, enhanced: smtp.EnhancedCode{5, 1, 1}, text: "Mailbox unavailable: no such user"}
}

func (s *Server) nextFault() (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dataAttempts++
	if len(s.faults) == 0 {
		return fault{}, false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	return f, true
}

func (s *Server) store(r Received) {
	r.At = time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, r)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

// session is one SMTP connection (go-smtp starts a new one after STARTTLS).
type session struct {
	srv      *Server
	conn     *smtp.Conn
	authUser string
	from     string
	to       []string
}

func (ss *session) AuthMechanisms() []string {
	if ss.srv.opts.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || ss.srv.opts.user == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != ss.srv.opts.user || password != ss.srv.opts.pass {
			return smtp.ErrAuthFailed
		}
		ss.authUser = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.srv.opts.user != "" && ss.authUser == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.srv.mu.Lock()
	r, rejected := ss.srv.rejectRcpt[strings.ToLower(to)]
	ss.srv.mu.Unlock()
	if rejected {
		return &smtp.SMTPError{Code: r.code, EnhancedCode: r.enhanced, Message: r.text}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()
	msg := Received{From: ss.from, To: append([]string(nil), ss.to...), Data: data, TLS: isTLS, AuthUser: ss.authUser}

	f, ok := ss.srv.nextFault()
	switch {
	case !ok:
		ss.srv.store(msg)
		return nil
	case f.hold != nil:
		close(f.hold.arrived)
		<-f.hold.release
		ss.srv.store(msg)
		return nil
	case f.drop:
		ss.srv.store(msg)
		// Closing the socket before go-smtp writes "250" is the whole point.
		_ = ss.conn.Conn().Close()
		return errors.New("connection dropped on purpose")
	default:
		return &smtp.SMTPError{Code: f.reply.code, EnhancedCode: f.reply.enhanced, Message: f.reply.text}
	}
}

func (ss *session) Reset() {
	ss.from = ""
	ss.to = nil
}

func (ss *session) Logout() error { return nil }

// String helps failure messages in tests.
func (s *Server) String() string {
	return fmt.Sprintf("mailtest server at %s", s.Addr())
}
