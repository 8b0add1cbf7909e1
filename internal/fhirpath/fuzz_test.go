package fhirpath

import (
	"testing"
	"time"
)

// FuzzCompile checks that the parser never panics and that whatever it
// accepts can be evaluated without panicking.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"Patient.name.given",
		"(Observation.value as Quantity) | (Observation.value as SampledData)",
		"Observation.subject.where(resolve() is Patient)",
		"@2020-01-31 + 1 month",
		"'a\\u0041' & `b`",
		"%`vs-administrative-gender`",
		"1.5 'mg' * 2 '1/d'",
		"name.select(given.first() + ' ' + family).join(', ')",
		"-(-1).abs() div 2 mod 3",
		"iif(a, b, c).aggregate($this + $total, 0)[0]",
		"/* c */ true implies false // x",
		"@T12:30:00.000 < @T13",
	} {
		f.Add(s)
	}
	input := map[string]any{"resourceType": "Patient", "name": []any{map[string]any{"given": []any{"a"}}}}
	f.Fuzz(func(t *testing.T, expr string) {
		e, err := Compile(expr)
		if err != nil {
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = e.Evaluate(input, nil)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("evaluating %q takes too long", expr)
		}
	})
}
