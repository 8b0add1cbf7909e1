package validate

// Required bindings on Coding and CodeableConcept
// (https://hl7.org/fhir/R4/terminologies.html#required): the concept SHALL
// be from the value set. A Coding must be in it; a CodeableConcept must have
// at least one coding in it (others may be translations from other systems).
// Text-only concepts are not accepted.

// checkCoding checks a Coding against its element's required binding.
func (s *state) checkCoding(m map[string]any, c *childInfo) {
	if c.vs == nil {
		return
	}
	if !s.codingIn(m, c) {
		sys, _ := m["system"].(string)
		code, _ := m["code"].(string)
		s.errorf("code-invalid", "the coding %s|%s is not in the value set %s, which is required", sys, code, c.elem.Binding.ValueSet)
	}
}

func (s *state) codingIn(m map[string]any, c *childInfo) bool {
	code, _ := m["code"].(string)
	if code == "" {
		return false
	}
	if sys, ok := m["system"].(string); ok {
		return c.vs.Contains(sys, code)
	}
	return c.vs.ContainsCode(code)
}

// checkCodeableConcept checks a CodeableConcept against its element's
// required binding.
func (s *state) checkCodeableConcept(m map[string]any, c *childInfo) {
	if c.vs == nil {
		return
	}
	codings, _ := m["coding"].([]any)
	for _, x := range codings {
		if cm, ok := x.(map[string]any); ok && s.codingIn(cm, c) {
			return
		}
	}
	if len(codings) == 0 {
		s.errorf("code-invalid", "no code given, and one from the value set %s is required", c.elem.Binding.ValueSet)
		return
	}
	s.errorf("code-invalid", "none of the codings is in the value set %s, which is required", c.elem.Binding.ValueSet)
}

// checkExtension enforces ext-1: an extension has either a value or nested
// extensions, not both and not neither
// (https://hl7.org/fhir/R4/extensibility.html#Extension). Extension.url is
// required by cardinality and checked with the other elements.
func (s *state) checkExtension(m map[string]any) {
	_, nested := m["extension"]
	hasValue := false
	for k := range m {
		if len(k) > 5 && k[:5] == "value" {
			hasValue = true
			break
		}
	}
	switch {
	case nested && hasValue:
		s.errorf("invariant", "ext-1: an extension must have either extensions or a value, not both")
	case !nested && !hasValue:
		s.errorf("invariant", "ext-1: an extension must have either extensions or a value")
	}
}
