package mail

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"net/mail"
	"regexp"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// Message is one email to one person.
type Message struct {
	To      string // bare address
	ToName  string
	Subject string
	HTML    string
	Text    string
	// MessageID is the left part of the Message-ID header, derived by the
	// caller from its outbox row (e.g. "outbox-42"), so every retry of the
	// same mail carries the same Message-ID and duplicates can be spotted.
	// Empty means a random one.
	MessageID string
	Headers   map[string]string // extra headers, e.g. a provider's tracking header
}

// reservedHeaders are built from Message fields and Config; letting Headers
// set them would make messages that contradict the envelope.
var reservedHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "subject": true, "date": true,
	"message-id": true, "mime-version": true, "content-type": true,
	"content-transfer-encoding": true, "sender": true, "return-path": true,
}

// MessageIDHeader is the Message-ID a message gets: "<id@domain>", the domain
// taken from the sender address, since that is the domain vouching for it.
func MessageIDHeader(id, fromEmail string) string {
	return "<" + messageIDValue(id, fromEmail) + ">"
}

func messageIDValue(id, fromEmail string) string {
	left := sanitizeAtom(id)
	if left == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		left = hex.EncodeToString(b[:])
	}
	domain := ""
	if at := strings.LastIndexByte(fromEmail, '@'); at >= 0 {
		domain = sanitizeAtom(strings.ToLower(strings.TrimSpace(fromEmail[at+1:])))
	}
	if domain == "" {
		domain = "booksmeta.local"
	}
	return left + "@" + domain
}

// sanitizeAtom keeps the characters RFC 5322 allows in a dot-atom.
func sanitizeAtom(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("!#$%&'*+/=?^_`{|}~.-", r):
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), ".")
	for strings.Contains(out, "..") {
		out = strings.ReplaceAll(out, "..", ".")
	}
	return out
}

func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c > '~' || c == ':' {
			return false
		}
	}
	return true
}

// compose builds the MIME message: multipart/alternative with the plain text
// first and HTML last, as RFC 2046 wants the preferred version last.
func compose(t transport, m Message) (*gomail.Msg, string, error) {
	to, err := mail.ParseAddress(strings.TrimSpace(m.To))
	if err != nil || strings.TrimSpace(m.To) == "" {
		return nil, "", &SendError{
			Kind: ErrorRejectedRecipient, Err: fmt.Errorf("recipient %q: %w", m.To, err),
			detail: "Адрес получателя «" + m.To + "» написан с ошибкой, письмо не отправлялось. Исправьте адрес у пользователя и отправьте письмо заново.",
		}
	}
	subject := oneLine(m.Subject)
	if subject == "" || (m.HTML == "" && m.Text == "") {
		return nil, "", &SendError{Kind: ErrorPermanent, Err: fmt.Errorf("message without subject or body"),
			detail: "Письмо без темы или без текста не отправлено: проверьте шаблон письма в разделе «Настройки → Почта»."}
	}

	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP), gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(t.from)
	msg.AddToMailAddress(&mail.Address{Name: oneLine(m.ToName), Address: to.Address})
	msg.Subject(subject)
	msg.SetDate()
	msg.SetMessageIDWithValue(messageIDValue(m.MessageID, t.from.Address))
	// RFC 3834: tells vacation responders not to answer a notification.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	for name, value := range m.Headers {
		if !validHeaderName(name) || reservedHeaders[strings.ToLower(name)] {
			return nil, "", &SendError{Kind: ErrorPermanent, Err: fmt.Errorf("header %q may not be set through Message.Headers", name),
				detail: "Письмо не отправлено из-за внутренней ошибки в его заголовках. Сообщите разработчикам."}
		}
		msg.SetGenHeader(gomail.Header(name), value)
	}

	text := m.Text
	if text == "" {
		text = htmlToText(m.HTML)
	}
	msg.SetBodyString(gomail.TypeTextPlain, text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, to.Address, nil
}

var (
	reDropBlocks = regexp.MustCompile(`(?is)<(style|script|head)\b.*?</(style|script|head)>`)
	reBreaks     = regexp.MustCompile(`(?i)<br\s*/?>|</(p|div|tr|h[1-6]|li|table)>`)
	reTags       = regexp.MustCompile(`(?s)<[^>]*>`)
	reBlankLines = regexp.MustCompile(`\n{3,}`)
)

// htmlToText is a last resort for callers that send only HTML; rendered
// templates always carry their own text version.
func htmlToText(s string) string {
	s = reDropBlocks.ReplaceAllString(s, "")
	s = reBreaks.ReplaceAllString(s, "\n")
	s = reTags.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.TrimSpace(reBlankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}
