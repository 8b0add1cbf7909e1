package safety

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/openchart/openchart/internal/terminology"
)

// Coding is a code of a drug or an allergen, as in a FHIR Coding.
type Coding struct {
	System  string
	Code    string
	Display string
}

// Drug is a medication as a prescription or medication list names it: its
// codings (RxNorm ones are used) and its text, the fallback when no coding
// is known.
type Drug struct {
	Ref     string // the resource it came from ("MedicationRequest/12"), if any
	Codings []Coding
	Text    string
}

// Allergy is a recorded allergy or intolerance: its codings (RxNorm
// ingredients or products, or the substance codes of allergens.tsv) and its
// text.
type Allergy struct {
	Ref     string // "AllergyIntolerance/7", if any
	Codings []Coding
	Text    string
}

// Context is what is known of the patient when a drug is proposed.
type Context struct {
	Allergies  []Allergy
	ActiveMeds []Drug
}

// Kind says what an alert is about.
type Kind string

// Alert kinds.
const (
	KindAllergy     Kind = "allergy"
	KindInteraction Kind = "interaction"
	KindDuplicate   Kind = "duplicate"
)

// Alert is one finding for the prescriber.
type Alert struct {
	Kind     Kind
	Severity Severity
	// Message is plain language for the prescriber.
	Message string
	// Source is where the knowledge comes from (a guideline, a label, a
	// value set); shown with the alert.
	Source string
	// Related is the allergy or medication the proposed drug conflicts
	// with, as recorded; RelatedRef its resource reference when known.
	Related    string
	RelatedRef string
}

// Check returns the alerts for prescribing proposed to a patient in c,
// most severe first, using the default knowledge set.
func Check(ctx context.Context, proposed Drug, c Context) []Alert {
	return Default().Check(ctx, proposed, c)
}

// Check returns the alerts for prescribing proposed to a patient in c, most
// severe first: allergies (same ingredient, same cross-reactivity class, or
// a cross-reactivity row), interactions with the active medications, and
// duplicate therapy. A drug that resolves to no known ingredient yields no
// alert: the caller should say that it could not be checked (Resolve tells).
func (k *Knowledge) Check(ctx context.Context, proposed Drug, c Context) []Alert {
	p := k.Resolve(proposed)
	if len(p) == 0 {
		return nil
	}
	name := proposed.display()
	var alerts []Alert
	for _, a := range c.Allergies {
		if ctx.Err() != nil {
			return alerts
		}
		alerts = append(alerts, k.allergyAlerts(name, p, a)...)
	}
	for _, m := range c.ActiveMeds {
		mi := k.Resolve(m)
		if len(mi) == 0 {
			continue
		}
		alerts = append(alerts, k.interactionAlerts(name, p, m, mi)...)
		alerts = append(alerts, k.duplicateAlerts(name, p, m, mi)...)
	}
	sort.SliceStable(alerts, func(i, j int) bool {
		return alerts[i].Severity.rank() < alerts[j].Severity.rank()
	})
	return alerts
}

// Resolve returns the ingredient names of a drug: from its RxNorm codings,
// or, when none is known, the ingredients named in its text or displays.
func (k *Knowledge) Resolve(d Drug) []string {
	var out []string
	add := func(cs []terminology.Concept) {
		for _, c := range cs {
			if !contains(out, c.Display) {
				out = append(out, c.Display)
			}
		}
	}
	for _, c := range d.Codings {
		if c.System != terminology.SystemRxNorm {
			continue
		}
		if rd, ok := k.rx.Lookup(c.Code); ok {
			add(rd.Ingredients)
		}
	}
	if len(out) == 0 {
		add(k.rx.FindIngredients(d.Text))
		for _, c := range d.Codings {
			add(k.rx.FindIngredients(c.Display))
		}
	}
	return out
}

// allergen is what an allergy resolves to.
type allergen struct {
	ingredients []string
	classes     []string
}

func (k *Knowledge) resolveAllergy(a Allergy) allergen {
	var r allergen
	addRef := func(ref Ref) {
		if ref.Class != "" && !contains(r.classes, ref.Class) {
			r.classes = append(r.classes, ref.Class)
		}
		if ref.Ingredient != "" && !contains(r.ingredients, ref.Ingredient) {
			r.ingredients = append(r.ingredients, ref.Ingredient)
		}
	}
	for _, c := range a.Codings {
		if ref, ok := k.allergens[allergenKey(c.System, c.Code)]; ok {
			addRef(ref)
			continue
		}
		if c.System == terminology.SystemRxNorm {
			if rd, ok := k.rx.Lookup(c.Code); ok {
				for _, i := range rd.Ingredients {
					addRef(Ref{Ingredient: i.Display})
				}
			}
		}
	}
	if len(r.ingredients) == 0 && len(r.classes) == 0 {
		texts := []string{a.Text}
		for _, c := range a.Codings {
			texts = append(texts, c.Display)
		}
		for _, t := range texts {
			if t == "" {
				continue
			}
			if ref, ok := k.allergens[allergenKey("text", t)]; ok {
				addRef(ref)
				continue
			}
			for _, cl := range k.classes {
				if normText(cl.Display) == normText(t) || cl.ID == normText(t) {
					addRef(Ref{Class: cl.ID})
				}
			}
			for _, i := range k.rx.FindIngredients(t) {
				addRef(Ref{Ingredient: i.Display})
			}
		}
	}
	// An allergy to a member of an allergy class is an allergy to the class.
	for _, ing := range r.ingredients {
		for _, cl := range k.byIngredient[ing] {
			if cl.Allergy && !contains(r.classes, cl.ID) {
				r.classes = append(r.classes, cl.ID)
			}
		}
	}
	return r
}

func (k *Knowledge) allergyAlerts(name string, p []string, a Allergy) []Alert {
	al := k.resolveAllergy(a)
	if len(al.ingredients) == 0 && len(al.classes) == 0 {
		return nil
	}
	recorded := a.display()
	var out []Alert
	for _, ing := range p {
		alert := Alert{Kind: KindAllergy, Related: recorded, RelatedRef: a.Ref}
		switch cl := k.sharedAllergyClass(ing, al); {
		case contains(al.ingredients, ing):
			alert.Severity = Contraindicated
			alert.Message = fmt.Sprintf("%s contains %s; the patient has a recorded allergy to %s.", name, ing, recorded)
			alert.Source = "Recorded allergy, same ingredient (RxNorm)"
		case cl != nil:
			alert.Severity = Major
			alert.Message = fmt.Sprintf("%s contains %s, one of the %s; the patient has a recorded allergy to %s (%s).", name, ing, strings.ToLower(cl.Display), recorded, strings.ToLower(cl.Display))
			if cl.Note != "" {
				alert.Message += " " + cl.Note
			}
			alert.Source = cl.Source
		default:
			x, ok := k.crossReactivity(ing, al)
			if !ok {
				continue
			}
			alert.Severity = x.Severity
			alert.Message = fmt.Sprintf("%s contains %s (recorded allergy: %s). %s", name, ing, recorded, x.Message)
			alert.Source = x.Source
		}
		out = append(out, alert)
	}
	return out
}

func (k *Knowledge) sharedAllergyClass(ing string, al allergen) *Class {
	for _, cl := range k.byIngredient[ing] {
		if cl.Allergy && contains(al.classes, cl.ID) {
			return cl
		}
	}
	return nil
}

func (k *Knowledge) crossReactivity(ing string, al allergen) (CrossReactivity, bool) {
	for _, x := range k.cross {
		allergenMatch := contains(al.classes, x.Allergen.Class) || contains(al.ingredients, x.Allergen.Ingredient)
		if allergenMatch && k.matches([]string{ing}, x.Drug) {
			return x, true
		}
	}
	return CrossReactivity{}, false
}

// matches reports whether one of ings is ref or a member of ref's class.
func (k *Knowledge) matches(ings []string, ref Ref) bool {
	if ref.Ingredient != "" {
		return contains(ings, ref.Ingredient)
	}
	for _, ing := range ings {
		for _, cl := range k.byIngredient[ing] {
			if cl.ID == ref.Class {
				return true
			}
		}
	}
	return false
}

func (k *Knowledge) interactionAlerts(name string, p []string, m Drug, mi []string) []Alert {
	var out []Alert
	for _, in := range k.interactions {
		if (k.matches(p, in.A) && k.matches(mi, in.B)) || (k.matches(p, in.B) && k.matches(mi, in.A)) {
			out = append(out, Alert{
				Kind:       KindInteraction,
				Severity:   in.Severity,
				Message:    fmt.Sprintf("%s with %s: %s", name, m.display(), in.Message),
				Source:     in.Source,
				Related:    m.display(),
				RelatedRef: m.Ref,
			})
		}
	}
	return out
}

func (k *Knowledge) duplicateAlerts(name string, p []string, m Drug, mi []string) []Alert {
	var out []Alert
next:
	for _, ing := range p {
		if contains(mi, ing) {
			out = append(out, Alert{
				Kind:     KindDuplicate,
				Severity: Major,
				Message:  fmt.Sprintf("Duplicate therapy: %s contains %s, and so does the active medication %s.", name, ing, m.display()),
				Source:   "Same ingredient (RxNorm)", Related: m.display(), RelatedRef: m.Ref,
			})
			continue
		}
		for _, cl := range k.byIngredient[ing] {
			if !cl.Duplicate {
				continue
			}
			for _, other := range mi {
				if contains(cl.Members, other) {
					out = append(out, Alert{
						Kind:     KindDuplicate,
						Severity: Moderate,
						Message: fmt.Sprintf("Duplicate therapy: %s (%s) and the active medication %s (%s) are both %s.",
							name, ing, m.display(), other, strings.ToLower(cl.Display)),
						Source: cl.Source, Related: m.display(), RelatedRef: m.Ref,
					})
					continue next
				}
			}
		}
	}
	return out
}

func (d Drug) display() string {
	if d.Text != "" {
		return d.Text
	}
	for _, c := range d.Codings {
		if c.Display != "" {
			return c.Display
		}
	}
	for _, c := range d.Codings {
		if c.Code != "" {
			return c.Code
		}
	}
	return "the proposed drug"
}

func (a Allergy) display() string {
	if a.Text == "" && len(a.Codings) == 0 {
		return "an unnamed allergen"
	}
	return Drug{Codings: a.Codings, Text: a.Text}.display()
}

func contains(xs []string, s string) bool {
	if s == "" {
		return false
	}
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
