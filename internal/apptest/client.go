package apptest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"testing"
	"time"
)

// Client is a signed-in user of the JSON API (SPEC §5): its cookie jar
// holds the session, and it sends the CSRF token the sign-in returned.
type Client struct {
	t    testing.TB
	url  string
	http *http.Client
	// CSRF is the token the sign-in returned; tests clear or spoil it.
	CSRF string
}

// NewClient returns a signed-out client of s.
func (s *Server) NewClient(t testing.TB) *Client { return NewClientAt(t, s.URL) }

// NewClientAt returns a signed-out client of the Book Smeta at url (a
// separate process, in the crash tests).
func NewClientAt(t testing.TB, url string) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{t: t, url: url, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// Do sends body as JSON (nil: none) and decodes the JSON answer.
func (c *Client) Do(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.CSRF != "" {
		req.Header.Set("X-CSRF-Token", c.CSRF)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			c.t.Fatalf("%s %s: not JSON (%d): %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, m
}

// Login signs in through the API, failing the test if it does not succeed.
func (c *Client) Login(email, password string) {
	c.t.Helper()
	st, m := c.Do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password})
	if st != http.StatusOK {
		c.t.Fatalf("login %s: %d %v", email, st, m)
	}
	c.CSRF, _ = m["csrf_token"].(string)
}

// Page gets an HTML page with the client's session.
func (c *Client) Page(path string) (int, string) {
	c.t.Helper()
	resp, err := c.http.Get(c.url + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
