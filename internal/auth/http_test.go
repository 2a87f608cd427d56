package auth_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"booksmeta/internal/auth"
)

// TestClientIP: X-Forwarded-For is believed only from a trusted proxy, and
// only the entries trusted proxies added: read from the right, the first
// address that is not a trusted proxy is the client; whatever the client
// wrote to the left of it is ignored.
func TestClientIP(t *testing.T) {
	docker := []netip.Prefix{netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("127.0.0.1/32")}
	for _, c := range []struct {
		name    string
		proxies []netip.Prefix
		remote  string
		xff     []string
		want    string
	}{
		{"direct client, header ignored", nil, "203.0.113.5:1234", []string{"1.2.3.4"}, "203.0.113.5"},
		{"loopback proxy by default", nil, "127.0.0.1:1234", []string{"198.51.100.7"}, "198.51.100.7"},
		{"client's own entry ignored", nil, "127.0.0.1:1234", []string{"6.6.6.6, 198.51.100.7"}, "198.51.100.7"},
		{"docker network proxy", docker, "172.18.0.3:5555", []string{"198.51.100.8"}, "198.51.100.8"},
		{"docker proxy not trusted by default", nil, "172.18.0.3:5555", []string{"198.51.100.8"}, "172.18.0.3"},
		{"chain of trusted proxies", docker, "127.0.0.1:1", []string{"6.6.6.6, 198.51.100.9", "172.18.0.3"}, "198.51.100.9"},
		{"garbage entry stops the walk", docker, "172.18.0.3:1", []string{"198.51.100.9, junk"}, "172.18.0.3"},
		{"nothing trusted", []netip.Prefix{}, "127.0.0.1:1", []string{"198.51.100.7"}, "127.0.0.1"},
		{"IPv4-mapped IPv6 peer", nil, "[::ffff:127.0.0.1]:1", []string{"198.51.100.7"}, "198.51.100.7"},
	} {
		s := &auth.Service{TrustedProxies: c.proxies}
		r := httptest.NewRequest("POST", "/login", nil)
		r.RemoteAddr = c.remote
		for _, h := range c.xff {
			r.Header.Add("X-Forwarded-For", h)
		}
		if got := s.ClientIP(r); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
}
