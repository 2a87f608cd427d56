package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"syscall"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"
)

// ErrorKind says what went wrong in words the outbox and the admin panel can
// act on. The string values are stable: they may be stored.
type ErrorKind string

const (
	ErrorAuth              ErrorKind = "auth"               // login or password refused, or the server wants a login
	ErrorTLS               ErrorKind = "tls"                // encryption could not be set up
	ErrorUnreachable       ErrorKind = "unreachable"        // no SMTP conversation: DNS, refused, timeout
	ErrorRejectedRecipient ErrorKind = "rejected_recipient" // the server refused this recipient
	ErrorRejectedSender    ErrorKind = "rejected_sender"    // the server refused the From address
	ErrorTemporary         ErrorKind = "temporary"          // 4xx or a broken connection: retry later
	ErrorPermanent         ErrorKind = "permanent"          // 5xx for this message: retrying will not help
	ErrorNotConfigured     ErrorKind = "not_configured"     // no host or no From address yet
	ErrorBadConfig         ErrorKind = "bad_config"         // settings present but unusable
)

// SendError is every error Send and TestConnection return.
type SendError struct {
	Kind ErrorKind
	// Temporary means the same message may succeed later without anyone
	// changing anything (4xx replies, network trouble): retry with backoff.
	Temporary bool
	// Code is the SMTP reply code, 0 when the server gave none.
	Code int
	// Reply is the server's answer on one line, with the SMTP password
	// removed should a server ever echo it.
	Reply string
	// MaybeDelivered is set when the connection broke after the whole
	// message was transmitted but before the server confirmed it: the
	// server may well have accepted it. A retry can produce a duplicate,
	// which the stable Message-ID at least makes recognisable.
	MaybeDelivered bool
	Err            error

	addr      string // host:port, for the Russian text
	sender    string
	recipient string
	detail    string // Russian sentence replacing the generic one
	hint      string // Russian sentence added to the generic one
}

func (e *SendError) Unwrap() error { return e.Err }

// Error is the English form for logs.
func (e *SendError) Error() string {
	var b strings.Builder
	b.WriteString("mail: ")
	b.WriteString(string(e.Kind))
	if e.addr != "" {
		b.WriteString(" (" + e.addr + ")")
	}
	if e.Reply != "" {
		b.WriteString(": " + e.Reply)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.MaybeDelivered {
		b.WriteString(" (message may have been delivered)")
	}
	return b.String()
}

// AboutSettings reports that the message itself is fine and the fault lies
// with the SMTP settings or the server as a whole. An outbox should keep such
// messages queued until the settings are fixed instead of failing them.
func (e *SendError) AboutSettings() bool {
	switch e.Kind {
	case ErrorAuth, ErrorTLS, ErrorUnreachable, ErrorRejectedSender, ErrorNotConfigured, ErrorBadConfig:
		return true
	}
	return false
}

// Russian explains the error to a school administrator: what happened and
// what to do about it.
func (e *SendError) Russian() string {
	server := "Почтовый сервер"
	if e.addr != "" {
		server = "Почтовый сервер " + e.addr
	}
	var s string
	switch e.Kind {
	case ErrorNotConfigured:
		s = "Отправка почты не настроена: укажите адрес SMTP-сервера и адрес отправителя в разделе «Настройки → Почта». Письма сохраняются в очереди и уйдут, когда настройки будут заполнены."
	case ErrorBadConfig:
		s = "Настройки почты заполнены неверно: " + e.detail + ". Исправьте их в разделе «Настройки → Почта»."
	case ErrorAuth:
		s = server + " не принял логин или пароль. Проверьте их в разделе «Настройки → Почта». Яндекс и Mail.ru требуют отдельный пароль приложения — обычный пароль от ящика не подойдёт; в Unisender Go логин — это user_id, а пароль — API-ключ."
	case ErrorTLS:
		s = "Не удалось установить защищённое соединение с сервером " + e.addr + ". Попробуйте другой вариант шифрования: SSL с портом 465 или STARTTLS с портом 587."
	case ErrorUnreachable:
		s = "Не удалось связаться с почтовым сервером " + e.addr + ". Проверьте адрес сервера и порт, а также что хостинг или брандмауэр не закрывают исходящие соединения на этот порт."
	case ErrorRejectedSender:
		s = server + " не разрешает отправлять письма от адреса " + e.sender + ". Адрес отправителя в разделе «Настройки → Почта» должен совпадать с логином ящика или быть на домене, подтверждённом у почтового сервиса."
	case ErrorRejectedRecipient:
		s = server + " отказался принять письмо для " + e.recipient + ". Проверьте, что адрес написан без ошибок и такой ящик существует."
	case ErrorTemporary:
		if e.MaybeDelivered {
			s = "Связь с почтовым сервером оборвалась сразу после передачи письма: возможно, оно всё же доставлено. Письмо будет отправлено повторно автоматически; если получатель увидит его дважды, второе можно удалить."
		} else {
			s = server + " временно не смог принять письмо. Письмо будет отправлено повторно автоматически, ничего делать не нужно. Если это повторяется часами, проверьте лимиты отправки у почтового сервиса."
		}
	case ErrorPermanent:
		s = server + " отказался принять письмо, повторять отправку бесполезно. Прочитайте ответ сервера ниже; если причина непонятна, перешлите его в поддержку почтового сервиса."
	default:
		s = "Не удалось отправить письмо."
	}
	if e.detail != "" && e.Kind != ErrorBadConfig {
		s = e.detail
	}
	if e.hint != "" {
		s += " " + e.hint
	}
	if e.Kind == ErrorUnreachable && e.Temporary {
		s += " Письма в очереди будут отправлены повторно автоматически."
	}
	if e.Reply != "" {
		s += " Ответ сервера: «" + e.Reply + "»."
	}
	return s
}

// phase is the step of the SMTP conversation an error came from; the same
// reply code means different things at different steps.
type phase int

const (
	phaseDial phase = iota
	phaseHandshake
	phaseGreeting
	phaseHello
	phaseStartTLS
	phaseAuth
	phaseMail
	phaseRcpt
	phaseData
	phaseContent
	phaseDataEnd
	phaseCompose
)

// classify turns a raw error from one phase into a SendError.
func classify(ctx context.Context, ph phase, err error, t transport, recipient string) *SendError {
	e := &SendError{Err: err, addr: t.addr(), recipient: recipient}
	if t.from != nil {
		e.sender = t.from.Address
	}
	var se *SendError
	if errors.As(err, &se) {
		return se
	}

	var tp *textproto.Error
	if errors.As(err, &tp) {
		e.Code = tp.Code
		e.Reply = oneLine(fmt.Sprintf("%d %s", tp.Code, tp.Msg))
	} else {
		// go-mail's own SendError hides the textproto error, but keeps the code.
		var ge *gomail.SendError
		if errors.As(err, &ge) {
			e.Code = ge.ErrorCode()
		}
	}
	temp := e.Code/100 == 4

	switch {
	case ctx.Err() != nil && e.Code == 0:
		e.Kind, e.Temporary = ErrorTemporary, true
		e.detail = "Отправка письма прервана: программа остановилась или отменила операцию. Письмо будет отправлено повторно автоматически."
		e.MaybeDelivered = ph == phaseDataEnd
		e.Err = errors.Join(ctx.Err(), err)
		return e
	case ph == phaseCompose:
		e.Kind = ErrorPermanent
		return e
	case ph == phaseHandshake || ph == phaseStartTLS:
		e.Kind = ErrorTLS
		e.hint = tlsHint(err, t)
		return e
	case ph == phaseDial:
		e.Kind, e.Temporary = ErrorUnreachable, true
		e.hint = dialHint(err, t)
		return e
	}

	if e.Code == 0 {
		if isTLSFailure(err) {
			e.Kind = ErrorTLS
			e.hint = tlsHint(err, t)
			return e
		}
		if ph == phaseGreeting {
			// Silence where the greeting should be is what a TLS-only port
			// looks like to a client that has not started TLS.
			if isTimeout(err) && t.mode != tlsImplicit {
				e.Kind = ErrorTLS
			} else {
				e.Kind, e.Temporary = ErrorUnreachable, true
			}
			e.hint = greetingHint(err, t)
			return e
		}
		if ph == phaseAuth && errors.Is(err, gosmtp.ErrUnencrypted) {
			e.Kind = ErrorTLS
			e.detail = "Сервер " + e.addr + " не предложил шифрование, а без него пароль ушёл бы открытым текстом, поэтому вход не выполнялся."
			e.hint = "Выберите SSL (порт 465) или STARTTLS (порт 587); «без шифрования» выбирайте, только если сервер находится в вашей локальной сети."
			return e
		}
		if isNetworkFailure(err) {
			e.Kind, e.Temporary = ErrorTemporary, true
			e.MaybeDelivered = ph == phaseDataEnd
			return e
		}
		if ph == phaseAuth {
			e.Kind = ErrorAuth
			return e
		}
		e.Kind = ErrorPermanent
		return e
	}

	switch ph {
	case phaseGreeting:
		// 421 "busy" or 554 "no service for you": either way nothing was said yet.
		e.Kind, e.Temporary = ErrorUnreachable, temp
		if !temp {
			e.hint = "Сервер сразу отказался разговаривать: возможно, он не принимает соединения с адреса этого сервера."
		}
	case phaseAuth:
		if temp {
			e.Kind, e.Temporary = ErrorTemporary, true
		} else {
			e.Kind = ErrorAuth
		}
	case phaseMail:
		switch {
		case temp:
			e.Kind, e.Temporary = ErrorTemporary, true
		case e.Code == 530 || strings.Contains(e.Reply, "5.7.0"):
			e.Kind = ErrorAuth
			e.detail = "Почтовый сервер " + e.addr + " требует входа по логину и паролю. Укажите их в разделе «Настройки → Почта»."
		default:
			e.Kind = ErrorRejectedSender
		}
	case phaseRcpt:
		switch {
		case temp:
			e.Kind, e.Temporary = ErrorTemporary, true
		case strings.Contains(strings.ToLower(e.Reply), "relay"):
			// "Relaying denied" is about us, not the recipient.
			e.Kind = ErrorAuth
			e.detail = "Почтовый сервер " + e.addr + " не пересылает письма без входа по логину и паролю. Укажите их в разделе «Настройки → Почта»."
		default:
			e.Kind = ErrorRejectedRecipient
		}
	default:
		if temp {
			e.Kind, e.Temporary = ErrorTemporary, true
		} else {
			e.Kind = ErrorPermanent
		}
	}
	return e
}

func isTLSFailure(err error) bool {
	var (
		rh  tls.RecordHeaderError
		cv  *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		ae  tls.AlertError
		ope *net.OpError
	)
	if errors.As(err, &rh) || errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &ae) {
		return true
	}
	// Alerts sent by the peer arrive as net.OpError{Op: "remote error"}.
	return errors.As(err, &ope) && ope.Op == "remote error"
}

func isNetworkFailure(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.As(err, &ne)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func dialHint(err error, t transport) string {
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		return "Сервер с именем «" + t.host + "» не найден — проверьте, нет ли опечатки в адресе."
	case errors.As(err, &dns):
		return "Не удалось узнать адрес сервера «" + t.host + "»: проверьте доступ этого сервера в интернет и настройки DNS."
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("Сервер отказал в соединении на порту %d: скорее всего, указан не тот порт (обычно 465 или 587).", t.port)
	case isTimeout(err):
		return fmt.Sprintf("Сервер не ответил на порту %d: часто хостинг закрывает исходящие соединения на портах 25 и 465 — попробуйте порт 587 или спросите поддержку хостинга.", t.port)
	}
	return ""
}

func greetingHint(err error, t transport) string {
	if t.mode != tlsImplicit && (t.port == 465 || isTimeout(err)) {
		return "Возможно, этот порт ждёт шифрования с первого байта: выберите SSL (для порта 465) или порт 587 со STARTTLS."
	}
	var pe textproto.ProtocolError
	if errors.As(err, &pe) {
		return "На этом порту отвечает не почтовый сервер: проверьте номер порта."
	}
	return ""
}

func tlsHint(err error, t transport) string {
	var (
		rh tls.RecordHeaderError
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
		tp *textproto.Error
	)
	switch {
	case errors.As(err, &he):
		return "Сертификат сервера выдан на другое имя: укажите адрес сервера так, как его пишет почтовый сервис (например, smtp.yandex.ru), а не IP-адрес или другой домен."
	case errors.As(err, &ua):
		return "Сертификат сервера выдан неизвестным центром сертификации (возможно, самоподписанный): проверьте адрес сервера."
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		return "Срок действия сертификата сервера истёк: сообщите об этом в поддержку почтового сервиса."
	case errors.As(err, &rh):
		return fmt.Sprintf("Порт %d не ждёт шифрования с первого байта: выберите STARTTLS (обычно порт 587) вместо SSL.", t.port)
	case errors.As(err, &tp):
		return "Сервер отказался включать шифрование STARTTLS: выберите SSL с портом 465."
	case isTimeout(err) && t.mode == tlsImplicit:
		return fmt.Sprintf("Сервер не начал защищённое соединение на порту %d: выберите STARTTLS с портом 587.", t.port)
	}
	return ""
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// scrubber removes the SMTP password from anything that may be shown or
// logged: the password itself and the base64 forms AUTH PLAIN and AUTH
// LOGIN put on the wire, in case a server echoes them back.
type scrubber []string

func newScrubber(user, pass string) scrubber {
	if pass == "" {
		return nil
	}
	b64 := base64.StdEncoding.EncodeToString
	return scrubber{
		b64([]byte("\x00" + user + "\x00" + pass)),
		b64([]byte(user + "\x00" + pass)),
		b64([]byte(pass)),
		pass,
	}
}

func (sc scrubber) clean(s string) string {
	for _, secret := range sc {
		s = strings.ReplaceAll(s, secret, "***")
	}
	return s
}

func (sc scrubber) apply(e *SendError) *SendError {
	if len(sc) == 0 {
		return e
	}
	e.Reply = sc.clean(e.Reply)
	if e.Err != nil {
		if msg := e.Err.Error(); sc.clean(msg) != msg {
			// Losing the error's type is the price of never leaking it.
			e.Err = errors.New(sc.clean(msg))
		}
	}
	return e
}
