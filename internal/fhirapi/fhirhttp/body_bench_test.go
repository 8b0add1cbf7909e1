package fhirhttp

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http/httptest"
	"testing"
)

// BenchmarkWriteBodyGzip writes a 4 kB resource to a client that accepts
// gzip: the allocations per response show whether compressors are reused.
func BenchmarkWriteBodyGzip(b *testing.B) {
	body := bytes.Repeat([]byte(`{"resourceType":"Observation","status":"final"},`), 85)
	r := httptest.NewRequest("GET", "/fhir/Observation/1", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		writeBody(w, r, 200, body)
	}
}

func TestWriteBodyGzipReused(t *testing.T) {
	r := httptest.NewRequest("GET", "/fhir/Observation/1", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	// Responses compressed by the same pooled writer one after the other
	// each decompress to their own body.
	for _, body := range [][]byte{bytes.Repeat([]byte("a"), 5000), bytes.Repeat([]byte("bc"), 3000), bytes.Repeat([]byte("a"), 5000)} {
		w := httptest.NewRecorder()
		writeBody(w, r, 200, body)
		if w.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("not compressed: %v", w.Header())
		}
		zr, err := gzip.NewReader(w.Body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("decompressed %d bytes (%v), want %d", len(got), err, len(body))
		}
	}
}
