package fhirhttp_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// seedSearch stores 5 patients, an organization and one observation per patient.
func seedSearch(t *testing.T, e *env) {
	t.Helper()
	e.do("PUT", "/Organization/org1", map[string]any{"resourceType": "Organization", "id": "org1", "name": "Clinic"}).must(t, 201)
	for i, fam := range []string{"Alpha", "Bravo", "Charlie", "Delta", "Echo"} {
		id := "s" + string(rune('1'+i))
		p := patient(id, fam)
		p["managingOrganization"] = map[string]any{"reference": "Organization/org1"}
		p["gender"] = []string{"female", "male"}[i%2]
		e.do("PUT", "/Patient/"+id, p).must(t, 201)
		o := observation("Patient/" + id)
		o["id"] = "o" + id
		e.do("PUT", "/Observation/o"+id, o).must(t, 201)
	}
}

func entryIDs(body map[string]any, mode string) []string {
	var out []string
	for _, en := range asList(body["entry"]) {
		if str(en, "search", "mode") == mode {
			out = append(out, str(en, "resource", "resourceType")+"/"+str(en, "resource", "id"))
		}
	}
	slices.Sort(out)
	return out
}

func linkURL(body map[string]any, rel string) string {
	for _, l := range asList(body["link"]) {
		if str(l, "relation") == rel {
			return str(l, "url")
		}
	}
	return ""
}

func TestSearch(t *testing.T) { bothStores(t, testSearch) }

func testSearch(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	seedSearch(t, e)
	tests := []struct {
		name    string
		path    string
		match   []string
		include []string
	}{
		{"by family", "/Patient?family=alp", []string{"Patient/s1"}, nil},
		{"by gender", "/Patient?gender=male", []string{"Patient/s2", "Patient/s4"}, nil},
		{"include", "/Observation?subject=Patient/s1&_include=Observation:subject", []string{"Observation/os1"}, []string{"Patient/s1"}},
		{"revinclude", "/Patient?_id=s2&_revinclude=Observation:subject", []string{"Patient/s2"}, []string{"Observation/os2"}},
		{"include iterate", "/Observation?_id=os3&_include=Observation:subject&_include:iterate=Patient:organization",
			[]string{"Observation/os3"}, []string{"Organization/org1", "Patient/s3"}},
		{"compartment", "/Patient/s4/Observation", []string{"Observation/os4"}, nil},
		{"whole compartment", "/Patient/s5/*", []string{"Observation/os5", "Patient/s5"}, nil},
		{"post search", "/Patient/_search", nil, nil},
		{"system search by type", "/?_type=Organization", []string{"Organization/org1"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r *result
			if tc.name == "post search" {
				r = e.do("POST", tc.path, "family=charlie", "Content-Type: application/x-www-form-urlencoded").must(t, 200)
				tc.match = []string{"Patient/s3"}
			} else {
				r = e.do("GET", tc.path, nil).must(t, 200)
			}
			if str(r.body, "type") != "searchset" {
				t.Fatalf("type %s", str(r.body, "type"))
			}
			if diff := cmp.Diff(tc.match, entryIDs(r.body, "match")); diff != "" {
				t.Errorf("matches (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.include, entryIDs(r.body, "include")); diff != "" {
				t.Errorf("includes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSearchPaging(t *testing.T) { bothStores(t, testSearchPaging) }

func testSearchPaging(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	seedSearch(t, e)
	var got []string
	next := "/Patient?_count=2&_sort=family&_total=accurate"
	for pages := 0; next != ""; pages++ {
		if pages > 4 {
			t.Fatal("paging does not end")
		}
		r := e.do("GET", next, nil).must(t, 200)
		for _, en := range asList(r.body["entry"]) {
			got = append(got, str(en, "resource", "name", 0, "family"))
		}
		self := linkURL(r.body, "self")
		u, err := url.Parse(self)
		if err != nil || u.Query().Get("_sort") != "family" || u.Query().Get("_count") != "2" {
			t.Errorf("self link %q does not reproduce the query", self)
		}
		if pages > 0 && linkURL(r.body, "previous") == "" {
			t.Errorf("page %d has no previous link", pages)
		}
		next = strings.TrimPrefix(linkURL(r.body, "next"), base)
	}
	if diff := cmp.Diff([]string{"Alpha", "Bravo", "Charlie", "Delta", "Echo"}, got); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	r := e.do("GET", "/Patient?_summary=count", nil).must(t, 200)
	if get(r.body, "total") == nil || len(asList(r.body["entry"])) != 0 {
		t.Errorf("_summary=count: %s", r.raw)
	}
}

func TestSearchSubsetsAndHandling(t *testing.T) { bothStores(t, testSearchSubsetsAndHandling) }

func testSearchSubsetsAndHandling(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	seedSearch(t, e)
	r := e.do("GET", "/Patient?_id=s1&_elements=gender", nil).must(t, 200)
	res := get(r.body, "entry", 0, "resource").(map[string]any)
	if _, ok := res["name"]; ok || res["gender"] != "female" {
		t.Errorf("_elements=gender gave %v", res)
	}
	if str(res, "meta", "tag", 0, "code") != "SUBSETTED" {
		t.Errorf("no SUBSETTED tag: %v", res["meta"])
	}
	r = e.do("GET", "/Patient?_id=s1&_summary=true", nil).must(t, 200)
	res = get(r.body, "entry", 0, "resource").(map[string]any)
	if _, ok := res["managingOrganization"]; !ok {
		t.Errorf("_summary=true dropped a summary element: %v", res)
	}
	// Lenient (default): the unknown parameter is reported in an outcome entry.
	r = e.do("GET", "/Patient?family=alpha&nonsense=1", nil).must(t, 200)
	var outcome map[string]any
	for _, en := range asList(r.body["entry"]) {
		if str(en, "search", "mode") == "outcome" {
			outcome = get(en, "resource").(map[string]any)
		}
	}
	if outcome == nil || !strings.Contains(string(r.raw), "nonsense") {
		t.Errorf("no outcome entry for the ignored parameter: %s", r.raw)
	}
	if diff := cmp.Diff([]string{"Patient/s1"}, entryIDs(r.body, "match")); diff != "" {
		t.Errorf("lenient matches (-want +got):\n%s", diff)
	}
	e.do("GET", "/Patient?family=alpha&nonsense=1", nil, "Prefer: handling=strict").must(t, 400)
	e.do("GET", "/Patient/s1?_summary=text", nil).must(t, 200)
}
