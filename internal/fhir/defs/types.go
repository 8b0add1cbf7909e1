package defs

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/openchart/openchart/internal/fhir/defs/internal/format"
)

// Type is a resource type, data type or backbone element type.
type Type struct {
	Name     string
	URL      string // canonical URL of the StructureDefinition; "" for backbone types
	Kind     Kind
	Abstract bool
	Base     string // the type it specializes ("DomainResource", "BackboneElement"); "" for Element and Resource

	// Regex is the pattern of a primitive type's value from its
	// StructureDefinition (https://hl7.org/fhir/R4/datatypes.html#primitive),
	// anchored; nil when the type has none (boolean, xhtml-less types).
	Regex *regexp.Regexp

	// Root is the element that defines the type itself: its constraints are
	// the type's invariants. For a backbone type it is the element of the
	// containing type that declares it.
	Root *Element

	// Elements are the direct children in snapshot order, which is the order
	// FHIR JSON serializes them in.
	Elements []*Element

	// Snapshot is, for a resource or data type, every element of its
	// snapshot in order (Snapshot[0] == Root); nil for backbone types.
	Snapshot []*Element

	byName map[string]*Element
	byJSON map[string]JSONChild
}

// JSONChild is what a JSON property name of an object of some type stands
// for: the element and, for a choice element, the chosen type
// ("valueQuantity" -> value[x], "Quantity").
type JSONChild struct {
	Element *Element
	Type    string
	// Pos is the element's position among its type's Elements: the order
	// FHIR JSON writes properties in.
	Pos int
}

// Element returns the child element with the given FHIRPath name ("value"
// for value[x]), or nil.
func (t *Type) Element(name string) *Element { return t.byName[name] }

// JSONChild resolves a JSON property name of an object of this type.
// Primitive-extension names ("_birthDate") are not included: strip the
// underscore first.
func (t *Type) JSONChild(key string) (JSONChild, bool) {
	c, ok := t.byJSON[key]
	return c, ok
}

// Element is one element definition of a type.
type Element struct {
	Path        string // "Observation.component.code", "Observation.value[x]"
	Name        string // the last path segment without "[x]": "code", "value"
	Min         int
	Max         int // -1 for "*"
	Types       []TypeRef
	Choice      bool   // value[x]
	ContentRef  string // "Questionnaire.item" for Questionnaire.item.item
	Binding     *Binding
	Constraints []*Constraint
	IsSummary   bool
	IsModifier  bool

	// TypeNames are the names of the element's types that Definitions.Type
	// resolves: the type codes, or the backbone type's path for an element
	// with children of its own, or the referenced path for a contentReference.
	TypeNames []string
}

// IsArray reports whether the element may repeat (max > 1), which in FHIR
// JSON means it is always an array (https://hl7.org/fhir/R4/json.html#arrays).
func (e *Element) IsArray() bool { return e.Max != 1 && e.Max != 0 }

// TypeRef is one allowed type of an element.
type TypeRef struct {
	Code           string
	TargetProfiles []string // for Reference and canonical: the allowed target profiles
	Profiles       []string
}

// TargetTypes returns the resource type names of core target profiles
// ("http://hl7.org/fhir/StructureDefinition/Patient" -> "Patient"). It returns
// nil when any target is "Resource" or not a core type (anything goes).
func (r TypeRef) TargetTypes() []string {
	var out []string
	for _, p := range r.TargetProfiles {
		n, ok := strings.CutPrefix(p, "http://hl7.org/fhir/StructureDefinition/")
		if !ok || n == "Resource" {
			return nil
		}
		out = append(out, n)
	}
	return out
}

// Binding is an element's terminology binding
// (https://hl7.org/fhir/R4/terminologies.html#strength).
type Binding struct {
	Strength string // required | extensible | preferred | example
	ValueSet string // canonical URL, possibly with |version
}

// Constraint is an invariant (https://hl7.org/fhir/R4/conformance-rules.html#constraints).
type Constraint struct {
	Key        string
	Severity   string // error | warning
	Human      string
	Expression string // FHIRPath; may be empty
	Source     string // the type that defined it ("Element", "DomainResource", ...)
}

func (d *Definitions) loadTypes(ft *format.Types) error {
	constraints := make([]*Constraint, len(ft.Constraints))
	for i, c := range ft.Constraints {
		constraints[i] = &Constraint{Key: c.Key, Severity: c.Severity, Human: c.Human, Expression: c.Expression, Source: c.Source}
	}
	d.types = map[string]*Type{}
	for i := range ft.Types {
		if err := d.loadType(&ft.Types[i], constraints); err != nil {
			return err
		}
	}
	for _, t := range d.types {
		for _, e := range t.Elements {
			if e.ContentRef == "" {
				continue
			}
			ref := d.types[e.ContentRef]
			if ref == nil {
				return fmt.Errorf("defs: %s: contentReference to unknown %s", e.Path, e.ContentRef)
			}
			e.TypeNames = []string{ref.Name}
			e.Types = []TypeRef{{Code: ref.Base}}
		}
	}
	for _, t := range d.types {
		t.index()
		if t.Kind == ResourceKind && !t.Abstract {
			d.resourceTypes = append(d.resourceTypes, t.Name)
		}
	}
	sort.Strings(d.resourceTypes)
	return nil
}

func (d *Definitions) loadType(ft *format.Type, constraints []*Constraint) error {
	if len(ft.Elements) == 0 || ft.Elements[0].Path != ft.Name {
		return fmt.Errorf("defs: type %s: snapshot does not start with its root", ft.Name)
	}
	t := &Type{Name: ft.Name, URL: ft.URL, Abstract: ft.Abstract, Base: ft.Base}
	switch ft.Kind {
	case "primitive-type":
		t.Kind = PrimitiveType
	case "complex-type":
		t.Kind = ComplexType
	case "resource":
		t.Kind = ResourceKind
	default:
		return fmt.Errorf("defs: type %s: unknown kind %q", ft.Name, ft.Kind)
	}
	if ft.Regex != "" {
		re, err := regexp.Compile(`^(?:` + ft.Regex + `)$`)
		if err != nil {
			return fmt.Errorf("defs: type %s: regex: %w", ft.Name, err)
		}
		t.Regex = re
	}
	elems := make([]*Element, len(ft.Elements))
	for i := range ft.Elements {
		e, err := newElement(&ft.Elements[i], constraints)
		if err != nil {
			return fmt.Errorf("defs: type %s: %w", ft.Name, err)
		}
		elems[i] = e
	}
	t.Root, t.Snapshot = elems[0], elems
	owners := map[string]*Type{ft.Name: t}
	for i, e := range elems[1:] {
		parentPath := e.Path[:strings.LastIndexByte(e.Path, '.')]
		parent := owners[parentPath]
		if parent == nil {
			return fmt.Errorf("defs: %s: element before its parent", e.Path)
		}
		parent.Elements = append(parent.Elements, e)
		// An element followed by its own children defines a backbone type
		// named by its path (https://hl7.org/fhir/R4/backboneelement.html).
		if next := i + 2; next < len(elems) && strings.HasPrefix(elems[next].Path, e.Path+".") {
			base := "BackboneElement"
			if len(e.Types) == 1 {
				base = e.Types[0].Code
			}
			bt := &Type{Name: e.Path, Kind: BackboneKind, Base: base, Root: e}
			owners[e.Path] = bt
			d.types[e.Path] = bt
			e.TypeNames = []string{e.Path}
		}
	}
	d.types[t.Name] = t
	return nil
}

func newElement(fe *format.Element, constraints []*Constraint) (*Element, error) {
	e := &Element{Path: fe.Path, Min: fe.Min, Max: 1, ContentRef: fe.ContentRef, IsSummary: fe.Summary, IsModifier: fe.Modifier}
	switch fe.Max {
	case "":
	case "*":
		e.Max = -1
	default:
		n, err := strconv.Atoi(fe.Max)
		if err != nil {
			return nil, fmt.Errorf("%s: max %q", fe.Path, fe.Max)
		}
		e.Max = n
	}
	e.Name = fe.Path[strings.LastIndexByte(fe.Path, '.')+1:]
	if n, ok := strings.CutSuffix(e.Name, "[x]"); ok {
		e.Name, e.Choice = n, true
	}
	for _, tr := range fe.Types {
		e.Types = append(e.Types, TypeRef{Code: tr.Code, TargetProfiles: tr.TargetProfiles, Profiles: tr.Profiles})
		e.TypeNames = append(e.TypeNames, tr.Code)
	}
	if fe.Binding != nil {
		e.Binding = &Binding{Strength: fe.Binding.Strength, ValueSet: fe.Binding.ValueSet}
	}
	for _, i := range fe.Constraints {
		if i < 0 || i >= len(constraints) {
			return nil, fmt.Errorf("%s: constraint index %d out of range", fe.Path, i)
		}
		e.Constraints = append(e.Constraints, constraints[i])
	}
	return e, nil
}

func (t *Type) index() {
	t.byName = make(map[string]*Element, len(t.Elements))
	t.byJSON = make(map[string]JSONChild, len(t.Elements))
	for pos, e := range t.Elements {
		t.byName[e.Name] = e
		if !e.Choice {
			var tn string
			if len(e.TypeNames) > 0 {
				tn = e.TypeNames[0]
			}
			t.byJSON[e.Name] = JSONChild{Element: e, Type: tn, Pos: pos}
			continue
		}
		for _, tn := range e.TypeNames {
			t.byJSON[e.Name+strings.ToUpper(tn[:1])+tn[1:]] = JSONChild{Element: e, Type: tn, Pos: pos}
		}
	}
}
