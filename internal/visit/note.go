package visit

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
)

// Template is a SOAP note template: what the note is (its LOINC document
// type) and what to write in each section.
type Template struct {
	ID           string  `json:"id"`
	Title        string  `json:"title"`
	DocumentType Code    `json:"documentType"`
	Prompts      Prompts `json:"prompts"`
}

// Prompts are the guidance shown in each section of a template.
type Prompts struct {
	Subjective string `json:"subjective"`
	Objective  string `json:"objective"`
	Assessment string `json:"assessment"`
	Plan       string `json:"plan"`
}

//go:embed data/templates.json
var templatesJSON []byte

var templates = func() []Template {
	var ts []Template
	if err := json.Unmarshal(templatesJSON, &ts); err != nil {
		panic("visit: data/templates.json: " + err.Error())
	}
	for i := range ts {
		ts[i].DocumentType.System = sysLOINC
	}
	return ts
}()

// Templates lists the note templates (data/templates.json): annual
// physical (an H&P note), follow-up and acute visit (progress notes).
func Templates() []Template { return append([]Template(nil), templates...) }

func template(id string) (Template, bool) {
	for _, t := range templates {
		if t.ID == id {
			return t, true
		}
	}
	return Template{}, false
}

// Note is the text of a SOAP note and the template it was started from.
type Note struct {
	Template   string
	Subjective string
	Objective  string
	Assessment string
	Plan       string
}

// section is a SOAP section: its field name, title and LOINC code (the
// section codes of the C-CDA progress note and H&P document templates).
type section struct {
	field, title, code, display string
	text                        func(*Note) *string
}

var sections = []section{
	{"subjective", "Subjective", "61150-9", "Subjective Narrative", func(n *Note) *string { return &n.Subjective }},
	{"objective", "Objective", "61149-1", "Objective Narrative", func(n *Note) *string { return &n.Objective }},
	{"assessment", "Assessment", "51848-0", "Evaluation note", func(n *Note) *string { return &n.Assessment }},
	{"plan", "Plan", "18776-5", "Plan of care note", func(n *Note) *string { return &n.Plan }},
}

// maxSection bounds one section's text.
const maxSection = 20000

// check validates a note; final requires what a signed note must have.
func (n *Note) check(fe FieldErrors, final bool) {
	if _, ok := template(n.Template); !ok {
		fe.add("template", "Choose a note template")
	}
	empty := true
	for _, sec := range sections {
		p := sec.text(n)
		*p = strings.TrimSpace(strings.ReplaceAll(*p, "\r\n", "\n"))
		switch {
		case !utf8.ValidString(*p):
			fe.add(sec.field, sec.title+" contains characters that are not text")
		case len(*p) > maxSection:
			fe.add(sec.field, fmt.Sprintf("%s is too long (%d characters at most)", sec.title, maxSection))
		}
		if *p != "" {
			empty = false
		}
	}
	if final {
		if n.Assessment == "" {
			fe.add("assessment", "Write the assessment before signing")
		}
		if n.Plan == "" {
			fe.add("plan", "Write the plan before signing")
		}
	} else if empty {
		fe.add("subjective", "Write at least one section of the note")
	}
}

// narrative renders text as the XHTML div of a Narrative: escaped, lines
// separated by <br/>, so that text reads it back exactly.
func narrative(text string) map[string]any {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = html.EscapeString(l)
	}
	return map[string]any{
		"status": "additional",
		"div":    divOpen + strings.Join(lines, "<br/>") + divClose,
	}
}

const (
	divOpen  = `<div xmlns="http://www.w3.org/1999/xhtml">`
	divClose = `</div>`
)

// narrativeText is the inverse of narrative.
func narrativeText(v any) string {
	m := fhir.Obj(v)
	div := fhir.Str(m["div"])
	div = strings.TrimSuffix(strings.TrimPrefix(div, divOpen), divClose)
	lines := strings.Split(div, "<br/>")
	for i, l := range lines {
		lines[i] = html.UnescapeString(l)
	}
	return strings.Join(lines, "\n")
}

// composition builds a Composition of the visit holding n.
func composition(enc *encounter, n *Note, t Template, author, status, date, custodian string) map[string]any {
	var secs []any
	for _, sec := range sections {
		text := *sec.text(n)
		if text == "" {
			continue
		}
		secs = append(secs, map[string]any{
			"title": sec.title,
			"code":  concept(sysLOINC, sec.code, sec.display),
			"text":  narrative(text),
		})
	}
	c := map[string]any{
		"resourceType": "Composition",
		"status":       status,
		"type":         concept(sysLOINC, t.DocumentType.Code, t.DocumentType.Display),
		"category":     []any{concept(sysTemplate, t.ID, t.Title)},
		"subject":      fhir.Reference(enc.Patient),
		"encounter":    fhir.Reference(enc.Ref()),
		"date":         date,
		"author":       []any{fhir.Reference(author)},
		"title":        t.Title + " note",
	}
	if custodian != "" {
		c["custodian"] = fhir.Reference(custodian)
	}
	if len(secs) > 0 {
		c["section"] = secs
	}
	return c
}

// noteOf reads a Note back from a Composition written by composition.
func noteOf(c map[string]any) Note {
	var n Note
	cats := fhir.List(c["category"])
	for _, cat := range cats {
		if code, ok := codeIn(cat, sysTemplate); ok {
			n.Template = code
		}
	}
	secs := fhir.List(c["section"])
	for _, s := range secs {
		m := fhir.Obj(s)
		for _, sec := range sections {
			if code, ok := codeIn(m["code"], sysLOINC); ok && code == sec.code {
				*sec.text(&n) = narrativeText(m["text"])
			}
		}
	}
	return n
}

// codeIn returns the code of the first coding of system in a
// CodeableConcept.
func codeIn(cc any, system string) (string, bool) {
	m := fhir.Obj(cc)
	codings := fhir.List(m["coding"])
	for _, c := range codings {
		cm := fhir.Obj(c)
		if cm["system"] == system {
			code, ok := cm["code"].(string)
			return code, ok
		}
	}
	return "", false
}

// visitNotes are the Compositions of a visit, sorted by role.
type visitNotes struct {
	draft    *doc   // the preliminary note, if any
	signed   []*doc // final or amended notes that are not addenda
	addenda  []*doc
	replaced map[string]bool // Composition refs another note replaces
}

func (s *Service) notes(ctx context.Context, r reader, enc *encounter) (*visitNotes, error) {
	docs, err := s.find(ctx, r, "Composition", url.Values{"encounter": {enc.Ref()}})
	if err != nil {
		return nil, err
	}
	vn := &visitNotes{replaced: map[string]bool{}}
	for _, d := range docs {
		st := fhir.Str(d.Res["status"])
		appends := false
		rels := fhir.List(d.Res["relatesTo"])
		for _, rel := range rels {
			m := fhir.Obj(rel)
			switch m["code"] {
			case "appends":
				appends = true
			case "replaces":
				vn.replaced[fhir.RefOf(m["targetReference"])] = true
			}
		}
		switch {
		case st == "preliminary" && !appends:
			vn.draft = d
		case (st == "final" || st == "amended") && appends:
			vn.addenda = append(vn.addenda, d)
		case st == "final" || st == "amended":
			vn.signed = append(vn.signed, d)
		}
	}
	return vn, nil
}

// Draft returns the visit's draft note and its Composition id, or an
// empty note and "" when there is none.
func (s *Service) Draft(ctx context.Context, encounterID string) (Note, string, error) {
	const op = "read note"
	if _, err := principal(ctx, op); err != nil {
		return Note{}, "", err
	}
	enc, err := loadEncounter(ctx, s.repo, op, encounterID, false)
	if err != nil {
		return Note{}, "", err
	}
	vn, err := s.notes(ctx, s.repo, enc)
	if err != nil || vn.draft == nil {
		return Note{}, "", err
	}
	return noteOf(vn.draft.Res), vn.draft.ID, nil
}

// SaveDraft creates or replaces the visit's draft note: a Composition with
// status preliminary that its author may edit until it is signed. Once the
// visit's note is signed, SaveDraft refuses: the signed note is changed
// only by Addendum or Amend. It returns the Composition id.
func (s *Service) SaveDraft(ctx context.Context, encounterID string, n Note) (string, error) {
	const op = "save note"
	p, err := principal(ctx, op)
	if err != nil {
		return "", err
	}
	fe := FieldErrors{}
	n.check(fe, false)
	if err := fe.err(op); err != nil {
		return "", err
	}
	t, _ := template(n.Template)
	var id string
	err = s.repo.InTx(ctx, func(tx *repo.Tx) error {
		enc, err := loadEncounter(ctx, tx, op, encounterID, false)
		if err != nil {
			return err
		}
		vn, err := s.notes(ctx, tx, enc)
		if err != nil {
			return err
		}
		if len(vn.signed) > 0 {
			return signedErr(op)
		}
		author := clinician(p, enc.Res)
		if author == "" {
			return fieldErr(op, "author", "The note needs an author: the visit has no practitioner")
		}
		if vn.draft != nil {
			if err := mayEdit(op, p, vn.draft.Res); err != nil {
				return err
			}
			author = fhir.RefOf(first(vn.draft.Res["author"]))
		}
		c := composition(enc, &n, t, author, "preliminary", dateTime(tx.Now()), s.organization(p.Organization))
		if vn.draft == nil {
			// The first note of a visit has an id derived from the
			// encounter's, so two first saves racing cannot both create
			// one: the store refuses the second version 1.
			out, err := tx.Create(ctx, c, repo.CreateOptions{ID: derivedID("note", enc.ID)})
			if err != nil {
				return err
			}
			id = out.Record.ID
			return nil
		}
		id = vn.draft.ID
		c["id"] = id
		_, err = tx.Update(ctx, "Composition", id, c, repo.UpdateOptions{})
		return err
	})
	return id, err
}

func signedErr(op string) error {
	return errs.E(op, errs.Conflict, "The note is signed and can no longer be edited; write an addendum or an amendment",
		errs.Issue{Severity: "error", Code: "business-rule", Diagnostics: "a signed Composition is immutable", Expression: []string{"note"}})
}

// mayEdit lets only the author of a draft edit it (operators and the
// system, who act for no practitioner, are trusted).
func mayEdit(op string, p *access.Principal, draft map[string]any) error {
	author := fhir.RefOf(first(draft["author"]))
	if p.FHIRUser == "" || author == "" || p.FHIRUser == author {
		return nil
	}
	return errs.E(op, errs.Permission, "Only the author of a draft note may edit it")
}

func first(v any) any {
	if a := fhir.List(v); len(a) > 0 {
		return a[0]
	}
	return nil
}

// Document is a signed note of a visit as the chart shows it: a signed
// SOAP note (or an amendment of one) or an addendum.
type Document struct {
	Composition string // "Composition/id"
	Version     int64
	Title       string
	Date        string
	Signer      string // the legal attester
	Note        Note   // the SOAP sections (a signed note or an amendment)
	Addendum    string // the text of an addendum
	Appends     string // the Composition an addendum appends
	Replaces    string // the Composition an amendment replaces
	ReplacedBy  string // the amendment that replaces this one, if any
}

// Documents lists the visit's signed documents, oldest first: notes,
// amendments and addenda, each with what it appends, replaces or is
// replaced by. The current note is the one with no ReplacedBy and no
// Appends.
func (s *Service) Documents(ctx context.Context, encounterID string) ([]Document, error) {
	const op = "read notes"
	if _, err := principal(ctx, op); err != nil {
		return nil, err
	}
	enc, err := loadEncounter(ctx, s.repo, op, encounterID, false)
	if err != nil {
		return nil, err
	}
	vn, err := s.notes(ctx, s.repo, enc)
	if err != nil {
		return nil, err
	}
	all := append(append([]*doc(nil), vn.signed...), vn.addenda...)
	out := make([]Document, 0, len(all))
	replacedBy := map[string]string{}
	for _, d := range all {
		dd := Document{Composition: d.Ref(), Version: d.Version}
		dd.Title = fhir.Str(d.Res["title"])
		dd.Date = fhir.Str(d.Res["date"])
		dd.Signer = fhir.RefOf(fhir.Obj(first(d.Res["attester"]))["party"])
		rels := fhir.List(d.Res["relatesTo"])
		for _, r := range rels {
			m := fhir.Obj(r)
			switch target := fhir.RefOf(m["targetReference"]); m["code"] {
			case "appends":
				dd.Appends = target
			case "replaces":
				dd.Replaces = target
				replacedBy[target] = dd.Composition
			}
		}
		if dd.Appends != "" {
			dd.Addendum = narrativeText(fhir.Obj(first(d.Res["section"]))["text"])
		} else {
			dd.Note = noteOf(d.Res)
		}
		out = append(out, dd)
	}
	index := map[string]int{}
	for i := range out {
		out[i].ReplacedBy = replacedBy[out[i].Composition]
		index[out[i].Composition] = i
	}
	// A document comes after the one it appends or replaces, even when
	// both were signed within the same second.
	depth := func(d Document) int {
		n := 0
		for seen := 0; seen < len(out); seen++ {
			target := d.Appends + d.Replaces
			i, ok := index[target]
			if !ok {
				break
			}
			d, n = out[i], n+1
		}
		return n
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Date != out[j].Date {
			return out[i].Date < out[j].Date
		}
		return depth(out[i]) < depth(out[j])
	})
	return out, nil
}
