package fhirhttp_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// seedEverything stores two patients' records. Patient p1 has three
// Observations, two Conditions, an Encounter at a Location and a
// MedicationRequest naming a Medication and its prescriber (and a Condition
// names a Practitioner that does not exist); p2 has an
// Observation and a Condition. One Practitioner is referenced by nobody.
func seedEverything(t *testing.T, e *env) {
	t.Helper()
	put := func(res map[string]any) {
		t.Helper()
		path := "/" + res["resourceType"].(string) + "/" + res["id"].(string)
		e.do("PUT", path, res).must(t, 201)
	}
	ref := func(s string) map[string]any { return map[string]any{"reference": s} }
	code := func(system, c string) map[string]any {
		return map[string]any{"coding": []any{map[string]any{"system": system, "code": c}}}
	}
	put(map[string]any{"resourceType": "Organization", "id": "org1", "name": "Clinic"})
	put(map[string]any{"resourceType": "Location", "id": "loc1", "name": "Room 1"})
	put(map[string]any{"resourceType": "Practitioner", "id": "dr1", "name": []any{map[string]any{"family": "Who"}}})
	put(map[string]any{"resourceType": "Practitioner", "id": "dr2", "name": []any{map[string]any{"family": "Nobody"}}})
	put(map[string]any{"resourceType": "Medication", "id": "med1", "code": code("http://www.nlm.nih.gov/research/umls/rxnorm", "197361")})
	for _, p := range []string{"p1", "p2"} {
		pat := patient(p, "Everything"+p)
		pat["managingOrganization"] = ref("Organization/org1")
		put(pat)
	}
	for i, o := range []string{"p1-o1", "p1-o2", "p1-o3", "p2-o1"} {
		obs := observation("Patient/" + o[:2])
		obs["id"] = o
		obs["effectiveDateTime"] = "2024-0" + string(rune('1'+i)) + "-15"
		put(obs)
	}
	for _, c := range []string{"p1-c1", "p1-c2", "p2-c1"} {
		cond := map[string]any{"resourceType": "Condition", "id": c, "subject": ref("Patient/" + c[:2]),
			"code": code("http://snomed.info/sct", "44054006")}
		if c == "p1-c2" {
			cond["asserter"] = ref("Practitioner/ghost") // dangling: left out
		}
		put(cond)
	}
	put(map[string]any{"resourceType": "Encounter", "id": "p1-e1", "status": "finished",
		"class":    map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
		"subject":  ref("Patient/p1"),
		"location": []any{map[string]any{"location": ref("Location/loc1")}}})
	put(map[string]any{"resourceType": "MedicationRequest", "id": "p1-mr1", "status": "active", "intent": "order",
		"medicationReference": ref("Medication/med1"), "subject": ref("Patient/p1"),
		"encounter": ref("Encounter/p1-e1"), "requester": ref(base + "/Practitioner/dr1")})
}

// everythingP1 is p1's record in the order $everything returns it: the
// Patient, then by type and id.
var everythingP1 = []string{
	"Patient/p1",
	"Condition/p1-c1", "Condition/p1-c2", "Encounter/p1-e1", "Location/loc1", "Medication/med1",
	"MedicationRequest/p1-mr1", "Observation/p1-o1", "Observation/p1-o2", "Observation/p1-o3",
	"Organization/org1", "Practitioner/dr1",
}

// bundleIDs lists Type/id of the entries that are not outcomes, in order.
func bundleIDs(body map[string]any) []string {
	var out []string
	for _, en := range asList(body["entry"]) {
		if str(en, "search", "mode") != "outcome" {
			out = append(out, str(en, "resource", "resourceType")+"/"+str(en, "resource", "id"))
		}
	}
	return out
}

func TestEverything(t *testing.T) { bothStores(t, testEverything) }

func testEverything(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	seedEverything(t, e)
	t.Run("whole record", func(t *testing.T) {
		r := e.do("GET", "/Patient/p1/$everything", nil).must(t, 200)
		if str(r.body, "type") != "searchset" {
			t.Errorf("Bundle type %q", str(r.body, "type"))
		}
		if diff := cmp.Diff(everythingP1, bundleIDs(r.body)); diff != "" {
			t.Errorf("entries (-want +got):\n%s", diff)
		}
		if n := get(r.body, "total"); n == nil || n.(interface{ String() string }).String() != "12" {
			t.Errorf("total %v, want 12", n)
		}
		if strings.Contains(string(r.raw), "p2-") || strings.Contains(string(r.raw), "Practitioner/dr2") {
			t.Errorf("another patient's data or an unreferenced resource returned: %v", bundleIDs(r.body))
		}
		modes := map[string]string{}
		for _, en := range asList(r.body["entry"]) {
			modes[str(en, "resource", "resourceType")+"/"+str(en, "resource", "id")] = str(en, "search", "mode")
		}
		if modes["Observation/p1-o1"] != "match" || modes["Practitioner/dr1"] != "include" {
			t.Errorf("search modes %v", modes)
		}
	})
	t.Run("other patient", func(t *testing.T) {
		r := e.do("GET", "/Patient/p2/$everything", nil).must(t, 200)
		want := []string{"Patient/p2", "Condition/p2-c1", "Observation/p2-o1", "Organization/org1"}
		if diff := cmp.Diff(want, bundleIDs(r.body)); diff != "" {
			t.Errorf("entries (-want +got):\n%s", diff)
		}
	})
	t.Run("_type", func(t *testing.T) {
		r := e.do("GET", "/Patient/p1/$everything?_type=Observation,Practitioner", nil).must(t, 200)
		want := []string{"Observation/p1-o1", "Observation/p1-o2", "Observation/p1-o3", "Practitioner/dr1"}
		if diff := cmp.Diff(want, bundleIDs(r.body)); diff != "" {
			t.Errorf("entries (-want +got):\n%s", diff)
		}
		e.do("GET", "/Patient/p1/$everything?_type=Nonsense", nil).must(t, 400)
	})
	t.Run("_since", func(t *testing.T) {
		obs := e.do("GET", "/Observation/p1-o2", nil).must(t, 200).body
		obs["status"] = "amended"
		upd := e.do("PUT", "/Observation/p1-o2", obs).must(t, 200)
		since := str(upd.body, "meta", "lastUpdated")
		r := e.do("GET", "/Patient/p1/$everything?_since="+url.QueryEscape(since), nil).must(t, 200)
		if diff := cmp.Diff([]string{"Observation/p1-o2"}, bundleIDs(r.body)); diff != "" {
			t.Errorf("_since=%s (-want +got):\n%s", since, diff)
		}
		e.do("GET", "/Patient/p1/$everything?_since=yesterday", nil).must(t, 400)
	})
	t.Run("paging", func(t *testing.T) {
		var got []string
		next, pages := "/Patient/p1/$everything?_count=5", 0
		for ; next != ""; pages++ {
			if pages > 3 {
				t.Fatal("paging does not end")
			}
			r := e.do("GET", next, nil).must(t, 200)
			got = append(got, bundleIDs(r.body)...)
			if pages > 0 && linkURL(r.body, "previous") == "" {
				t.Errorf("page %d has no previous link", pages)
			}
			next = strings.TrimPrefix(linkURL(r.body, "next"), base)
		}
		if pages != 3 {
			t.Errorf("%d pages, want 3", pages)
		}
		if diff := cmp.Diff(everythingP1, got); diff != "" {
			t.Errorf("pages (-want +got):\n%s", diff)
		}
	})
	t.Run("post", func(t *testing.T) {
		params := map[string]any{"resourceType": "Parameters", "parameter": []any{
			map[string]any{"name": "_type", "valueCode": "Condition"},
			map[string]any{"name": "_count", "valueInteger": 1},
		}}
		r := e.do("POST", "/Patient/p1/$everything", params).must(t, 200)
		if diff := cmp.Diff([]string{"Condition/p1-c1"}, bundleIDs(r.body)); diff != "" {
			t.Errorf("entries (-want +got):\n%s", diff)
		}
		if next := linkURL(r.body, "next"); !strings.Contains(next, "_type=Condition") || !strings.Contains(next, "_count=1") {
			t.Errorf("next link %q does not carry the parameters", next)
		}
	})
	t.Run("care dates noted", func(t *testing.T) {
		r := e.do("GET", "/Patient/p1/$everything?start=2024-01-01", nil).must(t, 200)
		if !slices.Equal(bundleIDs(r.body), everythingP1) || !strings.Contains(string(r.raw), "care date is not applied") {
			t.Errorf("start: %v, no note in %.300s", bundleIDs(r.body), r.raw)
		}
	})
	t.Run("errors", func(t *testing.T) {
		e.do("GET", "/Patient/nobody/$everything", nil).must(t, 404)
		r := e.do("GET", "/Patient/$everything", nil).must(t, 400)
		if !slices.Contains(r.issueCodes(), "not-supported") {
			t.Errorf("type level: %s", r.raw)
		}
		e.do("GET", "/Observation/p1-o1/$everything", nil).must(t, 501)
		e.do("DELETE", "/Patient/p1/$everything", nil).must(t, 405)
	})
	t.Run("capability statement", func(t *testing.T) {
		r := e.do("GET", "/metadata", nil).must(t, 200)
		for _, rc := range asList(get(r.body, "rest", 0, "resource")) {
			if str(rc, "type") != "Patient" {
				continue
			}
			for _, op := range asList(get(rc, "operation")) {
				if str(op, "name") == "everything" {
					return
				}
			}
		}
		t.Error("the CapabilityStatement does not declare Patient/$everything")
	})
}
