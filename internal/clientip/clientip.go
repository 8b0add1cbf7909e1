// Package clientip tells the address of an HTTP request's client, and the
// scheme and host the client addressed. The address keys the per-address
// limits (sign-in, portal activation, the OAuth token endpoint) and is the
// source of audit entries, so a client must not be able to choose it.
package clientip

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Of returns the address of r's client. proxies is the number of reverse
// proxies in front of the server, each of which appends the address it
// received the request from to X-Forwarded-For (nginx's
// $proxy_add_x_forwarded_for, most load balancers and ingress
// controllers).
//
// With no proxy the address is the connection's peer. With n, it is the
// n-th address from the end of X-Forwarded-For: the one the outermost
// proxy saw. Addresses before it are whatever the client sent and are
// never used. An entry may carry a port, which is dropped. A header with
// fewer addresses than proxies, or an entry that is not an IP address,
// leaves the peer: the request did not come the way the deployment says
// requests come.
func Of(r *http.Request, proxies int) string {
	peer := peerOf(r)
	if proxies <= 0 {
		return peer
	}
	var hops []string
	for _, line := range r.Header.Values("X-Forwarded-For") {
		for _, h := range strings.Split(line, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	if len(hops) < proxies {
		return peer
	}
	a, ok := parseHop(hops[len(hops)-proxies])
	if !ok {
		return peer
	}
	return a.Unmap().String()
}

// parseHop reads one X-Forwarded-For entry: an address, or an address
// with a port as some load balancers write them ("203.0.113.7:41234",
// "[2001:db8::1]:443").
func parseHop(h string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(h); err == nil {
		return a, true
	}
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr(), true
	}
	return netip.Addr{}, false
}

// peerOf is the connection's remote address without its port.
func peerOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Origin returns the scheme and host r's client addressed: "https" when the
// connection is TLS or secure is set (TLS ends before the server), else
// "http", and r.Host; behind proxies (proxies > 0), the first values of
// X-Forwarded-Proto ("http" or "https") and X-Forwarded-Host, which the
// proxy nearest the client sets, when present.
func Origin(r *http.Request, proxies int, secure bool) (scheme, host string) {
	scheme, host = "http", r.Host
	if r.TLS != nil || secure {
		scheme = "https"
	}
	if proxies > 0 {
		if p := firstValue(r.Header.Get("X-Forwarded-Proto")); p == "http" || p == "https" {
			scheme = p
		}
		if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" {
			host = h
		}
	}
	return scheme, host
}

// firstValue is the first of a header's comma-separated values.
func firstValue(s string) string {
	s, _, _ = strings.Cut(s, ",")
	return strings.TrimSpace(s)
}
