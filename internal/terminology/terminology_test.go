package terminology

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func codes[T interface{ code() string }](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.code()
	}
	return out
}

func (c Concept) code() string { return c.Code }
func (v Vaccine) code() string { return v.Code }
func (l LabTest) code() string { return l.Code }
func (d Drug) code() string    { return d.Code }

func TestICD10CMLookup(t *testing.T) {
	s := ICD10CM()
	if s.Len() != 98186 {
		t.Errorf("%d codes, want 98,186", s.Len())
	}
	billable := 0
	for _, c := range s.concepts {
		if c.Billable {
			billable++
		}
	}
	if billable != 74719 {
		t.Errorf("%d billable codes, want 74,719", billable)
	}
	for _, in := range []string{"E11.9", "e119", " E11.9 ", "e11.9"} {
		c, ok := s.Lookup(in)
		if !ok || c.Code != "E11.9" || !c.Billable || c.System != SystemICD10CM || c.Display != "Type 2 diabetes mellitus without complications" {
			t.Errorf("Lookup(%q) = %+v, %v", in, c, ok)
		}
	}
	if c, ok := s.Lookup("E11"); !ok || c.Billable {
		t.Errorf("E11 is a header: %+v %v", c, ok)
	}
	if _, ok := s.Lookup("Z99.999"); ok {
		t.Error("found a code that does not exist")
	}
}

func TestICD10CMSearch(t *testing.T) {
	s := ICD10CM()
	tests := []struct {
		query string
		first string   // the first result's code, if set
		has   []string // codes that must be among the results
		none  bool
	}{
		{query: "E11.9", first: "E11.9"},
		{query: "e119", first: "E11.9"},
		{query: "E11", first: "E11", has: []string{"E11.00"}},
		{query: "diab typ 2", has: []string{"E11.9"}},
		{query: "Type 2 diabetes mellitus without complications", first: "E11.9"},
		{query: "essential hypertension", first: "I10"},
		{query: "ménière", has: []string{"H81.01"}},
		{query: "MENIERE", has: []string{"H81.01"}},
		{query: "xyzzy", none: true},
		{query: "", none: true},
		{query: "  ", none: true},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got := s.Search(tt.query, 10)
			if tt.none {
				if len(got) != 0 {
					t.Fatalf("want nothing, got %v", codes(got))
				}
				return
			}
			if len(got) == 0 || len(got) > 10 {
				t.Fatalf("got %d results", len(got))
			}
			if tt.first != "" && got[0].Code != tt.first {
				t.Errorf("first %s, want %s (all: %v)", got[0].Code, tt.first, codes(got))
			}
			for _, h := range tt.has {
				if !containsStr(codes(got), h) {
					t.Errorf("%s not in %v", h, codes(got))
				}
			}
		})
	}
}

// TestICD10CMSearchRules checks the rules on every result of word
// queries: each query word starts a word of the display, billable codes
// come before headers, and within each, shorter displays first.
func TestICD10CMSearchRules(t *testing.T) {
	s := ICD10CM()
	for _, q := range []string{"diab typ 2", "fract femur", "pneumonia", "asthma", "chest pain", "a"} {
		got := s.Search(q, 50)
		if len(got) == 0 {
			t.Errorf("%q: nothing", q)
			continue
		}
		for i, c := range got {
			ws := words(c.Display)
			for _, qw := range words(q) {
				found := false
				for _, w := range ws {
					if strings.HasPrefix(w, qw) {
						found = true
					}
				}
				if !found {
					t.Errorf("%q: %s %q has no word starting with %q", q, c.Code, c.Display, qw)
				}
			}
			if i > 0 {
				prev := got[i-1]
				if !prev.Billable && c.Billable {
					t.Errorf("%q: billable %s after header %s", q, c.Code, prev.Code)
				}
				if prev.Billable == c.Billable && len(words(prev.Display)) > len(ws) {
					t.Errorf("%q: %s (%d words) before %s (%d words)", q, prev.Code, len(words(prev.Display)), c.Code, len(ws))
				}
			}
		}
	}
	if got := s.Search("diabetes", 0); got != nil {
		t.Errorf("limit 0: %v", got)
	}
	if got := s.Search("diabetes", 3); len(got) != 3 {
		t.Errorf("limit 3: %d results", len(got))
	}
}

func TestCVX(t *testing.T) {
	c := CVX()
	v, ok := c.Lookup("3")
	if !ok || v.Code != "03" || v.Display != "MMR" || !v.Active() || v.System != SystemCVX {
		t.Fatalf("Lookup(3) = %+v, %v", v, ok)
	}
	if g := c.Groups("03"); len(g) != 1 || g[0].Code != "03" {
		t.Errorf("groups of MMR: %+v", g)
	}
	if v, _ := c.Lookup("02"); v.Active() || v.Status != "Inactive" {
		t.Errorf("OPV: %+v", v)
	}
	active := c.Active()
	if len(active) != 113 {
		t.Errorf("%d active codes, want 113", len(active))
	}
	for _, a := range active {
		if a.Status != "Active" {
			t.Errorf("Active() returned %s %s", a.Code, a.Status)
		}
	}
	got := c.Search("influenza seasonal", 20)
	if len(got) == 0 {
		t.Fatal("no influenza vaccine")
	}
	for i := 1; i < len(got); i++ {
		if !got[i-1].Active() && got[i].Active() {
			t.Errorf("active %s after inactive %s", got[i].Code, got[i-1].Code)
		}
	}
	if r := c.Search("03", 5); len(r) == 0 || r[0].Code != "03" {
		t.Errorf("search by code: %v", codes(r))
	}
	members := c.Members("89") // polio
	if len(members) < 3 || !containsStr(codes(members), "10") {
		t.Errorf("polio group members: %v", codes(members))
	}
}

func TestLOINC(t *testing.T) {
	l := LOINC()
	if l.Len() != 2177 {
		t.Errorf("%d codes, want 2,177", l.Len())
	}
	t2, ok := l.Lookup("2160-0")
	if !ok || t2.ShortName != "Creat SerPl-mCnc" || t2.Class != "Chem" || t2.Rank != 1 || t2.System != SystemLOINC ||
		t2.Display != "Creatinine [Mass/volume] in Serum or Plasma" || !containsStr(t2.Units, "mg/dL") {
		t.Fatalf("2160-0: %+v %v", t2, ok)
	}
	got := l.Search("hemoglobin blood", 5)
	if len(got) == 0 || got[0].Code != "718-7" {
		t.Errorf("hemoglobin blood: %v", codes(got))
	}
	if got := l.Search("Creat SerPl", 3); len(got) == 0 || got[0].Code != "2160-0" {
		t.Errorf("short name search: %v", codes(got))
	}
	if got := l.Search("718-7", 1); len(got) != 1 || got[0].Code != "718-7" {
		t.Errorf("code search: %v", codes(got))
	}
}

func TestLOINCConvert(t *testing.T) {
	l := LOINC()
	tests := []struct {
		name     string
		code     string
		value    float64
		from, to string
		want     float64
		wantCode string
	}{
		{"creatinine mg/dL to umol/L", "2160-0", 1.0, "mg/dL", "umol/L", 1 / 0.011, "14682-9"},
		{"creatinine umol/L to mg/dL", "14682-9", 88.4, "umol/L", "mg/dL", 88.4 * 0.011, "2160-0"},
		{"glucose mmol/L to mg/dL", "14749-6", 5.5, "mmol/L", "mg/dL", 5.5 * 18.02, "2345-7"},
		{"hemoglobin g/dL to mmol/L", "718-7", 14, "g/dL", "mmol/L", 14 / 1.61, "59260-0"},
		{"same unit", "718-7", 14, "g/dL", "g/dL", 14, "718-7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := l.Convert(tt.code, tt.value, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(q.Value-tt.want) > 1e-9 || q.Unit != tt.to || q.Code != tt.wantCode {
				t.Errorf("got %+v, want %v %s (%s)", q, tt.want, tt.to, tt.wantCode)
			}
		})
	}
	if _, err := l.Convert("2160-0", 1, "mg/dL", "furlong"); !errors.Is(err, ErrNoConversion) {
		t.Errorf("unknown unit: %v", err)
	}
	if _, err := l.Convert("0000-0", 1, "mg/dL", "umol/L"); !errors.Is(err, ErrNoConversion) {
		t.Errorf("unknown code: %v", err)
	}
	if LOINCNotice == "" || !strings.Contains(LOINCLicense(), "Regenstrief") {
		t.Error("the LOINC licence does not ship")
	}
}

func TestRxNorm(t *testing.T) {
	r := RxNorm()
	tests := []struct {
		rxcui, tty  string
		ingredients []string
	}{
		{"308192", "SCD", []string{"amoxicillin"}},
		{"723", "IN", []string{"amoxicillin"}},
		{"562251", "SCD", []string{"amoxicillin", "clavulanate"}},
		{"1049625", "SBD", []string{"acetaminophen", "oxycodone"}}, // Percocet, derived from the name
		{"1049504", "SBD", []string{"oxycodone"}},                  // "Abuse-Deterrent 12 HR ..."
		{"856987", "SCD", []string{"acetaminophen", "hydrocodone"}},
		{"245134", "SCD", []string{"fentanyl"}}, // "72 HR fentanyl 0.025 MG/HR Transdermal System"
		{"855332", "SCD", []string{"warfarin"}},
		{"834061", "SCD", []string{"penicillin v"}},
		{"10831", "MIN", []string{"sulfamethoxazole", "trimethoprim"}},
	}
	for _, tt := range tests {
		d, ok := r.Lookup(tt.rxcui)
		if !ok || d.TTY != tt.tty || d.System != SystemRxNorm {
			t.Errorf("%s: %+v %v", tt.rxcui, d, ok)
			continue
		}
		var got []string
		for _, i := range d.Ingredients {
			got = append(got, i.Display)
		}
		if strings.Join(got, ",") != strings.Join(tt.ingredients, ",") {
			t.Errorf("%s %q: ingredients %v, want %v", tt.rxcui, d.Display, got, tt.ingredients)
		}
	}
	if d, _ := r.Lookup("308192"); d.Ingredients[0].Code != "723" {
		t.Errorf("amoxicillin's ingredient has no RxCUI: %+v", d.Ingredients)
	}
	got := r.Search("amox 500", 10)
	if len(got) == 0 || !containsStr(codes(got), "308192") {
		t.Errorf("amox 500: %v", codes(got))
	}
	for _, d := range got {
		if !d.Prescribable() {
			t.Errorf("search returned %s %s", d.TTY, d.Display)
		}
	}
	if got := r.Search("percocet", 5); len(got) == 0 || got[0].TTY != "SBD" {
		t.Errorf("brand search: %v", codes(got))
	}
	if got := r.SearchIngredients("penic", 5); len(got) == 0 || got[0].Code != "7980" {
		t.Errorf("ingredient search: %v", codes(got))
	}
	if c, ok := r.Ingredient("Amoxicillin"); !ok || c.Code != "723" {
		t.Errorf("Ingredient(Amoxicillin) = %+v %v", c, ok)
	}
	found := r.FindIngredients("Augmentin (amoxicillin/clavulanate) 875 mg")
	if len(found) != 2 {
		t.Errorf("FindIngredients: %+v", found)
	}
	var brand []string
	for _, c := range r.FindIngredients("Percocet 5/325 q6h prn") {
		brand = append(brand, c.Display)
	}
	if strings.Join(brand, ",") != "acetaminophen,oxycodone" {
		t.Errorf("brand Percocet: %v", brand)
	}
	if len(r.FindIngredients("a kind of tea")) != 0 {
		t.Error("found an ingredient in tea")
	}
}

// TestSupplementSources checks that every supplementary RxNorm row names
// its source and that none shadows a concept of the CC0 catalogue.
func TestSupplementSources(t *testing.T) {
	catalogue := map[string]bool{}
	if err := readTSV("rxnorm_products_from_cc0_valuesets.tsv", func(_ int, c []string) error {
		catalogue[c[0]] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rows := 0
	if err := readTSV("rxnorm_supplement.tsv", func(line int, c []string) error {
		rows++
		if len(c) != 5 || c[4] == "" {
			t.Errorf("line %d: %v", line, c)
		}
		if catalogue[c[0]] {
			t.Errorf("line %d: %s is already in the catalogue", line, c[0])
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if rows < 100 {
		t.Errorf("%d supplement rows", rows)
	}
}

func containsStr(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func BenchmarkICD10CMSearch(b *testing.B) {
	s := ICD10CM()
	for _, q := range []string{"diab typ 2", "E11.9", "hypertension", "fract femur", "a"} {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				s.Search(q, 20)
			}
		})
	}
}

func BenchmarkRxNormSearch(b *testing.B) {
	r := RxNorm()
	for b.Loop() {
		r.Search("oxy 5", 20)
	}
}

// FuzzSearch checks that no query makes a search fail or break its
// contract: at most limit results, every one a known concept.
func FuzzSearch(f *testing.F) {
	for _, s := range []string{"diab typ 2", "E11.9", "é", "\x00", "a a a a", "Z", "1", "-", "ménière's"} {
		f.Add(s)
	}
	icd, rx, lo, cv := ICD10CM(), RxNorm(), LOINC(), CVX()
	f.Fuzz(func(t *testing.T, q string) {
		for _, c := range icd.Search(q, 7) {
			if _, ok := icd.Lookup(c.Code); !ok {
				t.Fatalf("%q: unknown %s", q, c.Code)
			}
		}
		if n := len(icd.Search(q, 7)); n > 7 {
			t.Fatalf("%q: %d results", q, n)
		}
		if n := len(rx.Search(q, 5)) + len(lo.Search(q, 5)) + len(cv.Search(q, 5)); n > 15 {
			t.Fatalf("%q: %d results", q, n)
		}
		rx.FindIngredients(q)
	})
}

// TestConcurrentFirstUse runs the first loads and searches from many
// goroutines at once (go test -race checks the sharing).
func TestConcurrentFirstUse(t *testing.T) {
	done := make(chan []string)
	for i := 0; i < 8; i++ {
		go func() {
			var got []string
			for _, c := range ICD10CM().Search("asthma", 3) {
				got = append(got, c.Code)
			}
			got = append(got, codes(RxNorm().Search("warfarin", 2))...)
			done <- got
		}()
	}
	first := strings.Join(<-done, ",")
	for i := 1; i < 8; i++ {
		if got := strings.Join(<-done, ","); got != first {
			t.Errorf("goroutines disagree: %s and %s", first, got)
		}
	}
}
