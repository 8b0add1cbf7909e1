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
// transaction) and the importer (API.ProcessBundle) all re-enter this
// layer, so conditional operations, preconditions and error mapping are
// written once. One file per interaction family: read.go, create.go,
// update.go, delete.go, patch.go (JSON Patch) and fhirpatch.go (FHIRPath
// Patch), history.go, search.go with include.go and subset.go, bundle.go
// and transaction.go with refs.go, capabilities.go, validate.go and
// everything.go (Patient/$everything).
//
// Errors are internal/errs values; outcome.go maps their kinds to HTTP
// status codes and OperationOutcome resources in one place. errs.Invalid is
// 400, except when every error issue is a business rule or invariant
// failure of a well-formed resource (422). Internal errors show a generic
// message; their detail is only logged.
//
// Choices where the specification leaves room:
//   - Create, update and patch return the resource unless Prefer asks for
//     return=minimal or return=OperationOutcome; delete returns 200 with an
//     OperationOutcome, or 204 under return=minimal.
//   - Transactions run in one Repository transaction in the order DELETE,
//     POST, PUT/PATCH, GET (https://hl7.org/fhir/R4/http.html#trules);
//     conditional criteria (ifNoneExist, conditional PUT/DELETE, conditional
//     references) see the state before the transaction; a plain read entry
//     sees the transaction's own writes, a search entry does not.
//   - Search and history pages are addressed by _offset (search) and by a
//     store cursor plus a pinned time (history: _pageCursor, _pageAt).
//   - Only JSON is supported (application/fhir+json); the
//     CapabilityStatement says so.
package fhirapi
