package access_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"booksmeta/internal/access"
	"booksmeta/internal/access/accesstest"
)

type receiver = accesstest.Receiver

func httpProvider(t *testing.T, url, key string) access.Provider {
	t.Helper()
	cfg, err := access.ConfigFrom(func(k string) string {
		return map[string]string{access.KeyProvider: "http", access.KeyServerAPIURL: url, access.KeyServerAPIKey: key}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := access.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHTTPSignedGrantRevokeCheck(t *testing.T) {
	raw := []byte("0123456789abcdef0123456789abcdef")
	for name, key := range map[string]string{
		"plain key":  string(raw),
		"whsec_ key": "whsec_" + base64.StdEncoding.EncodeToString(raw),
	} {
		t.Run(name, func(t *testing.T) {
			rc := &receiver{Key: raw}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			p := httpProvider(t, srv.URL+"/api/", key)
			ctx := context.Background()
			starts := time.Date(2026, 12, 3, 10, 0, 0, 0, time.FixedZone("MSK", 3*3600))
			g := access.GrantRequest{BookingID: 42, SlotID: 7, Login: "stud02", StartsAt: starts, EndsAt: starts.Add(time.Hour),
				Student: access.Student{Email: "anna@example.ru", Name: "Анна"}}

			c, err := p.Grant(ctx, g)
			if err != nil {
				t.Fatalf("Grant: %v", err)
			}
			if c.Host != "rdp.school.example" || c.Login != "stud02" || c.Password != "Pw-booksmeta_grant_42" || c.Instructions == "" {
				t.Fatalf("credentials %#v / %s", c, c.Password)
			}
			// A retry of the same grant carries the same id; a later grant
			// of the booking after a revoke (Seq 1) does not.
			if _, err := p.Grant(ctx, g); err != nil {
				t.Fatal(err)
			}
			if err := p.Revoke(ctx, access.RevokeRequest{BookingID: 42, Login: "stud02"}); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			if err := p.Revoke(ctx, access.RevokeRequest{BookingID: 42, Login: "stud02"}); err != nil {
				t.Fatalf("repeated Revoke: %v", err)
			}
			g.Seq = 1
			if _, err := p.Grant(ctx, g); err != nil {
				t.Fatal(err)
			}
			if v := p.Check(ctx); !v.OK {
				t.Fatalf("Check: %+v", v)
			}

			d := rc.Deliveries()
			if len(d) != 6 {
				t.Fatalf("%d deliveries", len(d))
			}
			ids := []string{d[0].ID, d[1].ID, d[2].ID, d[3].ID, d[4].ID}
			if ids[0] != ids[1] || ids[2] != ids[3] || ids[0] == ids[2] || ids[4] == ids[0] {
				t.Fatalf("webhook ids %q", ids)
			}
			want := map[string]any{"booking_id": 42.0, "slot_id": 7.0, "login": "stud02", "starts_at": "2026-12-03T07:00:00Z",
				"ends_at": "2026-12-03T08:00:00Z", "student": map[string]any{"email": "anna@example.ru", "name": "Анна"}}
			if got, _ := json.Marshal(d[0].Body); string(got) != mustJSON(want) {
				t.Fatalf("grant body %s", got)
			}
			if got, _ := json.Marshal(d[2].Body); string(got) != `{"booking_id":42,"login":"stud02"}` || d[2].Path != "/api/revoke" {
				t.Fatalf("revoke %s %s", d[2].Path, got)
			}
			if d[5].Path != "/api/check" || len(d[5].Body) != 0 {
				t.Fatalf("check %s %v", d[5].Path, d[5].Body)
			}
		})
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// A receiver with another key refuses, and the admin is told which setting
// to compare; nothing about it is retryable.
func TestHTTPWrongKeyRefused(t *testing.T) {
	rc := &receiver{Key: []byte("the-server-side-key")}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	p := httpProvider(t, srv.URL, "a-different-key")
	_, err := p.Grant(context.Background(), access.GrantRequest{BookingID: 1})
	if err == nil || access.Retryable(err) || !strings.Contains(access.Message(err), "server_api_key") {
		t.Fatalf("grant with a wrong key: %v / %s", err, access.Message(err))
	}
	v := p.Check(context.Background())
	if v.OK || !strings.Contains(v.Message, "отклонил подпись") {
		t.Fatalf("check verdict %+v", v)
	}
	if len(rc.Deliveries()) != 0 {
		t.Fatal("the receiver accepted a request signed with a wrong key")
	}
}

// Which failures pass by themselves and which need the admin.
func TestHTTPErrorsClassified(t *testing.T) {
	key := "k"
	rc := &receiver{Key: []byte(key)}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	p := httpProvider(t, srv.URL+"/api", key)
	ctx := context.Background()
	cases := []struct {
		name      string
		answer    func(w http.ResponseWriter)
		retryable bool
		message   string
	}{
		{"http.StatusServiceUnavailable", func(w http.ResponseWriter) { http.Error(w, "busy", http.StatusServiceUnavailable) }, true, "временно"},
		{"429", func(w http.ResponseWriter) { w.WriteHeader(429) }, true, "временно"},
		{"404", func(w http.ResponseWriter) { w.WriteHeader(404) }, false, "server_api_url"},
		{"http.StatusUnprocessableEntity quotes the receiver", func(w http.ResponseWriter) {
			http.Error(w, "net user: account stud02 not found", http.StatusUnprocessableEntity)
		}, false, "stud02 not found"},
		{"redirect is not followed", func(w http.ResponseWriter) { w.Header().Set("Location", "/elsewhere"); w.WriteHeader(302) }, false, "конечный адрес"},
		{"200 without a password", func(w http.ResponseWriter) { w.Write([]byte(`{"login":"x"}`)) }, false, "без пароля"},
		{"200 not JSON", func(w http.ResponseWriter) { w.Write([]byte(`<html>secret-ish</html>`)) }, false, "без пароля"},
	}
	for _, c := range cases {
		rc.Answer("/grant", c.answer)
		_, err := p.Grant(ctx, access.GrantRequest{BookingID: 3})
		if err == nil || access.Retryable(err) != c.retryable || !strings.Contains(access.Message(err), c.message) {
			t.Errorf("%s: %v (retryable %v) %q", c.name, err, access.Retryable(err), access.Message(err))
		}
		if err != nil && strings.Contains(err.Error()+access.Message(err), "secret-ish") {
			t.Errorf("%s: a success answer was quoted", c.name)
		}
	}

	// Nobody listening, and a receiver slower than the timeout: retryable.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	if err := httpProvider(t, dead.URL, key).Revoke(ctx, access.RevokeRequest{BookingID: 3}); !access.Retryable(err) || !strings.Contains(access.Message(err), "недоступен") {
		t.Errorf("refused connection: %v", err)
	}
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer slow.Close()
	defer close(release)
	sp, _ := access.NewHTTP(access.HTTPConfig{URL: slow.URL, Key: key, Timeout: 200 * time.Millisecond})
	if err := sp.Revoke(ctx, access.RevokeRequest{BookingID: 3}); !access.Retryable(err) {
		t.Errorf("timeout: %v", err)
	}
}

func TestHTTPConfigRefusals(t *testing.T) {
	for _, c := range []struct{ url, key, message string }{
		{"", "k", "server_api_url"},
		{"server.school.ru/api", "k", "полностью"},
		{"https://server.school.ru", "", "server_api_key"},
		{"https://server.school.ru", "whsec_not base64!", "whsec_"},
	} {
		_, err := access.New(access.Config{Provider: "http", HTTP: access.HTTPConfig{URL: c.url, Key: c.key}})
		if err == nil || !strings.Contains(access.Message(err), c.message) {
			t.Errorf("%q %q: %v", c.url, c.key, access.Message(err))
		}
	}
}
