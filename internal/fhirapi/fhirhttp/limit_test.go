package fhirhttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestIsBundlePost(t *testing.T) {
	h := New(nil, Options{BasePath: "/fhir"}).(*handler)
	cases := []struct {
		method, path string
		want         bool
	}{
		{"POST", "/fhir", true},
		{"POST", "/fhir/", true},
		{"POST", "/", true}, // mounted under http.StripPrefix
		{"POST", "", true},
		{"POST", "/fhir/Patient", false},
		{"POST", "/fhir/Patient/_search", false},
		{"GET", "/fhir", false},
		{"PUT", "/fhir", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, "http://x"+c.path, nil)
		r.URL.Path, r.URL.RawPath = c.path, ""
		if got := h.isBundlePost(r); got != c.want {
			t.Errorf("%s %q: isBundlePost = %v, want %v", c.method, c.path, got, c.want)
		}
	}
}

// TestBundleLimitWaits: with every slot taken, a Bundle POST waits, and
// gives up when its client goes away, without touching the API.
func TestBundleLimitWaits(t *testing.T) {
	h := New(nil, Options{BasePath: "/fhir", MaxBundles: 1}).(*handler)
	h.bundles <- struct{}{} // the only slot is busy
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r := httptest.NewRequest(http.MethodPost, "http://x/fhir", strings.NewReader(`{}`)).WithContext(ctx)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r) // would panic on the nil API if it did not wait
	if ctx.Err() == nil {
		t.Fatal("returned before its client gave up, without a slot")
	}
	if len(h.bundles) != 1 {
		t.Fatalf("the slot count changed: %d", len(h.bundles))
	}
}

func TestIsEverything(t *testing.T) {
	cases := []struct {
		method, path string
		want         bool
	}{
		{"GET", "/fhir/Patient/p1/$everything", true},
		{"POST", "/fhir/Patient/p1/$everything", true},
		{"GET", "/Patient/p1/$everything/", true},
		{"GET", "/fhir/Patient/$everything", true},
		{"GET", "/fhir/Patient/p1", false},
		{"GET", "/fhir/Patient/p1/$validate", false},
		{"GET", "/fhir/Patient?name=$everything", false},
		{"DELETE", "/fhir/Patient/p1/$everything", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, "http://x"+c.path, nil)
		if got := isEverything(r); got != c.want {
			t.Errorf("%s %q: isEverything = %v, want %v", c.method, c.path, got, c.want)
		}
	}
}

// TestEverythingLimitWaits: with every slot taken, a $everything waits,
// and gives up when its client goes away, without touching the API.
func TestEverythingLimitWaits(t *testing.T) {
	h := New(nil, Options{BasePath: "/fhir", MaxEverything: 1}).(*handler)
	h.heavy <- struct{}{} // the only slot is busy
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r := httptest.NewRequest(http.MethodGet, "http://x/fhir/Patient/p1/$everything", nil).WithContext(ctx)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r) // would panic on the nil API if it did not wait
	if ctx.Err() == nil {
		t.Fatal("returned before its client gave up, without a slot")
	}
	if len(h.heavy) != 1 {
		t.Fatalf("the slot count changed: %d", len(h.heavy))
	}
}
