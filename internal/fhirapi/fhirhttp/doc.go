// Package fhirhttp is the HTTP adapter of the FHIR R4 API
// (https://hl7.org/fhir/R4/http.html). It parses routes ([base]/metadata,
// /[type], /[type]/[id], /_history at every level, /[type]/_search,
// /[Compartment]/[id]/[type], $operations, and POST [base] for Bundles)
// into fhirapi.Requests, reads bodies within a size limit (gzip accepted),
// negotiates the format (FHIR JSON only: anything else is 406), and writes
// every answer, errors included, as application/fhir+json: errors are
// OperationOutcomes, panics are 500 OperationOutcomes with the detail
// logged, never shown.
package fhirhttp
