package clientip

import (
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
