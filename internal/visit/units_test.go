package visit

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBMI(t *testing.T) {
	for _, c := range []struct {
		kg, cm, want float64
	}{
		{70, 175, 22.9},
		{69.99, 172.7, 23.5},
		{120, 160, 46.9},
		{3.4, 50, 13.6},
	} {
		if got := BMI(c.kg, c.cm); got != c.want {
			t.Errorf("BMI(%v kg, %v cm) = %v, want %v", c.kg, c.cm, got, c.want)
		}
	}
}

func TestVitalsConversions(t *testing.T) {
	lb, in, tf := 154.3, 68.0, 101.3
	fe := FieldErrors{}
	got := map[string]string{}
	for _, m := range (Vitals{WeightLb: &lb, HeightIn: &in, TempF: &tf}).normalize(fe) {
		got[m.vs.code] = string(decimal(m.value, m.vs.places))
	}
	if len(fe) > 0 {
		t.Fatal(fe)
	}
	want := map[string]string{"29463-7": "69.99", "8302-2": "172.7", "8310-5": "38.5", "39156-5": "23.5"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("converted vitals (-want +got):\n%s", d)
	}
}

// TestRangeEdges accepts the limits themselves and refuses just beyond.
func TestRangeEdges(t *testing.T) {
	for _, r := range Ranges {
		for _, c := range []struct {
			v  float64
			ok bool
		}{{r.Min, true}, {r.Max, true}, {r.Min - 0.01, false}, {r.Max + 0.01, false}} {
			fe := FieldErrors{}
			v := c.v
			checkRange(fe, r.Field, &v)
			if (len(fe) == 0) != c.ok {
				t.Errorf("%s = %v: errors %v, want ok=%v", r.Field, c.v, fe, c.ok)
			}
		}
	}
}

func TestLOINCCheckDigit(t *testing.T) {
	for code, ok := range map[string]bool{
		"8480-6": true, "85354-9": true, "39156-5": true, "36643-5": true, "24627-2": true, "2345-7": true, "6690-2": true,
		"8480-5": false, "36643-4": false, "2345": false, "x2345-7": false, "12345678-9": false,
	} {
		if got := loincValid(code); got != ok {
			t.Errorf("loincValid(%q) = %v, want %v", code, got, ok)
		}
	}
}

func TestNarrativeRoundTrip(t *testing.T) {
	for _, s := range []string{"plain", "two\nlines", "<b>not markup</b> & \"quotes\" 'too'", "trailing\n\nblank"} {
		if got := narrativeText(narrative(s)); got != s {
			t.Errorf("round trip of %q gave %q", s, got)
		}
	}
}

func TestTemplates(t *testing.T) {
	ts := Templates()
	var ids []string
	for _, tp := range ts {
		ids = append(ids, tp.ID)
		if tp.Prompts.Subjective == "" || tp.Prompts.Objective == "" || tp.Prompts.Assessment == "" || tp.Prompts.Plan == "" {
			t.Errorf("%s lacks a section prompt", tp.ID)
		}
	}
	if d := cmp.Diff([]string{"annual-physical", "follow-up", "acute"}, ids); d != "" {
		t.Errorf("templates (-want +got):\n%s", d)
	}
	if ts[0].DocumentType.Code != "34117-2" || ts[1].DocumentType.Code != "11506-3" {
		t.Errorf("document types: %v %v", ts[0].DocumentType, ts[1].DocumentType)
	}
	for _, v := range VisitTypes() {
		if _, ok := template(v.Template); !ok {
			t.Errorf("visit type %s suggests unknown template %s", v.ID, v.Template)
		}
	}
}

func TestDosageText(t *testing.T) {
	for _, c := range []struct {
		rx   Rx
		want string
	}{
		{Rx{Dose: 500, DoseUnit: "mg", Route: "oral", TimesPerDay: 3, DurationDays: 10}, "500 mg by mouth 3 times a day for 10 days"},
		{Rx{Dose: 2, DoseUnit: "puff", Route: "inhalation", EveryHours: 4, AsNeeded: true, DurationDays: 30}, "2 puffs inhaled every 4 hours as needed for 30 days"},
		{Rx{Dose: 1, DoseUnit: "tablet", Route: "oral", TimesPerDay: 1, DurationDays: 1}, "1 tablet by mouth once a day for 1 day"},
		{Rx{Dose: 0.5, DoseUnit: "mL", Route: "otic", AsNeeded: true, DurationDays: 5}, "0.5 mL in the ear as needed for 5 days"},
	} {
		if got := dosageText(&c.rx, Drug{}); got != c.want {
			t.Errorf("dosageText = %q, want %q", got, c.want)
		}
	}
}
