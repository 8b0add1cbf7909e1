package search

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/store"
)

func or(ps ...store.Predicate) store.Clause { return store.Clause{Or: ps} }

func dateRange(s string) (lo, hi store.Predicate) {
	l, h, err := DateRange(s)
	if err != nil {
		panic(err)
	}
	return store.Predicate{Low: l}, store.Predicate{High: h}
}

func datePred(param string, op store.Op, s string) store.Predicate {
	lo, hi := dateRange(s)
	return store.Predicate{Param: param, Kind: store.KindDate, Op: op, Low: lo.Low, High: hi.High}
}

func TestCompileWhere(t *testing.T) {
	tok := func(param string, anySys bool, sys, code string) store.Predicate {
		return store.Predicate{Param: param, Kind: store.KindToken, AnySystem: anySys, System: sys, Code: code}
	}
	tests := []struct {
		name  string
		typ   string
		query string
		want  []store.Clause
	}{
		// token (search.html#token)
		{name: "token code only", typ: "Observation", query: "code=1234-5",
			want: []store.Clause{or(tok("code", true, "", "1234-5"))}},
		{name: "token system and code", typ: "Observation", query: "code=http://loinc.org|1234-5",
			want: []store.Clause{or(tok("code", false, "http://loinc.org", "1234-5"))}},
		{name: "token no system", typ: "Observation", query: "code=|1234-5",
			want: []store.Clause{or(tok("code", false, "", "1234-5"))}},
		{name: "token any code of system", typ: "Observation", query: "code=http://loinc.org|",
			want: []store.Clause{or(tok("code", false, "http://loinc.org", ""))}},
		{name: "token :not", typ: "Patient", query: "gender:not=male",
			want: []store.Clause{or(store.Predicate{Param: "gender", Kind: store.KindToken, Op: store.OpNot, AnySystem: true, Code: "male"})}},
		{name: "token :not with several values matches none of them", typ: "Patient", query: "gender:not=male,http://hl7.org/fhir/administrative-gender|female",
			want: []store.Clause{or(store.Predicate{Param: "gender", Kind: store.KindToken, Op: store.OpIn, Negate: true, Codes: []store.Token{
				{Code: "male"}, {System: "http://hl7.org/fhir/administrative-gender", Code: "female"}}})}},
		{name: "token :text normalized", typ: "Observation", query: "code:text=Body  Wéight",
			want: []store.Clause{or(store.Predicate{Param: "code", Kind: store.KindToken, Op: store.OpText, Norm: "body weight"})}},
		{name: "token :of-type", typ: "Patient", query: "identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|12345",
			want: []store.Clause{or(store.Predicate{Param: "identifier", Kind: store.KindToken, Op: store.OpOfType,
				System: "http://terminology.hl7.org/CodeSystem/v2-0203", Code: "MR", Exact: "12345"})}},
		{name: "token :not-in expands the value set", typ: "Patient", query: "gender:not-in=http://hl7.org/fhir/ValueSet/administrative-gender",
			want: []store.Clause{or(store.Predicate{Param: "gender", Kind: store.KindToken, Op: store.OpIn, Negate: true,
				Codes: []store.Token{
					{System: "http://hl7.org/fhir/administrative-gender", Code: "female"},
					{System: "http://hl7.org/fhir/administrative-gender", Code: "male"},
					{System: "http://hl7.org/fhir/administrative-gender", Code: "other"},
					{System: "http://hl7.org/fhir/administrative-gender", Code: "unknown"},
				}})}},
		{name: "token escaped comma and pipe", typ: "Patient", query: `identifier=a\|b|c\,d`,
			want: []store.Clause{or(tok("identifier", false, "a|b", "c,d"))}},
		{name: "OR with commas", typ: "Observation", query: "code=a,b",
			want: []store.Clause{or(tok("code", true, "", "a"), tok("code", true, "", "b"))}},
		{name: "AND with repeats", typ: "Observation", query: "code=a&code=b",
			want: []store.Clause{or(tok("code", true, "", "a")), or(tok("code", true, "", "b"))}},
		{name: "boolean token", typ: "Patient", query: "active=true",
			want: []store.Clause{or(tok("active", true, "", "true"))}},
		{name: "_tag", typ: "Patient", query: "_tag=http://x|t",
			want: []store.Clause{or(tok("_tag", false, "http://x", "t"))}},

		// string (search.html#string)
		{name: "string starts-with, normalized", typ: "Patient", query: "name=Zoë",
			want: []store.Clause{or(store.Predicate{Param: "name", Kind: store.KindString, Norm: "zoe", Exact: "Zoë"})}},
		{name: "string :exact", typ: "Patient", query: "family:exact=Chalmers",
			want: []store.Clause{or(store.Predicate{Param: "family", Kind: store.KindString, Op: store.OpExact, Norm: "chalmers", Exact: "Chalmers"})}},
		{name: "string :contains", typ: "Patient", query: "address:contains=erewhon",
			want: []store.Clause{or(store.Predicate{Param: "address", Kind: store.KindString, Op: store.OpContains, Norm: "erewhon", Exact: "erewhon"})}},

		// date (search.html#date)
		{name: "date eq day", typ: "Patient", query: "birthdate=1974-12-25",
			want: []store.Clause{or(datePred("birthdate", store.OpEq, "1974-12-25"))}},
		{name: "date prefixes", typ: "Observation", query: "date=ge2013-01&date=lt2014",
			want: []store.Clause{or(datePred("date", store.OpGe, "2013-01")), or(datePred("date", store.OpLt, "2014"))}},
		{name: "date with zone", typ: "Observation", query: "date=sa2013-01-14T10:00:00%2B05:00",
			want: []store.Clause{or(datePred("date", store.OpSa, "2013-01-14T10:00:00+05:00"))}},
		{name: "date eb and ap", typ: "Observation", query: "date=eb2013-01-14T10:00&date=ap2013",
			want: []store.Clause{or(datePred("date", store.OpEb, "2013-01-14T10:00")), or(datePred("date", store.OpAp, "2013"))}},
		{name: "_lastUpdated", typ: "Patient", query: "_lastUpdated=gt2020-01-01T00:00:00Z",
			want: []store.Clause{or(store.Predicate{Param: "_lastUpdated", Kind: store.KindLastUpdated, Op: store.OpGt,
				Low: utc("2020-01-01T00:00:00Z"), High: utc("2020-01-01T00:00:00.999999Z")})}},

		// number and quantity (search.html#number, #quantity)
		{name: "number with precision", typ: "RiskAssessment", query: "probability=gt0.5",
			want: []store.Clause{or(store.Predicate{Param: "probability", Kind: store.KindNumber, Op: store.OpGt, Number: 0.5, NumLow: 0.45, NumHigh: 0.55})}},
		{name: "number exponent", typ: "RiskAssessment", query: "probability=1e-1",
			want: []store.Clause{or(store.Predicate{Param: "probability", Kind: store.KindNumber, Number: 0.1, NumLow: 0.05, NumHigh: 0.15})}},
		{name: "quantity system and canonical code", typ: "Observation", query: "value-quantity=5.4|http://unitsofmeasure.org|mm[Hg]",
			want: []store.Clause{or(store.Predicate{Param: "value-quantity", Kind: store.KindQuantity, Number: 5.4, NumLow: 5.35, NumHigh: 5.45,
				System: "http://unitsofmeasure.org", Code: "mm[Hg]"})}},
		{name: "quantity in UCUM converted to the canonical unit", typ: "Observation", query: "value-quantity=5.4|http://unitsofmeasure.org|mg",
			want: []store.Clause{or(store.Predicate{Param: "value-quantity", Kind: store.KindQuantity, Number: 0.0054, NumLow: 0.00535, NumHigh: 0.00545,
				System: "http://unitsofmeasure.org", Code: "g"})}},
		{name: "quantity in degrees Fahrenheit", typ: "Observation", query: "value-quantity=gt212|http://unitsofmeasure.org|[degF]",
			want: []store.Clause{or(store.Predicate{Param: "value-quantity", Kind: store.KindQuantity, Op: store.OpGt, Number: 100, NumLow: 99.72222222222223, NumHigh: 100.27777777777777,
				System: "http://unitsofmeasure.org", Code: "Cel"})}},
		{name: "quantity code only", typ: "Observation", query: "value-quantity=le5.4||mg",
			want: []store.Clause{or(store.Predicate{Param: "value-quantity", Kind: store.KindQuantity, Op: store.OpLe, Number: 5.4, NumLow: 5.35, NumHigh: 5.45, Code: "mg"})}},
		{name: "quantity number only", typ: "Observation", query: "value-quantity=ap100",
			want: []store.Clause{or(store.Predicate{Param: "value-quantity", Kind: store.KindQuantity, Op: store.OpAp, Number: 100, NumLow: 99.5, NumHigh: 100.5})}},

		// reference (search.html#reference)
		{name: "reference Type/id", typ: "Observation", query: "subject=Patient/123",
			want: []store.Clause{or(store.Predicate{Param: "subject", Kind: store.KindReference, TargetType: "Patient", TargetID: "123"})}},
		{name: "reference bare id, several targets", typ: "Observation", query: "subject=123",
			want: []store.Clause{or(store.Predicate{Param: "subject", Kind: store.KindReference, TargetID: "123"})}},
		{name: "reference bare id, one target", typ: "Encounter", query: "service-provider=123",
			want: []store.Clause{or(store.Predicate{Param: "service-provider", Kind: store.KindReference, TargetType: "Organization", TargetID: "123"})}},
		{name: "reference type modifier", typ: "Observation", query: "subject:Patient=123",
			want: []store.Clause{or(store.Predicate{Param: "subject", Kind: store.KindReference, TargetType: "Patient", TargetID: "123"})}},
		{name: "reference absolute", typ: "Observation", query: "subject=http://other.org/fhir/Patient/1",
			want: []store.Clause{or(store.Predicate{Param: "subject", Kind: store.KindReference, URL: "http://other.org/fhir/Patient/1"})}},
		{name: "reference under own base is local", typ: "Observation", query: "subject=https://ehr.example/fhir/Patient/1",
			want: []store.Clause{or(store.Predicate{Param: "subject", Kind: store.KindReference, TargetType: "Patient", TargetID: "1"})}},
		{name: "reference canonical with version", typ: "QuestionnaireResponse", query: "questionnaire=http://x.org/Questionnaire/q|2.0",
			want: []store.Clause{or(store.Predicate{Param: "questionnaire", Kind: store.KindReference, URL: "http://x.org/Questionnaire/q", Version: "2.0"})}},
		{name: "reference :identifier", typ: "Observation", query: "subject:identifier=http://hl7.org/fhir/sid/us-ssn|123",
			want: []store.Clause{or(store.Predicate{Param: "subject", Kind: store.KindToken, System: "http://hl7.org/fhir/sid/us-ssn", Code: "123"})}},

		// uri (search.html#uri)
		{name: "uri", typ: "ValueSet", query: "url=http://x.org/vs",
			want: []store.Clause{or(store.Predicate{Param: "url", Kind: store.KindURI, Exact: "http://x.org/vs"})}},
		{name: "uri :below", typ: "ValueSet", query: "url:below=http://x.org/",
			want: []store.Clause{or(store.Predicate{Param: "url", Kind: store.KindURI, Op: store.OpBelow, Exact: "http://x.org/"})}},
		{name: "uri :above", typ: "ValueSet", query: "url:above=http://x.org/a/b",
			want: []store.Clause{or(store.Predicate{Param: "url", Kind: store.KindURI, Op: store.OpAbove, Exact: "http://x.org/a/b"})}},

		// composite (search.html#composite)
		{name: "composite token$quantity", typ: "Observation", query: "code-value-quantity=http://loinc.org|8480-6$lt60",
			want: []store.Clause{or(store.Predicate{Param: "code-value-quantity", Kind: store.KindComposite, Components: []store.Predicate{
				{Param: "code", Kind: store.KindToken, System: "http://loinc.org", Code: "8480-6"},
				{Param: "value-quantity", Kind: store.KindQuantity, Op: store.OpLt, Number: 60, NumLow: 59.5, NumHigh: 60.5},
			}})}},
		{name: "composite with escaped dollar", typ: "Observation", query: `code-value-string=a\$b$x`,
			want: []store.Clause{or(store.Predicate{Param: "code-value-string", Kind: store.KindComposite, Components: []store.Predicate{
				{Param: "code", Kind: store.KindToken, AnySystem: true, Code: "a$b"},
				{Param: "value-string", Kind: store.KindString, Norm: "x", Exact: "x"},
			}})}},

		// :missing (search.html#missing)
		{name: "missing true", typ: "Patient", query: "gender:missing=true",
			want: []store.Clause{or(store.Predicate{Param: "gender", Kind: store.KindToken, Op: store.OpMissing, Missing: true})}},
		{name: "missing false on a date", typ: "Patient", query: "birthdate:missing=false",
			want: []store.Clause{or(store.Predicate{Param: "birthdate", Kind: store.KindDate, Op: store.OpMissing})}},

		// _id
		{name: "_id OR", typ: "Patient", query: "_id=a,b",
			want: []store.Clause{or(store.Predicate{Param: "_id", Kind: store.KindID, AnySystem: true, Code: "a"},
				store.Predicate{Param: "_id", Kind: store.KindID, AnySystem: true, Code: "b"})}},

		{name: "_id :not", typ: "Patient", query: "_id:not=a",
			want: []store.Clause{or(store.Predicate{Param: "_id", Kind: store.KindID, Op: store.OpNot, AnySystem: true, Code: "a"})}},

		// empty values constrain nothing
		{name: "empty value ignored", typ: "Patient", query: "name=", want: nil},

		// chains (search.html#chaining)
		{name: "chain with type", typ: "Observation", query: "subject:Patient.name=peter",
			want: []store.Clause{or(store.Predicate{Param: "subject", Kind: store.KindReference, Chain: &store.Query{
				Types: []string{"Patient"},
				Where: []store.Clause{or(store.Predicate{Param: "name", Kind: store.KindString, Norm: "peter", Exact: "peter"})},
			}})}},
		{name: "chain without type narrows to targets having the parameter", typ: "Observation", query: "subject.name=peter",
			want: []store.Clause{or(store.Predicate{Param: "subject", Kind: store.KindReference, Chain: &store.Query{
				Types: []string{"Patient", "Location"},
				Where: []store.Clause{or(store.Predicate{Param: "name", Kind: store.KindString, Norm: "peter", Exact: "peter"})},
			}})}},
		{name: "two-level chain with OR", typ: "Observation", query: "patient.organization.name=a,b",
			want: []store.Clause{or(store.Predicate{Param: "patient", Kind: store.KindReference, Chain: &store.Query{
				Types: []string{"Patient"},
				Where: []store.Clause{or(store.Predicate{Param: "organization", Kind: store.KindReference, Chain: &store.Query{
					Types: []string{"Organization"},
					Where: []store.Clause{or(
						store.Predicate{Param: "name", Kind: store.KindString, Norm: "a", Exact: "a"},
						store.Predicate{Param: "name", Kind: store.KindString, Norm: "b", Exact: "b"})},
				}})},
			}})}},
		{name: "chain to _id", typ: "Observation", query: "patient:Patient._id=p1",
			want: []store.Clause{or(store.Predicate{Param: "patient", Kind: store.KindReference, Chain: &store.Query{
				Types: []string{"Patient"},
				Where: []store.Clause{or(store.Predicate{Param: "_id", Kind: store.KindID, AnySystem: true, Code: "p1"})},
			}})}},

		// reverse chains (search.html#has)
		{name: "_has", typ: "Patient", query: "_has:Observation:patient:code=1234-5",
			want: []store.Clause{or(store.Predicate{Param: "_has", Kind: store.KindReference, Has: &store.Has{Param: "patient", Query: &store.Query{
				Types: []string{"Observation"},
				Where: []store.Clause{or(tok("code", true, "", "1234-5"))},
			}}})}},
		{name: "nested _has with modifier", typ: "Patient", query: "_has:Observation:patient:_has:AuditEvent:entity:agent:Practitioner=p1",
			want: []store.Clause{or(store.Predicate{Param: "_has", Kind: store.KindReference, Has: &store.Has{Param: "patient", Query: &store.Query{
				Types: []string{"Observation"},
				Where: []store.Clause{or(store.Predicate{Param: "_has", Kind: store.KindReference, Has: &store.Has{Param: "entity", Query: &store.Query{
					Types: []string{"AuditEvent"},
					Where: []store.Clause{or(store.Predicate{Param: "agent", Kind: store.KindReference, TargetType: "Practitioner", TargetID: "p1"})},
				}}})},
			}}})}},

		// _list (search.html#list) as a reverse chain from List.item
		{name: "_list", typ: "Condition", query: "_list=l1",
			want: []store.Clause{or(store.Predicate{Param: "_has", Kind: store.KindReference, Has: &store.Has{Param: "item", Query: &store.Query{
				Types: []string{"List"},
				Where: []store.Clause{or(store.Predicate{Param: "_id", Kind: store.KindID, AnySystem: true, Code: "l1"})},
			}}})}},

		// system-level search
		{name: "system-level _type and _id", typ: "", query: "_type=Patient,Observation&_id=x",
			want: []store.Clause{or(store.Predicate{Param: "_id", Kind: store.KindID, AnySystem: true, Code: "x"})}},
		{name: "system-level common parameter of _type", typ: "", query: "_type=Observation,Condition&patient=Patient/p1",
			want: []store.Clause{or(store.Predicate{Param: "patient", Kind: store.KindReference, TargetType: "Patient", TargetID: "p1"})}},
		{name: "system-level bare id", typ: "", query: "_type=Observation,Condition&patient=p1",
			want: []store.Clause{or(store.Predicate{Param: "patient", Kind: store.KindReference, TargetID: "p1"})}},
	}
	c := NewCompiler(defs.Default())
	c.BaseURL = "https://ehr.example/fhir/"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Compile(tc.typ, params, true)
			if err != nil {
				t.Fatalf("Compile(%q): %v (issues %v)", tc.query, err, errs.IssuesOf(err))
			}
			if diff := cmp.Diff(tc.want, got.Query.Where, cmpopts.EquateEmpty(), cmpopts.EquateApprox(1e-12, 0)); diff != "" {
				t.Errorf("Compile(%q) Where (-want +got):\n%s", tc.query, diff)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name  string
		typ   string
		query string
		kind  errs.Kind
		param string // the parameter the issue names
	}{
		{"unknown parameter", "Patient", "foo=bar", errs.Invalid, "foo"},
		{"unknown modifier", "Patient", "name:bogus=x", errs.Invalid, "name:bogus"},
		{"bad date", "Patient", "birthdate=1974-13", errs.Invalid, "birthdate"},
		{"modifier on a date", "Patient", "birthdate:exact=1974", errs.Invalid, "birthdate:exact"},
		{"bad number", "RiskAssessment", "probability=lots", errs.Invalid, "probability"},
		{"bad quantity", "Observation", "value-quantity=5|mg", errs.Invalid, "value-quantity"},
		{"bad missing", "Patient", "gender:missing=maybe", errs.Invalid, "gender:missing"},
		{"bad of-type", "Patient", "identifier:of-type=MR|1", errs.Invalid, "identifier:of-type"},
		{"token above", "Observation", "code:above=x", errs.NotSupported, "code:above"},
		{"unknown value set", "Observation", "code:in=http://nowhere/vs", errs.NotSupported, "code:in"},
		{"reference to a type it cannot target", "Observation", "patient=Practitioner/1", errs.Invalid, "patient"},
		{"type modifier not a target", "Observation", "patient:Device=1", errs.Invalid, "patient:Device"},
		{"bad id", "Patient", "_id=a b", errs.Invalid, "_id"},
		{"modifier on _lastUpdated", "Patient", "_lastUpdated:exact=2020", errs.Invalid, "_lastUpdated:exact"},
		{"blank string", "Patient", "name=%20%20", errs.Invalid, "name"},
		{"composite part count", "Observation", "code-value-quantity=x", errs.Invalid, "code-value-quantity"},
		{"chain through a non-reference", "Observation", "code.name=x", errs.Invalid, "code.name"},
		{"chain to unknown parameter", "Observation", "subject:Patient.bogus=x", errs.Invalid, "subject:Patient.bogus"},
		{"_has with bad reference", "Patient", "_has:Observation:code:status=final", errs.Invalid, "_has:Observation:code:status"},
		{"_has that cannot point here", "Organization", "_has:Observation:patient:code=x", errs.Invalid, "_has:Observation:patient:code"},
		{"_has malformed", "Patient", "_has:Observation=x", errs.Invalid, "_has:Observation"},
		{"_text", "Patient", "_text=x", errs.NotSupported, "_text"},
		{"_content", "Patient", "_content=x", errs.NotSupported, "_content"},
		{"_filter", "Patient", "_filter=name eq x", errs.NotSupported, "_filter"},
		{"_query", "Patient", "_query=x", errs.NotSupported, "_query"},
		{"functional _list", "Patient", "_list=$current-problems", errs.NotSupported, "_list"},
		{"bad _list id", "Patient", "_list=a b", errs.Invalid, "_list"},
		{"_contained", "Patient", "_contained=true", errs.NotSupported, "_contained"},
		{"bad _count", "Patient", "_count=-1", errs.Invalid, "_count"},
		{"bad _summary", "Patient", "_summary=some", errs.Invalid, "_summary"},
		{"bad _total", "Patient", "_total=all", errs.Invalid, "_total"},
		{"bad _sort", "Patient", "_sort=bogus", errs.Invalid, "_sort"},
		{"bad _include", "Observation", "_include=Observation:code", errs.Invalid, "_include"},
		{"_include from another type", "Observation", "_include=Patient:organization", errs.Invalid, "_include"},
		{"unknown _type", "", "_type=Nope", errs.Invalid, "_type"},
		{"system-level unknown parameter", "", "name=x", errs.Invalid, "name"},
	}
	c := NewCompiler(defs.Default())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Compile(tc.typ, params, true)
			if err == nil {
				t.Fatalf("strict Compile(%q) succeeded", tc.query)
			}
			if got := errs.KindOf(err); got != tc.kind {
				t.Errorf("kind = %v, want %v (%v)", got, tc.kind, err)
			}
			issues := errs.IssuesOf(err)
			if len(issues) != 1 || len(issues[0].Expression) != 1 || issues[0].Expression[0] != tc.param || issues[0].Severity != "error" {
				t.Errorf("issues = %+v, want one error naming %q", issues, tc.param)
			}

			// Lenient: the parameter is dropped and reported.
			got, err := c.Compile(tc.typ, params, false)
			if err != nil {
				t.Fatalf("lenient Compile(%q): %v", tc.query, err)
			}
			if len(got.Query.Where) != 0 {
				t.Errorf("lenient Where = %+v, want none", got.Query.Where)
			}
			if len(got.Ignored) != 1 || got.Ignored[0].Severity != "warning" || got.Ignored[0].Expression[0] != tc.param {
				t.Errorf("Ignored = %+v, want one warning naming %q", got.Ignored, tc.param)
			}
			if _, used := got.SelfLink[tc.param]; used {
				t.Errorf("SelfLink %v keeps the ignored %q", got.SelfLink, tc.param)
			}
		})
	}
}

func TestCompileUnknownType(t *testing.T) {
	_, err := NewCompiler(defs.Default()).Compile("Nope", nil, false)
	if !errs.Is(err, errs.Invalid) {
		t.Fatalf("err = %v, want Invalid", err)
	}
}

func TestCompileResultParams(t *testing.T) {
	tests := []struct {
		name  string
		typ   string
		query string
		want  ResultParams
		total store.TotalMode
		count int
	}{
		{name: "defaults", typ: "Patient", query: "",
			want: ResultParams{Count: 50}, count: 50},
		{name: "sort keys typed from definitions", typ: "Observation", query: "_sort=-date,status,_id,-_lastUpdated",
			want: ResultParams{Count: 50, Sort: []store.Sort{
				{Param: "date", Kind: store.KindDate, Desc: true},
				{Param: "status", Kind: store.KindToken},
				{Param: "_id", Kind: store.KindID},
				{Param: "_lastUpdated", Kind: store.KindLastUpdated, Desc: true},
			}}, count: 50},
		{name: "count capped", typ: "Patient", query: "_count=5000&_offset=20",
			want: ResultParams{Count: 1000, Offset: 20}, count: 1000},
		{name: "summary count", typ: "Patient", query: "_summary=count",
			want: ResultParams{Summary: "count", Total: store.TotalAccurate}, total: store.TotalAccurate},
		{name: "total and elements", typ: "Patient", query: "_total=estimate&_elements=name,birthDate",
			want:  ResultParams{Count: 50, Total: store.TotalEstimate, Elements: []string{"name", "birthDate"}},
			total: store.TotalEstimate, count: 50},
		{name: "includes", typ: "Observation",
			query: "_include=Observation:patient&_include=Observation:subject:Group&_include:iterate=Patient:organization&_revinclude=Provenance:target&_include=*",
			want: ResultParams{Count: 50,
				Include: []Include{
					{Source: "Observation", Param: "patient"},
					{Source: "Observation", Param: "subject", Target: "Group"},
					{Source: "Observation", Param: "*"},
					{Source: "Patient", Param: "organization", Iterate: true},
				},
				RevInclude: []Include{{Source: "Provenance", Param: "target"}},
			}, count: 50},
		{name: "empty result parameters ignored", typ: "Patient", query: "_sort=&_count=&_include=",
			want: ResultParams{Count: 50}, count: 50},
		{name: "_count=0 gives the total", typ: "Patient", query: "_count=0",
			want: ResultParams{Total: store.TotalAccurate}, total: store.TotalAccurate},
		{name: "transport parameters and _contained=false accepted", typ: "Patient", query: "_format=json&_pretty=true&_contained=false",
			want: ResultParams{Count: 50}, count: 50},
	}
	c := NewCompiler(defs.Default())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Compile(tc.typ, params, true)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tc.query, err)
			}
			if diff := cmp.Diff(tc.want, got.Params, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Params (-want +got):\n%s", diff)
			}
			q := got.Query
			if q.Count != tc.count || q.Total != tc.total || q.Offset != got.Params.Offset {
				t.Errorf("Query Count/Total/Offset = %d/%v/%d, want %d/%v/%d", q.Count, q.Total, q.Offset, tc.count, tc.total, got.Params.Offset)
			}
			if diff := cmp.Diff(got.Params.Sort, q.Sort, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Query.Sort differs from Params.Sort:\n%s", diff)
			}
		})
	}
}

func TestCompileSelfLinkAndTypes(t *testing.T) {
	c := NewCompiler(defs.Default())
	params, _ := url.ParseQuery("name=peter&foo=1&_count=10000&_format=json&_type=Patient")
	got, err := c.Compile("", params, false)
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{"name": {"peter"}, "_count": {"1000"}, "_type": {"Patient"}}
	if diff := cmp.Diff(want, got.SelfLink); diff != "" {
		t.Errorf("SelfLink (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Patient"}, got.Query.Types); diff != "" {
		t.Errorf("Types (-want +got):\n%s", diff)
	}
	if len(got.Ignored) != 1 || got.Ignored[0].Expression[0] != "foo" {
		t.Errorf("Ignored = %+v", got.Ignored)
	}
}

func TestCriteria(t *testing.T) {
	c := NewCompiler(defs.Default())
	q, err := c.Criteria("Practitioner", url.Values{"identifier": {"http://hl7.org/fhir/sid/us-npi|9999913394"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Clause{or(store.Predicate{Param: "identifier", Kind: store.KindToken, System: "http://hl7.org/fhir/sid/us-npi", Code: "9999913394"})}
	if diff := cmp.Diff(want, q.Where, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Where (-want +got):\n%s", diff)
	}
	if _, err := c.Criteria("Practitioner", url.Values{"bogus": {"1"}}); !errs.Is(err, errs.Invalid) {
		t.Errorf("unknown criteria: err = %v, want Invalid", err)
	}
}

func TestCompartmentClause(t *testing.T) {
	got := CompartmentClause("Patient", "123")
	want := or(store.Predicate{Kind: store.KindCompartment, Compartment: store.CompartmentRef{Type: "Patient", ID: "123"}})
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("CompartmentClause (-want +got):\n%s", diff)
	}
}
