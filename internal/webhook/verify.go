package webhook

import (
	"booksmeta"

	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SignatureHeaders are read in this order (SPEC §4).
var SignatureHeaders = []string{"X-GetCourse-Signature", "X-Hub-Signature-256", "X-Signature"}

// AuthResult says whether and how a request authenticated.
type AuthResult struct {
	OK      bool
	Mode    string // booksmeta.Auth*
	Problem string // for the sender and the log, in Russian: what is wrong and what to do
}

// Verify authenticates a request against secret. With no secret every
// request passes as unverified (the admin panel warns about that mode).
func Verify(secret string, h http.Header, query url.Values, body []byte) AuthResult {
	if secret == "" {
		return AuthResult{OK: true, Mode: booksmeta.AuthUnverified}
	}
	var sigHeader, sigValue string
	for _, name := range SignatureHeaders {
		if v := strings.TrimSpace(h.Get(name)); v != "" {
			sigHeader, sigValue = name, v
			break
		}
	}
	_, hasQuery := query["secret"]
	var problems []string
	if sigHeader != "" {
		hexPart := sigValue
		if len(hexPart) > 7 && strings.EqualFold(hexPart[:7], "sha256=") {
			hexPart = hexPart[7:]
		}
		got, err := hex.DecodeString(hexPart)
		switch {
		case err != nil || len(got) != sha256.Size:
			problems = append(problems, "подпись в заголовке "+sigHeader+" в неверном формате: ожидается sha256= и 64 шестнадцатеричных символа (HMAC-SHA256 тела запроса)")
		case hmac.Equal(got, mac(secret, body)):
			return AuthResult{OK: true, Mode: booksmeta.AuthSignature}
		default:
			problems = append(problems, "подпись в заголовке "+sigHeader+" не совпадает: проверьте, что в GetCourse и в Book Smeta (Настройки → GetCourse API → Webhook секрет) указан один и тот же секрет")
		}
	}
	if hasQuery {
		if equalSecret(query.Get("secret"), secret) {
			return AuthResult{OK: true, Mode: booksmeta.AuthQuerySecret}
		}
		problems = append(problems, "параметр secret в адресе не совпадает с webhook секретом в настройках Book Smeta: скопируйте адрес заново из Настройки → GetCourse API")
	}
	if len(problems) == 0 {
		return AuthResult{Mode: booksmeta.AuthFailed, Problem: "Нет подписи: запрос должен содержать заголовок X-GetCourse-Signature с HMAC-SHA256 тела или параметр ?secret=… в адресе (для вызова URL из процесса GetCourse)."}
	}
	return AuthResult{Mode: booksmeta.AuthFailed, Problem: sentence(strings.Join(problems, "; "))}
}

// equalSecret compares in constant time, hashing first so that not even the
// length of the secret leaks through timing.
func equalSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// sentence capitalises the first letter and ends with a full stop.
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:] + "."
}
