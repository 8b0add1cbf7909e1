// Package fhirpath implements FHIRPath (normative release N1, as used by FHIR
// R4) over FHIR resources held as parsed JSON: objects are map[string]any,
// arrays []any, strings string, numbers json.Number (decode with UseNumber so
// decimal text is preserved) and booleans bool.
//
// Compile an expression once and evaluate it many times:
//
//	expr, err := fhirpath.Compile("Observation.value as Quantity")
//	...
//	res, err := expr.Evaluate(resource, &fhirpath.Options{Model: defs})
//
// Each item of a result Collection is a Value: either a node of the JSON tree
// carrying its FHIR type name (Type returns "HumanName", "code",
// "Observation.component", ...) or a FHIRPath System value (Boolean, String,
// Integer, Decimal, Date, DateTime, Time, Quantity). Value.JSON gives the
// underlying JSON and Value.Primitive the Go value of a primitive.
//
// Type information comes from a Model. Without one the engine works from the
// JSON alone: plain paths, choice elements found by key prefix (value →
// valueQuantity) and types inferred from choice suffixes and resourceType.
//
// Decimals are exact (see Decimal); date/time values keep their precision so
// that comparisons between different precisions return empty as the
// specification requires (FHIRPath §6.2). Quantities convert between calendar
// durations and common UCUM units.
//
// One deliberate default departs from the letter of FHIRPath N1: "as" on a
// collection of several items filters it like ofType() instead of failing,
// because R4 search parameters and invariants are written that way; set
// Options.StrictAs for the normative behaviour.
//
// Not supported: the R5 functions slice() and elementDefinition() report an
// error; conformsTo() only checks the resource type of core profiles.
package fhirpath
