// Package fhirapi is the transport-free FHIR R4 RESTful interaction layer
// (https://hl7.org/fhir/R4/http.html). A Request names an interaction
// (read, vread, update, patch, delete, history, create, search,
// capabilities, batch/transaction, $validate) with its parameters, headers
// and body; API.Handle performs it through the Repository and returns a
// Response carrying the HTTP status, the headers FHIR defines (Location,
// ETag, Last-Modified) and a canonical JSON body: a resource, a Bundle or an
// OperationOutcome.
//
// The HTTP adapter (package fhirhttp), Bundle entries (batch and
// transaction) and the importer all re-enter this layer, so conditional
// operations, preconditions and error mapping are written once.
//
// Errors are internal/errs values; outcome.go maps their kinds to HTTP
// status codes and OperationOutcome resources in one place. Only JSON is
// supported (application/fhir+json); the CapabilityStatement says so.
package fhirapi
