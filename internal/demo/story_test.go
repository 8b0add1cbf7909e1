package demo

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/fhir"
)

var update = flag.Bool("update", false, "rewrite testdata/summary.golden")

// index keys the dataset by "Type/id".
func index(t *testing.T) map[string]map[string]any {
	m := map[string]map[string]any{}
	for _, r := range resources(t, Bundles(today)) {
		m[fhir.TypeOf(r)+"/"+fhir.IDOf(r)] = r
	}
	return m
}

// codeOf is the first coding's code of a CodeableConcept property.
func codeOf(r map[string]any, prop string) string {
	cc, _ := r[prop].(map[string]any)
	cs, _ := cc["coding"].([]any)
	if len(cs) == 0 {
		return ""
	}
	s, _ := cs[0].(map[string]any)["code"].(string)
	return s
}

func subjectOf(r map[string]any) string {
	for _, k := range []string{"subject", "patient", "beneficiary"} {
		if ref, ok := r[k].(map[string]any); ok {
			s, _ := ref["reference"].(string)
			return s
		}
	}
	return ""
}

// TestStories checks the facts each demo script relies on.
func TestStories(t *testing.T) {
	all := index(t)
	count := func(patient, typ string, match func(map[string]any) bool) int {
		n := 0
		for k, r := range all {
			if strings.HasPrefix(k, typ+"/") && subjectOf(r) == "Patient/"+patient && match(r) {
				n++
			}
		}
		return n
	}
	hasCode := func(prop, code string) func(map[string]any) bool {
		return func(r map[string]any) bool { return codeOf(r, prop) == code }
	}
	active := func(prop, code string) func(map[string]any) bool {
		return func(r map[string]any) bool {
			return codeOf(r, prop) == code && (r["status"] == "active" || codeOf(r, "clinicalStatus") == "active")
		}
	}
	for _, tc := range []struct {
		name, patient, typ string
		match              func(map[string]any) bool
		atLeast            int
	}{
		{"child's immunizations", "demo-leo-tran", "Immunization", func(map[string]any) bool { return true }, 30},
		{"child's asthma", "demo-leo-tran", "Condition", active("code", "J45.30"), 1},
		{"child's BMI percentiles", "demo-leo-tran", "Observation", hasCode("code", "59576-9"), 5},
		{"quarterly HbA1c over four years", "demo-maria-garcia", "Observation", hasCode("code", "4548-4"), 16},
		{"metformin", "demo-maria-garcia", "MedicationRequest", active("medicationCodeableConcept", "860975"), 1},
		{"lisinopril", "demo-maria-garcia", "MedicationRequest", active("medicationCodeableConcept", "314077"), 1},
		{"statin", "demo-maria-garcia", "MedicationRequest", active("medicationCodeableConcept", "312961"), 1},
		{"warfarin", "demo-walter-brooks", "MedicationRequest", active("medicationCodeableConcept", "855332"), 1},
		{"INR results", "demo-walter-brooks", "Observation", hasCode("code", "6301-6"), 20},
		{"heart failure", "demo-walter-brooks", "Condition", active("code", "I50.22"), 1},
		{"atrial fibrillation", "demo-walter-brooks", "Condition", active("code", "I48.20"), 1},
		{"pregnancy", "demo-aisha-rahman", "Condition", active("code", "Z34.00"), 1},
		{"prenatal visits", "demo-aisha-rahman", "Encounter", func(r map[string]any) bool {
			return strings.Contains(fmt.Sprint(r["type"]), "Prenatal")
		}, 5},
		{"COPD", "demo-dennis-kowalski", "Condition", active("code", "J44.9"), 1},
		{"daily smoker", "demo-dennis-kowalski", "Observation", func(r map[string]any) bool {
			return codeOf(r, "code") == "72166-2" && codeOf(r, "valueCodeableConcept") == "449868002"
		}, 3},
		{"penicillin allergy", "demo-emily-chen", "AllergyIntolerance", func(r map[string]any) bool {
			return codeOf(r, "code") == "7980" && r["criticality"] == "high"
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := count(tc.patient, tc.typ, tc.match); n < tc.atLeast {
				t.Errorf("%s has %d matching %s, want at least %d", tc.patient, n, tc.typ, tc.atLeast)
			}
		})
	}
}

// TestSlots checks the two weeks of slots and that every appointment holds
// a busy slot of its own practitioner at its time.
func TestSlots(t *testing.T) {
	all := index(t)
	free := 0
	for k, r := range all {
		switch {
		case strings.HasPrefix(k, "Slot/"):
			if r["status"] == "free" {
				free++
			}
		case strings.HasPrefix(k, "Appointment/"):
			s := all[r["slot"].([]any)[0].(map[string]any)["reference"].(string)]
			if s["status"] != "busy" || s["start"] != r["start"] || s["end"] != r["end"] {
				t.Errorf("%s: slot %v is %v from %v to %v, want busy at the appointment's times", k, s["id"], s["status"], s["start"], s["end"])
			}
			sched := s["schedule"].(map[string]any)["reference"].(string)
			pract := r["participant"].([]any)[1].(map[string]any)["actor"].(map[string]any)["reference"].(string)
			if !strings.HasPrefix(sched, "Schedule/"+strings.TrimPrefix(pract, "Practitioner/")) {
				t.Errorf("%s: slot of %s booked for %s", k, sched, pract)
			}
		}
	}
	if free < 300 {
		t.Errorf("%d free slots, want at least 300", free)
	}
}

// TestSummary compares the counts of resources per Bundle and type with
// testdata/summary.golden (go test -update rewrites it).
func TestSummary(t *testing.T) {
	var b strings.Builder
	fmt.Fprintf(&b, "demo dataset for %s\n", today.Format("2006-01-02"))
	for _, bundle := range Bundles(today) {
		counts := map[string]int{}
		for _, e := range bundle["entry"].([]any) {
			counts[fhir.TypeOf(e.(map[string]any)["resource"].(map[string]any))]++
		}
		var types []string
		for k := range counts {
			types = append(types, k)
		}
		sort.Strings(types)
		fmt.Fprintf(&b, "\n%s\n", bundle["id"])
		for _, k := range types {
			fmt.Fprintf(&b, "  %-20s %4d\n", k, counts[k])
		}
	}
	path := filepath.Join("testdata", "summary.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}
