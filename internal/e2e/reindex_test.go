package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/reindex"
)

const eyeColorURL = "http://example.org/eye-color"

// eyeColorParam is a custom SearchParameter over an extension.
func eyeColorParam() map[string]any {
	return map[string]any{
		"resourceType": "SearchParameter",
		"url":          "http://example.org/fhir/SearchParameter/patient-eye-color",
		"name":         "EyeColor",
		"status":       "active",
		"description":  "The eye colour recorded in the eye-color extension",
		"code":         "eye-color",
		"base":         []any{"Patient"},
		"type":         "token",
		"expression":   "Patient.extension.where(url='" + eyeColorURL + "').value",
	}
}

func withEyes(id, family, color string) map[string]any {
	p := patient(id, family, len(id))
	if color != "" {
		p["extension"] = []any{map[string]any{"url": eyeColorURL, "valueCode": color}}
	}
	return p
}

// searchIDs runs a strict search and returns the ids found, sorted.
func searchIDs(t *testing.T, c client, query string) []string {
	t.Helper()
	r := c.do("GET", query, nil, "Prefer", "handling=strict")
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", query, r.status, r.raw)
	}
	var ids []string
	entries, _ := r.body["entry"].([]any)
	for _, e := range entries {
		res, _ := e.(map[string]any)["resource"].(map[string]any)
		if id, _ := res["id"].(string); id != "" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func runReindex(t *testing.T, cfg app.Config) *reindex.Summary {
	t.Helper()
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	sum, err := a.Reindex(context.Background(), reindex.Options{Batch: 2})
	if err != nil {
		t.Fatalf("reindex: %v", err)
	}
	return sum
}

// TestCustomSearchParameter posts a custom SearchParameter, checks that the
// running server does not know it, reindexes and reopens, and checks that
// searches on it find exactly the right patients, on both stores. A second
// reindex changes nothing.
func TestCustomSearchParameter(t *testing.T) {
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			cfg := mk(t)
			a := openApp(t, cfg)
			c := client{t: t, base: serve(t, a).URL}
			for _, p := range []map[string]any{
				withEyes("p1", "Ames", "blue"), withEyes("p2", "Baker", "brown"), withEyes("p3", "Cole", "blue"),
				withEyes("p4", "Dunn", ""), withEyes("p5", "Eads", "blue"),
			} {
				if r := c.do("PUT", "Patient/"+p["id"].(string), p); r.status != http.StatusCreated {
					t.Fatalf("PUT: status %d: %s", r.status, r.raw)
				}
			}
			if r := c.do("DELETE", "Patient/p5", nil); r.status >= 300 {
				t.Fatalf("DELETE: status %d: %s", r.status, r.raw)
			}
			if r := c.do("POST", "SearchParameter", eyeColorParam()); r.status != http.StatusCreated {
				t.Fatalf("POST SearchParameter: status %d: %s", r.status, r.raw)
			}
			// The running server keeps the parameters it started with.
			if r := c.do("GET", "Patient?eye-color=blue", nil, "Prefer", "handling=strict"); r.status != http.StatusBadRequest {
				t.Fatalf("strict search on a parameter not yet in effect: status %d, want 400", r.status)
			}
			if r := c.do("GET", "Patient?eye-color=blue", nil); r.status != http.StatusOK || r.body["total"] != nil && fmt.Sprint(r.body["total"]) != "4" {
				t.Fatalf("lenient search on a parameter not yet in effect: status %d, total %v; want 200 and every patient", r.status, r.body["total"])
			} else if !strings.Contains(string(r.raw), "eye-color") {
				t.Errorf("the ignored parameter is not reported: %s", r.raw)
			}

			sum := runReindex(t, cfg)
			want := map[string]int{"Patient": 4, "SearchParameter": 1}
			if d := cmp.Diff(want, sum.Types); d != "" || !sum.OK() || sum.Last != "" {
				t.Errorf("reindex summary %+v; types (-want +got):\n%s", sum, d)
			}

			b := openApp(t, cfg)
			c = client{t: t, base: serve(t, b).URL}
			check := func(when string) {
				t.Helper()
				for q, want := range map[string][]string{
					"Patient?eye-color=blue":           {"p1", "p3"},
					"Patient?eye-color=brown":          {"p2"},
					"Patient?eye-color=blue,brown":     {"p1", "p2", "p3"},
					"Patient?eye-color:missing=true":   {"p4"},
					"Patient?eye-color=blue&family=co": {"p3"},
					"Patient?eye-color=green":          nil,
				} {
					if d := cmp.Diff(want, searchIDs(t, c, q)); d != "" {
						t.Errorf("%s: %s (-want +got):\n%s", when, q, d)
					}
				}
			}
			check("after reindex")

			// Writes now index the parameter themselves.
			if r := c.do("PUT", "Patient/p6", withEyes("p6", "Fry", "grey")); r.status != http.StatusCreated {
				t.Fatalf("PUT p6: status %d: %s", r.status, r.raw)
			}
			if d := cmp.Diff([]string{"p6"}, searchIDs(t, c, "Patient?eye-color=grey")); d != "" {
				t.Errorf("new write (-want +got):\n%s", d)
			}
			if r := c.do("DELETE", "Patient/p6", nil); r.status >= 300 {
				t.Fatalf("DELETE p6: status %d", r.status)
			}

			again := runReindex(t, cfg)
			if d := cmp.Diff(want, again.Types); d != "" {
				t.Errorf("second reindex types (-want +got):\n%s", d)
			}
			check("after a second reindex")
		})
	}
}
