package store

import "time"

// Query is a compiled FHIR search over current, non-deleted resources. The
// search package builds it from URL parameters using the SearchParameter
// definitions; stores execute it with the index tables (never by scanning
// resource JSON).
type Query struct {
	// Types restricts the resource types; empty means every type
	// (system-level search).
	Types []string
	// Where holds clauses that must all match (repeated parameters: AND).
	Where []Clause
	// Sort keys, most significant first. Without keys, results come in a
	// stable store order (by type, then id).
	Sort []Sort
	// Count is the page size. Zero with Total set returns only the total;
	// zero without Total means no limit (internal callers).
	Count int
	// Offset skips that many matches (paging).
	Offset int
	// Total asks for the number of matches ignoring paging.
	Total TotalMode
}

// TotalMode is the _total parameter.
type TotalMode uint8

const (
	TotalNone TotalMode = iota
	TotalEstimate
	TotalAccurate
)

// Clause matches when any of its predicates matches (comma-separated values: OR).
type Clause struct {
	Or []Predicate
}

// Kind is the type of a search parameter, plus the special parameters that
// stores treat directly.
type Kind uint8

const (
	KindToken Kind = iota + 1
	KindString
	KindDate
	KindNumber
	KindQuantity
	KindReference
	KindURI
	KindComposite
	KindID          // _id: matches Record.ID (Token.Code holds the id)
	KindLastUpdated // _lastUpdated: matches Record.LastUpdated (Date fields)
	KindCompartment // resources in the compartment Compartment.Type/Compartment.ID (or of the owners Owners selects)
	KindType        // resources of one of the types InTypes (the access policy's exemptions)
)

// Op is a comparison or modifier.
type Op uint8

const (
	OpEq       Op = iota // the default: eq for ordered types, match for tokens and references, starts-with for strings
	OpNe                 // ne prefix (ordered types)
	OpGt                 // gt
	OpLt                 // lt
	OpGe                 // ge
	OpLe                 // le
	OpSa                 // sa: starts after
	OpEb                 // eb: ends before
	OpAp                 // ap: approximately (stores use ±10% of the value, at least the precision range)
	OpExact              // :exact for strings
	OpContains           // :contains for strings and uris
	OpNot                // :not for tokens: no index row of Param matches
	OpText               // :text for tokens: Token.Text starts with (normalized) String.Norm
	OpIn                 // :in / :not-in (with Negate): Codes lists the value set's codes
	OpAbove              // :above for uris (the stored value is a prefix of the search value) and for tokens (Codes lists the ancestors)
	OpBelow              // :below for uris (the search value is a prefix of the stored value) and for tokens (Codes lists the descendants)
	OpOfType             // :of-type for identifiers: Token.System|Token.Code is the type coding, String.Exact the value
	OpMissing            // :missing: Missing says whether the parameter must be absent (true) or present (false)
)

// Predicate is one value of one parameter. Only the fields of its Kind are set.
type Predicate struct {
	Param string
	Kind  Kind
	Op    Op
	// Negate inverts the match of the whole predicate (:not-in).
	Negate bool
	// Missing applies to OpMissing.
	Missing bool

	// KindToken, KindID: AnySystem is true when the value had no "|" (any
	// system matches); otherwise System must equal (an empty System means
	// "no system", as in "|code"). An empty Code with AnySystem false
	// means "system|": any code of that system.
	AnySystem bool
	System    string
	Code      string
	Codes     []Token // OpIn, OpAbove, OpBelow for tokens

	// KindString (Norm/Exact), KindURI (Exact), OpText (Norm).
	Norm  string
	Exact string

	// KindDate, KindLastUpdated: the closed interval the search value covers
	// at its precision.
	Low  time.Time
	High time.Time

	// KindNumber, KindQuantity: the value and the interval its precision
	// implies ([NumLow, NumHigh)), plus the unit for quantities (system and
	// code; an empty system with a code matches Code or Unit).
	Number  float64
	NumLow  float64
	NumHigh float64

	// KindReference: a local target (TargetType may be empty when the search
	// value was a bare id), or a URL for absolute/canonical references.
	TargetType string
	TargetID   string
	URL        string
	Version    string

	// Chain: Param is a reference parameter; it matches resources whose
	// reference Param points at a resource of Chain.Types matching Chain.Where.
	Chain *Query
	// Has (_has): matches resources that are referenced, through parameter
	// Has.Param, by a resource of Has.Query.Types matching Has.Query.Where.
	Has *Has

	// KindComposite: the component predicates, all of which must match the
	// same Composite row.
	Components []Predicate

	// KindCompartment: the compartment owner. With Owners set, the owner
	// is any current resource of type Compartment.Type matching
	// Owners.Where (Compartment.ID and Owners.Types are ignored): "in the
	// Patient compartment of some Patient managed by Organization/X". With
	// Owners nil and an empty Compartment.ID, any owner: the resource is in
	// some compartment of that type (Negate: in none).
	Compartment CompartmentRef
	Owners      *Query

	// KindType: the resource's type is one of InTypes.
	InTypes []string
}

// Has is a reverse chain (_has:Type:param:...).
type Has struct {
	Param string // the reference parameter on the referring type
	Query *Query
}

// Sort is one _sort key.
type Sort struct {
	Param string // a parameter code, or _id / _lastUpdated
	Kind  Kind
	Desc  bool
}

// Result is a page of matches.
type Result struct {
	Records []*Record
	// Total is the number of matches ignoring paging, or -1 when not asked
	// for (TotalNone) or not known.
	Total int
	// More reports whether matches exist beyond this page.
	More bool
}
