package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/store"
)

// Analyzer is implemented by stores that can refresh planner statistics;
// benchmarks and plan tests call it after loading data.
type Analyzer interface {
	Analyze(ctx context.Context) error
}

// Synthetic is a write of a synthetic Observation-like resource with about
// 25 index rows and 1.5 KB of JSON, the shape of a Synthea import.
func Synthetic(i int, version int64) store.Write {
	id := fmt.Sprintf("syn-%07d", i)
	patient := fmt.Sprintf("pat-%05d", i/50)
	when := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	ix := store.Index{
		Tokens: []store.Token{
			{Param: "code", System: loinc, Code: fmt.Sprintf("%d-%d", 1000+i%200, i%10), Text: "Some observation"},
			{Param: "code", System: snomed, Code: fmt.Sprintf("%d", 100000+i%300)},
			{Param: "status", System: "http://hl7.org/fhir/observation-status", Code: "final"},
			{Param: "category", System: "http://terminology.hl7.org/CodeSystem/observation-category", Code: "vital-signs"},
			{Param: "identifier", System: "urn:ietf:rfc:3986", Code: "urn:uuid:" + id},
			{Param: "_tag", System: "http://example.org/tags", Code: "synthetic"},
			{Param: "combo-code", System: loinc, Code: fmt.Sprintf("%d-%d", 1000+i%200, i%10)},
			{Param: "data-absent-reason", System: "http://example.org/x", Code: "n/a"},
			{Param: "method", System: snomed, Code: fmt.Sprintf("%d", i%7)},
			{Param: "_security", System: "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", Code: "N"},
		},
		Strings: []store.String{
			{Param: "value-string", Norm: "normal finding " + id, Exact: "Normal finding " + id},
			{Param: "note", Norm: "no comment", Exact: "No comment"},
		},
		Dates: []store.Date{
			{Param: "date", Low: when, High: when.Add(time.Second - time.Microsecond)},
			{Param: "issued", Low: when, High: when},
			{Param: "_lastUpdated", Low: when, High: when},
		},
		Quantities: []store.Quantity{{Param: "value-quantity", System: ucum, Code: "mm[Hg]", Unit: "mm[Hg]",
			Low: float64(i%200) - 0.5, High: float64(i%200) + 0.5, CanonicalCode: "mm[Hg]", CanonicalValue: float64(i % 200)}},
		References: []store.Reference{
			{Param: "subject", TargetType: "Patient", TargetID: patient, URL: "Patient/" + patient},
			{Param: "patient", TargetType: "Patient", TargetID: patient, URL: "Patient/" + patient},
			{Param: "encounter", TargetType: "Encounter", TargetID: fmt.Sprintf("enc-%06d", i/5), URL: fmt.Sprintf("Encounter/enc-%06d", i/5)},
		},
		URIs:         []store.URI{{Param: "_profile", Value: "http://hl7.org/fhir/us/core/StructureDefinition/us-core-vital-signs"}},
		Compartments: []store.CompartmentRef{{Type: "Patient", ID: patient}, {Type: "Encounter", ID: fmt.Sprintf("enc-%06d", i/5)}},
		Composites: []store.Composite{{Param: "code-value-quantity", Components: []store.CompositePart{
			{Token: &store.Token{System: loinc, Code: fmt.Sprintf("%d-%d", 1000+i%200, i%10)}},
			{Quantity: &store.Quantity{System: ucum, Code: "mm[Hg]", Low: float64(i%200) - 0.5, High: float64(i%200) + 0.5}},
		}}},
	}
	pad := strings.Repeat("x", 1100)
	body := fmt.Appendf(nil, `{"resourceType":"Observation","id":%q,"meta":{"versionId":"%d"},"status":"final","subject":{"reference":"Patient/%s"},"note":[{"text":%q}]}`, id, version, patient, pad)
	m := store.MethodCreate
	if version > 1 {
		m = store.MethodUpdate
	}
	return store.Write{Record: store.Record{Type: "Observation", ID: id, Version: version, Method: m, JSON: body}, Index: ix}
}

// Load writes n synthetic resources, batch per transaction, and analyzes.
func Load(tb testing.TB, s store.Store, n, batch int) {
	tb.Helper()
	ctx := context.Background()
	for start := 0; start < n; start += batch {
		var ws []store.Write
		for i := start; i < min(n, start+batch); i++ {
			ws = append(ws, Synthetic(i, 1))
		}
		if err := put(ctx, s, ws...); err != nil {
			tb.Fatalf("load: %v", err)
		}
	}
	if a, ok := s.(Analyzer); ok {
		if err := a.Analyze(ctx); err != nil {
			tb.Fatalf("analyze: %v", err)
		}
	}
}

// BenchPut measures import transactions of 700 new resources.
func BenchPut(b *testing.B, s store.Store) {
	ctx := context.Background()
	const batch = 700
	ws := make([]store.Write, batch)
	next := 0
	b.ResetTimer()
	for b.Loop() {
		for j := range ws {
			ws[j] = Synthetic(next, 1)
			ws[j].LastUpdated = time.Time{}
			next++
		}
		if err := put(ctx, s, ws...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(next)/b.Elapsed().Seconds(), "resources/s")
}

// BenchRead measures reads by id over 10,000 resources.
func BenchRead(b *testing.B, s store.Store) {
	const n = 10000
	Load(b, s, n, 1000)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for b.Loop() {
		id := fmt.Sprintf("syn-%07d", r.IntN(n))
		if _, err := s.Read(ctx, "Observation", id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchCountToken measures a count-only token search matching every one of
// 10,000 resources (100,000 token rows in the table).
func BenchCountToken(b *testing.B, s store.Store) {
	const n = 10000
	Load(b, s, n, 1000)
	ctx := context.Background()
	q := &store.Query{Types: []string{"Observation"}, Total: store.TotalAccurate,
		Where: where(tok("category", "http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs"))}
	matches := 0
	b.ResetTimer()
	for b.Loop() {
		res, err := s.Search(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		if res.Total != n {
			b.Fatalf("count = %d, want %d", res.Total, n)
		}
		matches += res.Total
	}
	b.ReportMetric(float64(matches)/b.Elapsed().Seconds(), "matches/s")
}

// BenchSearchChain measures a page of a chained search (Observation by the
// encounter's id through a chain on _id).
func BenchSearchChain(b *testing.B, s store.Store) {
	const n = 10000
	Load(b, s, n, 1000)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	b.ResetTimer()
	for b.Loop() {
		q := &store.Query{Types: []string{"Observation"}, Count: 20, Where: where(
			refTo("subject", "Patient", fmt.Sprintf("pat-%05d", r.IntN(n/50))),
			tok("status", "http://hl7.org/fhir/observation-status", "final"))}
		res, err := s.Search(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Records) != 20 {
			b.Fatalf("got %d records", len(res.Records))
		}
	}
}

// PutPatients creates, in one transaction, the Patients prefix+from ...
// prefix+(to-1), each indexed under gender=female, with a text of about
// 2×textBytes characters in their JSON when textBytes > 0 (to fill pages).
func PutPatients(tb testing.TB, s store.Store, prefix string, from, to, textBytes int) {
	tb.Helper()
	ws := make([]store.Write, 0, to-from)
	for i := from; i < to; i++ {
		id := prefix + strconv.Itoa(i)
		body := []byte(`{"resourceType":"Patient","id":"` + id + `"}`)
		if textBytes > 0 {
			body = fmt.Appendf(nil, `{"resourceType":"Patient","id":%q,"text":%q}`, id, fmt.Sprint(make([]byte, textBytes)))
		}
		ws = append(ws, store.Write{Record: store.Record{Type: "Patient", ID: id, Version: 1, Method: store.MethodCreate, JSON: body},
			Index: store.Index{Tokens: []store.Token{{Param: "gender", Code: "female"}}}})
	}
	if err := put(context.Background(), s, ws...); err != nil {
		tb.Fatalf("put patients %s%d-%s%d: %v", prefix, from, prefix, to-1, err)
	}
}
