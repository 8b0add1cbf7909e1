package defs

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/openchart/openchart/internal/fhir/defs/internal/format"
)

//go:embed data/*.json.gz
var dataFS embed.FS

// Kind says what sort of type a Type is.
type Kind uint8

const (
	PrimitiveType Kind = iota + 1 // string, boolean, date, ...
	ComplexType                   // HumanName, Quantity, Element, ...
	ResourceKind                  // Patient, Resource, DomainResource, ...
	BackboneKind                  // an anonymous type named by its path: Observation.component
)

func (k Kind) String() string {
	switch k {
	case PrimitiveType:
		return "primitive-type"
	case ComplexType:
		return "complex-type"
	case ResourceKind:
		return "resource"
	case BackboneKind:
		return "backbone"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Definitions is the loaded, immutable set of definitions.
type Definitions struct {
	types         map[string]*Type
	resourceTypes []string
	valueSets     map[string]*ValueSet
	unexpanded    map[string]string
	params        []*SearchParam
	paramsByURL   map[string]*SearchParam
	paramsByType  map[string][]*SearchParam
	paramByCode   map[string]map[string]*SearchParam
	compartments  map[string]*Compartment
}

var (
	defaultOnce sync.Once
	defaultDefs *Definitions
)

// Default returns the embedded definitions, loading them on first use. It
// panics if the embedded data is corrupt, which is a build defect.
func Default() *Definitions {
	defaultOnce.Do(func() {
		d, err := Load()
		if err != nil {
			panic("defs: embedded FHIR definitions are corrupt: " + err.Error())
		}
		defaultDefs = d
	})
	return defaultDefs
}

// Load parses the embedded data. Each call returns a new *Definitions;
// most callers want Default.
func Load() (*Definitions, error) {
	var ft format.Types
	var fv format.ValueSets
	var fs format.Search
	for name, dst := range map[string]any{"types.json.gz": &ft, "valuesets.json.gz": &fv, "search.json.gz": &fs} {
		if err := readGzipJSON(name, dst); err != nil {
			return nil, err
		}
	}
	if ft.Version != format.Version || fv.Version != format.Version || fs.Version != format.Version {
		return nil, fmt.Errorf("defs: embedded data has layout version %d/%d/%d, want %d", ft.Version, fv.Version, fs.Version, format.Version)
	}
	d := &Definitions{}
	if err := d.loadTypes(&ft); err != nil {
		return nil, err
	}
	d.loadValueSets(&fv)
	d.loadSearch(&fs)
	return d, nil
}

func readGzipJSON(name string, dst any) error {
	data, err := dataFS.ReadFile("data/" + name)
	if err != nil {
		return fmt.Errorf("defs: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("defs: %s: %w", name, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return fmt.Errorf("defs: %s: %w", name, err)
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("defs: %s: %w", name, err)
	}
	return nil
}

// Type returns the named type ("Patient", "HumanName", "string",
// "Observation.component"), or nil.
func (d *Definitions) Type(name string) *Type { return d.types[name] }

// ResourceTypes returns the names of all concrete resource types, sorted.
// The slice is shared: do not modify it.
func (d *Definitions) ResourceTypes() []string { return d.resourceTypes }

// IsResource reports whether name is a resource type, abstract (Resource,
// DomainResource) or concrete.
func (d *Definitions) IsResource(name string) bool {
	t := d.types[name]
	return t != nil && t.Kind == ResourceKind
}

// IsSubtype reports whether typ is base or derives from it
// ("Age" -> "Quantity", "Patient" -> "DomainResource" -> "Resource",
// "code" -> "string", "Observation.component" -> "BackboneElement").
func (d *Definitions) IsSubtype(typ, base string) bool {
	for n := 0; typ != "" && n < 16; n++ {
		if typ == base {
			return true
		}
		t := d.types[typ]
		if t == nil {
			return false
		}
		typ = t.Base
	}
	return false
}

// ChildType returns the type of the element name (its FHIRPath name: "value",
// not "valueQuantity") of a node of type parent. For a choice element it
// returns choice=true and all allowed type names. ok is false when parent or
// the element is unknown.
func (d *Definitions) ChildType(parent, name string) (types []string, choice bool, ok bool) {
	t := d.types[parent]
	if t == nil {
		return nil, false, false
	}
	e := t.byName[name]
	if e == nil {
		return nil, false, false
	}
	return e.TypeNames, e.Choice, true
}

// ValueSet returns the expansion of a value set used by a required binding,
// or nil when it is not among them or could not be expanded. url may carry a
// "|version" suffix, which is ignored.
func (d *Definitions) ValueSet(url string) *ValueSet {
	return d.valueSets[stripVersion(url)]
}

// Unexpanded reports whether url names a value set of a required binding
// that could not be expanded from the definitions, and why. Validators skip
// binding checks for those.
func (d *Definitions) Unexpanded(url string) (reason string, ok bool) {
	reason, ok = d.unexpanded[stripVersion(url)]
	return reason, ok
}

func stripVersion(url string) string {
	if i := strings.IndexByte(url, '|'); i >= 0 {
		return url[:i]
	}
	return url
}

// Order gives the canonical JSON writer (fhir.Layout) the position of JSON
// property key among the children of an object of type typ, and the type of
// its value. Resource-typed values ("Resource", e.g. Bundle.entry.resource)
// are reported as such; the writer takes their own resourceType.
func (d *Definitions) Order(typ, key string) (pos int, childType string, ok bool) {
	t := d.Type(typ)
	if t == nil {
		return 0, "", false
	}
	c, ok := t.JSONChild(key)
	if !ok {
		return 0, "", false
	}
	return c.Pos, c.Type, true
}
