// Package store defines the storage contract under the Repository: versioned
// FHIR resources kept as canonical JSON, with typed search-index rows written
// in the same transaction, and the structured queries that search compiles
// to. Two implementations satisfy it, store/sqlite (embedded, the default)
// and store/postgres, and both must pass the shared suite in store/storetest.
//
// A store knows nothing of FHIR semantics beyond this contract: it does not
// parse resources, validate, authorize or audit. The Repository does that and
// is the only caller.
package store
