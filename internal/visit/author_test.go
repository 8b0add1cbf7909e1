package visit

import (
	"testing"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
)

func TestCheckAuthor(t *testing.T) {
	doc := &access.Principal{Kind: access.User, FHIRUser: "Practitioner/dr1"}
	relative := &access.Principal{Kind: access.User, FHIRUser: "RelatedPerson/r1"}
	const msg = "Choose the practitioner who writes the addendum"
	for _, c := range []struct {
		name    string
		p       *access.Principal
		author  string
		want    string
		field   bool
		refused bool
	}{
		{"own reference", doc, "Practitioner/dr1", "Practitioner/dr1", false, false},
		{"own bare id", doc, " dr1 ", "Practitioner/dr1", false, false},
		{"not a practitioner", doc, "Patient/p1", "", true, false},
		{"empty", doc, "", "", true, false},
		{"someone else", doc, "Practitioner/dr2", "", false, true},
		{"a user who is not a practitioner names one", relative, "Practitioner/dr2", "Practitioner/dr2", false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			fe := FieldErrors{}
			got, err := checkAuthor("addendum", c.p, c.author, fe, msg)
			if got != c.want {
				t.Errorf("author = %q, want %q", got, c.want)
			}
			if c.field != (fe["author"] == msg) || len(fe) > 1 {
				t.Errorf("field errors = %v", fe)
			}
			if c.refused != errs.Is(err, errs.Permission) || !c.refused && err != nil {
				t.Errorf("error = %v", err)
			}
		})
	}
}
