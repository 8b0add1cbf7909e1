package fhirhttp_test

import (
	"fmt"
	"strconv"
	"testing"

	"pgregory.net/rapid"
)

// TestVersionProperties checks invariants over random sequences of
// updates, patches and deletes on one resource: every write that changes
// content adds exactly one version, the ETag names it, vread of each
// version returns what was written, a read after a delete is 410, and the
// instance history lists every version newest first.
func TestVersionProperties(t *testing.T) {
	e := newEnv(t)
	run := 0
	rapid.Check(t, func(rt *rapid.T) {
		run++
		id := fmt.Sprintf("prop%d", run)
		path := "/Patient/" + id
		var written []string // family name of each version; "" for a deletion
		deleted := true
		steps := rapid.IntRange(1, 8).Draw(rt, "steps")
		for i := 0; i < steps; i++ {
			switch rapid.IntRange(0, 2).Draw(rt, "op") {
			case 0: // update with new content (update as create when absent)
				fam := fmt.Sprintf("F%d", i)
				r := e.do("PUT", path, patient(id, fam))
				want := 200
				if deleted {
					want = 201
				}
				if r.status != want {
					rt.Fatalf("PUT: %d, want %d: %s", r.status, want, r.raw)
				}
				written, deleted = append(written, fam), false
			case 1: // JSON Patch
				fam := fmt.Sprintf("P%d", i)
				r := e.do("PATCH", path, `[{"op":"replace","path":"/name/0/family","value":"`+fam+`"}]`, "Content-Type: application/json-patch+json")
				if deleted {
					if r.status != 404 && r.status != 410 {
						rt.Fatalf("PATCH of absent: %d", r.status)
					}
					continue
				}
				if r.status != 200 {
					rt.Fatalf("PATCH: %d %s", r.status, r.raw)
				}
				written = append(written, fam)
			case 2:
				e.do("DELETE", path, nil)
				if !deleted {
					written, deleted = append(written, ""), true
				}
			}
			if len(written) == 0 {
				continue
			}
			r := e.do("GET", path, nil)
			if deleted != (r.status == 410) {
				rt.Fatalf("read status %d, deleted=%v", r.status, deleted)
			}
			if !deleted && r.header.Get("ETag") != `W/"`+strconv.Itoa(len(written))+`"` {
				rt.Fatalf("ETag %s after %d versions", r.header.Get("ETag"), len(written))
			}
		}
		for v, fam := range written {
			r := e.do("GET", path+"/_history/"+strconv.Itoa(v+1), nil)
			if fam == "" {
				if r.status != 410 {
					rt.Fatalf("vread of deletion %d: %d", v+1, r.status)
				}
				continue
			}
			if r.status != 200 || str(r.body, "name", 0, "family") != fam {
				rt.Fatalf("vread %d: %d %s, want family %s", v+1, r.status, r.raw, fam)
			}
		}
		if len(written) > 0 {
			h := e.do("GET", path+"/_history", nil).must(rt, 200)
			entries := asList(h.body["entry"])
			if len(entries) != len(written) {
				rt.Fatalf("history has %d entries for %d versions", len(entries), len(written))
			}
			for i, en := range entries {
				if got, want := str(en, "response", "etag"), `W/"`+strconv.Itoa(len(written)-i)+`"`; got != want {
					rt.Fatalf("history entry %d etag %s, want %s", i, got, want)
				}
			}
		}
	})
}
