package safety

import (
	"bufio"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"github.com/openchart/openchart/internal/terminology"
)

//go:embed knowledge/*.tsv
var embedded embed.FS

// The files of a knowledge set; every one is required.
const (
	FileClasses         = "classes.tsv"
	FileMembers         = "members.tsv"
	FileInteractions    = "interactions.tsv"
	FileCrossReactivity = "crossreactivity.tsv"
	FileAllergens       = "allergens.tsv"
)

// Severity grades an alert, from the most to the least serious.
type Severity string

// Severities, in order.
const (
	Contraindicated Severity = "contraindicated"
	Major           Severity = "major"
	Moderate        Severity = "moderate"
	Minor           Severity = "minor"
)

func (s Severity) rank() int {
	switch s {
	case Contraindicated:
		return 0
	case Major:
		return 1
	case Moderate:
		return 2
	case Minor:
		return 3
	}
	return 4
}

func parseSeverity(s string) (Severity, error) {
	v := Severity(strings.TrimSpace(s))
	if v.rank() == 4 {
		return "", fmt.Errorf("severity %q: want contraindicated, major, moderate or minor", s)
	}
	return v, nil
}

// Class is a group of ingredients: a cross-reactivity class for allergies,
// a therapeutic class for duplicate therapy, or only a name that
// interactions refer to.
type Class struct {
	ID        string
	Display   string
	Allergy   bool // an allergy to one member is an allergy to the class
	Duplicate bool // two members at once are duplicate therapy
	Source    string
	Note      string
	Members   []string // ingredient names, lower case
}

// Interaction is a pair of ingredients or classes that interact.
type Interaction struct {
	A, B     Ref
	Severity Severity
	Message  string
	Source   string
}

// CrossReactivity warns about a drug class for an allergy to another class
// or ingredient.
type CrossReactivity struct {
	Allergen, Drug Ref
	Severity       Severity
	Message        string
	Source         string
}

// Ref names an ingredient ("warfarin") or a class ("class:nsaids").
type Ref struct {
	Class      string // set for a class
	Ingredient string // set for an ingredient
}

func (r Ref) String() string {
	if r.Class != "" {
		return "class:" + r.Class
	}
	return r.Ingredient
}

// Knowledge is a loaded, validated knowledge set. It is immutable and safe
// for concurrent use.
type Knowledge struct {
	classes      map[string]*Class
	byIngredient map[string][]*Class // ingredient -> the classes it is in
	interactions []Interaction
	cross        []CrossReactivity
	allergens    map[string]Ref // system|code (or text|phrase) -> target
	rx           *terminology.RxNormCodes
}

var defaultKnowledge = sync.OnceValues(func() (*Knowledge, error) {
	sub, err := fs.Sub(embedded, "knowledge")
	if err != nil {
		return nil, err
	}
	return Load(sub)
})

// Default returns the embedded starter knowledge set.
func Default() *Knowledge {
	k, err := defaultKnowledge()
	if err != nil {
		panic("safety: embedded knowledge: " + err.Error())
	}
	return k
}

// Load reads and validates a knowledge set from the five files at the root
// of fsys (os.DirFS(dir) for a directory). Every row needs its severity
// (where the file has one) and its source; classes referenced must be
// defined. An error names the file and line.
func Load(fsys fs.FS) (*Knowledge, error) {
	k := &Knowledge{
		classes:      map[string]*Class{},
		byIngredient: map[string][]*Class{},
		allergens:    map[string]Ref{},
		rx:           terminology.RxNorm(),
	}
	steps := []struct {
		name string
		cols int
		row  func(cols []string) error
	}{
		{FileClasses, 6, k.classRow},
		{FileMembers, 3, k.memberRow},
		{FileInteractions, 5, k.interactionRow},
		{FileCrossReactivity, 5, k.crossRow},
		{FileAllergens, 4, k.allergenRow},
	}
	for _, s := range steps {
		if err := readTSV(fsys, s.name, s.cols, s.row); err != nil {
			return nil, err
		}
	}
	for _, c := range k.classes {
		if len(c.Members) == 0 {
			return nil, fmt.Errorf("%s: class %q has no members in %s", FileClasses, c.ID, FileMembers)
		}
		sort.Strings(c.Members)
	}
	return k, nil
}

func readTSV(fsys fs.FS, name string, ncols int, row func([]string) error) error {
	f, err := fsys.Open(name)
	if err != nil {
		return fmt.Errorf("knowledge file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if line == 1 || strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		cols := strings.Split(text, "\t")
		if len(cols) != ncols {
			return fmt.Errorf("%s:%d: want %d tab-separated columns, have %d", name, line, ncols, len(cols))
		}
		for i := range cols {
			cols[i] = strings.TrimSpace(cols[i])
		}
		if err := row(cols); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func yesNo(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "yes":
		return true, nil
	case "no":
		return false, nil
	}
	return false, fmt.Errorf("%q: want yes or no", s)
}

var errNoSource = errors.New("source is required")

func (k *Knowledge) classRow(c []string) error {
	if c[0] == "" || c[1] == "" {
		return errors.New("class and display are required")
	}
	if c[4] == "" {
		return errNoSource
	}
	if _, dup := k.classes[c[0]]; dup {
		return fmt.Errorf("class %q defined twice", c[0])
	}
	allergy, err := yesNo(c[2])
	if err != nil {
		return fmt.Errorf("allergy: %w", err)
	}
	dup, err := yesNo(c[3])
	if err != nil {
		return fmt.Errorf("duplicate: %w", err)
	}
	k.classes[c[0]] = &Class{ID: c[0], Display: c[1], Allergy: allergy, Duplicate: dup, Source: c[4], Note: c[5]}
	return nil
}

func (k *Knowledge) memberRow(c []string) error {
	cl, ok := k.classes[c[0]]
	if !ok {
		return fmt.Errorf("unknown class %q", c[0])
	}
	if c[2] == "" {
		return errNoSource
	}
	ing := strings.ToLower(c[1])
	if ing == "" {
		return errors.New("ingredient is required")
	}
	for _, m := range cl.Members {
		if m == ing {
			return fmt.Errorf("%s listed twice in class %s", ing, cl.ID)
		}
	}
	cl.Members = append(cl.Members, ing)
	k.byIngredient[ing] = append(k.byIngredient[ing], cl)
	return nil
}

func (k *Knowledge) ref(s string) (Ref, error) {
	if id, ok := strings.CutPrefix(s, "class:"); ok {
		if _, known := k.classes[id]; !known {
			return Ref{}, fmt.Errorf("unknown class %q", id)
		}
		return Ref{Class: id}, nil
	}
	if s == "" {
		return Ref{}, errors.New("empty ingredient")
	}
	return Ref{Ingredient: strings.ToLower(s)}, nil
}

func (k *Knowledge) interactionRow(c []string) error {
	a, err := k.ref(c[0])
	if err != nil {
		return err
	}
	b, err := k.ref(c[1])
	if err != nil {
		return err
	}
	sev, err := parseSeverity(c[2])
	if err != nil {
		return err
	}
	if c[3] == "" {
		return errors.New("message is required")
	}
	if c[4] == "" {
		return errNoSource
	}
	k.interactions = append(k.interactions, Interaction{A: a, B: b, Severity: sev, Message: c[3], Source: c[4]})
	return nil
}

func (k *Knowledge) crossRow(c []string) error {
	a, err := k.ref(c[0])
	if err != nil {
		return err
	}
	b, err := k.ref(c[1])
	if err != nil {
		return err
	}
	sev, err := parseSeverity(c[2])
	if err != nil {
		return err
	}
	if c[3] == "" {
		return errors.New("message is required")
	}
	if c[4] == "" {
		return errNoSource
	}
	k.cross = append(k.cross, CrossReactivity{Allergen: a, Drug: b, Severity: sev, Message: c[3], Source: c[4]})
	return nil
}

func (k *Knowledge) allergenRow(c []string) error {
	if c[0] == "" || c[1] == "" {
		return errors.New("system and code are required")
	}
	target, err := k.ref(c[2])
	if err != nil {
		return err
	}
	if c[3] == "" {
		return errNoSource
	}
	key := allergenKey(c[0], c[1])
	if _, dup := k.allergens[key]; dup {
		return fmt.Errorf("allergen %s|%s listed twice", c[0], c[1])
	}
	k.allergens[key] = target
	return nil
}

func allergenKey(system, code string) string {
	if system == "text" {
		return "text|" + normText(code)
	}
	return system + "|" + strings.TrimSpace(code)
}

// normText folds free text for comparison: lower case, single spaces.
func normText(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// Classes returns the classes of the set, by id.
func (k *Knowledge) Classes() []Class {
	out := make([]Class, 0, len(k.classes))
	for _, c := range k.classes {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Interactions returns the interaction rows of the set.
func (k *Knowledge) Interactions() []Interaction {
	return append([]Interaction(nil), k.interactions...)
}

// Unknown returns the ingredient names the set refers to that the RxNorm
// catalogue does not know: such rows can never match a coded drug. The
// embedded set has none (a test checks it); a replacement set may.
func (k *Knowledge) Unknown() []string {
	seen := map[string]bool{}
	check := func(r Ref) {
		if r.Ingredient != "" {
			if _, ok := k.rx.Ingredient(r.Ingredient); !ok {
				seen[r.Ingredient] = true
			}
		}
	}
	for ing := range k.byIngredient {
		check(Ref{Ingredient: ing})
	}
	for _, in := range k.interactions {
		check(in.A)
		check(in.B)
	}
	for _, c := range k.cross {
		check(c.Allergen)
		check(c.Drug)
	}
	for _, t := range k.allergens {
		check(t)
	}
	var out []string
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
