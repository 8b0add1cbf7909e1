// Package scale makes larger test populations from a Synthea sample by
// re-identifying copies of its patients.
//
// Patient k of the output is a copy of source patient k mod n (n source
// Bundles, sorted by name). Every copy gets, deterministically from the
// seed and k:
//
//   - new resource ids and fullUrls (UUIDv5-style hashes of seed, copy and
//     old id), with every occurrence of an old id in the Bundle rewritten:
//     urn:uuid fullUrls, Reference.reference, and identifiers that carry
//     the id (Synthea's MRN and record identifiers);
//   - new names, drawn from small embedded lists, replaced wherever the old
//     name tokens appear (references' display, narrative, attachments);
//   - new SSN, driver's licence and passport numbers, street address and
//     phone number;
//   - all date, dateTime and instant values moved by one whole-day offset
//     per copy, which keeps each value's precision and time zone exactly
//     (only the calendar date changes).
//
// Conditional references (Practitioner?identifier=..., Organization?...,
// Location?...) point into the two shared information Bundles, which are
// copied once, so they are left as they are. NDJSON output cannot carry
// urn:uuid or conditional references, so there they become Type/id
// references, resolved through the information Bundles' identifiers.
//
// Generation streams one patient at a time: memory does not grow with the
// number of patients.
package scale
