package mail

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/mail/mailtest"
)

const testPassword = "Sup3r-Secret-Pa55"

func testConfig(srv *mailtest.Server) Config {
	return Config{
		Host:       srv.Host(),
		Port:       srv.Port(),
		Encryption: EncryptionNone,
		FromEmail:  "school@school.example.ru",
		FromName:   "Школа Сметы",
	}
}

func testMessage(t *testing.T, kind Kind) Message {
	t.Helper()
	m, err := NewRenderer("Book Smeta", "https://book.example.ru").Render(kind, SampleData(kind))
	if err != nil {
		t.Fatalf("render %s: %v", kind, err)
	}
	m.To, m.ToName, m.MessageID = "student@example.ru", "Анна Иванова", "outbox-42"
	return m
}

func asSendError(t *testing.T, err error) *SendError {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error, got nil")
	}
	var se *SendError
	if !errors.As(err, &se) {
		t.Fatalf("error is %T, not *SendError: %v", err, err)
	}
	return se
}

func assertNoSecret(t *testing.T, se *SendError) {
	t.Helper()
	b64 := base64.StdEncoding.EncodeToString
	for _, text := range []string{se.Error(), se.Russian(), se.Reply} {
		for _, secret := range []string{testPassword, b64([]byte(testPassword)), b64([]byte("\x00user\x00" + testPassword))} {
			if strings.Contains(text, secret) {
				t.Errorf("error text leaks the password (%q): %s", secret, text)
			}
		}
	}
}

func TestSendEveryKindArrivesIntact(t *testing.T) {
	srv := mailtest.Start(t)
	s := NewSender(testConfig(srv))
	for i, info := range Kinds() {
		want := testMessage(t, info.Kind)
		if err := s.Send(context.Background(), want); err != nil {
			t.Fatalf("%s: %v", info.Kind, err)
		}
		got := srv.WaitMessages(i+1, 5*time.Second)[i]
		p, err := got.Parse()
		if err != nil {
			t.Fatalf("%s: parse: %v", info.Kind, err)
		}
		if got.Subject() != want.Subject {
			t.Errorf("%s: subject %q, want %q", info.Kind, got.Subject(), want.Subject)
		}
		if p.ContentType != "multipart/alternative" {
			t.Errorf("%s: content type %q, want multipart/alternative", info.Kind, p.ContentType)
		}
		if strings.TrimSpace(p.Text) != strings.TrimSpace(want.Text) {
			t.Errorf("%s: text part differs:\n got %q\nwant %q", info.Kind, p.Text, want.Text)
		}
		if !strings.Contains(p.HTML, "<html") || !strings.Contains(p.HTML, "Book Smeta") {
			t.Errorf("%s: HTML part missing or wrong: %.200q", info.Kind, p.HTML)
		}
	}
}

func TestSendHeaders(t *testing.T) {
	srv := mailtest.Start(t)
	m := testMessage(t, KindWelcome)
	m.Headers = map[string]string{"X-Booksmeta-Outbox": "42"}
	if err := NewSender(testConfig(srv)).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitMessages(1, 5*time.Second)[0]

	if got.From != "school@school.example.ru" || len(got.To) != 1 || got.To[0] != "student@example.ru" {
		t.Errorf("envelope from %q to %v", got.From, got.To)
	}
	if id := got.MessageID(); id != "<outbox-42@school.example.ru>" {
		t.Errorf("Message-ID %q", id)
	}
	if h := got.Header("From"); !strings.Contains(h, "Школа Сметы") || !strings.Contains(h, "school@school.example.ru") {
		t.Errorf("From header %q", h)
	}
	if h := got.Header("To"); !strings.Contains(h, "Анна Иванова") {
		t.Errorf("To header %q", h)
	}
	if got.Header("Auto-Submitted") != "auto-generated" || got.Header("X-Booksmeta-Outbox") != "42" {
		t.Errorf("extra headers missing")
	}
	if got.Header("Date") == "" {
		t.Error("no Date header")
	}
	// The Russian subject must travel encoded: raw headers are ASCII only.
	head, _, _ := strings.Cut(string(got.Data), "\r\n\r\n")
	for _, r := range head {
		if r > 127 {
			t.Fatalf("raw header contains non-ASCII %q:\n%s", r, head)
		}
	}
}

func TestSendEscapesValues(t *testing.T) {
	srv := mailtest.Start(t)
	r := NewRenderer("Book Smeta", "https://book.example.ru")
	data := SampleData(KindWelcome).(WelcomeData)
	data.Name = `<script>alert("x")</script>`
	m, err := r.Render(KindWelcome, data)
	if err != nil {
		t.Fatal(err)
	}
	m.To = "student@example.ru"
	if err := NewSender(testConfig(srv)).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	html := srv.WaitMessages(1, 5*time.Second)[0].HTML()
	if strings.Contains(html, "<script>") {
		t.Fatal("name arrived unescaped in HTML")
	}
	if !strings.Contains(html, "&lt;script&gt;") {
		t.Fatalf("escaped name not found in HTML")
	}
}

func TestSendWithAuthPlain(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth("user", testPassword))
	cfg := testConfig(srv)
	cfg.Username, cfg.Password = "user", testPassword
	if err := NewSender(cfg).Send(context.Background(), testMessage(t, KindTest)); err != nil {
		t.Fatal(err)
	}
	if got := srv.WaitMessages(1, 5*time.Second)[0]; got.AuthUser != "user" {
		t.Errorf("authenticated as %q", got.AuthUser)
	}
}

func TestAuthFailureIsClassifiedAndHidesPassword(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth("user", "the-right-one"))
	cfg := testConfig(srv)
	cfg.Username, cfg.Password = "user", testPassword
	s := NewSender(cfg)

	for name, err := range map[string]error{
		"send": s.Send(context.Background(), testMessage(t, KindTest)),
		"test": s.TestConnection(context.Background()),
	} {
		se := asSendError(t, err)
		if se.Kind != ErrorAuth || se.Temporary || se.Code != 535 {
			t.Errorf("%s: kind %s temporary %v code %d, want auth/false/535", name, se.Kind, se.Temporary, se.Code)
		}
		if !strings.Contains(se.Russian(), "логин или пароль") || !strings.Contains(se.Russian(), "535") {
			t.Errorf("%s: Russian text: %s", name, se.Russian())
		}
		if !se.AboutSettings() {
			t.Errorf("%s: auth failure should be about settings", name)
		}
		assertNoSecret(t, se)
	}
	if len(srv.Messages()) != 0 {
		t.Fatal("a message got through without authentication")
	}
}

func TestAuthRequiredButNoLogin(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth("user", testPassword))
	se := asSendError(t, NewSender(testConfig(srv)).Send(context.Background(), testMessage(t, KindTest)))
	if se.Kind != ErrorAuth || se.Code != 530 {
		t.Fatalf("kind %s code %d, want auth/530", se.Kind, se.Code)
	}
	if !strings.Contains(se.Russian(), "требует входа") {
		t.Errorf("Russian text: %s", se.Russian())
	}
}

func TestTemporaryFailureThenRetrySucceeds(t *testing.T) {
	srv := mailtest.Start(t)
	srv.FailDataTemporary(1)
	s := NewSender(testConfig(srv))
	m := testMessage(t, KindReminder)

	se := asSendError(t, s.Send(context.Background(), m))
	if se.Kind != ErrorTemporary || !se.Temporary || se.Code != 451 || se.MaybeDelivered {
		t.Fatalf("got kind %s temporary %v code %d maybe %v", se.Kind, se.Temporary, se.Code, se.MaybeDelivered)
	}
	if !strings.Contains(se.Russian(), "повторно автоматически") {
		t.Errorf("Russian text: %s", se.Russian())
	}
	if len(srv.Messages()) != 0 {
		t.Fatal("refused message was stored")
	}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got := srv.WaitMessages(1, 5*time.Second); len(got) != 1 || got[0].MessageID() != "<outbox-42@school.example.ru>" {
		t.Fatalf("after retry: %d messages", len(got))
	}
}

func TestPermanentFailure(t *testing.T) {
	srv := mailtest.Start(t)
	srv.FailDataPermanent(1)
	se := asSendError(t, NewSender(testConfig(srv)).Send(context.Background(), testMessage(t, KindTest)))
	if se.Kind != ErrorPermanent || se.Temporary || se.Code != 550 || se.AboutSettings() {
		t.Fatalf("got kind %s temporary %v code %d", se.Kind, se.Temporary, se.Code)
	}
	if !strings.Contains(se.Russian(), "бесполезно") || !strings.Contains(se.Reply, "550") {
		t.Errorf("Russian %q reply %q", se.Russian(), se.Reply)
	}
}

func TestRejectedRecipient(t *testing.T) {
	srv := mailtest.Start(t)
	srv.RejectRecipient("student@example.ru")
	se := asSendError(t, NewSender(testConfig(srv)).Send(context.Background(), testMessage(t, KindTest)))
	if se.Kind != ErrorRejectedRecipient || se.Temporary || se.Code != 550 {
		t.Fatalf("got kind %s temporary %v code %d", se.Kind, se.Temporary, se.Code)
	}
	if !strings.Contains(se.Russian(), "student@example.ru") {
		t.Errorf("Russian text does not name the address: %s", se.Russian())
	}
}

func TestInvalidRecipientNeverConnects(t *testing.T) {
	srv := mailtest.Start(t)
	m := testMessage(t, KindTest)
	m.To = "not an address"
	se := asSendError(t, NewSender(testConfig(srv)).Send(context.Background(), m))
	if se.Kind != ErrorRejectedRecipient || srv.DataAttempts() != 0 {
		t.Fatalf("kind %s, attempts %d", se.Kind, srv.DataAttempts())
	}
}

func TestDroppedAfterDataMayBeDelivered(t *testing.T) {
	srv := mailtest.Start(t)
	srv.DropAfterData(1)
	se := asSendError(t, NewSender(testConfig(srv), WithTimeout(3*time.Second)).Send(context.Background(), testMessage(t, KindBookingConfirmation)))
	if se.Kind != ErrorTemporary || !se.Temporary || !se.MaybeDelivered {
		t.Fatalf("got kind %s temporary %v maybe %v: %v", se.Kind, se.Temporary, se.MaybeDelivered, se)
	}
	if !strings.Contains(se.Russian(), "возможно, оно всё же доставлено") {
		t.Errorf("Russian text: %s", se.Russian())
	}
	// The server did keep it: exactly the case an outbox must not double-send.
	if got := srv.Messages(); len(got) != 1 || got[0].MessageID() != "<outbox-42@school.example.ru>" {
		t.Fatalf("server holds %d messages", len(got))
	}
}

func TestUnreachable(t *testing.T) {
	srv := mailtest.Start(t)
	cfg := testConfig(srv)
	srv.Close()
	se := asSendError(t, NewSender(cfg, WithTimeout(2*time.Second)).Send(context.Background(), testMessage(t, KindTest)))
	if se.Kind != ErrorUnreachable || !se.Temporary || !se.AboutSettings() {
		t.Fatalf("got kind %s temporary %v", se.Kind, se.Temporary)
	}
	if !strings.Contains(se.Russian(), cfg.Host) || !strings.Contains(se.Russian(), "порт") {
		t.Errorf("Russian text: %s", se.Russian())
	}
}

func TestUnknownHostIsUnreachable(t *testing.T) {
	cfg := Config{Host: "no-such-host.invalid", Port: 587, FromEmail: "school@example.ru"}
	se := asSendError(t, NewSender(cfg, WithTimeout(3*time.Second)).TestConnection(context.Background()))
	if se.Kind != ErrorUnreachable {
		t.Fatalf("got kind %s: %v", se.Kind, se)
	}
}

func TestSTARTTLS(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithSTARTTLS(), mailtest.WithAuth("user", testPassword))
	cfg := testConfig(srv)
	cfg.Encryption, cfg.Username, cfg.Password = EncryptionSTARTTLS, "user", testPassword

	t.Run("self-signed certificate is refused", func(t *testing.T) {
		se := asSendError(t, NewSender(cfg).TestConnection(context.Background()))
		if se.Kind != ErrorTLS || se.Temporary {
			t.Fatalf("got kind %s: %v", se.Kind, se)
		}
		if !strings.Contains(se.Russian(), "ертификат") {
			t.Errorf("Russian text: %s", se.Russian())
		}
	})
	t.Run("InsecureSkipVerify", func(t *testing.T) {
		insecure := cfg
		insecure.InsecureSkipVerify = true
		if err := NewSender(insecure).Send(context.Background(), testMessage(t, KindTest)); err != nil {
			t.Fatal(err)
		}
		if got := srv.WaitMessages(1, 5*time.Second)[0]; !got.TLS || got.AuthUser != "user" {
			t.Fatalf("tls %v auth %q", got.TLS, got.AuthUser)
		}
	})
	t.Run("trusted root", func(t *testing.T) {
		if err := NewSender(cfg, WithRootCAs(srv.CertPool())).TestConnection(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("old .env tls on a STARTTLS port", func(t *testing.T) {
		old := cfg
		old.Encryption = EncryptionTLS
		if err := NewSender(old, WithRootCAs(srv.CertPool())).TestConnection(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("auto mode upgrades when offered", func(t *testing.T) {
		auto := cfg
		auto.Encryption = EncryptionAuto
		if err := NewSender(auto, WithRootCAs(srv.CertPool())).TestConnection(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSTARTTLSRequiredButNotOffered(t *testing.T) {
	srv := mailtest.Start(t)
	cfg := testConfig(srv)
	cfg.Encryption = EncryptionSTARTTLS
	se := asSendError(t, NewSender(cfg).TestConnection(context.Background()))
	if se.Kind != ErrorTLS || !strings.Contains(se.Russian(), "не предлагает STARTTLS") {
		t.Fatalf("got kind %s: %s", se.Kind, se.Russian())
	}
}

func TestImplicitTLS(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithImplicitTLS(), mailtest.WithAuth("user", testPassword))
	cfg := testConfig(srv)
	cfg.Encryption, cfg.Username, cfg.Password = EncryptionSSL, "user", testPassword

	if err := NewSender(cfg, WithRootCAs(srv.CertPool())).Send(context.Background(), testMessage(t, KindWelcome)); err != nil {
		t.Fatal(err)
	}
	if got := srv.WaitMessages(1, 5*time.Second)[0]; !got.TLS {
		t.Fatal("message did not travel over TLS")
	}

	t.Run("STARTTLS against a TLS-only port", func(t *testing.T) {
		wrong := cfg
		wrong.Encryption = EncryptionSTARTTLS
		se := asSendError(t, NewSender(wrong, WithTimeout(time.Second)).TestConnection(context.Background()))
		if se.Kind != ErrorTLS || !strings.Contains(se.Russian(), "SSL") {
			t.Fatalf("got kind %s: %s", se.Kind, se.Russian())
		}
	})
}

func TestSSLAgainstPlainPort(t *testing.T) {
	srv := mailtest.Start(t)
	cfg := testConfig(srv)
	cfg.Encryption = EncryptionSSL
	se := asSendError(t, NewSender(cfg, WithTimeout(2*time.Second)).TestConnection(context.Background()))
	if se.Kind != ErrorTLS || !strings.Contains(se.Russian(), "STARTTLS") {
		t.Fatalf("got kind %s: %s", se.Kind, se.Russian())
	}
}

func TestNotConfigured(t *testing.T) {
	s := NewSender(Config{})
	if s.Configured() {
		t.Fatal("empty config reported as configured")
	}
	for _, err := range []error{s.Send(context.Background(), Message{To: "a@b.ru", Subject: "x", Text: "y"}), s.TestConnection(context.Background())} {
		se := asSendError(t, err)
		if se.Kind != ErrorNotConfigured || se.Temporary || !se.AboutSettings() {
			t.Fatalf("got kind %s", se.Kind)
		}
		if !strings.Contains(se.Russian(), "Настройки → Почта") {
			t.Errorf("Russian text: %s", se.Russian())
		}
	}
}

func TestCancelledContext(t *testing.T) {
	srv := mailtest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	se := asSendError(t, NewSender(testConfig(srv)).Send(ctx, testMessage(t, KindTest)))
	if se.Kind != ErrorTemporary || !se.Temporary || !errors.Is(se, context.Canceled) {
		t.Fatalf("got kind %s: %v", se.Kind, se)
	}
}

func TestReservedHeaderRefused(t *testing.T) {
	srv := mailtest.Start(t)
	m := testMessage(t, KindTest)
	m.Headers = map[string]string{"Bcc": "spy@example.ru"}
	se := asSendError(t, NewSender(testConfig(srv)).Send(context.Background(), m))
	if se.Kind != ErrorPermanent || srv.DataAttempts() != 0 {
		t.Fatalf("kind %s attempts %d", se.Kind, srv.DataAttempts())
	}
}

func TestHTMLOnlyMessageGetsTextPart(t *testing.T) {
	srv := mailtest.Start(t)
	m := Message{To: "student@example.ru", Subject: "Проверка", HTML: "<p>Привет, <b>мир</b>!</p><p>Вторая&nbsp;строка</p>"}
	if err := NewSender(testConfig(srv)).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitMessages(1, 5*time.Second)[0]
	if text := got.Text(); !strings.Contains(text, "Привет, мир!") || strings.Contains(text, "<") {
		t.Fatalf("text part %q", text)
	}
}

func TestScrubberRemovesEchoedPassword(t *testing.T) {
	sc := newScrubber("user", testPassword)
	se := sc.apply(&SendError{
		Kind:  ErrorAuth,
		Reply: "535 bad credentials for user / " + testPassword + " / " + base64.StdEncoding.EncodeToString([]byte("\x00user\x00"+testPassword)),
		Err:   errors.New("server said " + testPassword),
	})
	assertNoSecret(t, se)
	if !strings.Contains(se.Reply, "***") {
		t.Errorf("reply %q", se.Reply)
	}
}

func TestDescription(t *testing.T) {
	d := NewSender(Config{Host: "smtp.yandex.ru", Port: 465, Password: testPassword, Username: "u", FromEmail: "a@b.ru"}).Description()
	if d != "smtp.yandex.ru:465, SSL" {
		t.Fatalf("description %q", d)
	}
}
