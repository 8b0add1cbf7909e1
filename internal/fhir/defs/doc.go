// Package defs holds the FHIR R4 (4.0.1) definitions that OpenChart
// interprets at run time: every resource and data type with its elements
// (https://hl7.org/fhir/R4/structuredefinition.html, flattened from the
// snapshots, in snapshot order), the value sets of required bindings expanded
// to code lists (https://hl7.org/fhir/R4/terminologies.html#required), the
// search parameters of the core specification and of US Core 6.1.0
// (https://hl7.org/fhir/R4/searchparameter.html) and the compartment
// definitions (https://hl7.org/fhir/R4/compartmentdefinition.html).
//
// The data is generated from the official definition bundles by
// ./gen (go generate) into data/*.json.gz and embedded in the binary, so
// nothing about an individual resource type is written by hand.
//
// A *Definitions is immutable once loaded and safe for concurrent use; load
// it once (Default does) and share it.
//
// Type names: a resource or data type by its name ("Patient", "HumanName",
// "string"); a backbone element by its path ("Observation.component",
// "Bundle.entry.request"). Elements declared with a contentReference
// ("Questionnaire.item.item" -> "#Questionnaire.item") resolve to the type
// of the element they refer to.
package defs

//go:generate go run ./gen -defs ../../../../shared/data/fhir-r4/definitions -uscore ../../../../shared/data/us-core/6.1.0/package -out data
