package terminology

import (
	"strings"
	"unicode"
)

// saltWords are the words RxNorm adds to an ingredient's name to name a
// precise ingredient (a salt or hydrate): "oxycodone hydrochloride" is the
// precise ingredient of oxycodone.
var saltWords = map[string]bool{
	"hydrochloride": true, "hcl": true, "sodium": true, "potassium": true, "calcium": true,
	"magnesium": true, "bitartrate": true, "besylate": true, "maleate": true, "mesylate": true,
	"succinate": true, "tartrate": true, "citrate": true, "phosphate": true, "sulfate": true,
	"acetate": true, "fumarate": true, "bromide": true, "hydrobromide": true, "dihydrate": true,
	"trihydrate": true, "monohydrate": true, "anhydrous": true, "hyclate": true, "disodium": true, "dipotassium": true,
	"lysine": true, "tromethamine": true, "napsylate": true,
}

// quantityUnits follow the leading quantity of an RxNorm name ("12 HR",
// "0.3 ML", "120 ACTUAT").
var quantityUnits = map[string]bool{"HR": true, "ML": true, "ACTUAT": true, "DAY": true, "MG": true, "UNT": true, "GM": true}

// formWords start the dose form of an RxNorm name without a strength
// ("Acetaminophen / Oxycodone Oral Tablet").
var formWords = map[string]bool{
	"oral": true, "tablet": true, "capsule": true, "injection": true, "injectable": true,
	"topical": true, "ophthalmic": true, "otic": true, "nasal": true, "rectal": true,
	"vaginal": true, "transdermal": true, "sublingual": true, "buccal": true, "inhalation": true,
	"inhalant": true, "solution": true, "suspension": true, "cream": true, "ointment": true,
	"gel": true, "lotion": true, "spray": true, "powder": true, "patch": true, "product": true,
	"pill": true, "extended": true, "delayed": true, "chewable": true, "disintegrating": true,
	"prefilled": true, "syringe": true, "metered": true, "pack": true, "suppository": true,
	"mucosal": true, "film": true, "lozenge": true, "granules": true, "elixir": true, "syrup": true,
}

// deriveIngredients reads the ingredient names out of an RxNorm normalized
// name, where RxNorm's naming conventions allow it: "acetaminophen 325 MG /
// oxycodone hydrochloride 5 MG Oral Tablet [Percocet]" -> acetaminophen,
// oxycodone. A salt is removed when the plain name is a known ingredient,
// or when no form of the name is known.
func (r *RxNormCodes) deriveIngredients(name string) []string {
	if strings.HasPrefix(name, "{") {
		return nil // packs list their contents in braces; not parsed
	}
	if i := strings.Index(name, " ["); i >= 0 {
		name = name[:i]
	}
	toks := strings.Fields(name)
	// Leading quantities ("12 HR", "0.3 ML") and qualifiers.
	for len(toks) > 1 {
		if startsWithDigit(toks[0]) && len(toks) > 2 && quantityUnits[toks[1]] {
			toks = toks[2:]
			continue
		}
		if t := strings.ToLower(toks[0]); t == "abuse-deterrent" || strings.HasPrefix(t, "nda") || strings.HasPrefix(t, "anda") || strings.HasPrefix(t, "bla") && startsWithDigit(t[3:]) {
			toks = toks[1:]
			continue
		}
		break
	}
	var out []string
	for _, part := range strings.Split(strings.Join(toks, " "), " / ") {
		var ws []string
		for _, t := range strings.Fields(part) {
			if startsWithDigit(t) || formWords[strings.ToLower(t)] {
				break
			}
			ws = append(ws, t)
		}
		if len(ws) == 0 {
			continue
		}
		out = append(out, r.canonical(ws))
	}
	return out
}

// canonical names the ingredient of a precise-ingredient name: the longest
// known prefix after removing trailing salt words, or, when none is known,
// the name without its salt words.
func (r *RxNormCodes) canonical(ws []string) string {
	n := len(ws)
	for n > 0 {
		name := fold(strings.Join(ws[:n], " "))
		if _, ok := r.ingredients[name]; ok {
			return name
		}
		if n == 1 || !saltWords[fold(ws[n-1])] {
			break
		}
		n--
	}
	for n > 1 && saltWords[fold(ws[n-1])] {
		n--
	}
	return fold(strings.Join(ws[:n], " "))
}

func startsWithDigit(s string) bool {
	return s != "" && unicode.IsDigit(rune(s[0]))
}
