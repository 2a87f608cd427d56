package webhook

import (
	"booksmeta"

	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestVerify(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	body := []byte(`{"action":"user_payment","user":{"email":"a@b.ru"}}`)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	good := hex.EncodeToString(m.Sum(nil))
	wrong := strings.Repeat("0", 64)
	tests := []struct {
		name    string
		secret  string
		headers map[string]string
		query   string
		ok      bool
		mode    string
		problem string
	}{
		{"no secret configured: unverified", "", nil, "", true, booksmeta.AuthUnverified, ""},
		{"no secret, even with junk signature", "", map[string]string{"X-GetCourse-Signature": "sha256=test"}, "", true, booksmeta.AuthUnverified, ""},
		{"sha256= prefix lower hex", secret, map[string]string{"X-GetCourse-Signature": "sha256=" + good}, "", true, booksmeta.AuthSignature, ""},
		{"bare lower hex", secret, map[string]string{"X-GetCourse-Signature": good}, "", true, booksmeta.AuthSignature, ""},
		{"bare upper hex", secret, map[string]string{"X-GetCourse-Signature": strings.ToUpper(good)}, "", true, booksmeta.AuthSignature, ""},
		{"SHA256= prefix upper", secret, map[string]string{"X-GetCourse-Signature": "SHA256=" + strings.ToUpper(good)}, "", true, booksmeta.AuthSignature, ""},
		{"X-Hub-Signature-256", secret, map[string]string{"X-Hub-Signature-256": "sha256=" + good}, "", true, booksmeta.AuthSignature, ""},
		{"X-Signature", secret, map[string]string{"X-Signature": good}, "", true, booksmeta.AuthSignature, ""},
		{"first header wins", secret, map[string]string{"X-GetCourse-Signature": "sha256=" + wrong, "X-Signature": good}, "", false, booksmeta.AuthFailed, "не совпадает"},
		{"query secret", secret, nil, "secret=" + secret, true, booksmeta.AuthQuerySecret, ""},
		{"query secret rescues bad header", secret, map[string]string{"X-GetCourse-Signature": "sha256=test"}, "secret=" + secret, true, booksmeta.AuthQuerySecret, ""},
		{"guide's sha256=test", secret, map[string]string{"X-GetCourse-Signature": "sha256=test"}, "", false, booksmeta.AuthFailed, "неверном формате"},
		{"wrong signature", secret, map[string]string{"X-GetCourse-Signature": "sha256=" + wrong}, "", false, booksmeta.AuthFailed, "не совпадает"},
		{"signature of other body", secret, map[string]string{"X-GetCourse-Signature": Sign(secret, []byte("{}"))}, "", false, booksmeta.AuthFailed, "не совпадает"},
		{"truncated hex", secret, map[string]string{"X-GetCourse-Signature": good[:60]}, "", false, booksmeta.AuthFailed, "неверном формате"},
		{"wrong query secret", secret, nil, "secret=nope", false, booksmeta.AuthFailed, "secret в адресе"},
		{"empty query secret", secret, nil, "secret=", false, booksmeta.AuthFailed, "secret в адресе"},
		{"nothing", secret, nil, "", false, booksmeta.AuthFailed, "Нет подписи"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.headers {
				h.Set(k, v)
			}
			q, _ := url.ParseQuery(tc.query)
			got := Verify(tc.secret, h, q, body)
			if got.OK != tc.ok || got.Mode != tc.mode {
				t.Fatalf("Verify = %+v, want ok=%v mode=%s", got, tc.ok, tc.mode)
			}
			if !strings.Contains(got.Problem, tc.problem) {
				t.Fatalf("problem %q does not mention %q", got.Problem, tc.problem)
			}
			if strings.Contains(got.Problem, good) || strings.Contains(got.Problem, secret) {
				t.Fatal("the problem text leaks the expected signature or the secret")
			}
		})
	}
}

func TestSignAndSecret(t *testing.T) {
	if got := Sign("k", []byte("body")); !strings.HasPrefix(got, "sha256=") || len(got) != 7+64 {
		t.Fatalf("Sign = %q", got)
	}
	a, b := NewSecret(), NewSecret()
	if len(a) != 64 || a == b || strings.ToLower(a) != a {
		t.Fatalf("NewSecret = %q, %q", a, b)
	}
	if _, err := hex.DecodeString(a); err != nil {
		t.Fatal(err)
	}
}
