package demo

import (
	"bytes"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/fhir/validate"
	"github.com/openchart/openchart/internal/fhirpath"
)

// today is a fixed day for the tests; TestAnyDay tries others.
var today = time.Date(2026, time.November, 25, 15, 4, 5, 0, time.UTC)

// resources flattens the Bundles into their resources.
func resources(t *testing.T, bundles []map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, b := range bundles {
		if b["type"] != "transaction" {
			t.Fatalf("Bundle %v has type %v, want transaction", b["id"], b["type"])
		}
		for _, e := range b["entry"].([]any) {
			entry := e.(map[string]any)
			r := entry["resource"].(map[string]any)
			req := entry["request"].(map[string]any)
			if want := fhir.TypeOf(r) + "/" + fhir.IDOf(r); req["method"] != "PUT" || req["url"] != want {
				t.Errorf("entry request = %v %v, want PUT %s", req["method"], req["url"], want)
			}
			out = append(out, r)
		}
	}
	return out
}

func TestDeterministic(t *testing.T) {
	a, b := Bundles(today), Bundles(today)
	for i := range a {
		if !bytes.Equal(fhir.Marshal(a[i]), fhir.Marshal(b[i])) {
			t.Fatalf("Bundle %d differs between two runs", i)
		}
	}
	// The time of day and the zone of the clock do not matter, only the
	// clinic's date.
	c := Bundles(time.Date(2026, time.November, 26, 5, 59, 0, 0, time.UTC)) // 23:59 on the 25th in Illinois
	for i := range a {
		if !bytes.Equal(fhir.Marshal(a[i]), fhir.Marshal(c[i])) {
			t.Errorf("Bundle %v differs for another time on the same clinic day", a[i]["id"])
		}
	}
}

func TestIDsAreUniqueAndValid(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range resources(t, Bundles(today)) {
		key := fhir.TypeOf(r) + "/" + fhir.IDOf(r)
		if !fhir.ValidID(fhir.IDOf(r)) || !strings.HasPrefix(fhir.IDOf(r), "demo-") {
			t.Errorf("%s: id is not a valid demo id", key)
		}
		if seen[key] {
			t.Errorf("%s appears twice", key)
		}
		seen[key] = true
	}
}

// TestReferencesResolve checks that every literal reference points to a
// resource of the dataset.
func TestReferencesResolve(t *testing.T) {
	all := resources(t, Bundles(today))
	ids := map[string]bool{}
	for _, r := range all {
		ids[fhir.TypeOf(r)+"/"+fhir.IDOf(r)] = true
	}
	n := 0
	for _, r := range all {
		walk(r, "", func(path string, key string, v any) {
			if key != "reference" {
				return
			}
			n++
			s, _ := v.(string)
			if _, _, _, ok := fhir.SplitReference(s); !ok || !ids[s] {
				t.Errorf("%s/%s %s: reference %q does not resolve", fhir.TypeOf(r), fhir.IDOf(r), path, s)
			}
		})
	}
	t.Logf("%d references, all resolved", n)
}

// walk calls f for every property below v.
func walk(v any, path string, f func(path, key string, v any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			f(path+"."+k, k, e)
			walk(e, path+"."+k, f)
		}
	case []any:
		for _, e := range x {
			walk(e, path, f)
		}
	}
}

// TestNoFutureClinicalData checks that only schedules, slots and
// appointments (and what is future by nature: expiry dates, prescription
// validity, a due date) lie after today.
func TestNoFutureClinicalData(t *testing.T) {
	future := map[string]bool{"Slot": true, "Appointment": true, "Schedule": true}
	ahead := map[string]bool{"expirationDate": true, "validityPeriod": true, "valueDateTime": true}
	day := today.In(clinicZone).Format("2006-01-02")
	for _, r := range resources(t, Bundles(today)) {
		if future[fhir.TypeOf(r)] {
			continue
		}
		walk(r, "", func(path, key string, v any) {
			s, ok := v.(string)
			if !ok || len(s) < 10 || s[4] != '-' || s[7] != '-' || ahead[key] || strings.Contains(path, ".validityPeriod") {
				return
			}
			if _, err := time.Parse("2006-01-02", s[:10]); err != nil {
				return
			}
			if len(s) > 10 {
				ts, err := time.Parse(time.RFC3339, s)
				if err == nil && ts.After(today) {
					t.Errorf("%s/%s %s = %s is after today", fhir.TypeOf(r), fhir.IDOf(r), path, s)
				}
			} else if s > day {
				t.Errorf("%s/%s %s = %s is after today", fhir.TypeOf(r), fhir.IDOf(r), path, s)
			}
		})
	}
}

// TestRoundTrip checks that every resource survives the project's own JSON
// writer and parser unchanged: numbers are json.Number, arrays []any.
func TestRoundTrip(t *testing.T) {
	for _, r := range resources(t, Bundles(today)) {
		got, err := fhir.Parse(fhir.Marshal(r), fhir.ParseOptions{})
		if err != nil {
			t.Fatalf("%s/%s: %v", fhir.TypeOf(r), fhir.IDOf(r), err)
		}
		if reflect.DeepEqual(r, got) {
			continue
		}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Errorf("%s/%s round trip (-want +got):\n%s", fhir.TypeOf(r), fhir.IDOf(r), diff)
		}
	}
}

// invariants evaluates the FHIRPath constraints of the definitions with the
// project's engine; an expression it cannot evaluate counts as failed.
func invariants() validate.InvariantFunc {
	var mu sync.Mutex
	compiled := map[string]*fhirpath.Expression{}
	opts := &fhirpath.Options{Model: defs.Default(), Resolve: fhirpath.ReferenceStub}
	return func(expr string, res map[string]any, node any, nodeType string) (bool, error) {
		mu.Lock()
		e, ok := compiled[expr]
		if !ok {
			var err error
			if e, err = fhirpath.Compile(expr); err != nil {
				mu.Unlock()
				return false, err
			}
			compiled[expr] = e
		}
		mu.Unlock()
		out, err := e.Evaluate(fhirpath.NodeValue(node, nodeType), opts)
		if err != nil {
			return false, err
		}
		if len(out) == 0 {
			return true, nil
		}
		return len(out) == 1 && out[0].String() == "true", nil
	}
}

// TestValid checks every resource, and every Bundle, against the FHIR R4
// definitions, their FHIRPath invariants included.
func TestValid(t *testing.T) {
	v := validate.New(defs.Default(), validate.Options{Invariants: invariants()})
	bundles := Bundles(today)
	counts := map[string]int{}
	warnings, lastWarning := 0, ""
	for _, r := range append(resources(t, bundles), bundles...) {
		counts[fhir.TypeOf(r)]++
		for _, is := range v.Validate(r) {
			if is.Severity == "error" || is.Severity == "fatal" {
				t.Errorf("%s/%s: %s %s at %v", fhir.TypeOf(r), fhir.IDOf(r), is.Code, is.Diagnostics, is.Expression)
			} else {
				warnings++
				if testing.Verbose() && is.Diagnostics != lastWarning {
					t.Logf("warning: %s/%s: %s at %v", fhir.TypeOf(r), fhir.IDOf(r), is.Diagnostics, is.Expression)
					lastWarning = is.Diagnostics
				}
			}
		}
	}
	var types []string
	for k := range counts {
		types = append(types, k)
	}
	sort.Strings(types)
	total := 0
	for _, k := range types {
		if k != "Bundle" {
			total += counts[k]
		}
		t.Logf("%-20s %5d", k, counts[k])
	}
	t.Logf("%d resources in %d Bundles; %d warnings", total, counts["Bundle"], warnings)
}

// TestAnyDay builds the demo for days around the year (month ends, leap
// days, weekends) and checks it stays valid and self-consistent.
func TestAnyDay(t *testing.T) {
	v := validate.New(defs.Default(), validate.Options{})
	for _, d := range []time.Time{
		time.Date(2024, time.February, 29, 8, 0, 0, 0, time.UTC),
		time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC), // a Sunday
		time.Date(2027, time.January, 2, 5, 30, 0, 0, time.UTC),
		time.Date(2030, time.September, 16, 23, 0, 0, 0, time.UTC),
	} {
		all := resources(t, Bundles(d))
		ids := map[string]bool{}
		for _, r := range all {
			ids[fhir.TypeOf(r)+"/"+fhir.IDOf(r)] = true
		}
		for _, r := range all {
			for _, is := range v.Validate(r) {
				if is.Severity == "error" || is.Severity == "fatal" {
					t.Errorf("%s: %s/%s: %s at %v", d.Format("2006-01-02"), fhir.TypeOf(r), fhir.IDOf(r), is.Diagnostics, is.Expression)
				}
			}
			walk(r, "", func(path, key string, v any) {
				if s, ok := v.(string); ok && key == "reference" && !ids[s] {
					t.Errorf("%s: %s/%s %s: dangling %q", d.Format("2006-01-02"), fhir.TypeOf(r), fhir.IDOf(r), path, s)
				}
			})
		}
	}
}

// TestStableAcrossDays checks that loading the demo again on a later day
// updates the same resources: ids do not move with the calendar. Only a
// flu season leaving the window of a history, or slots on a closed day,
// may leave a resource behind.
func TestStableAcrossDays(t *testing.T) {
	idsOn := func(d time.Time) map[string]bool {
		ids := map[string]bool{}
		for _, r := range resources(t, Bundles(d)) {
			ids[fhir.TypeOf(r)+"/"+fhir.IDOf(r)] = true
		}
		return ids
	}
	day := time.Date(2026, time.August, 3, 12, 0, 0, 0, time.UTC)
	prev := idsOn(day)
	for i := 1; i <= 400; i += 11 {
		next := idsOn(day.AddDate(0, 0, i))
		for id := range prev {
			if !next[id] && !strings.HasPrefix(id, "Slot/") && !strings.Contains(id, "-flu") {
				t.Errorf("%s: %s is gone %d days later", day.Format("2006-01-02"), id, i)
			}
		}
	}
}
