package access

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// HTTPConfig is the school's endpoint for the http provider.
type HTTPConfig struct {
	URL string
	Key string
	// Timeout bounds one request; 15 s when zero.
	Timeout time.Duration
	// Client is for tests; nil means a client that follows no redirects.
	Client *http.Client
	// Now is for tests; nil means time.Now.
	Now func() time.Time
}

type httpProvider struct {
	base   string
	key    []byte
	client *http.Client
	now    func() time.Time
}

// NewHTTP returns the provider that asks the school's endpoint (SPEC §7).
func NewHTTP(c HTTPConfig) (Provider, error) {
	u, err := url.Parse(c.URL)
	if c.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, permanent("config", "Укажите адрес API сервера (server_api_url) полностью, например https://server.school.ru/booksmeta.",
			fmt.Errorf("bad %s", KeyServerAPIURL))
	}
	key, err := SigningKey(c.Key)
	if err != nil {
		return nil, err
	}
	client := c.Client
	if client == nil {
		t := c.Timeout
		if t == 0 {
			t = 15 * time.Second
		}
		// A redirected POST turns into a GET, which the receiver would not
		// take for a grant: better to say the address is wrong.
		client = &http.Client{Timeout: t, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	return &httpProvider{base: strings.TrimRight(c.URL, "/"), key: key, client: client, now: now}, nil
}

// SigningKey is the HMAC key of server_api_key: its bytes, or for a
// Standard Webhooks secret "whsec_…" the base64 decoding of the rest.
func SigningKey(s string) ([]byte, error) {
	if s == "" {
		return nil, permanent("config", "Укажите ключ API сервера (server_api_key): тот же, что настроен на стороне сервера.", fmt.Errorf("empty %s", KeyServerAPIKey))
	}
	if rest, ok := strings.CutPrefix(s, "whsec_"); ok {
		k, err := base64.StdEncoding.DecodeString(rest)
		if err != nil || len(k) == 0 {
			return nil, permanent("config", "Ключ API сервера (server_api_key) начинается с whsec_, но после него не base64: скопируйте ключ целиком.", fmt.Errorf("bad whsec %s", KeyServerAPIKey))
		}
		return k, nil
	}
	return []byte(s), nil
}

// Sign returns the webhook-signature header value for one request.
func Sign(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", id, ts)
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// WebhookID is the webhook-id of one action on one booking: every retry of
// it carries the same id, so the receiver can tell a retry from a new action.
func WebhookID(action string, bookingID int64, seq int) string {
	id := "booksmeta_" + action + "_" + strconv.FormatInt(bookingID, 10)
	if seq > 0 {
		id += "_" + strconv.Itoa(seq)
	}
	return id
}

type grantBody struct {
	BookingID int64       `json:"booking_id"`
	SlotID    int64       `json:"slot_id"`
	Login     string      `json:"login"`
	StartsAt  time.Time   `json:"starts_at"`
	EndsAt    time.Time   `json:"ends_at"`
	Student   studentBody `json:"student"`
}

type studentBody struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

type grantAnswer struct {
	Host         string `json:"host"`
	Login        string `json:"login"`
	Password     string `json:"password"`
	Instructions string `json:"instructions"`
}

func (h *httpProvider) Grant(ctx context.Context, r GrantRequest) (Credentials, error) {
	body, _ := json.Marshal(grantBody{BookingID: r.BookingID, SlotID: r.SlotID, Login: r.Login,
		StartsAt: r.StartsAt.UTC(), EndsAt: r.EndsAt.UTC(), Student: studentBody{r.Student.Email, r.Student.Name}})
	answer, err := h.post(ctx, "grant", WebhookID("grant", r.BookingID, r.Seq), body)
	if err != nil {
		return Credentials{}, err
	}
	var a grantAnswer
	if err := json.Unmarshal(answer, &a); err != nil || a.Password == "" {
		// The answer itself is not quoted: it may hold a password.
		return Credentials{}, permanent("grant", "Сервер ответил на выдачу доступа без пароля: ответ должен быть JSON с полем password (SPEC §7). Проверьте программу на стороне сервера.",
			errors.New("grant answer is not JSON with a password"))
	}
	c := Credentials(a)
	if c.Login == "" {
		c.Login = r.Login
	}
	return c, nil
}

func (h *httpProvider) Revoke(ctx context.Context, r RevokeRequest) error {
	body, _ := json.Marshal(struct {
		BookingID int64  `json:"booking_id"`
		Login     string `json:"login"`
	}{r.BookingID, r.Login})
	_, err := h.post(ctx, "revoke", WebhookID("revoke", r.BookingID, r.Seq), body)
	return err
}

func (h *httpProvider) Check(ctx context.Context) Verdict {
	// A check is never retried, so its id only has to be unique.
	b := make([]byte, 8)
	rand.Read(b)
	if _, err := h.post(ctx, "check", "booksmeta_check_"+hex.EncodeToString(b), []byte("{}")); err != nil {
		return Verdict{Message: Message(err)}
	}
	return Verdict{OK: true, Message: "Сервер принял подписанный запрос: адрес и ключ верны. Ничего не выдано."}
}

// post sends one signed request and returns the body of a 2xx answer.
func (h *httpProvider) post(ctx context.Context, action, id string, body []byte) ([]byte, error) {
	ts := h.now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"/"+action, bytes.NewReader(body))
	if err != nil {
		return nil, permanent(action, "Адрес API сервера (server_api_url) не подходит для запроса.", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "booksmeta")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", Sign(h.key, id, ts, body))
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, transportError(action, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, retryable(action, "Сервер оборвал ответ. Book Smeta повторит попытку сама.", err)
	}
	if resp.StatusCode/100 == 2 {
		return answer, nil
	}
	return nil, statusError(action, resp.StatusCode, answer)
}

func statusError(action string, code int, answer []byte) error {
	// An error answer is quoted for the admin (it is where the receiver says
	// what failed); a success answer never is, it may hold a password.
	cause := fmt.Errorf("%s answered %d: %s", action, code, snippet(answer))
	switch {
	case code == 401 || code == 403:
		return permanent(action, fmt.Sprintf("Сервер отклонил подпись запроса (код %d): ключ server_api_key в Book Smeta и на сервере должен быть одинаковым, а часы обоих — верными.", code), cause)
	case code == 404 || code == 405:
		return permanent(action, fmt.Sprintf("Сервер не нашёл адрес запроса (код %d): проверьте server_api_url — Book Smeta добавляет к нему /grant, /revoke и /check.", code), cause)
	case code/100 == 3:
		return permanent(action, fmt.Sprintf("Сервер перенаправляет запрос (код %d): укажите в server_api_url конечный адрес, например с https://.", code), cause)
	case code == 408 || code == 425 || code == 429 || code/100 == 5:
		return retryable(action, fmt.Sprintf("Сервер временно не смог выполнить запрос (код %d). Book Smeta повторит попытку сама.", code), cause)
	}
	return permanent(action, fmt.Sprintf("Сервер отказал (код %d): %s", code, snippet(answer)), cause)
}

func transportError(action string, err error) error {
	var uerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	var cerr x509.CertificateInvalidError
	if errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &cerr) {
		return permanent(action, "Сертификат HTTPS сервера не прошёл проверку: установите на сервер действующий сертификат для этого адреса.", err)
	}
	if errors.Is(err, context.Canceled) {
		return retryable(action, "Запрос прерван. Book Smeta повторит попытку сама.", err)
	}
	return retryable(action, "Сервер недоступен или не ответил вовремя. Book Smeta повторит попытку сама; если так продолжается, проверьте, что сервер включён и адрес server_api_url верен.", err)
}

// snippet is one short line of an error answer for the admin.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	if s == "" {
		return "без пояснений"
	}
	return s
}
