package fhirhttp_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhirapi"
)

func bundle(typ string, entries ...map[string]any) map[string]any {
	list := make([]any, len(entries))
	for i, e := range entries {
		list[i] = e
	}
	return map[string]any{"resourceType": "Bundle", "type": typ, "entry": list}
}

func entry(method, url, fullURL string, res map[string]any, extra ...string) map[string]any {
	req := map[string]any{"method": method, "url": url}
	for i := 0; i+1 < len(extra); i += 2 {
		req[extra[i]] = extra[i+1]
	}
	e := map[string]any{"request": req}
	if fullURL != "" {
		e["fullUrl"] = fullURL
	}
	if res != nil {
		e["resource"] = res
	}
	return e
}

func observation(subject string) map[string]any {
	return map[string]any{
		"resourceType": "Observation", "status": "final",
		"code":    map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "29463-7"}}},
		"subject": map[string]any{"reference": subject},
	}
}

func TestTransactionURNReferences(t *testing.T) { bothStores(t, testTransactionURNReferences) }

func testTransactionURNReferences(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	const pURN, oURN = "urn:uuid:8d0f7d3a-0d2c-4f0b-9a55-1b5c1b7b0a01", "urn:uuid:8d0f7d3a-0d2c-4f0b-9a55-1b5c1b7b0a02"
	b := bundle("transaction",
		entry("POST", "Observation", oURN, observation(pURN)),
		entry("POST", "Patient", pURN, patient("", "Urn")),
	)
	r := e.do("POST", "", b).must(t, 200)
	if str(r.body, "type") != "transaction-response" {
		t.Fatalf("response %s", r.raw)
	}
	obsLoc := str(r.body, "entry", 0, "response", "location")
	patLoc := str(r.body, "entry", 1, "response", "location")
	if !strings.HasPrefix(obsLoc, base+"/Observation/") || !strings.HasPrefix(patLoc, base+"/Patient/") {
		t.Fatalf("locations %q %q", obsLoc, patLoc)
	}
	if s := str(r.body, "entry", 0, "response", "status"); s != "201 Created" {
		t.Errorf("status %q", s)
	}
	patID := strings.Split(strings.TrimPrefix(patLoc, base+"/Patient/"), "/")[0]
	obs := e.do("GET", strings.TrimPrefix(obsLoc, base), nil).must(t, 200)
	if got, want := str(obs.body, "subject", "reference"), "Patient/"+patID; got != want {
		t.Errorf("Observation.subject.reference = %q, want %q", got, want)
	}
}

func TestTransactionConditionalReferences(t *testing.T) {
	bothStores(t, testTransactionConditionalReferences)
}

func testTransactionConditionalReferences(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	const sys = "http://hospital.example/mrn"
	r := e.do("POST", "/Patient", patient("", "Cond", sys, "c1")).must(t, 201)
	pid := str(r.body, "id")
	b := bundle("transaction", entry("POST", "Observation", "", observation("Patient?identifier="+sys+"|c1")))
	r = e.do("POST", "", b).must(t, 200)
	obs := e.do("GET", strings.TrimPrefix(str(r.body, "entry", 0, "response", "location"), base), nil).must(t, 200)
	if got := str(obs.body, "subject", "reference"); got != "Patient/"+pid {
		t.Errorf("conditional reference resolved to %q, want Patient/%s", got, pid)
	}
	// No match: 404; several: 412. Nothing is stored either way.
	before := e.count("Observation")
	b = bundle("transaction", entry("POST", "Observation", "", observation("Patient?identifier="+sys+"|none")))
	e.do("POST", "", b).must(t, 404)
	e.do("POST", "/Patient", patient("", "Twin", sys, "twin")).must(t, 201)
	e.do("POST", "/Patient", patient("", "Twin", sys, "twin")).must(t, 201)
	b = bundle("transaction", entry("POST", "Observation", "", observation("Patient?identifier="+sys+"|twin")))
	e.do("POST", "", b).must(t, 412)
	if n := e.count("Observation"); n != before {
		t.Errorf("%d observations after failed transactions, want %d", n, before)
	}
}

func TestTransactionAtomicity(t *testing.T) { bothStores(t, testTransactionAtomicity) }

func testTransactionAtomicity(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	bad := map[string]any{"resourceType": "Patient", "gender": "robot"}
	b := bundle("transaction",
		entry("POST", "Patient", "urn:uuid:1", patient("", "Atomic")),
		entry("PUT", "Patient/atomic2", "", patient("atomic2", "Atomic")),
		entry("POST", "Patient", "urn:uuid:3", bad),
	)
	r := e.do("POST", "", b).must(t, 400)
	if !cmp.Equal(r.expressions()[:1], []string{"Bundle.entry[2]"}) && !strings.Contains(string(r.raw), "Bundle.entry[2]") {
		t.Errorf("the outcome does not name the failing entry: %s", r.raw)
	}
	if n := e.count("Patient?family=Atomic"); n != 0 {
		t.Errorf("%d patients stored by a failed transaction", n)
	}
	e.do("GET", "/Patient/atomic2", nil).must(t, 404)
}

func TestTransactionRules(t *testing.T) { bothStores(t, testTransactionRules) }

func testTransactionRules(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	e.do("PUT", "/Patient/old", patient("old", "Old")).must(t, 201)
	e.do("PUT", "/Patient/keep", patient("keep", "Keep")).must(t, 201)
	b := bundle("transaction",
		entry("GET", "Patient/keep", "", nil),
		entry("PUT", "Patient/keep", "", patient("keep", "Kept"), "ifMatch", `W/"1"`),
		entry("DELETE", "Patient/old", "", nil),
		entry("POST", "Patient", "urn:uuid:new", patient("", "New"), "ifNoneExist", "family=Kept"),
	)
	r := e.do("POST", "", b, "Prefer: return=representation").must(t, 200)
	got := []string{}
	for _, en := range asList(r.body["entry"]) {
		got = append(got, str(en, "response", "status"))
	}
	// ifNoneExist is resolved against the state before the transaction:
	// nobody is called Kept yet, so the POST creates.
	want := []string{"200 OK", "200 OK", "200 OK", "201 Created"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	// GET runs last and sees the transaction's own update.
	if fam := str(r.body, "entry", 0, "resource", "name", 0, "family"); fam != "Kept" {
		t.Errorf("GET in the transaction saw %q", fam)
	}
	e.do("GET", "/Patient/old", nil).must(t, 410)

	dup := bundle("transaction",
		entry("PUT", "Patient/d1", "", patient("d1", "A")),
		entry("PUT", "Patient/d1", "", patient("d1", "B")))
	e.do("POST", "", dup).must(t, 400)
	e.do("GET", "/Patient/d1", nil).must(t, 404)
}

func TestBatchPartialSuccess(t *testing.T) { bothStores(t, testBatchPartialSuccess) }

func testBatchPartialSuccess(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	b := bundle("batch",
		entry("PUT", "Patient/b1", "", patient("b1", "Batch")),
		entry("POST", "Patient", "", map[string]any{"resourceType": "Patient", "gender": "robot"}),
		entry("GET", "Patient/b1", "", nil),
		entry("GET", "Patient/none", "", nil),
		entry("DELETE", "Patient/b1", "", nil),
	)
	r := e.do("POST", "", b).must(t, 200)
	if str(r.body, "type") != "batch-response" {
		t.Fatalf("type %s", str(r.body, "type"))
	}
	var got []string
	for _, en := range asList(r.body["entry"]) {
		got = append(got, str(en, "response", "status"))
	}
	want := []string{"201 Created", "400 Bad Request", "200 OK", "404 Not Found", "200 OK"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if str(r.body, "entry", 1, "response", "outcome", "resourceType") != "OperationOutcome" {
		t.Errorf("failed entry has no outcome: %v", get(r.body, "entry", 1))
	}
}

func TestBundleLimits(t *testing.T) { bothStores(t, testBundleLimits) }

func testBundleLimits(t *testing.T, o envOptions) {
	o2 := envOptions{maxEntries: 3, maxBody: 4096}
	o2.postgres = o.postgres
	e := newEnv(t, o2)
	var entries []map[string]any
	for i := 0; i < 4; i++ {
		entries = append(entries, entry("POST", "Patient", "", patient("", "Many")))
	}
	r := e.do("POST", "", bundle("batch", entries...)).must(t, 413)
	if codes := r.issueCodes(); len(codes) == 0 || codes[0] != "too-costly" {
		t.Errorf("issue codes %v", codes)
	}
	big := patient("", strings.Repeat("x", 5000))
	e.do("POST", "/Patient", big).must(t, 413)
	if n := e.count("Patient"); n != 0 {
		t.Errorf("%d patients stored", n)
	}
}

func TestProcessBundle(t *testing.T) {
	e := newEnv(t)
	b := bundle("transaction",
		entry("POST", "Patient", "urn:uuid:pb1", patient("", "Direct")),
		entry("POST", "Observation", "", observation("urn:uuid:pb1")))
	out, err := e.api.ProcessBundle(opCtx(), b, "https://x.test/fhir")
	if err != nil {
		t.Fatal(err)
	}
	if loc := str(out, "entry", 1, "response", "location"); !strings.HasPrefix(loc, "https://x.test/fhir/Observation/") {
		t.Errorf("location %q", loc)
	}
	bad := bundle("transaction", entry("POST", "Observation", "", observation("Patient?identifier=x|none")))
	_, err = e.api.ProcessBundle(opCtx(), bad, "https://x.test/fhir")
	if !errs.Is(err, errs.NotFound) || fhirapi.Status(err) != 404 {
		t.Errorf("ProcessBundle error %v (kind %v)", err, errs.KindOf(err))
	}
}
