package fhirapi

import (
	"testing"
)

// TestEverythingRefType: the byte-level filter never drops a reference
// localReference would follow to one of everythingRefTypes.
func TestEverythingRefType(t *testing.T) {
	const base = "http://ehr.test/fhir"
	prefixes := []string{"", base + "/", base, "http://other.test/fhir/", "/", "urn:uuid:", "#"}
	types := []string{"Practitioner", "PractitionerRole", "Organization", "Location", "Medication",
		"Patient", "Encounter", "practitioner", "Practitioner2", ""}
	ids := []string{"dr1", "01a2159b-1f27-74e8-af0e-6406af27e245", "", "a/b", "x?y=1", "dr1/_history/2", "dr1/_history", "d r"}
	n := 0
	for _, p := range prefixes {
		for _, typ := range types {
			for _, id := range ids {
				for _, b := range []string{base, ""} {
					ref := p + typ + "/" + id
					typ2, _, ok := localReference(b, ref)
					want := ok && everythingRefTypes[typ2]
					got := everythingRefType(b, []byte(ref))
					if want && !got {
						t.Errorf("everythingRefType(%q, %q) = false, but localReference follows it to %s", b, ref, typ2)
					}
					if want {
						n++
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no reference was followed: the table tests nothing")
	}
	// What it is there for: references to the record itself stop at once.
	for _, ref := range []string{"Patient/p1", base + "/Encounter/e1", "#m", "urn:uuid:x", "Observation"} {
		if everythingRefType(base, []byte(ref)) {
			t.Errorf("everythingRefType(%q) = true", ref)
		}
	}
}
