package search

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/store"
	"github.com/openchart/openchart/internal/store/sqlite"
)

// TestSearchOverSQLite writes specification examples with the Indexer's rows
// into the embedded store and runs compiled searches against it: the index
// rows and the queries must agree with the store on every parameter type.
func TestSearchOverSQLite(t *testing.T) {
	files := []string{
		"Patient-example.json", "Patient-f001.json", "Patient-pat2.json",
		"Observation-example.json", "Observation-blood-pressure.json", "Observation-f001.json",
		"Encounter-example.json", "Organization-1.json", "Practitioner-example.json",
		"RiskAssessment-cardiac.json", "RiskAssessment-genetic.json", "Condition-example.json", "QuestionnaireResponse-3141.json",
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ix := testIndexer(t)
	var writes []store.Write
	for _, f := range files {
		res := readResource(t, "fhir-r4/examples/"+f)
		rows, err := ix.Index(res)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		writes = append(writes, store.Write{
			Record: store.Record{Type: fhir.TypeOf(res), ID: fhir.IDOf(res), Version: 1, Method: store.MethodCreate, JSON: fhir.Marshal(res)},
			Index:  rows,
		})
	}
	for _, js := range []string{
		`{"resourceType":"Encounter","id":"npi","status":"finished","class":{"code":"AMB"},"participant":[{"individual":{"identifier":{"system":"http://hl7.org/fhir/sid/us-npi","value":"9999913394"}}}]}`,
		`{"resourceType":"List","id":"l1","status":"current","mode":"working","entry":[{"item":{"reference":"Patient/example"}},{"item":{"reference":"Observation/f001"}}]}`,
		`{"resourceType":"Patient","id":"accent","name":[{"family":"Müller","given":["Zoë"]}],"birthDate":"2001"}`,
		`{"resourceType":"Observation","id":"cafe","status":"final","code":{"coding":[{"system":"urn:x","code":"c1","display":"Café au lait spots"}]}}`,
	} {
		res := mustParse(t, js)
		rows, err := ix.Index(res)
		if err != nil {
			t.Fatal(err)
		}
		writes = append(writes, store.Write{
			Record: store.Record{Type: fhir.TypeOf(res), ID: fhir.IDOf(res), Version: 1, Method: store.MethodCreate, JSON: fhir.Marshal(res)},
			Index:  rows,
		})
	}
	err = st.InTx(ctx, func(tx store.Tx) error {
		for i := range writes {
			writes[i].LastUpdated = tx.Now()
		}
		return tx.Put(ctx, writes)
	})
	if err != nil {
		t.Fatal(err)
	}

	c := NewCompiler(defs.Default())
	tests := []struct {
		name, typ, query string
		want             []string
	}{
		{"token code", "Observation", "code=http://loinc.org|29463-7", []string{"Observation/example"}},
		{"token code any system", "Observation", "component-code=8480-6", []string{"Observation/blood-pressure"}},
		{"token implicit code system", "Patient", "gender=http://hl7.org/fhir/administrative-gender|male", []string{"Patient/example", "Patient/f001"}},
		{"token :not (resources without the value too)", "Patient", "gender:not=male", []string{"Patient/accent", "Patient/pat2"}},
		{"token :not over several values", "Patient", "gender:not=male,other", []string{"Patient/accent"}},
		{"token :in", "Patient", "gender:in=http://hl7.org/fhir/ValueSet/administrative-gender", []string{"Patient/example", "Patient/f001", "Patient/pat2"}},
		{"token :text on display", "Observation", "code:text=body weight", []string{"Observation/example"}},
		{"token :text folds accents", "Observation", "code:text=cafe au", []string{"Observation/cafe"}},
		{"identifier", "Patient", "identifier=urn:oid:1.2.36.146.595.217.0.1|12345", []string{"Patient/example"}},
		{"identifier :of-type", "Patient", "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|12345", []string{"Patient/example"}},
		{"string prefix, case and accents", "Patient", "family=CHALM", []string{"Patient/example"}},
		{"string :exact", "Patient", "given:exact=Peter", []string{"Patient/example"}},
		{"string :exact wrong case", "Patient", "given:exact=peter", nil},
		{"string :contains", "Patient", "address:contains=ainbo", []string{"Patient/example"}},
		{"date day", "Patient", "birthdate=1974-12-25", []string{"Patient/example"}},
		{"date year", "Patient", "birthdate=1974", []string{"Patient/example"}},
		{"date ge with an open period", "Observation", "date=ge2016", []string{"Observation/example", "Observation/f001"}},
		{"date lt", "Observation", "date=lt2013-01-01", []string{"Observation/blood-pressure"}},
		{"date with zone", "Observation", "date=2013-04-02T08:30:10Z", nil},
		{"date sa", "Observation", "date=sa2013-04-01", []string{"Observation/example", "Observation/f001"}},
		{"quantity with unit", "Observation", "value-quantity=185|http://unitsofmeasure.org|[lb_av]", []string{"Observation/example"}},
		{"quantity in another unit", "Observation", "value-quantity=ap83.9|http://unitsofmeasure.org|kg", []string{"Observation/example"}},
		{"quantity with exponent", "Observation", "value-quantity=1.85e2", []string{"Observation/example"}},
		{"quantity finer than stored", "Observation", "value-quantity=185.4", nil},
		{"quantity outside precision", "Observation", "value-quantity=185.6", nil},
		{"number", "RiskAssessment", "probability=gt0.01", []string{"RiskAssessment/cardiac"}},
		{"number precision", "RiskAssessment", "probability=0.02", []string{"RiskAssessment/cardiac"}},
		{"reference Type/id", "Observation", "subject=Patient/example", []string{"Observation/blood-pressure", "Observation/example"}},
		{"reference bare id", "Observation", "patient=example", []string{"Observation/blood-pressure", "Observation/example"}},
		{"reference :missing", "Observation", "encounter:missing=false", []string{"Observation/example"}},
		{"reference :missing=true", "Patient", "general-practitioner:missing=true", []string{"Patient/accent", "Patient/example", "Patient/f001", "Patient/pat2"}},
		{"composite", "Observation", "component-code-value-quantity=http://loinc.org|8480-6$gt100", []string{"Observation/blood-pressure"}},
		{"composite mismatched pair", "Observation", "component-code-value-quantity=http://loinc.org|8462-4$gt100", nil},
		{"chain with type", "Observation", "subject:Patient.name=peter", []string{"Observation/blood-pressure", "Observation/example"}},
		{"chain", "Patient", "organization.name=gastro", []string{"Patient/example", "Patient/pat2"}},
		{"chain two levels", "Observation", "subject:Patient.organization.name=gastro", []string{"Observation/blood-pressure", "Observation/example"}},
		{"reverse chain", "Patient", "_has:Observation:patient:code=29463-7", []string{"Patient/example"}},
		{"compartment", "Observation", "", []string{"Observation/blood-pressure", "Observation/example"}},
		{"_id", "Patient", "_id=example,f001", []string{"Patient/example", "Patient/f001"}},
		{"_list", "Patient", "_list=l1", []string{"Patient/example"}},
		{"reference :identifier", "Encounter", "participant:identifier=http://hl7.org/fhir/sid/us-npi|9999913394", []string{"Encounter/npi"}},
		{"string without accents", "Patient", "name=zoe&family=MULLER", []string{"Patient/accent"}},
		{"string with accents", "Patient", "family:exact=Müller", []string{"Patient/accent"}},
		{"sort by date descending", "Patient", "_sort=-birthdate&birthdate:missing=false", []string{"Patient/accent", "Patient/example", "Patient/f001"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			cp, err := c.Compile(tc.typ, params, true)
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "compartment" {
				cp.Query.Where = append(cp.Query.Where, CompartmentClause("Patient", "example"))
			}
			cp.Query.Count = 100
			res, err := st.Search(ctx, cp.Query)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res.Records {
				got = append(got, r.Type+"/"+r.ID)
			}
			if !strings.HasPrefix(tc.name, "sort") {
				slices.Sort(got)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s?%s (-want +got):\n%s", tc.typ, tc.query, diff)
			}
		})
	}
}
