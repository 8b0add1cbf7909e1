package terminology

// FHIR system URIs of the embedded code systems (terminologies.html of
// FHIR R4 and the HL7 terminology registry).
const (
	SystemICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
	SystemCVX     = "http://hl7.org/fhir/sid/cvx"
	SystemLOINC   = "http://loinc.org"
	SystemRxNorm  = "http://www.nlm.nih.gov/research/umls/rxnorm"
)

// Concept is one code of a code system, in the shape of a FHIR Coding.
type Concept struct {
	System  string
	Code    string
	Display string
	// Billable is meaningful for ICD-10-CM only: the code is valid on a
	// claim (a leaf of the tabular list). Headers are not billable.
	Billable bool
}
