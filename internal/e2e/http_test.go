package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/openchart/openchart/internal/fhir"
)

// client is a small FHIR HTTP client for the tests.
type client struct {
	t    fataler
	base string
}

// fataler is what the client needs of a *testing.T or *rapid.T.
type fataler interface {
	Fatal(args ...any)
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (c client) do(method, path string, body any, header ...string) reply {
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			rd = bytes.NewReader(fhir.Marshal(b))
		}
	}
	req, err := http.NewRequest(method, c.base+"/fhir/"+strings.TrimPrefix(path, "/"), rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if v, err := fhir.ParseJSON(raw, fhir.ParseOptions{}); err == nil {
			r.body, _ = v.(map[string]any)
		}
	}
	return r
}

func patient(id, family string, extra int) map[string]any {
	p := map[string]any{
		"resourceType": "Patient",
		"name":         []any{map[string]any{"family": family, "given": []any{"Ann"}}},
		"gender":       "female",
		"birthDate":    fmt.Sprintf("19%02d-01-15", 30+extra%60),
	}
	if id != "" {
		p["id"] = id
	}
	return p
}

// TestVersionInvariants is a property test over the HTTP API on both stores:
// after any sequence of updates (with correct, stale or no If-Match),
// deletes and reads, every resource's ETag, meta.versionId and history agree
// with a simple model, and every version reads back as written.
func TestVersionInvariants(t *testing.T) {
	for name, cfg := range stores(t) {
		t.Run(name, func(t *testing.T) {
			a := openApp(t, cfg(t))
			ts := serve(t, a)
			run := 0
			rapid.Check(t, func(rt *rapid.T) {
				run++
				c := client{t: rt, base: ts.URL}
				ids := []string{fmt.Sprintf("r%d-a", run), fmt.Sprintf("r%d-b", run)}
				type version struct {
					family  string
					born    int // the birth year's offset: part of the content too
					deleted bool
				}
				model := map[string][]version{}
				current := func(id string) (int, bool) { // version, deleted
					v := model[id]
					if len(v) == 0 {
						return 0, false
					}
					return len(v), v[len(v)-1].deleted
				}
				steps := rapid.IntRange(1, 12).Draw(rt, "steps")
				for i := 0; i < steps; i++ {
					id := rapid.SampledFrom(ids).Draw(rt, "id")
					cur, deleted := current(id)
					switch rapid.IntRange(0, 3).Draw(rt, "op") {
					case 0, 1: // update, with If-Match none / right / stale
						family := rapid.StringMatching(`[A-Z][a-z]{1,8}`).Draw(rt, "family")
						born := rapid.IntRange(0, 1).Draw(rt, "born")
						ifMatch := rapid.IntRange(0, 2).Draw(rt, "ifmatch")
						var hdr []string
						stale := false
						switch {
						case ifMatch == 1 && cur > 0 && !deleted:
							hdr = []string{"If-Match", fmt.Sprintf(`W/"%d"`, cur)}
						case ifMatch == 2 && cur > 1 && !deleted:
							hdr = []string{"If-Match", fmt.Sprintf(`W/"%d"`, cur-1)}
							stale = true
						}
						r := c.do("PUT", "Patient/"+id, patient(id, family, born), hdr...)
						if stale {
							if r.status != http.StatusPreconditionFailed {
								rt.Fatalf("stale If-Match: status %d, want 412", r.status)
							}
							continue
						}
						sameAsCurrent := cur > 0 && !deleted && model[id][cur-1].family == family && model[id][cur-1].born == born
						if sameAsCurrent {
							// Unchanged content writes no version.
							if r.status != http.StatusOK {
								rt.Fatalf("no-op update: status %d", r.status)
							}
							continue
						}
						want := http.StatusOK
						if cur == 0 || deleted {
							want = http.StatusCreated
						}
						if r.status != want {
							rt.Fatalf("PUT %s: status %d, want %d: %s", id, r.status, want, r.raw)
						}
						model[id] = append(model[id], version{family: family, born: born})
						if got := r.header.Get("ETag"); got != fmt.Sprintf(`W/"%d"`, len(model[id])) {
							rt.Fatalf("PUT %s: ETag %q, want version %d", id, got, len(model[id]))
						}
					case 2: // delete
						r := c.do("DELETE", "Patient/"+id, nil)
						if r.status != http.StatusNoContent && r.status != http.StatusOK {
							rt.Fatalf("DELETE: status %d", r.status)
						}
						if cur > 0 && !deleted {
							model[id] = append(model[id], version{deleted: true})
						}
					case 3: // read
						r := c.do("GET", "Patient/"+id, nil)
						switch {
						case cur == 0:
							if r.status != http.StatusNotFound {
								rt.Fatalf("read of never-created: status %d", r.status)
							}
						case deleted:
							if r.status != http.StatusGone {
								rt.Fatalf("read of deleted: status %d", r.status)
							}
						default:
							if r.status != http.StatusOK {
								rt.Fatalf("read: status %d", r.status)
							}
						}
					}
				}
				// Check every resource against the model.
				for _, id := range ids {
					versions := model[id]
					if len(versions) == 0 {
						continue
					}
					h := c.do("GET", "Patient/"+id+"/_history", nil)
					if h.status != http.StatusOK {
						rt.Fatalf("history: %d", h.status)
					}
					entries, _ := h.body["entry"].([]any)
					if len(entries) != len(versions) {
						rt.Fatalf("history of %s has %d entries, want %d", id, len(entries), len(versions))
					}
					for n, v := range versions {
						// History lists newest first; deletions are DELETE entries.
						e := entries[len(versions)-1-n].(map[string]any)
						req, _ := e["request"].(map[string]any)
						if (req["method"] == "DELETE") != v.deleted {
							rt.Fatalf("history entry of %s/%d: method %v, deleted %v", id, n+1, req["method"], v.deleted)
						}
						r := c.do("GET", "Patient/"+id+"/_history/"+strconv.Itoa(n+1), nil)
						if v.deleted {
							if r.status != http.StatusGone {
								rt.Fatalf("vread of deletion %s/%d: %d", id, n+1, r.status)
							}
							continue
						}
						if r.status != http.StatusOK {
							rt.Fatalf("vread %s/%d: %d", id, n+1, r.status)
						}
						meta, _ := r.body["meta"].(map[string]any)
						if meta["versionId"] != strconv.Itoa(n+1) || r.header.Get("ETag") != fmt.Sprintf(`W/"%d"`, n+1) {
							rt.Fatalf("vread %s/%d: versionId %v ETag %q", id, n+1, meta["versionId"], r.header.Get("ETag"))
						}
						name := r.body["name"].([]any)[0].(map[string]any)
						if name["family"] != v.family {
							rt.Fatalf("vread %s/%d: family %v, want %s", id, n+1, name["family"], v.family)
						}
					}
				}
			})
		})
	}
}

// TestTransactionAtomicity posts a transaction whose last entry is invalid:
// nothing of it may be stored, on either store.
func TestTransactionAtomicity(t *testing.T) {
	for name, cfg := range stores(t) {
		t.Run(name, func(t *testing.T) {
			a := openApp(t, cfg(t))
			ts := serve(t, a)
			c := client{t: t, base: ts.URL}
			bundle := map[string]any{
				"resourceType": "Bundle",
				"type":         "transaction",
				"entry": []any{
					map[string]any{
						"fullUrl":  "urn:uuid:8d3c1f0e-4c1b-4b43-9a43-1f1d3c1e0001",
						"resource": patient("", "Atomic", 1),
						"request":  map[string]any{"method": "POST", "url": "Patient"},
					},
					map[string]any{
						"resource": map[string]any{
							"resourceType": "Observation", "status": "final",
							"code":    map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "8867-4"}}},
							"subject": map[string]any{"reference": "urn:uuid:8d3c1f0e-4c1b-4b43-9a43-1f1d3c1e0001"},
						},
						"request": map[string]any{"method": "POST", "url": "Observation"},
					},
					map[string]any{
						"resource": map[string]any{"resourceType": "Patient", "id": "atomic-2", "gender": "not-a-gender"},
						"request":  map[string]any{"method": "PUT", "url": "Patient/atomic-2"},
					},
				},
			}
			r := c.do("POST", "", bundle)
			if r.status < 400 || r.body["resourceType"] != "OperationOutcome" {
				t.Fatalf("status %d, body %s; want an error OperationOutcome", r.status, r.raw)
			}
			for _, q := range []string{"Patient?family=Atomic", "Observation?code=8867-4", "Patient?_id=atomic-2"} {
				s := c.do("GET", q, nil)
				if s.status != http.StatusOK {
					t.Fatalf("%s: status %d", q, s.status)
				}
				if entries, _ := s.body["entry"].([]any); len(entries) != 0 {
					t.Errorf("%s found %d resources after a failed transaction", q, len(entries))
				}
			}
			if got := countByType(t, a, []string{"Patient", "Observation"}); len(got) != 0 {
				t.Errorf("store holds %v after a failed transaction", got)
			}
		})
	}
}
