// Package webhook is Book Smeta's GetCourse intake: it authenticates and
// parses notifications, commits each one durably before answering 200, and
// processes it later (process.go) through package enrol.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
)

// Sign returns the signature header value for body: "sha256=<hex>".
// `booksmeta webhook send` and the tests sign with it.
func Sign(secret string, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret, body))
}

func mac(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// NewSecret returns a webhook secret: 32 random bytes as 64 lowercase hex
// characters (SPEC §1, `booksmeta secret`).
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}
