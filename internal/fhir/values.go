package fhir

import (
	"encoding/json"
	"fmt"

	"github.com/openchart/openchart/internal/errs"
)

// Normalize returns a JSON object built in Go (a resource or an element,
// holding Go strings, numbers, bools, slices, maps and structs) in the
// parsed form that Parse produces and the Repository stores: objects as
// map[string]any, arrays as []any, numbers as json.Number. A value that
// JSON cannot represent (a NaN, a channel) or that FHIR JSON forbids (a
// null member, nesting beyond DefaultMaxDepth) is an errs.Internal error:
// the server built it, so it is a fault of the server, not of a request.
func Normalize(obj map[string]any) (map[string]any, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, errs.E("normalize", errs.Internal, fmt.Errorf("building a FHIR value: %w", err))
	}
	v, err := ParseJSON(data, ParseOptions{})
	if err != nil {
		return nil, errs.E("normalize", errs.Internal, fmt.Errorf("building a FHIR value: %w", err))
	}
	m, ok := v.(map[string]any)
	if !ok {
		// A nil map marshals to null, which ParseJSON accepts as a value.
		return nil, errs.E("normalize", errs.Internal, fmt.Errorf("building a FHIR value: %s is not an object", data))
	}
	return m, nil
}

// ParseStored parses the JSON of a resource read from storage, typ/id as
// the store names it. Stored resources were validated when written, so a
// failure is an errs.Internal error of op naming the resource.
func ParseStored(op, typ, id string, data []byte) (map[string]any, error) {
	res, err := Parse(data, ParseOptions{})
	if err != nil {
		return nil, errs.E(op, errs.Internal, fmt.Errorf("parsing %s/%s: %w", typ, id, err))
	}
	return res, nil
}

// Str returns v if it is a string, else "". With Obj and List it reads
// parsed JSON where absent or mistyped elements read as zero values:
// Str(Obj(res["code"])["text"]).
func Str(v any) string {
	s, _ := v.(string)
	return s
}

// List returns v if it is an array, else nil.
func List(v any) []any {
	a, _ := v.([]any)
	return a
}

// Obj returns v if it is an object, else nil (which reads as empty).
func Obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// RefOf returns the literal reference of a Reference element
// ({"reference": "Patient/1"} gives "Patient/1"), or "".
func RefOf(v any) string { return Str(Obj(v)["reference"]) }

// Reference returns a Reference element with the literal reference ref.
func Reference(ref string) map[string]any { return map[string]any{"reference": ref} }
