package accesstest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Receiver is a school's access endpoint as SPEC §7 describes it. It
// verifies the Standard Webhooks signature on its own (not with package
// access's Sign), answers POST …/grant with credentials, …/revoke and
// …/check with 2xx, and keeps which bookings it holds open, so a test can
// show that every grant got its revoke.
type Receiver struct {
	Key []byte

	mu     sync.Mutex
	got    []Delivery
	answer map[string]func(w http.ResponseWriter)
	open   map[string]string // booking_id → login of what is granted now
}

// Delivery is one verified request.
type Delivery struct {
	Path, ID string
	TS       int64
	Body     map[string]any
}

// Answer replaces the normal answer for requests whose path ends with
// suffix (e.g. "/grant"); nil restores it.
func (rc *Receiver) Answer(suffix string, f func(w http.ResponseWriter)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.answer == nil {
		rc.answer = map[string]func(http.ResponseWriter){}
	}
	rc.answer[suffix] = f
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, tsText, sigs := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if r.Method != http.MethodPost || id == "" || err != nil || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if d := time.Since(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		http.Error(w, "timestamp too far", http.StatusUnauthorized)
		return
	}
	m := hmac.New(sha256.New, rc.Key)
	m.Write([]byte(id + "." + tsText + "." + string(body)))
	want := m.Sum(nil)
	ok := false
	for _, s := range strings.Fields(sigs) {
		if v, found := strings.CutPrefix(s, "v1,"); found {
			if got, err := base64.StdEncoding.DecodeString(v); err == nil && hmac.Equal(got, want) {
				ok = true
			}
		}
	}
	if !ok {
		http.Error(w, "signature does not match", http.StatusUnauthorized)
		return
	}
	var b map[string]any
	if err := json.Unmarshal(body, &b); err != nil {
		http.Error(w, "not json", http.StatusBadRequest)
		return
	}
	action := r.URL.Path[strings.LastIndex(r.URL.Path, "/"):]
	rc.mu.Lock()
	rc.got = append(rc.got, Delivery{r.URL.Path, id, ts, b})
	f := rc.answer[action]
	rc.mu.Unlock()
	if f != nil {
		f(w)
		return
	}
	booking := fmt.Sprint(b["booking_id"])
	switch action {
	case "/grant":
		rc.setOpen(booking, fmt.Sprint(b["login"]), true)
		fmt.Fprintf(w, `{"host":"rdp.school.example","login":%q,"password":"Pw-%s","instructions":"Подключитесь по RDP."}`, b["login"], id)
	case "/revoke":
		rc.setOpen(booking, "", false)
		w.WriteHeader(http.StatusNoContent)
	case "/check":
		w.Write([]byte(`{"ok":true}`))
	default:
		http.NotFound(w, r)
	}
}

func (rc *Receiver) setOpen(booking, login string, open bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.open == nil {
		rc.open = map[string]string{}
	}
	if open {
		rc.open[booking] = login
	} else {
		delete(rc.open, booking)
	}
}

// Deliveries lists the verified requests so far.
func (rc *Receiver) Deliveries() []Delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Delivery(nil), rc.got...)
}

// Open lists the booking ids granted and not revoked, sorted.
func (rc *Receiver) Open() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for b := range rc.open {
		out = append(out, b)
	}
	sort.Strings(out)
	return out
}
