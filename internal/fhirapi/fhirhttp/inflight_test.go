package fhirhttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestBundleBytesWeight(t *testing.T) {
	b := newBundleBytes(0, 1000)
	if b.budget != DefaultMaxBundleBytes {
		t.Fatalf("default budget %d, want %d", b.budget, DefaultMaxBundleBytes)
	}
	b = newBundleBytes(10, 1000)
	if b.budget != 1000 {
		t.Fatalf("a budget below the body limit is raised to it: got %d", b.budget)
	}
	plain := httptest.NewRequest(http.MethodPost, "http://x/fhir", strings.NewReader(strings.Repeat("x", 300)))
	chunked := httptest.NewRequest(http.MethodPost, "http://x/fhir", strings.NewReader("{}"))
	chunked.ContentLength = -1
	gz := httptest.NewRequest(http.MethodPost, "http://x/fhir", strings.NewReader("{}"))
	gz.Header.Set("Content-Encoding", "gzip")
	huge := httptest.NewRequest(http.MethodPost, "http://x/fhir", nil)
	huge.ContentLength = 1 << 30
	for _, c := range []struct {
		name string
		r    *http.Request
		want int64
	}{{"Content-Length", plain, 300}, {"chunked", chunked, 1000}, {"gzip", gz, 1000}, {"over the limit", huge, 1000}} {
		if got := b.weight(c.r); got != c.want {
			t.Errorf("%s: weight %d, want %d", c.name, got, c.want)
		}
	}
}

// TestBundleBytesQueue: a Bundle that does not fit in what is left of the
// budget waits until bytes are given back; one that fits goes ahead.
func TestBundleBytesQueue(t *testing.T) {
	b := newBundleBytes(1000, 1000)
	req := func(n int64) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "http://x/fhir", nil)
		r.ContentLength = n
		return r
	}
	release, err := b.acquire(context.Background(), req(600))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.acquire(ctx, req(500)); err == nil {
		t.Fatal("500 bytes were admitted with 400 left")
	}
	small, err := b.acquire(context.Background(), req(400))
	if err != nil {
		t.Fatalf("400 bytes with 400 left: %v", err)
	}
	small()
	done := make(chan func())
	go func() {
		r, err := b.acquire(context.Background(), req(900))
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	select {
	case <-done:
		t.Fatal("900 bytes were admitted while 600 were held")
	case <-time.After(50 * time.Millisecond):
	}
	release()
	select {
	case r := <-done:
		r()
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting Bundle was not admitted after the bytes were given back")
	}
}

// TestBundleBytesWaitsInHandler: with the byte budget spent, a Bundle POST
// waits without touching the API, gives up when its client goes away, and
// gives its Bundle slot back.
func TestBundleBytesWaitsInHandler(t *testing.T) {
	h := New(nil, Options{BasePath: "/fhir", MaxBody: 1000, MaxBundleBytes: 1000}).(*handler)
	hold, err := h.bytes.acquire(context.Background(), httptest.NewRequest(http.MethodPost, "http://x/fhir", strings.NewReader(strings.Repeat("x", 1000))))
	if err != nil {
		t.Fatal(err)
	}
	defer hold()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r := httptest.NewRequest(http.MethodPost, "http://x/fhir", strings.NewReader(`{}`)).WithContext(ctx)
	h.ServeHTTP(httptest.NewRecorder(), r) // would panic on the nil API if it did not wait
	if ctx.Err() == nil {
		t.Fatal("returned before its client gave up, without bytes in the budget")
	}
	if len(h.bundles) != 0 {
		t.Fatalf("the Bundle slot was not given back: %d taken", len(h.bundles))
	}
}
