// Package terminology holds the code systems OpenChart's pickers and
// safety checks read: ICD-10-CM (FY2026), CVX, the LOINC Top 2000 US lab
// tests with unit conversions, and a partial RxNorm catalogue. The data is
// embedded (data/), loaded lazily, once per process, and indexed for word
// prefix search; nothing here touches a store or the network.
//
// Every code system returns its concepts with the FHIR system URI they are
// coded under, so a Coding can be written straight from a Concept. The
// sources, licences and coverage limits are in docs/KNOWLEDGE.md and NOTICE.
package terminology
