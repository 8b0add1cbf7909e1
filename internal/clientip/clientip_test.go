package clientip

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

func TestOf(t *testing.T) {
	tests := []struct {
		name    string
		xff     []string // X-Forwarded-For lines
		proxies int
		want    string
	}{
		{"no proxy: the peer, whatever the header says", []string{"203.0.113.7"}, 0, "192.0.2.1"},
		{"one proxy, no header: the peer", nil, 1, "192.0.2.1"},
		{"one proxy: the address it appended", []string{"203.0.113.7"}, 1, "203.0.113.7"},
		{"one proxy: a client's own header is not believed", []string{"10.9.9.9, 203.0.113.7"}, 1, "203.0.113.7"},
		{"two proxies: the outer one's", []string{"10.9.9.9, 203.0.113.7, 10.0.0.5"}, 2, "203.0.113.7"},
		{"lines are joined in order", []string{"10.9.9.9", "203.0.113.7, 10.0.0.5"}, 2, "203.0.113.7"},
		{"fewer addresses than proxies: the peer", []string{"203.0.113.7"}, 2, "192.0.2.1"},
		{"not an address: the peer", []string{"203.0.113.7, unknown"}, 1, "192.0.2.1"},
		{"IPv6", []string{" 2001:db8::1 "}, 1, "2001:db8::1"},
		{"IPv4 in IPv6", []string{"::ffff:203.0.113.7"}, 1, "203.0.113.7"},
		{"with a port", []string{"203.0.113.7:41234"}, 1, "203.0.113.7"},
		{"IPv6 with a port", []string{"[2001:db8::1]:443"}, 1, "2001:db8::1"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "192.0.2.1:54321"
		for _, l := range tc.xff {
			r.Header.Add("X-Forwarded-For", l)
		}
		if got := Of(r, tc.proxies); got != tc.want {
			t.Errorf("%s: Of = %q, want %q", tc.name, got, tc.want)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "pipe"
	if got := Of(r, 0); got != "pipe" {
		t.Errorf("a peer without a port: %q", got)
	}
}

func TestOrigin(t *testing.T) {
	tests := []struct {
		name          string
		proxies       int
		secure, tls   bool
		proto, fwHost string
		scheme, host  string
	}{
		{"plain", 0, false, false, "", "", "http", "chart.example:8080"},
		{"TLS", 0, false, true, "", "", "https", "chart.example:8080"},
		{"TLS ends before the server", 0, true, false, "", "", "https", "chart.example:8080"},
		{"forwarded headers without a proxy are ignored", 0, false, false, "https", "evil.example", "http", "chart.example:8080"},
		{"behind a proxy", 1, false, false, "https", "ehr.example, inner", "https", "ehr.example"},
		{"an unknown scheme is ignored", 1, false, false, "gopher", "", "http", "chart.example:8080"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://chart.example:8080/fhir/metadata", nil)
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tc.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			if tc.fwHost != "" {
				r.Header.Set("X-Forwarded-Host", tc.fwHost)
			}
			scheme, host := Origin(r, tc.proxies, tc.secure)
			if scheme != tc.scheme || host != tc.host {
				t.Errorf("Origin = %s://%s, want %s://%s", scheme, host, tc.scheme, tc.host)
			}
		})
	}
}
