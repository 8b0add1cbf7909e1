package terminology

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Drug is an RxNorm concept with its term type and active ingredients.
type Drug struct {
	Concept
	// TTY is the RxNorm term type: SCD and SBD (clinical and branded
	// drugs), IN, PIN and MIN (ingredients), SCDC, SCDF, SBDF, BN, GPCK,
	// BPCK... For the CC0 catalogue it is inferred from the name.
	TTY string
	// Ingredients are the active ingredients (TTY IN). Display is the
	// ingredient's lower-case name; Code is its RxCUI when the embedded
	// data holds the ingredient, empty otherwise.
	Ingredients []Concept
}

// Prescribable reports whether the concept is a drug a prescription names:
// a clinical or branded drug or pack.
func (d Drug) Prescribable() bool {
	switch d.TTY {
	case "SCD", "SBD", "GPCK", "BPCK":
		return true
	}
	return false
}

// RxNormCodes is the embedded partial RxNorm catalogue: 6,637 concepts from
// the CC0 HL7 PDDI and CDC opioid guides plus the supplement of common
// primary-care drugs (data/rxnorm_supplement.tsv), each row with its source.
type RxNormCodes struct {
	drugs       []Drug // rank order: prescribable first, fewer words first
	byCode      map[string]int32
	ingredients map[string]Concept // folded ingredient name -> ingredient
	names       []textName         // ingredient and brand names for free text, longest first
	ix          *wordIndex
	ingIx       *wordIndex // over the IN and MIN concepts
	ingDocs     []int32
}

var rxnorm = sync.OnceValues(loadRxNorm)

// RxNorm returns the embedded RxNorm catalogue, loading it on first use.
func RxNorm() *RxNormCodes { return must(rxnorm()) }

// textName is a name that free text may use for ingredients: an
// ingredient's own name, or a brand name ("Advil" -> ibuprofen).
type textName struct {
	words       []string
	ingredients []Concept
}

type rxRow struct {
	code, name, tty, hint string
	ingredients           []string // given by the supplement
}

func loadRxNorm() (*RxNormCodes, error) {
	var rows []rxRow
	err := readTSV("rxnorm_products_from_cc0_valuesets.tsv", func(_ int, cols []string) error {
		if len(cols) != 5 {
			return fmt.Errorf("want 5 columns, have %d", len(cols))
		}
		rows = append(rows, rxRow{code: cols[0], name: cols[1], tty: catalogueTTY(cols[1], cols[2], cols[3]), hint: cols[3]})
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = readTSV("rxnorm_supplement.tsv", func(_ int, cols []string) error {
		if len(cols) != 5 {
			return fmt.Errorf("want 5 columns, have %d", len(cols))
		}
		if cols[0] == "" || cols[1] == "" || cols[2] == "" || cols[3] == "" || cols[4] == "" {
			return fmt.Errorf("rxcui, name, tty, ingredients and source are all required")
		}
		rows = append(rows, rxRow{code: cols[0], name: cols[1], tty: cols[2], ingredients: strings.Split(cols[3], "|")})
		return nil
	})
	if err != nil {
		return nil, err
	}
	r := &RxNormCodes{byCode: map[string]int32{}, ingredients: map[string]Concept{}}
	// Ingredients first: every IN names itself.
	for _, row := range rows {
		if row.tty == "IN" {
			r.ingredients[fold(row.name)] = Concept{System: SystemRxNorm, Code: row.code, Display: strings.ToLower(row.name)}
		}
	}
	addName := func(name string) {
		if k := fold(name); k != "" {
			if _, ok := r.ingredients[k]; !ok {
				r.ingredients[k] = Concept{System: SystemRxNorm, Display: k}
			}
		}
	}
	for _, row := range rows {
		addName(row.hint)
		for _, n := range row.ingredients {
			addName(n)
		}
	}
	for _, row := range rows {
		if row.hint == "" && row.ingredients == nil && row.tty != "IN" {
			for _, n := range r.deriveIngredients(row.name) {
				addName(n)
			}
		}
	}
	for _, row := range rows {
		if _, dup := r.byCode[row.code]; dup {
			continue
		}
		d := Drug{Concept: Concept{System: SystemRxNorm, Code: row.code, Display: row.name}, TTY: row.tty}
		var names []string
		switch {
		case row.ingredients != nil:
			names = row.ingredients
		case row.tty == "IN":
			names = []string{row.name}
		case row.hint != "" && row.tty != "MIN" && !strings.Contains(row.name, " / "):
			names = []string{row.hint}
		default:
			names = r.deriveIngredients(row.name)
		}
		for _, n := range names {
			if c, ok := r.ingredients[fold(n)]; ok && !containsCode(d.Ingredients, c) {
				d.Ingredients = append(d.Ingredients, c)
			}
		}
		r.byCode[row.code] = int32(len(r.drugs))
		r.drugs = append(r.drugs, d)
	}
	r.buildNames()
	sort.SliceStable(r.drugs, func(i, j int) bool {
		a, b := r.drugs[i], r.drugs[j]
		if ra, rb := ttyRank(a.TTY), ttyRank(b.TTY); ra != rb {
			return ra < rb
		}
		if wa, wb := len(words(a.Display)), len(words(b.Display)); wa != wb {
			return wa < wb
		}
		return fold(a.Display) < fold(b.Display)
	})
	texts := make([]string, len(r.drugs))
	var ingTexts []string
	for i, d := range r.drugs {
		r.byCode[d.Code] = int32(i)
		texts[i] = d.Display
		if d.TTY == "IN" || d.TTY == "MIN" {
			r.ingDocs = append(r.ingDocs, int32(i))
			ingTexts = append(ingTexts, d.Display)
		}
	}
	r.ix = newWordIndex(texts)
	r.ingIx = newWordIndex(ingTexts)
	return r, nil
}

func containsCode(cs []Concept, c Concept) bool {
	for _, x := range cs {
		if x.Display == c.Display {
			return true
		}
	}
	return false
}

func ttyRank(tty string) int {
	switch tty {
	case "SCD":
		return 0
	case "SBD":
		return 1
	case "GPCK", "BPCK":
		return 2
	case "IN", "MIN":
		return 3
	}
	return 4
}

// catalogueTTY settles the inferred term types of the CC0 catalogue that
// name two possibilities.
func catalogueTTY(name, tty, hint string) string {
	switch tty {
	case "IN/PIN":
		if strings.Contains(name, " / ") {
			return "MIN"
		}
		if fold(name) == fold(hint) {
			return "IN"
		}
		return "PIN"
	case "SCDF/SCDG":
		return "SCDF"
	case "SBDF/SBDG":
		return "SBDF"
	}
	return tty
}

// Len returns the number of concepts.
func (r *RxNormCodes) Len() int { return len(r.drugs) }

// Lookup returns the concept of an RxCUI.
func (r *RxNormCodes) Lookup(rxcui string) (Drug, bool) {
	i, ok := r.byCode[strings.TrimSpace(rxcui)]
	if !ok {
		return Drug{}, false
	}
	return r.drugs[i], true
}

// Search returns up to limit prescribable drugs (SCD, SBD and packs) for
// what a prescriber typed: the exact RxCUI first, then drugs whose name has
// a word starting with every query word, generic before branded, shorter
// names first.
func (r *RxNormCodes) Search(query string, limit int) []Drug {
	if limit <= 0 {
		return nil
	}
	var out []Drug
	exact := int32(-1)
	if i, ok := r.byCode[strings.TrimSpace(query)]; ok {
		exact = i
		out = append(out, r.drugs[i])
	}
	keep := func(d int32) bool { return d != exact && r.drugs[d].Prescribable() }
	for _, d := range r.ix.search(words(query), limit-len(out), keep) {
		out = append(out, r.drugs[d])
	}
	return out
}

// SearchIngredients returns up to limit ingredient concepts (IN, MIN) whose
// name has a word starting with every query word: the picker of a drug
// allergy.
func (r *RxNormCodes) SearchIngredients(query string, limit int) []Drug {
	var out []Drug
	for _, d := range r.ingIx.search(words(query), limit, nil) {
		out = append(out, r.drugs[r.ingDocs[d]])
	}
	return out
}

// Ingredient returns the ingredient of a name ("Amoxicillin", "penicillin
// V"), accent- and case-insensitively.
func (r *RxNormCodes) Ingredient(name string) (Concept, bool) {
	c, ok := r.ingredients[fold(strings.TrimSpace(name))]
	return c, ok
}

// Ingredients returns every ingredient the catalogue knows, by name.
func (r *RxNormCodes) Ingredients() []Concept {
	out := make([]Concept, 0, len(r.ingredients))
	for _, c := range r.ingredients {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Display < out[j].Display })
	return out
}

// buildNames collects the names free text is matched against: every
// ingredient, and every brand of a branded drug (SBD "... [Advil]") mapped
// to the ingredients all of its drugs share.
func (r *RxNormCodes) buildNames() {
	seen := map[string]bool{}
	for k, c := range r.ingredients {
		seen[k] = true
		r.names = append(r.names, textName{words: strings.Fields(k), ingredients: []Concept{c}})
	}
	brands := map[string][]Concept{}
	var order []string
	for _, d := range r.drugs {
		if d.TTY != "SBD" || len(d.Ingredients) == 0 {
			continue
		}
		i, j := strings.LastIndex(d.Display, "["), strings.LastIndex(d.Display, "]")
		if i < 0 || j < i {
			continue
		}
		b := fold(d.Display[i+1 : j])
		if seen[b] || b == "" {
			continue
		}
		shared, ok := brands[b]
		if !ok {
			order = append(order, b)
			brands[b] = append([]Concept(nil), d.Ingredients...)
			continue
		}
		var keep []Concept
		for _, c := range shared {
			if containsCode(d.Ingredients, c) {
				keep = append(keep, c)
			}
		}
		brands[b] = keep
	}
	for _, b := range order {
		if ings := brands[b]; len(ings) > 0 {
			r.names = append(r.names, textName{words: words(b), ingredients: ings})
		}
	}
	sort.Slice(r.names, func(i, j int) bool {
		a, b := r.names[i].words, r.names[j].words
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		return strings.Join(a, " ") < strings.Join(b, " ")
	})
}

// FindIngredients returns the known ingredients named in free text
// ("Amoxil (amoxicillin) 500mg caps" -> amoxicillin), by ingredient or by
// brand ("Percocet 5/325" -> acetaminophen, oxycodone). Longer names are
// matched first, so that "penicillin V" wins over a shorter name within it.
func (r *RxNormCodes) FindIngredients(text string) []Concept {
	ws := words(text)
	used := make([]bool, len(ws))
	var out []Concept
	for _, name := range r.names {
		if len(name.words) == 0 {
			continue
		}
		for i := 0; i+len(name.words) <= len(ws); i++ {
			match := true
			for j, w := range name.words {
				if used[i+j] || ws[i+j] != w {
					match = false
					break
				}
			}
			if !match {
				continue
			}
			for j := range name.words {
				used[i+j] = true
			}
			for _, c := range name.ingredients {
				if !containsCode(out, c) {
					out = append(out, c)
				}
			}
		}
	}
	return out
}
