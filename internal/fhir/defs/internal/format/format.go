// Package format is the wire form of the embedded definition files, shared
// by the generator that writes them and the defs package that reads them.
// Field names are short because the files are embedded in the binary; they
// are gzip'd JSON so that a developer can still inspect them with zcat.
package format

// Version identifies the layout; Load refuses files of another version.
const Version = 1

// Types is data/types.json.gz: every StructureDefinition of kind
// primitive-type, complex-type or resource that is a specialization (or a
// root such as Element and Resource), with its snapshot flattened.
type Types struct {
	Version     int          `json:"version"`
	FHIR        string       `json:"fhir"`
	Constraints []Constraint `json:"constraints"` // shared table; elements refer to it by index
	Types       []Type       `json:"types"`
}

// Type is one StructureDefinition.
type Type struct {
	Name     string    `json:"n"`
	URL      string    `json:"u"`
	Kind     string    `json:"k"`           // primitive-type | complex-type | resource
	Abstract bool      `json:"a,omitempty"` //
	Base     string    `json:"b,omitempty"` // name of the base type
	Regex    string    `json:"re,omitempty"`
	Elements []Element `json:"e"` // snapshot order; Elements[0] is the root
}

// Element is one ElementDefinition of a snapshot.
type Element struct {
	Path        string    `json:"p"`
	Min         int       `json:"n,omitempty"`
	Max         string    `json:"x,omitempty"` // "" means "1"
	Types       []TypeRef `json:"t,omitempty"`
	ContentRef  string    `json:"r,omitempty"` // without the leading '#'
	Binding     *Binding  `json:"b,omitempty"`
	Constraints []int     `json:"c,omitempty"`
	Summary     bool      `json:"s,omitempty"`
	Modifier    bool      `json:"m,omitempty"`
}

// TypeRef is one ElementDefinition.type.
type TypeRef struct {
	Code           string   `json:"c"`
	TargetProfiles []string `json:"t,omitempty"`
	Profiles       []string `json:"p,omitempty"`
}

// Binding is ElementDefinition.binding.
type Binding struct {
	Strength string `json:"s"`
	ValueSet string `json:"v,omitempty"`
}

// Constraint is ElementDefinition.constraint.
type Constraint struct {
	Key        string `json:"k"`
	Severity   string `json:"s"`
	Human      string `json:"h"`
	Expression string `json:"e,omitempty"`
	Source     string `json:"src,omitempty"`
}

// ValueSets is data/valuesets.json.gz.
type ValueSets struct {
	Version    int          `json:"version"`
	ValueSets  []ValueSet   `json:"valueSets"`
	Unexpanded []Unexpanded `json:"unexpanded"`
}

// ValueSet is an expanded value set: codes grouped by system.
type ValueSet struct {
	URL     string        `json:"u"`
	Version string        `json:"v,omitempty"`
	Name    string        `json:"n,omitempty"`
	Systems []SystemCodes `json:"s"`
}

// SystemCodes lists the codes of one system in a value set.
type SystemCodes struct {
	System string   `json:"s"`
	Codes  []string `json:"c"`
}

// Unexpanded names a value set used by a required binding that the
// generator could not expand, and why.
type Unexpanded struct {
	URL    string `json:"u"`
	Reason string `json:"r"`
}

// Search is data/search.json.gz.
type Search struct {
	Version      int           `json:"version"`
	Params       []SearchParam `json:"params"`
	Compartments []Compartment `json:"compartments"`
}

// SearchParam is one SearchParameter resource, reduced to what a server uses.
type SearchParam struct {
	URL         string      `json:"url"`
	Name        string      `json:"name,omitempty"`
	Code        string      `json:"code"`
	Base        []string    `json:"base"`
	Type        string      `json:"type"`
	Expression  string      `json:"expr,omitempty"`
	Target      []string    `json:"target,omitempty"`
	Modifier    []string    `json:"modifier,omitempty"`
	Comparator  []string    `json:"comparator,omitempty"`
	MultipleOr  *bool       `json:"multipleOr,omitempty"`
	MultipleAnd *bool       `json:"multipleAnd,omitempty"`
	Chain       []string    `json:"chain,omitempty"`
	Component   []Component `json:"component,omitempty"`
	Source      string      `json:"src"` // "core" or "us-core"
}

// Component is SearchParameter.component.
type Component struct {
	Definition string `json:"def"`
	Expression string `json:"expr"`
}

// Compartment is a CompartmentDefinition: resource type -> the search
// parameter codes that link a resource of that type to the compartment.
type Compartment struct {
	Code      string              `json:"code"`
	URL       string              `json:"url"`
	Resources map[string][]string `json:"resources"`
}
