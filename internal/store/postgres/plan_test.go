package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlgen"
	"github.com/openchart/openchart/internal/store/storetest"
)

// TestPlansUseIndexes loads a few thousand resources, analyzes, and checks
// that typical searches are planned with indexes: a sequential scan of a
// large table would make them grow with the database, not with the result.
func TestPlansUseIndexes(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	storetest.Load(t, s, 5000, 1000)
	ctx := context.Background()
	pred := func(p store.Predicate) []store.Clause { return []store.Clause{{Or: []store.Predicate{p}}} }
	lo, hi := storetest.Synthetic(100, 1).Index.Dates[0].Low, storetest.Synthetic(130, 1).Index.Dates[0].High
	obs := []string{"Observation"}
	tests := []struct {
		name string
		q    store.Query
	}{
		{"token", store.Query{Types: obs, Count: 20, Where: pred(store.Predicate{Param: "code", Kind: store.KindToken, System: "http://loinc.org", Code: "1007-7"})}},
		{"date range", store.Query{Types: obs, Count: 20, Where: []store.Clause{
			{Or: []store.Predicate{{Param: "date", Kind: store.KindDate, Op: store.OpGe, Low: lo, High: lo}}},
			{Or: []store.Predicate{{Param: "date", Kind: store.KindDate, Op: store.OpLe, Low: hi, High: hi}}},
		}}},
		{"reference", store.Query{Types: obs, Count: 20, Where: pred(store.Predicate{Param: "subject", Kind: store.KindReference, TargetType: "Patient", TargetID: "pat-00007"})}},
		{"string prefix", store.Query{Types: obs, Count: 20, Where: pred(store.Predicate{Param: "value-string", Kind: store.KindString, Norm: "normal finding syn-00001"})}},
		{"chain", store.Query{Types: obs, Count: 20, Where: pred(store.Predicate{Param: "encounter", Kind: store.KindReference,
			Chain: &store.Query{Types: []string{"Observation"}, Where: pred(store.Predicate{Param: "_id", Kind: store.KindID, Code: "syn-0000042"})}})}},
		{"_has", store.Query{Types: obs, Count: 20, Where: pred(store.Predicate{Kind: store.KindReference,
			Has: &store.Has{Param: "encounter", Query: &store.Query{Types: obs, Where: pred(store.Predicate{Param: "code", Kind: store.KindToken, System: "http://loinc.org", Code: "1007-7"})}}})}},
	}
	// A patient's whole compartment ($everything) under the access policy's
	// hidden-label negations, which every restricted query carries.
	compartmentTypes := []string{"Account", "AllergyIntolerance", "Appointment", "CarePlan", "CareTeam", "Claim", "Condition",
		"Coverage", "DiagnosticReport", "DocumentReference", "Encounter", "ExplanationOfBenefit", "Goal", "ImagingStudy",
		"Immunization", "MedicationAdministration", "MedicationRequest", "Observation", "Patient", "Procedure", "Provenance"}
	hidden := func(code string) store.Clause {
		return store.Clause{Or: []store.Predicate{{Param: "_security", Kind: store.KindToken, Op: store.OpNot,
			System: "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", Code: code}}}
	}
	tests = append(tests, struct {
		name string
		q    store.Query
	}{"compartment of many types, hidden labels", store.Query{Types: compartmentTypes, Count: 1000, Where: []store.Clause{
		{Or: []store.Predicate{{Kind: store.KindCompartment, Compartment: store.CompartmentRef{Type: "Patient", ID: "pat-00007"}}}},
		hidden("R"), hidden("V"),
	}}})
	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// The cost of a random page on solid-state storage, which docs/STORAGE.md
	// recommends; with the default (4, for spinning disks) a table of a few
	// thousand rows is cheaper to scan than to probe.
	if _, err := conn.Exec(ctx, "SET random_page_cost = 1.1"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := sqlgen.Page(sqlgen.Postgres{}, &tc.q)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := conn.Query(ctx, "EXPLAIN "+st.SQL, st.Args...)
			if err != nil {
				t.Fatal(err)
			}
			var plan []string
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, line)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			text := strings.Join(plan, "\n")
			if strings.Contains(text, "Seq Scan") {
				t.Errorf("plan scans a table sequentially:\n%s", text)
			}
		})
	}
}
