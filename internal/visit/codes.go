package visit

import (
	"strings"

	"github.com/openchart/openchart/internal/terminology"
)

// Code is one code of a code system as the visit writes it in a Coding.
type Code struct {
	System, Code, Display string
}

// Drug is a medication as a prescription names it and the safety checks
// see it: its RxNorm code, name, whether it is a product a prescription
// may name (a clinical or branded drug, not an ingredient), and its active
// ingredients by lower-case name.
type Drug struct {
	RxCUI        string
	Name         string
	Prescribable bool
	Ingredients  []string
}

// Codes looks up the codes the visit accepts. TerminologyCodes is the
// embedded implementation.
type Codes interface {
	// ICD10CM returns the concept of an ICD-10-CM code (with or without its
	// dot); billable is false for a category that has more specific codes.
	ICD10CM(code string) (c Code, billable, ok bool)
	// LabTest returns a LOINC laboratory test.
	LabTest(code string) (Code, bool)
	// Drug returns the RxNorm concept of an RxCUI.
	Drug(rxcui string) (Drug, bool)
}

// TerminologyCodes returns the lookups over the embedded code systems of
// internal/terminology (ICD-10-CM FY2026, LOINC Top 2000, partial RxNorm).
func TerminologyCodes() Codes { return termCodes{} }

type termCodes struct{}

func (termCodes) ICD10CM(code string) (Code, bool, bool) {
	c, ok := terminology.ICD10CM().Lookup(strings.TrimSpace(code))
	if !ok {
		return Code{}, false, false
	}
	return Code{System: c.System, Code: c.Code, Display: c.Display}, c.Billable, true
}

func (termCodes) LabTest(code string) (Code, bool) {
	t, ok := terminology.LOINC().Lookup(strings.TrimSpace(code))
	if !ok {
		return Code{}, false
	}
	return Code{System: t.System, Code: t.Code, Display: t.Display}, true
}

func (termCodes) Drug(rxcui string) (Drug, bool) {
	d, ok := terminology.RxNorm().Lookup(rxcui)
	if !ok {
		return Drug{}, false
	}
	out := Drug{RxCUI: d.Code, Name: d.Display, Prescribable: d.Prescribable()}
	for _, in := range d.Ingredients {
		out.Ingredients = append(out.Ingredients, strings.ToLower(in.Display))
	}
	return out, true
}
