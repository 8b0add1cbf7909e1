package search

import (
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/store"
)

var (
	indexerOnce sync.Once
	indexer     *Indexer
)

func testIndexer(t testing.TB) *Indexer {
	t.Helper()
	indexerOnce.Do(func() {
		ix, err := NewIndexer(defs.Default())
		if err != nil {
			panic(err)
		}
		indexer = ix
	})
	return indexer
}

// only keeps the rows of the given parameters (compartments are kept whole).
func only(ix store.Index, params ...string) store.Index {
	in := func(p string) bool { return slices.Contains(params, p) }
	var out store.Index
	for _, r := range ix.Tokens {
		if in(r.Param) {
			out.Tokens = append(out.Tokens, r)
		}
	}
	for _, r := range ix.Strings {
		if in(r.Param) {
			out.Strings = append(out.Strings, r)
		}
	}
	for _, r := range ix.Dates {
		if in(r.Param) {
			out.Dates = append(out.Dates, r)
		}
	}
	for _, r := range ix.Numbers {
		if in(r.Param) {
			out.Numbers = append(out.Numbers, r)
		}
	}
	for _, r := range ix.Quantities {
		if in(r.Param) {
			out.Quantities = append(out.Quantities, r)
		}
	}
	for _, r := range ix.References {
		if in(r.Param) {
			out.References = append(out.References, r)
		}
	}
	for _, r := range ix.URIs {
		if in(r.Param) {
			out.URIs = append(out.URIs, r)
		}
	}
	for _, r := range ix.Composites {
		if in(r.Param) {
			out.Composites = append(out.Composites, r)
		}
	}
	out.Compartments = ix.Compartments
	return out
}

func day(param, d string) store.Date {
	lo, hi, err := DateRange(d)
	if err != nil {
		panic(err)
	}
	return store.Date{Param: param, Low: lo, High: hi}
}

func mustParse(t testing.TB, s string) map[string]any {
	t.Helper()
	res, err := fhir.Parse([]byte(s), fhir.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

var indexCmp = []cmp.Option{cmpopts.EquateEmpty(), cmpopts.EquateApprox(0, 1e-9)}

func TestIndexExamples(t *testing.T) {
	mmHg := func(param, v string, lo, hi float64) store.Quantity {
		return store.Quantity{Param: param, System: ucumSystem, Code: "mm[Hg]", Unit: "mmHg", Value: v, Low: lo, High: hi,
			CanonicalCode: "mm[Hg]", CanonicalValue: (lo + hi) / 2}
	}
	tests := []struct {
		name   string
		file   string
		params []string
		want   store.Index
	}{
		{
			name:   "Patient names, birthdate, gender, identifier, city",
			file:   "fhir-r4/examples/Patient-example.json",
			params: []string{"family", "given", "birthdate", "gender", "identifier", "identifier:of-type", "address-city", "organization"},
			want: store.Index{
				Tokens: []store.Token{
					{Param: "gender", System: "http://hl7.org/fhir/administrative-gender", Code: "male"},
					{Param: "identifier:of-type", System: "http://terminology.hl7.org/CodeSystem/v2-0203|MR", Code: "12345"},
					{Param: "identifier", System: "urn:oid:1.2.36.146.595.217.0.1", Code: "12345"},
				},
				Strings: []store.String{
					{Param: "address-city", Norm: "pleasantville", Exact: "PleasantVille"},
					{Param: "family", Norm: "chalmers", Exact: "Chalmers"},
					{Param: "family", Norm: "windsor", Exact: "Windsor"},
					{Param: "given", Norm: "peter", Exact: "Peter"},
					{Param: "given", Norm: "james", Exact: "James"},
					{Param: "given", Norm: "jim", Exact: "Jim"},
				},
				Dates:        []store.Date{day("birthdate", "1974-12-25")},
				References:   []store.Reference{{Param: "organization", TargetType: "Organization", TargetID: "1"}},
				Compartments: []store.CompartmentRef{{Type: "Patient", ID: "example"}},
			},
		},
		{
			name:   "Observation code, quantity interval, date, subject and compartments",
			file:   "fhir-r4/examples/Observation-example.json",
			params: []string{"code", "value-quantity", "date", "subject", "patient", "encounter"},
			want: store.Index{
				Tokens: []store.Token{
					{Param: "code", System: "http://loinc.org", Code: "29463-7", Text: "body weight"},
					{Param: "code", System: "http://loinc.org", Code: "3141-9", Text: "body weight measured"},
					{Param: "code", System: "http://snomed.info/sct", Code: "27113001", Text: "body weight"},
					{Param: "code", System: "http://acme.org/devices/clinical-codes", Code: "body-weight", Text: "body weight"},
				},
				Dates: []store.Date{day("date", "2016-03-28")},
				Quantities: []store.Quantity{{Param: "value-quantity", System: ucumSystem, Code: "[lb_av]", Unit: "lbs",
					Value: "185", Low: 184.5, High: 185.5, CanonicalCode: "g", CanonicalValue: 185 * 453.59237}},
				References: []store.Reference{
					{Param: "encounter", TargetType: "Encounter", TargetID: "example"},
					{Param: "patient", TargetType: "Patient", TargetID: "example"},
					{Param: "subject", TargetType: "Patient", TargetID: "example"},
				},
				Compartments: []store.CompartmentRef{{Type: "Encounter", ID: "example"}, {Type: "Patient", ID: "example"}},
			},
		},
		{
			name:   "Observation component composite",
			file:   "fhir-r4/examples/Observation-blood-pressure.json",
			params: []string{"component-code-value-quantity"},
			want: store.Index{
				Composites: []store.Composite{
					{Param: "component-code-value-quantity", Components: []store.CompositePart{
						{Token: &store.Token{Param: "component-code", System: "http://loinc.org", Code: "8480-6", Text: "systolic blood pressure"}},
						{Quantity: ptr(mmHg("component-value-quantity", "107", 106.5, 107.5))}}},
					{Param: "component-code-value-quantity", Components: []store.CompositePart{
						{Token: &store.Token{Param: "component-code", System: "http://snomed.info/sct", Code: "271649006", Text: "systolic blood pressure"}},
						{Quantity: ptr(mmHg("component-value-quantity", "107", 106.5, 107.5))}}},
					{Param: "component-code-value-quantity", Components: []store.CompositePart{
						{Token: &store.Token{Param: "component-code", System: "http://acme.org/devices/clinical-codes", Code: "bp-s", Text: "systolic blood pressure"}},
						{Quantity: ptr(mmHg("component-value-quantity", "107", 106.5, 107.5))}}},
					{Param: "component-code-value-quantity", Components: []store.CompositePart{
						{Token: &store.Token{Param: "component-code", System: "http://loinc.org", Code: "8462-4", Text: "diastolic blood pressure"}},
						{Quantity: ptr(mmHg("component-value-quantity", "60", 59.5, 60.5))}}},
				},
				Compartments: []store.CompartmentRef{{Type: "Patient", ID: "example"}, {Type: "Practitioner", ID: "example"}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := readResource(t, tc.file)
			got, err := testIndexer(t).Index(res)
			if err != nil {
				t.Fatal(err)
			}
			got = only(got, tc.params...)
			sortCompartments(&got)
			if diff := cmp.Diff(tc.want, got, indexCmp...); diff != "" {
				t.Errorf("Index (-want +got):\n%s", diff)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func sortCompartments(ix *store.Index) {
	slices.SortFunc(ix.Compartments, func(a, b store.CompartmentRef) int {
		if a.Type != b.Type {
			if a.Type < b.Type {
				return -1
			}
			return 1
		}
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
}

func TestIndexValueTypes(t *testing.T) {
	tests := []struct {
		name   string
		res    string
		params []string
		want   store.Index
	}{
		{
			name:   "Period with open end, absolute and identifier references",
			res:    `{"resourceType":"Encounter","id":"e1","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"period":{"start":"2020-05-01T10:00:00+02:00"},"subject":{"reference":"http://other.example/fhir/Patient/p9"},"participant":[{"individual":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"9999913394"}}}]}`,
			params: []string{"date", "subject", "patient", "practitioner", "participant", "class"},
			want: store.Index{
				Tokens: []store.Token{
					{Param: "class", System: "http://terminology.hl7.org/CodeSystem/v3-ActCode", Code: "AMB"},
					{Param: "participant", System: "http://hl7.org/fhir/sid/us-npi", Code: "9999913394"},
				},
				Dates: []store.Date{{Param: "date", Low: utc("2020-05-01T08:00:00Z"), High: OpenHigh}},
				References: []store.Reference{
					{Param: "patient", URL: "http://other.example/fhir/Patient/p9"},
					{Param: "subject", URL: "http://other.example/fhir/Patient/p9"},
				},
				Compartments: []store.CompartmentRef{{Type: "Encounter", ID: "e1"}},
			},
		},
		{
			name:   "canonical reference with version, contained reference skipped",
			res:    `{"resourceType":"QuestionnaireResponse","id":"q1","status":"completed","questionnaire":"http://example.org/Questionnaire/phq9|2.0","author":{"reference":"#p1"}}`,
			params: []string{"questionnaire", "author"},
			want: store.Index{
				References: []store.Reference{{Param: "questionnaire", URL: "http://example.org/Questionnaire/phq9", Version: "2.0"}},
			},
		},
		{
			name:   "ContactPoint, CodeableConcept text, Timing events, meta",
			res:    `{"resourceType":"MedicationRequest","id":"m1","meta":{"tag":[{"system":"http://x","code":"t"}],"profile":["http://p/1"],"source":"http://src"},"status":"active","intent":"order","subject":{"reference":"Patient/p1"},"medicationCodeableConcept":{"text":"aspirin"},"dosageInstruction":[{"timing":{"event":["2021-01-02"]}}]}`,
			params: []string{"code", "_tag", "_profile", "_source", "patient"},
			want: store.Index{
				Tokens: []store.Token{
					{Param: "_tag", System: "http://x", Code: "t"},
					{Param: "code", Text: "aspirin"},
				},
				References:   []store.Reference{{Param: "patient", TargetType: "Patient", TargetID: "p1"}},
				URIs:         []store.URI{{Param: "_profile", Value: "http://p/1"}, {Param: "_source", Value: "http://src"}},
				Compartments: []store.CompartmentRef{{Type: "Patient", ID: "p1"}},
			},
		},
		{
			name:   "Range and Age onset, number",
			res:    `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},"onsetRange":{"low":{"value":5,"unit":"a","system":"http://unitsofmeasure.org","code":"a"},"high":{"value":10.0,"unit":"a","system":"http://unitsofmeasure.org","code":"a"}}}`,
			params: []string{"onset-age", "onset-date"},
			want: store.Index{
				Quantities:   []store.Quantity{{Param: "onset-age", System: ucumSystem, Code: "a", Unit: "a", Low: 4.5, High: 10.05}},
				Compartments: []store.CompartmentRef{{Type: "Patient", ID: "p1"}},
			},
		},
		{
			name:   "Money as quantity",
			res:    `{"resourceType":"ChargeItem","id":"k1","status":"billed","code":{"text":"x"},"subject":{"reference":"Patient/p1"},"priceOverride":{"value":12.50,"currency":"USD"}}`,
			params: []string{"price-override"},
			want: store.Index{
				Quantities: []store.Quantity{{Param: "price-override", System: "urn:iso:std:iso:4217", Code: "USD", Unit: "USD",
					Value: "12.50", Low: 12.495, High: 12.505}},
				Compartments: []store.CompartmentRef{{Type: "Patient", ID: "p1"}},
			},
		},
		{
			name:   "choice element by its JSON name (US Core asserted-date)",
			res:    `{"resourceType":"Condition","id":"c2","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/condition-assertedDate","valueDateTime":"2016-08-10"}],"subject":{"reference":"Patient/p1"}}`,
			params: []string{"asserted-date"},
			want: store.Index{
				Dates:        []store.Date{day("asserted-date", "2016-08-10")},
				Compartments: []store.CompartmentRef{{Type: "Patient", ID: "p1"}},
			},
		},
		{
			name:   "expression without a type name",
			res:    `{"resourceType":"InsurancePlan","id":"i1","name":"Gold Plan","alias":["GP"]}`,
			params: []string{"name"},
			want: store.Index{Strings: []store.String{
				{Param: "name", Norm: "gold plan", Exact: "Gold Plan"},
				{Param: "name", Norm: "gp", Exact: "GP"},
			}},
		},
		{
			name:   "RiskAssessment probability number",
			res:    `{"resourceType":"RiskAssessment","id":"r1","status":"final","subject":{"reference":"Patient/p1"},"prediction":[{"probabilityDecimal":0.02}]}`,
			params: []string{"probability"},
			want: store.Index{
				Numbers:      []store.Number{{Param: "probability", Value: "0.02", Low: 0.015, High: 0.025}},
				Compartments: []store.CompartmentRef{{Type: "Patient", ID: "p1"}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := testIndexer(t).Index(mustParse(t, tc.res))
			if err != nil {
				t.Fatal(err)
			}
			got = only(got, tc.params...)
			sortCompartments(&got)
			if diff := cmp.Diff(tc.want, got, indexCmp...); diff != "" {
				t.Errorf("Index (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIndexOwnBaseURL(t *testing.T) {
	res := mustParse(t, `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"https://ehr.example/fhir/Patient/p1"},"performer":[{"reference":"https://other.example/fhir/Practitioner/d1"}]}`)
	got, err := testIndexer(t).WithBaseURL("https://ehr.example/fhir").Index(res)
	if err != nil {
		t.Fatal(err)
	}
	got = only(got, "subject", "patient", "performer")
	want := store.Index{
		References: []store.Reference{
			{Param: "patient", TargetType: "Patient", TargetID: "p1"},
			{Param: "performer", URL: "https://other.example/fhir/Practitioner/d1"},
			{Param: "subject", TargetType: "Patient", TargetID: "p1"},
		},
		Compartments: []store.CompartmentRef{{Type: "Patient", ID: "p1"}},
	}
	if diff := cmp.Diff(want, got, indexCmp...); diff != "" {
		t.Errorf("Index (-want +got):\n%s", diff)
	}
}

func TestIndexUnknownType(t *testing.T) {
	_, err := testIndexer(t).Index(map[string]any{"resourceType": "Nope"})
	if err == nil {
		t.Fatal("Index of an unknown type succeeded")
	}
}

// TestIndexAllExamples indexes every example resource of the specification
// and of US Core: no error, and every row well formed.
func TestIndexAllExamples(t *testing.T) {
	for _, tc := range []struct {
		dir string
		min int
	}{
		{"fhir-r4/examples", 500},
		{"us-core/6.1.0/package/example", 100},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			dir := dataPath(t, tc.dir)
			names, err := globJSON(dir)
			if err != nil {
				t.Fatal(err)
			}
			ix := testIndexer(t)
			n := 0
			for _, name := range names {
				res := readResource(t, tc.dir+"/"+name)
				if fhir.TypeOf(res) == "Bundle" || defs.Default().Type(fhir.TypeOf(res)) == nil {
					continue
				}
				got, err := ix.Index(res)
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				n++
				checkRows(t, name, got)
			}
			if n < tc.min {
				t.Errorf("indexed only %d examples", n)
			}
		})
	}
}

// checkRows checks the invariants of index rows.
func checkRows(t *testing.T, name string, got store.Index) {
	t.Helper()
	for _, d := range got.Dates {
		if d.High.Before(d.Low) {
			t.Errorf("%s: date row %s has High before Low", name, d.Param)
		}
	}
	for _, q := range got.Quantities {
		if !(q.Low <= q.High) || math.IsNaN(q.Low) {
			t.Errorf("%s: quantity row %s has interval [%v, %v)", name, q.Param, q.Low, q.High)
		}
	}
	for _, r := range got.References {
		if r.TargetID == "" && r.URL == "" {
			t.Errorf("%s: empty reference row %s", name, r.Param)
		}
	}
	for _, s := range got.Strings {
		if s.Norm == "" || s.Norm != NormalizeString(s.Exact) {
			t.Errorf("%s: string row %s has Norm %q for %q", name, s.Param, s.Norm, s.Exact)
		}
	}
	for _, c := range got.Compartments {
		if c.ID == "" {
			t.Errorf("%s: compartment %s without id", name, c.Type)
		}
	}
}

func TestIndexUSCorePatient(t *testing.T) {
	res := readResource(t, "us-core/6.1.0/package/example/Patient-example.json")
	got, err := testIndexer(t).Index(res)
	if err != nil {
		t.Fatal(err)
	}
	got = only(got, "race", "ethnicity")
	want := []store.Token{
		{Param: "ethnicity", Code: "2135-2"}, {Param: "ethnicity", Code: "2184-0"}, {Param: "ethnicity", Code: "2148-5"},
		{Param: "race", Code: "2106-3"}, {Param: "race", Code: "1002-5"}, {Param: "race", Code: "2028-9"},
		{Param: "race", Code: "1586-7"}, {Param: "race", Code: "2036-2"},
	}
	if diff := cmp.Diff(want, got.Tokens, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("race and ethnicity tokens (-want +got):\n%s", diff)
	}
}

// TestIndexBundles indexes the entries of the Inferno US Core patient
// Bundles and checks the rows.
func TestIndexBundles(t *testing.T) {
	for _, name := range []string{"inferno/uscore_bundle_patient_85.json", "inferno/uscore_bundle_patient_355.json"} {
		t.Run(name, func(t *testing.T) {
			bundle := readResource(t, name)
			entries, _ := bundle["entry"].([]any)
			n := 0
			for _, e := range entries {
				em, _ := e.(map[string]any)
				res, ok := em["resource"].(map[string]any)
				if !ok {
					continue
				}
				got, err := testIndexer(t).Index(res)
				if err != nil {
					t.Errorf("%s/%s: %v", fhir.TypeOf(res), fhir.IDOf(res), err)
					continue
				}
				checkRows(t, fhir.TypeOf(res)+"/"+fhir.IDOf(res), got)
				n++
			}
			if n == 0 {
				t.Error("no entries indexed")
			}
		})
	}
}

// TestEveryParameterIndexed checks that every search parameter with an
// expression is prepared for every type it applies to, and that nothing was
// left out for an expression the engine could not compile.
func TestEveryParameterIndexed(t *testing.T) {
	d := defs.Default()
	ix := testIndexer(t)
	if u := ix.Unindexed(); len(u) > 0 {
		t.Errorf("unindexed expressions: %v", u)
	}
	for _, rt := range d.ResourceTypes() {
		have := map[string]bool{}
		for _, p := range ix.byType[rt].params {
			have[p.code] = true
		}
		for _, sp := range d.SearchParams(rt) {
			if _, special := specialKind(sp.Code); special || sp.Expression == "" || sp.Type == "special" {
				continue
			}
			if !have[sp.Code] {
				t.Errorf("%s.%s (%s) is not indexed", rt, sp.Code, sp.Expression)
			}
		}
	}
}
