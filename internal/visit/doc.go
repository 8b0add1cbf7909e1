// Package visit is the clinician's visit workflow as a domain service:
// starting an encounter, recording vital signs, writing and signing the
// SOAP note, coding diagnoses, ordering tests and referrals, and
// prescribing with drug-safety checks. Every step reads and writes FHIR
// resources through the Repository with the caller's principal, so the
// FHIR API shows exactly what the visit recorded, and every multi-resource
// step commits in one transaction or not at all.
//
// Each operation checks its input before it writes and reports every wrong
// field at once as FieldErrors (field -> plain-language message) inside an
// errs.Invalid error; nothing is stored then. The FHIR representation of
// each step, the plausibility ranges and the signing model are described in
// docs/VISIT.md.
package visit
