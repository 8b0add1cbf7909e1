package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// maxDocuments bounds each list of the documents page.
const maxDocuments = 100

// noteView is a Composition (a clinical note), read-only.
type noteView struct {
	ID, Title, Type, Status, Date string
	Authors                       []string
	Attested                      []string // "legal attester, time"
	Sections                      []noteSection
	// Signature is the signature's state: "" (none recorded), "verified",
	// "invalid" (the note changed after signing) or "recorded" (no
	// verifier configured).
	Signature     string
	SignatureNote string
	SignedBy      string
	SignedAt      string
}

type noteSection struct{ Title, Text string }

// documentView is a DocumentReference.
type documentView struct {
	ID, Type, Category, Status, DocStatus, Date, Description string
	Authors                                                  []string
	Authenticator                                            string
	Composition                                              string // the related Composition's id, when it is one listed
	Attachments                                              []attachmentView
}

type attachmentView struct {
	Title, ContentType, URL, Text string
	Size                          int
}

// loadDocuments reads the patient's notes (Compositions) and documents
// (DocumentReferences), and the Provenance that records each signed
// note's signature, all with the user's principal. The Repository leaves
// out what the user may not read.
func (s *server) loadDocuments(r *http.Request, v *chartView, fe map[string]string) error {
	ctx := r.Context()
	patient := "Patient/" + v.ID
	comps, err := s.searchAll(ctx, "Composition", url.Values{"patient": {patient}, "_sort": {"-date"}})
	if err != nil {
		return err
	}
	docs, err := s.searchAll(ctx, "DocumentReference", url.Values{"patient": {patient}, "_sort": {"-date"}})
	if err != nil {
		return err
	}
	var targets []string
	for _, rec := range comps {
		n := noteOf(rec)
		v.Notes = append(v.Notes, n)
		if n.Status == "final" || n.Status == "amended" {
			targets = append(targets, "Composition/"+rec.ID)
		}
	}
	if len(targets) > 0 {
		provs, err := s.searchAll(ctx, "Provenance", url.Values{"target": {strings.Join(targets, ",")}})
		if err != nil {
			return err
		}
		for i := range v.Notes {
			s.signatureOf(ctx, &v.Notes[i], provs)
		}
	}
	listed := map[string]bool{}
	for _, n := range v.Notes {
		listed[n.ID] = true
	}
	for _, rec := range docs {
		v.Documents = append(v.Documents, documentOf(rec, listed))
	}
	return nil
}

// searchAll runs one search (the first maxDocuments matches).
func (s *server) searchAll(ctx context.Context, typ string, params url.Values) ([]*store.Record, error) {
	params.Set("_count", "100")
	c, err := s.cfg.Search.Compile(typ, params, true)
	if err != nil {
		return nil, err
	}
	res, err := s.cfg.Repo.Search(ctx, c.Query)
	if err != nil {
		if errs.KindOf(err) == errs.Permission {
			return nil, nil // the user may not read this type: nothing to show
		}
		return nil, err
	}
	var out []*store.Record
	for _, rec := range res.Records {
		if rec.Type == typ && !rec.Deleted && len(out) < maxDocuments {
			out = append(out, rec)
		}
	}
	return out, nil
}

// signatureOf finds the Provenance that signs a note and checks it with
// the visit service (the digest of the signed version, and no later
// version), when that service is configured.
func (s *server) signatureOf(ctx context.Context, n *noteView, provs []*store.Record) {
	for _, rec := range provs {
		var p struct {
			Target    []struct{ Reference string } `json:"target"`
			Recorded  string                       `json:"recorded"`
			Signature []struct {
				When string `json:"when"`
				Who  struct {
					Reference, Display string
				} `json:"who"`
				Data string `json:"data"`
			} `json:"signature"`
		}
		if json.Unmarshal(rec.JSON, &p) != nil || len(p.Signature) == 0 {
			continue
		}
		if !slices.ContainsFunc(p.Target, func(t struct{ Reference string }) bool {
			return t.Reference == "Composition/"+n.ID || strings.HasPrefix(t.Reference, "Composition/"+n.ID+"/_history/")
		}) {
			continue
		}
		sig := p.Signature[0]
		n.SignedBy = sig.Who.Display
		if n.SignedBy == "" {
			n.SignedBy = sig.Who.Reference
		}
		n.SignedAt = shortTime(sig.When)
		if s.cfg.Visit == nil {
			n.Signature = "recorded"
			return
		}
		if err := s.cfg.Visit.Verify(ctx, rec.ID); err != nil {
			n.Signature = "invalid"
			n.SignatureNote = "The note does not match its signature: it was changed after signing."
			if k := errs.KindOf(err); k != errs.Conflict && k != errs.Invalid {
				n.Signature, n.SignatureNote = "unknown", "The signature could not be checked."
			}
			return
		}
		n.Signature = "verified"
		return
	}
}

type codeable struct {
	Text   string `json:"text"`
	Coding []struct {
		System, Code, Display string
	} `json:"coding"`
}

func (c codeable) String() string {
	if c.Text != "" {
		return c.Text
	}
	for _, cd := range c.Coding {
		if cd.Display != "" {
			return cd.Display
		}
	}
	if len(c.Coding) > 0 {
		return c.Coding[0].Code
	}
	return ""
}

type reference struct {
	Reference string `json:"reference"`
	Display   string `json:"display"`
}

func (r reference) String() string {
	if r.Display != "" {
		return r.Display
	}
	return r.Reference
}

func noteOf(rec *store.Record) noteView {
	var c struct {
		Status   string      `json:"status"`
		Type     codeable    `json:"type"`
		Title    string      `json:"title"`
		Date     string      `json:"date"`
		Author   []reference `json:"author"`
		Attester []struct {
			Mode  string    `json:"mode"`
			Time  string    `json:"time"`
			Party reference `json:"party"`
		} `json:"attester"`
		Section []struct {
			Title string `json:"title"`
			Text  struct {
				Div string `json:"div"`
			} `json:"text"`
		} `json:"section"`
	}
	n := noteView{ID: rec.ID}
	if json.Unmarshal(rec.JSON, &c) != nil {
		n.Title = "(unreadable note)"
		return n
	}
	n.Title, n.Type, n.Status, n.Date = c.Title, c.Type.String(), c.Status, shortTime(c.Date)
	if n.Title == "" {
		n.Title = n.Type
	}
	if n.Title == "" {
		n.Title = "Note"
	}
	for _, a := range c.Author {
		n.Authors = append(n.Authors, a.String())
	}
	for _, a := range c.Attester {
		n.Attested = append(n.Attested, strings.TrimSpace(a.Party.String()+" ("+a.Mode+", "+shortTime(a.Time)+")"))
	}
	for _, sec := range c.Section {
		n.Sections = append(n.Sections, noteSection{Title: sec.Title, Text: narrativeText(sec.Text.Div)})
	}
	return n
}

func documentOf(rec *store.Record, notes map[string]bool) documentView {
	var d struct {
		Status        string      `json:"status"`
		DocStatus     string      `json:"docStatus"`
		Type          codeable    `json:"type"`
		Category      []codeable  `json:"category"`
		Date          string      `json:"date"`
		Description   string      `json:"description"`
		Author        []reference `json:"author"`
		Authenticator reference   `json:"authenticator"`
		Content       []struct {
			Attachment struct {
				ContentType string `json:"contentType"`
				Title       string `json:"title"`
				URL         string `json:"url"`
				Size        int    `json:"size"`
				Data        string `json:"data"`
			} `json:"attachment"`
		} `json:"content"`
		Context struct {
			Related []reference `json:"related"`
		} `json:"context"`
	}
	v := documentView{ID: rec.ID}
	if json.Unmarshal(rec.JSON, &d) != nil {
		v.Type = "(unreadable document)"
		return v
	}
	v.Type, v.Status, v.DocStatus, v.Date, v.Description = d.Type.String(), d.Status, d.DocStatus, shortTime(d.Date), d.Description
	if v.Type == "" {
		v.Type = "Document"
	}
	var cats []string
	for _, c := range d.Category {
		cats = append(cats, c.String())
	}
	v.Category = strings.Join(cats, ", ")
	for _, a := range d.Author {
		v.Authors = append(v.Authors, a.String())
	}
	v.Authenticator = d.Authenticator.String()
	for _, r := range d.Context.Related {
		if id, ok := strings.CutPrefix(r.Reference, "Composition/"); ok && notes[id] {
			v.Composition = id
		}
	}
	for _, c := range d.Content {
		a := attachmentView{Title: c.Attachment.Title, ContentType: c.Attachment.ContentType, Size: c.Attachment.Size}
		if u := c.Attachment.URL; strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
			a.URL = u // never a javascript: or data: link
		}
		if strings.HasPrefix(a.ContentType, "text/plain") && c.Attachment.Data != "" && len(c.Attachment.Data) <= 96<<10 {
			if b, err := base64.StdEncoding.DecodeString(c.Attachment.Data); err == nil && utf8.Valid(b) {
				a.Text = string(b)
				a.Size = len(b)
			}
		}
		if a.Size == 0 && c.Attachment.Data != "" {
			a.Size = base64.StdEncoding.DecodedLen(len(c.Attachment.Data))
		}
		v.Attachments = append(v.Attachments, a)
	}
	return v
}

var (
	tagRE   = regexp.MustCompile(`(?s)<[^>]*>`)
	breakRE = regexp.MustCompile(`(?i)<(br|/p|/div|/li|/h[1-6]|/tr)\s*/?>`)
	blankRE = regexp.MustCompile(`\n{3,}`)
)

// narrativeText turns a narrative's XHTML into plain text: the page never
// renders markup it did not write.
func narrativeText(div string) string {
	s := breakRE.ReplaceAllString(div, "$0\n")
	s = tagRE.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.TrimSpace(blankRE.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}

// shortTime shows a FHIR dateTime to the minute ("2024-05-01 14:30"), a
// date as written.
func shortTime(s string) string {
	if len(s) <= 10 {
		return s
	}
	if len(s) >= 16 && s[10] == 'T' {
		return s[:10] + " " + s[11:16]
	}
	return s
}
