package fhirpath

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSmoke(t *testing.T) {
	var pat any
	d := json.NewDecoder(strings.NewReader(`{"resourceType":"Patient","name":[{"given":["a","b"],"family":"x"}],"birthDate":"1974-12-25","_birthDate":{"extension":[{"url":"u"}]}}`))
	d.UseNumber()
	d.Decode(&pat)
	for _, s := range []string{"Patient.name.given", "name.where(family='x').given.count()", "1 + 2 * 3", "birthDate.extension.url", "0.1 + 0.2 = 0.3", "@2020-01-31 + 1 month"} {
		r, err := MustCompile(s).Evaluate(pat, nil)
		t.Log(s, r, err)
	}
}
