package fhirhttp_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCreateReadUpdateDelete(t *testing.T) { bothStores(t, testCreateReadUpdateDelete) }

func testCreateReadUpdateDelete(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	r := e.do("POST", "/Patient", patient("ignored", "Chalmers")).must(t, 201)
	id := str(r.body, "id")
	if id == "" || id == "ignored" {
		t.Fatalf("server id %q", id)
	}
	if want := base + "/Patient/" + id + "/_history/1"; r.header.Get("Location") != want {
		t.Errorf("Location %q, want %q", r.header.Get("Location"), want)
	}
	if r.header.Get("ETag") != `W/"1"` || r.header.Get("Last-Modified") == "" {
		t.Errorf("headers %v", r.header)
	}

	r = e.do("GET", "/Patient/"+id, nil).must(t, 200)
	if str(r.body, "name", 0, "family") != "Chalmers" || str(r.body, "meta", "versionId") != "1" {
		t.Errorf("read %s", r.raw)
	}
	e.do("GET", "/Patient/"+id, nil, `If-None-Match: W/"1"`).must(t, 304)
	e.do("GET", "/Patient/"+id, nil, "If-Modified-Since: "+r.header.Get("Last-Modified")).must(t, 304)

	upd := patient(id, "Windsor")
	e.do("PUT", "/Patient/"+id, upd, `If-Match: W/"2"`).must(t, 412)
	r = e.do("PUT", "/Patient/"+id, upd, `If-Match: W/"1"`).must(t, 200)
	if r.header.Get("ETag") != `W/"2"` {
		t.Errorf("ETag after update %q", r.header.Get("ETag"))
	}
	r = e.do("GET", "/Patient/"+id+"/_history/1", nil).must(t, 200)
	if str(r.body, "name", 0, "family") != "Chalmers" {
		t.Errorf("vread 1: %s", r.raw)
	}
	e.do("GET", "/Patient/"+id+"/_history/9", nil).must(t, 404)

	r = e.do("DELETE", "/Patient/"+id, nil).must(t, 200)
	if str(r.body, "resourceType") != "OperationOutcome" {
		t.Errorf("delete answer %s", r.raw)
	}
	e.do("GET", "/Patient/"+id, nil).must(t, 410)
	e.do("GET", "/Patient/"+id+"/_history/3", nil).must(t, 410)
	e.do("DELETE", "/Patient/"+id, nil, "Prefer: return=minimal").must(t, 204)
	e.do("GET", "/Patient/nope", nil).must(t, 404)
}

func TestUpdateAsCreateAndPrefer(t *testing.T) {
	e := newEnv(t)
	r := e.do("PUT", "/Patient/p1", patient("p1", "A"), "Prefer: return=minimal").must(t, 201)
	if len(r.raw) != 0 || r.header.Get("Location") != base+"/Patient/p1/_history/1" {
		t.Errorf("minimal create: %q %v", r.raw, r.header)
	}
	r = e.do("PUT", "/Patient/p1", patient("p1", "B"), "Prefer: return=OperationOutcome").must(t, 200)
	if str(r.body, "resourceType") != "OperationOutcome" {
		t.Errorf("OperationOutcome preferred: %s", r.raw)
	}
	e.do("PUT", "/Patient/p1", patient("p1", "C"), "If-None-Match: *").must(t, 412)
	e.do("PUT", "/Patient/p2", patient("p2", "C"), "If-None-Match: *").must(t, 201)
	// The same content again writes no version.
	r = e.do("PUT", "/Patient/p2", patient("p2", "C")).must(t, 200)
	if r.header.Get("ETag") != `W/"1"` {
		t.Errorf("unchanged update made version %s", r.header.Get("ETag"))
	}
}

func TestConditionalCreate(t *testing.T) { bothStores(t, testConditionalCreate) }

func testConditionalCreate(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	const sys = "http://hospital.example/mrn"
	hdr := "If-None-Exist: identifier=" + sys + "|42"
	r := e.do("POST", "/Patient", patient("", "A", sys, "42"), hdr).must(t, 201)
	first := str(r.body, "id")
	r = e.do("POST", "/Patient", patient("", "A", sys, "42"), hdr).must(t, 200)
	if str(r.body, "id") != first {
		t.Errorf("conditional create returned %s, want the match %s", str(r.body, "id"), first)
	}
	if n := e.count("Patient?identifier=" + sys + "|42"); n != 1 {
		t.Errorf("%d patients with the identifier, want 1", n)
	}
	e.do("POST", "/Patient", patient("", "B", sys, "7")).must(t, 201)
	e.do("POST", "/Patient", patient("", "C", sys, "7")).must(t, 201)
	e.do("POST", "/Patient", patient("", "D", sys, "7"), "If-None-Exist: identifier="+sys+"|7").must(t, 412)
	e.do("POST", "/Patient", patient("", "D"), "If-None-Exist: bogus=1").must(t, 400)
}

func TestConditionalUpdateDelete(t *testing.T) { bothStores(t, testConditionalUpdateDelete) }

func testConditionalUpdateDelete(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	const sys = "http://hospital.example/mrn"
	// No match: created.
	r := e.do("PUT", "/Patient?identifier="+sys+"|1", patient("", "A", sys, "1")).must(t, 201)
	id := str(r.body, "id")
	// One match: updated.
	r = e.do("PUT", "/Patient?identifier="+sys+"|1", patient("", "B", sys, "1")).must(t, 200)
	if str(r.body, "id") != id || str(r.body, "meta", "versionId") != "2" {
		t.Errorf("conditional update: %s", r.raw)
	}
	e.do("POST", "/Patient", patient("", "X", sys, "2")).must(t, 201)
	e.do("POST", "/Patient", patient("", "Y", sys, "2")).must(t, 201)
	e.do("PUT", "/Patient?identifier="+sys+"|2", patient("", "Z", sys, "2")).must(t, 412)
	e.do("DELETE", "/Patient?identifier="+sys+"|2", nil).must(t, 412)
	e.do("DELETE", "/Patient?identifier="+sys+"|1", nil).must(t, 200)
	e.do("GET", "/Patient/"+id, nil).must(t, 410)
	e.do("DELETE", "/Patient?identifier="+sys+"|404", nil).must(t, 200)
	e.do("DELETE", "/Patient", nil).must(t, 400)
}

func TestHistoryPaging(t *testing.T) { bothStores(t, testHistoryPaging) }

func testHistoryPaging(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	for i, fam := range []string{"A", "B", "C", "D", "E"} {
		e.do("PUT", "/Patient/h1", patient("h1", fam)).must(t, []int{201, 200, 200, 200, 200}[i])
	}
	e.do("DELETE", "/Patient/h1", nil).must(t, 200)
	e.do("PUT", "/Patient/h2", patient("h2", "Other")).must(t, 201)

	var versions []string
	var methods []string
	next := "/Patient/h1/_history?_count=2"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		r := e.do("GET", next, nil).must(t, 200)
		if str(r.body, "type") != "history" {
			t.Fatalf("bundle type %s", str(r.body, "type"))
		}
		if total := get(r.body, "total"); total == nil || total.(interface{ String() string }).String() != "6" {
			t.Errorf("total %v, want 6", total)
		}
		next = ""
		for _, l := range asList(r.body["link"]) {
			if str(l, "relation") == "next" {
				next = strings.TrimPrefix(str(l, "url"), base)
			}
		}
		for _, en := range asList(r.body["entry"]) {
			versions = append(versions, strings.Trim(str(en, "response", "etag"), `W/"`))
			methods = append(methods, str(en, "request", "method"))
			if str(en, "request", "method") == "DELETE" && get(en, "resource") != nil {
				t.Errorf("deletion entry carries a resource")
			}
		}
	}
	if diff := cmp.Diff([]string{"6", "5", "4", "3", "2", "1"}, versions); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"DELETE", "PUT", "PUT", "PUT", "PUT", "POST"}, methods); diff != "" {
		t.Errorf("methods (-want +got):\n%s", diff)
	}
	r := e.do("GET", "/Patient/_history", nil).must(t, 200)
	if n := len(asList(r.body["entry"])); n != 7 {
		t.Errorf("type history has %d entries, want 7", n)
	}
	r = e.do("GET", "/_history?_since=2000-01-01T00:00:00Z", nil).must(t, 200)
	if n := len(asList(r.body["entry"])); n != 7 {
		t.Errorf("system history has %d entries, want 7", n)
	}
	r = e.do("GET", "/_history?_since=2999-01-01T00:00:00Z", nil).must(t, 200)
	if n := len(asList(r.body["entry"])); n != 0 {
		t.Errorf("future _since gave %d entries", n)
	}
	e.do("GET", "/Patient/none/_history", nil).must(t, 404)
}

func TestJSONPatch(t *testing.T) { bothStores(t, testJSONPatch) }

func testJSONPatch(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	e.do("PUT", "/Patient/jp", patient("jp", "Before")).must(t, 201)
	patch := `[{"op":"replace","path":"/name/0/family","value":"After"},{"op":"add","path":"/gender","value":"female"}]`
	r := e.do("PATCH", "/Patient/jp", patch, "Content-Type: application/json-patch+json").must(t, 200)
	if str(r.body, "name", 0, "family") != "After" || str(r.body, "gender") != "female" || str(r.body, "meta", "versionId") != "2" {
		t.Errorf("patched %s", r.raw)
	}
	e.do("PATCH", "/Patient/jp", patch, "Content-Type: application/json-patch+json", `If-Match: W/"1"`).must(t, 412)
	e.do("PATCH", "/Patient/jp", `[{"op":"replace","path":"/gender","value":"robot"}]`, "Content-Type: application/json-patch+json").must(t, 400)
	e.do("PATCH", "/Patient/jp", `[{"op":"replace","path":"/id","value":"other"}]`, "Content-Type: application/json-patch+json").must(t, 400)
	e.do("PATCH", "/Patient/missing", patch, "Content-Type: application/json-patch+json").must(t, 404)
	r = e.do("GET", "/Patient/jp", nil).must(t, 200)
	if str(r.body, "gender") != "female" {
		t.Errorf("a failed patch changed the resource: %s", r.raw)
	}
}

func TestMetadata(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/metadata", nil).must(t, 200)
	if str(r.body, "fhirVersion") != "4.0.1" || str(r.body, "resourceType") != "CapabilityStatement" {
		t.Fatalf("metadata %s", r.raw[:200])
	}
	var patientRes map[string]any
	for _, x := range asList(get(r.body, "rest", 0, "resource")) {
		if str(x, "type") == "Patient" {
			patientRes = x.(map[string]any)
		}
	}
	if patientRes == nil || str(patientRes, "conditionalDelete") != "single" || len(asList(patientRes["searchParam"])) < 10 {
		t.Errorf("Patient capability %v", patientRes)
	}
	e.do("POST", "/metadata", "{}").must(t, http.StatusMethodNotAllowed)
}
