// Package validate checks a parsed FHIR R4 resource against the embedded
// definitions (package defs): the structural rules of the JSON format
// (https://hl7.org/fhir/R4/json.html), element cardinalities and types from
// the StructureDefinitions (https://hl7.org/fhir/R4/elementdefinition.html),
// the formats of primitive types (https://hl7.org/fhir/R4/datatypes.html),
// required terminology bindings (https://hl7.org/fhir/R4/terminologies.html#required),
// reference syntax (https://hl7.org/fhir/R4/references.html), the rules for
// contained resources (https://hl7.org/fhir/R4/references.html#contained,
// dom-2..dom-5), extensions (https://hl7.org/fhir/R4/extensibility.html,
// ext-1) and narrative (https://hl7.org/fhir/R4/narrative.html#xhtml).
//
// Invariants written in FHIRPath are not evaluated here: a caller that has a
// FHIRPath engine passes it as Options.Invariants. The rules the validator
// already enforces structurally (ele-1, ext-1, dom-2..dom-5, ref-1, txt-1,
// txt-2) are not handed to the hook.
//
// A Validator precomputes its lookup tables in New and is safe for
// concurrent use; Validate allocates only for what it reports.
package validate
