package mailtest

import (
	"crypto/tls"
	"errors"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

const multipartMessage = "From: a@example.ru\r\n" +
	"To: b@example.ru\r\n" +
	"Subject: =?UTF-8?B?0J/RgNC40LLQtdGC?=\r\n" +
	"Message-ID: <m1@example.ru>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=XYZ\r\n" +
	"\r\n" +
	"--XYZ\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"0J/RgNC40LLQtdGCLA0K\r\n0LzQuNGAIQ==\r\n" +
	"--XYZ\r\n" +
	"Content-Type: text/html; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"<p>=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82</p>\r\n" +
	"--XYZ--\r\n"

func send(t *testing.T, s *Server, auth smtp.Auth) error {
	t.Helper()
	return smtp.SendMail(s.Addr(), auth, "a@example.ru", []string{"b@example.ru"}, []byte(multipartMessage))
}

func TestReceiveAndParse(t *testing.T) {
	s := Start(t)
	if err := send(t, s, nil); err != nil {
		t.Fatal(err)
	}
	got := s.WaitMessages(1, 5*time.Second)[0]
	if got.From != "a@example.ru" || len(got.To) != 1 || got.To[0] != "b@example.ru" || got.TLS || got.AuthUser != "" {
		t.Fatalf("envelope %+v", got)
	}
	if got.Subject() != "Привет" || got.MessageID() != "<m1@example.ru>" {
		t.Errorf("subject %q id %q", got.Subject(), got.MessageID())
	}
	if got.Text() != "Привет,\nмир!" {
		t.Errorf("text %q", got.Text())
	}
	if got.HTML() != "<p>Привет</p>" {
		t.Errorf("html %q", got.HTML())
	}
	if s.DataAttempts() != 1 {
		t.Errorf("attempts %d", s.DataAttempts())
	}
	s.ClearMessages()
	if len(s.Messages()) != 0 {
		t.Error("ClearMessages kept messages")
	}
}

func TestAuthRequired(t *testing.T) {
	s := Start(t, WithAuth("user", "pw"))
	// net/smtp sends PLAIN in clear text only to localhost, which is what
	// 127.0.0.1 counts as.
	var tp *textproto.Error
	if err := send(t, s, smtp.PlainAuth("", "user", "wrong", "127.0.0.1")); !errors.As(err, &tp) || tp.Code != 535 {
		t.Fatalf("wrong password: %v", err)
	}
	if err := send(t, s, smtp.PlainAuth("", "user", "pw", "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if got := s.WaitMessages(1, 5*time.Second)[0]; got.AuthUser != "user" {
		t.Errorf("auth user %q", got.AuthUser)
	}
}

func TestFaults(t *testing.T) {
	s := Start(t)
	s.FailDataTemporary(1)
	s.FailDataPermanent(1)
	s.RejectRecipient("B@example.ru")

	var tp *textproto.Error
	if err := send(t, s, nil); !errors.As(err, &tp) || tp.Code != 550 || !strings.Contains(tp.Msg, "5.1.1") {
		t.Fatalf("rejected recipient: %v", err)
	}
	s.mu.Lock()
	delete(s.rejectRcpt, "b@example.ru")
	s.mu.Unlock()

	if err := send(t, s, nil); !errors.As(err, &tp) || tp.Code != 451 {
		t.Fatalf("first: %v", err)
	}
	if err := send(t, s, nil); !errors.As(err, &tp) || tp.Code != 550 {
		t.Fatalf("second: %v", err)
	}
	s.DropAfterData(1)
	if err := send(t, s, nil); err == nil {
		t.Fatal("dropped connection reported success")
	}
	if err := send(t, s, nil); err != nil {
		t.Fatalf("after faults: %v", err)
	}
	if n := len(s.WaitMessages(2, 5*time.Second)); n != 2 || s.DataAttempts() != 4 {
		t.Fatalf("messages %d attempts %d, want 2 (dropped + last) and 4", n, s.DataAttempts())
	}
}

func TestTLSModes(t *testing.T) {
	t.Run("starttls", func(t *testing.T) {
		s := Start(t, WithSTARTTLS())
		c, err := smtp.Dial(s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if ok, _ := c.Extension("STARTTLS"); !ok {
			t.Fatal("STARTTLS not offered")
		}
		if err := c.StartTLS(&tls.Config{ServerName: "127.0.0.1", RootCAs: s.CertPool()}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("implicit", func(t *testing.T) {
		s := Start(t, WithImplicitTLS())
		conn, err := tls.Dial("tcp", s.Addr(), &tls.Config{ServerName: "127.0.0.1", RootCAs: s.CertPool()})
		if err != nil {
			t.Fatal(err)
		}
		c, err := smtp.NewClient(conn, s.Host())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello("test"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCloseEarlyAndTwice(t *testing.T) {
	s := Start(t)
	s.Close()
	s.Close()
	if err := send(t, s, nil); err == nil {
		t.Fatal("closed server accepted a connection")
	}
}
