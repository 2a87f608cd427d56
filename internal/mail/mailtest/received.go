package mailtest

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// Received is one message as the server got it.
type Received struct {
	From     string   // MAIL FROM
	To       []string // RCPT TO, in order
	Data     []byte   // the raw message, headers and body
	TLS      bool     // the connection was encrypted when DATA was sent
	AuthUser string   // the user that authenticated, "" without AUTH
	// At is when the server accepted the message, just before its answer
	// (the enrol benchmark's end point).
	At time.Time
}

// Parsed is the readable content of a message: decoded headers and the
// decoded text and HTML parts, with line ends turned into "\n".
type Parsed struct {
	Header      mail.Header
	ContentType string // media type of the top-level body, e.g. "multipart/alternative"
	Text        string
	HTML        string
}

// Parse decodes the message. Only UTF-8 and ASCII bodies are decoded, which
// is what the code under test sends.
func (r Received) Parse() (Parsed, error) {
	m, err := mail.ReadMessage(bytes.NewReader(r.Data))
	if err != nil {
		return Parsed{}, err
	}
	p := Parsed{Header: m.Header}
	ct := m.Header.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return Parsed{}, err
	}
	p.ContentType = mediaType
	err = walk(&p, mediaType, params, m.Header.Get("Content-Transfer-Encoding"), m.Body)
	return p, err
}

func walk(p *Parsed, mediaType string, params map[string]string, cte string, body io.Reader) error {
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			pt, pparams, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
			if err != nil {
				return err
			}
			// multipart.Part removes the header once it has decoded
			// quoted-printable itself, so an empty value is fine here.
			if err := walk(p, pt, pparams, part.Header.Get("Content-Transfer-Encoding"), part); err != nil {
				return err
			}
		}
	}
	content, err := io.ReadAll(decodeBody(cte, body))
	if err != nil {
		return err
	}
	// SMTP requires CRLF; tests compare with Go strings written with LF.
	text := strings.ReplaceAll(string(content), "\r\n", "\n")
	switch mediaType {
	case "text/plain":
		if p.Text == "" {
			p.Text = text
		}
	case "text/html":
		if p.HTML == "" {
			p.HTML = text
		}
	}
	return nil
}

func decodeBody(cte string, body io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &lineJoiner{r: body})
	case "quoted-printable":
		return quotedprintable.NewReader(body)
	default:
		return body
	}
}

// lineJoiner strips the line breaks of a base64 body, which the standard
// decoder does not accept.
type lineJoiner struct{ r io.Reader }

func (l *lineJoiner) Read(b []byte) (int, error) {
	n, err := l.r.Read(b)
	out := b[:0]
	for _, c := range b[:n] {
		if c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}
	return len(out), err
}

// Header returns a header with RFC 2047 words decoded, "" when absent or
// when the message does not parse.
func (r Received) Header(name string) string {
	p, err := r.Parse()
	if err != nil {
		return ""
	}
	raw := p.Header.Get(name)
	dec, err := new(mime.WordDecoder).DecodeHeader(raw)
	if err != nil {
		return raw
	}
	return dec
}

// Subject is the decoded Subject header.
func (r Received) Subject() string { return r.Header("Subject") }

// MessageID is the Message-ID header as sent, angle brackets included.
func (r Received) MessageID() string { return r.Header("Message-Id") }

// Text is the decoded text/plain part, "" when there is none.
func (r Received) Text() string {
	p, _ := r.Parse()
	return p.Text
}

// HTML is the decoded text/html part, "" when there is none.
func (r Received) HTML() string {
	p, _ := r.Parse()
	return p.HTML
}
