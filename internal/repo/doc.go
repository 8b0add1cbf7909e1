// Package repo is the Repository: the only way to read or write a FHIR
// resource. Every door (FHIR REST, Bundles, import, the web UI, HL7 feeds)
// calls it, so the rules live here once: validation against the embedded
// definitions, versioning (meta.versionId, meta.lastUpdated), search
// indexing in the same transaction as the version, conditional operations,
// and (as they arrive) the access policy and the audit trail.
//
// Writes happen inside a transaction (Repo.InTx). A Tx buffers the versions
// it writes and hands them to the store in one batch when the transaction
// function returns, so a 700-entry Bundle is a single round of inserts.
package repo
