package fhirhttp_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func op(parts ...map[string]any) map[string]any {
	list := make([]any, len(parts))
	for i, p := range parts {
		list[i] = p
	}
	return map[string]any{"name": "operation", "part": list}
}

func part(name, key string, v any) map[string]any { return map[string]any{"name": name, key: v} }

func params(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"resourceType": "Parameters", "parameter": list}
}

// TestFHIRPathPatch applies FHIRPath Patch documents
// (https://hl7.org/fhir/R4/fhirpatch.html) over HTTP.
func TestFHIRPathPatch(t *testing.T) {
	e := newEnv(t)
	start := map[string]any{"resourceType": "Patient", "id": "fp", "birthDate": "1920-01-01",
		"name": []any{map[string]any{"family": "One"}, map[string]any{"family": "Two"}}}
	tests := []struct {
		name   string
		patch  map[string]any
		status int
		check  func(res map[string]any) any
		want   any
	}{
		{"replace primitive", params(op(part("type", "valueCode", "replace"), part("path", "valueString", "Patient.birthDate"), part("value", "valueDate", "1930-01-01"))),
			200, func(r map[string]any) any { return r["birthDate"] }, "1930-01-01"},
		{"add primitive", params(op(part("type", "valueCode", "add"), part("path", "valueString", "Patient"), part("name", "valueString", "gender"), part("value", "valueCode", "female"))),
			200, func(r map[string]any) any { return r["gender"] }, "female"},
		{"add choice", params(op(part("type", "valueCode", "add"), part("path", "valueString", "Patient"), part("name", "valueString", "deceased"), part("value", "valueBoolean", false))),
			200, func(r map[string]any) any { return r["deceasedBoolean"] }, false},
		{"add complex to list", params(op(part("type", "valueCode", "add"), part("path", "valueString", "Patient"), part("name", "valueString", "name"),
			map[string]any{"name": "value", "part": []any{part("family", "valueString", "Three")}})),
			200, func(r map[string]any) any { return str(r, "name", 2, "family") }, "Three"},
		{"delete list element", params(op(part("type", "valueCode", "delete"), part("path", "valueString", "Patient.name.where(family = 'One')"))),
			200, func(r map[string]any) any { return str(r, "name", 0, "family") }, "Two"},
		{"insert", params(op(part("type", "valueCode", "insert"), part("path", "valueString", "Patient.name"), part("index", "valueInteger", 0),
			map[string]any{"name": "value", "part": []any{part("family", "valueString", "Zero")}})),
			200, func(r map[string]any) any { return str(r, "name", 0, "family") }, "Zero"},
		{"move", params(op(part("type", "valueCode", "move"), part("path", "valueString", "Patient.name"), part("source", "valueInteger", 1), part("destination", "valueInteger", 0))),
			200, func(r map[string]any) any { return str(r, "name", 0, "family") }, "Two"},
		{"path matches two", params(op(part("type", "valueCode", "replace"), part("path", "valueString", "Patient.name.family"), part("value", "valueString", "X"))),
			400, nil, nil},
		{"result invalid", params(op(part("type", "valueCode", "replace"), part("path", "valueString", "Patient.birthDate"), part("value", "valueString", "soon"))),
			400, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.do("PUT", "/Patient/fp", start).must(t, map[bool]int{true: 201, false: 200}[tc.name == tests[0].name])
			r := e.do("PATCH", "/Patient/fp", tc.patch).must(t, tc.status)
			if tc.check == nil {
				return
			}
			if diff := cmp.Diff(tc.want, tc.check(r.body)); diff != "" {
				t.Errorf("(-want +got):\n%s\n%s", diff, r.raw)
			}
		})
	}
}
