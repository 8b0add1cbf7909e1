package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/server"
)

func TestSelfSignedServesHTTPS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Now()
	_, key, created, err := server.SelfSigned(dir, []string{"localhost", "127.0.0.1"}, now)
	if err != nil || !created {
		t.Fatalf("first SelfSigned: created %v, err %v", created, err)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	// A second start reuses the pair; a new host or an expiry makes a new one.
	if _, _, created, err := server.SelfSigned(dir, []string{"localhost", "127.0.0.1"}, now); err != nil || created {
		t.Fatalf("second SelfSigned: created %v, err %v; want the same pair", created, err)
	}
	if _, _, created, _ := server.SelfSigned(dir, []string{"ehr.example"}, now); !created {
		t.Error("a host the certificate does not cover should make a new one")
	}
	if _, _, created, _ := server.SelfSigned(dir, []string{"ehr.example"}, now.AddDate(2, 0, 0)); !created {
		t.Error("an expired certificate should be replaced")
	}
	cert, key, _, err := server.SelfSigned(dir, []string{"127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}

	cfg, err := server.TLSConfig(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto+" tls="+map[bool]string{true: "yes", false: "no"}[r.TLS != nil])
	})}
	go srv.Serve(tls.NewListener(ln, cfg))
	defer srv.Close()

	pemBytes, _ := os.ReadFile(cert)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("cannot read the certificate back")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatalf("HTTPS request trusting the self-signed certificate: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "HTTP/1.1 tls=yes" {
		t.Errorf("body = %q", body)
	}
	// Without trusting it, a client refuses the connection.
	if _, err := http.Get("https://" + ln.Addr().String() + "/"); err == nil {
		t.Error("an untrusting client connected")
	}
	if _, err := server.TLSConfig(cert, filepath.Join(dir, "missing.pem")); err == nil {
		t.Error("a missing key file should be an error")
	}
}
