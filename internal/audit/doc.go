// Package audit is the model of OpenChart's audit trail: what one entry
// records, its canonical bytes, the SHA-256 hash chain that makes the trail
// tamper-evident, the verification of that chain, and the view of an entry
// as a FHIR R4 AuditEvent (https://hl7.org/fhir/R4/auditevent.html).
//
// The Repository writes one entry for every interaction with health data in
// the same store transaction as the interaction itself (ONC 45 CFR
// 170.315(d)(2) auditable events and tamper resistance, (d)(3) audit
// reports, (d)(10) auditing actions on health information). The store
// assigns each entry its sequence number and chains it: hash =
// SHA-256(previous hash || canonical entry). Verify walks the chain and
// names the first entry that does not hold. docs/AUDIT.md describes the
// format.
//
// The package imports nothing of OpenChart but access, so that the store
// can persist entries without an import cycle.
package audit
