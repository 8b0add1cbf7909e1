package fhirhttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestBundleBytesBudget(t *testing.T) {
	if b := newBundleBytes(0, 1000); b.budget != DefaultMaxBundleBytes {
		t.Fatalf("default budget %d, want %d", b.budget, DefaultMaxBundleBytes)
	}
	if b := newBundleBytes(10, 1000); b.budget != 1000 {
		t.Fatalf("a budget below the body limit is raised to it: got %d", b.budget)
	}
}

// TestBundleBytesQueue: a Bundle that does not fit in what is left of the
// budget waits until bytes are given back; one that fits goes ahead.
func TestBundleBytesQueue(t *testing.T) {
	b := newBundleBytes(1000, 1000)
	release, err := b.acquire(context.Background(), 600)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.acquire(ctx, 500); err == nil {
		t.Fatal("500 bytes were admitted with 400 left")
	}
	small, err := b.acquire(context.Background(), 400)
	if err != nil {
		t.Fatalf("400 bytes with 400 left: %v", err)
	}
	small()
	done := make(chan func())
	go func() {
		r, err := b.acquire(context.Background(), 900)
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
// waits after its body is read, without processing it, gives up when its
// client goes away, and gives its Bundle slot back.
func TestBundleBytesWaitsInHandler(t *testing.T) {
	h := New(nil, Options{BasePath: "/fhir", MaxBody: 1000, MaxBundleBytes: 1000}).(*handler)
	hold, err := h.bytes.acquire(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer hold()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r := httptest.NewRequest(http.MethodPost, "http://x/fhir", strings.NewReader(`{"resourceType":"Bundle"}`)).WithContext(ctx)
	r.Header.Set("Content-Type", "application/fhir+json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r) // would panic on the nil API if it did not wait
	if ctx.Err() == nil {
		t.Fatalf("returned before its client gave up, without bytes in the budget (status %d: %s)", w.Code, w.Body)
	}
	if len(h.bundles) != 0 {
		t.Fatalf("the Bundle slot was not given back: %d taken", len(h.bundles))
	}
}
