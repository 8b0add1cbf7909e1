package visit

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
)

// Signed names the resources of a signed document.
type Signed struct {
	Composition       string // "Composition/id"
	Version           int64  // the signed version of the Composition
	DocumentReference string // "DocumentReference/id"
	Provenance        string // "Provenance/id"
	Digest            string // base64 SHA-256 of the signed Composition's stored bytes
}

// Signature type: author's signature (ASTM E1762-95, the value set of
// Provenance.signature.type).
const sigAuthor = "1.2.840.10065.1.12.1.1"

// Sign signs the visit's draft note: the Composition becomes final with a
// legal attester (the signer, now), and in the same transaction a
// DocumentReference (current, docStatus final) carries the rendered note
// and a Provenance records the signature: a SHA-256 digest of the signed
// Composition version's canonical bytes. The signer must be a Practitioner;
// a practitioner user may sign only as themselves.
func (s *Service) Sign(ctx context.Context, encounterID, signer string) (Signed, error) {
	const op = "sign note"
	p, err := principal(ctx, op)
	if err != nil {
		return Signed{}, err
	}
	signerRef, err := checkSigner(op, p, signer)
	if err != nil {
		return Signed{}, err
	}
	var out Signed
	err = s.repo.InTx(ctx, func(tx *repo.Tx) error {
		enc, err := loadEncounter(ctx, tx, op, encounterID, false)
		if err != nil {
			return err
		}
		if enc.Status == "cancelled" || enc.Status == "entered-in-error" {
			return errs.E(op, errs.Conflict, "The visit is "+enc.Status+"; its note cannot be signed")
		}
		vn, err := s.notes(ctx, tx, enc)
		if err != nil {
			return err
		}
		if vn.draft == nil {
			if len(vn.signed) > 0 {
				return signedErr(op)
			}
			return fieldErr(op, "note", "There is no draft note to sign")
		}
		fe := FieldErrors{}
		if err := exists(ctx, tx, fe, "signer", signerRef, "practitioner"); err != nil {
			return err
		}
		n := noteOf(vn.draft.Res)
		n.check(fe, true)
		if err := fe.err(op); err != nil {
			return err
		}
		c := vn.draft.Res
		now := dateTime(tx.Now())
		c["status"] = "final"
		c["date"] = now
		c["attester"] = []any{map[string]any{"mode": "legal", "time": now, "party": fhir.Reference(signerRef)}}
		addAuthor(c, signerRef)
		out, err = s.signDocument(ctx, tx, enc, c, vn.draft.ID, signerRef, p, nil, "")
		return err
	})
	return out, err
}

// checkAuthor is checkSigner for the author of an addendum or an
// amendment: an author who is not a practitioner is a field error msg in
// fe; signing for someone else is the error returned.
func checkAuthor(op string, p *access.Principal, author string, fe FieldErrors, msg string) (string, error) {
	ref, err := checkSigner(op, p, author)
	if err != nil && Fields(err) != nil {
		fe.add("author", msg)
		return "", nil
	}
	return ref, err
}

// checkSigner normalizes the signer and refuses signing for someone else.
func checkSigner(op string, p *access.Principal, signer string) (string, error) {
	ref := normRef(signer, "Practitioner")
	if ref == "" {
		return "", fieldErr(op, "signer", "Choose the practitioner who signs")
	}
	if isRef(p.FHIRUser, "Practitioner") && p.FHIRUser != ref {
		return "", errs.E(op, errs.Permission, "You can sign only as yourself",
			errs.Issue{Severity: "error", Code: "forbidden", Diagnostics: "the signer is not the signed-in practitioner", Expression: []string{"signer"}})
	}
	return ref, nil
}

func addAuthor(c map[string]any, ref string) {
	authors := fhir.List(c["author"])
	for _, a := range authors {
		if fhir.RefOf(a) == ref {
			return
		}
	}
	c["author"] = append(authors, fhir.Reference(ref))
}

// relation links a new document to an earlier one: "appends" for an
// addendum, "replaces" for an amendment.
type relation struct {
	code        string
	composition *doc // the earlier Composition
	docRef      *doc // its DocumentReference, if found
}

// signDocument writes the signed Composition c (an update of id when it is
// a signed draft, a create otherwise), its DocumentReference and the
// Provenance of the signature.
func (s *Service) signDocument(ctx context.Context, tx *repo.Tx, enc *encounter, c map[string]any, id, signer string, p *access.Principal, rel *relation, reason string) (Signed, error) {
	var compOut *repo.Outcome
	var err error
	if id == "" {
		compOut, err = tx.Create(ctx, c, repo.CreateOptions{})
	} else {
		compOut, err = tx.Update(ctx, "Composition", id, c, repo.UpdateOptions{})
	}
	if err != nil {
		return Signed{}, err
	}
	rec := compOut.Record
	sum := sha256.Sum256(rec.JSON)
	digest := base64.StdEncoding.EncodeToString(sum[:])
	compRef := "Composition/" + rec.ID
	now := dateTime(tx.Now())

	text := render(c, enc)
	sha := sha1.Sum([]byte(text))
	dr := map[string]any{
		"resourceType":  "DocumentReference",
		"status":        "current",
		"docStatus":     "final",
		"type":          c["type"],
		"category":      []any{concept(sysDocCategory, "clinical-note", "Clinical Note")},
		"subject":       fhir.Reference(enc.Patient),
		"date":          now,
		"author":        c["author"],
		"authenticator": fhir.Reference(signer),
		"description":   c["title"],
		"content": []any{map[string]any{
			"attachment": map[string]any{
				"contentType": "text/plain;charset=utf-8",
				"data":        base64.StdEncoding.EncodeToString([]byte(text)),
				"size":        json.Number(strconv.Itoa(len(text))),
				"hash":        base64.StdEncoding.EncodeToString(sha[:]),
				"title":       c["title"],
				"creation":    now,
			},
		}},
		"context": map[string]any{
			"encounter": []any{fhir.Reference(enc.Ref())},
			"related":   []any{fhir.Reference(compRef)},
		},
	}
	if cust, ok := c["custodian"]; ok {
		dr["custodian"] = cust
	}
	if period, ok := enc.Res["period"]; ok {
		dr["context"].(map[string]any)["period"] = period
	}
	if rel != nil && rel.docRef != nil {
		dr["relatesTo"] = []any{map[string]any{"code": rel.code, "target": fhir.Reference(rel.docRef.Ref())}}
	}
	drOut, err := tx.Create(ctx, dr, repo.CreateOptions{})
	if err != nil {
		return Signed{}, err
	}
	drRef := "DocumentReference/" + drOut.Record.ID

	prov := map[string]any{
		"resourceType": "Provenance",
		"target": []any{
			fhir.Reference(compRef + "/_history/" + strconv.FormatInt(rec.Version, 10)),
			fhir.Reference(drRef),
		},
		"recorded": now,
		"agent": []any{map[string]any{
			"type": concept(sysProvAgent, "author", "Author"),
			"who":  fhir.Reference(signer),
		}},
		"signature": []any{map[string]any{
			"type":         []any{coding(sysSignature, sigAuthor, "Author's Signature")},
			"when":         now,
			"who":          fhir.Reference(signer),
			"targetFormat": "application/fhir+json",
			"sigFormat":    "application/octet-stream",
			"data":         digest,
		}},
	}
	if org := s.organization(p.Organization); org != "" {
		prov["agent"] = append(prov["agent"].([]any), map[string]any{
			"type": concept(sysProvAgent, "custodian", "Custodian"),
			"who":  fhir.Reference(org),
		})
	}
	if reason != "" {
		prov["reason"] = []any{map[string]any{"text": reason}}
	}
	if rel != nil {
		prov["entity"] = []any{map[string]any{
			"role": "revision",
			"what": fhir.Reference(rel.composition.Ref()),
		}}
	}
	provOut, err := tx.Create(ctx, prov, repo.CreateOptions{})
	if err != nil {
		return Signed{}, err
	}
	return Signed{
		Composition:       compRef,
		Version:           rec.Version,
		DocumentReference: drRef,
		Provenance:        "Provenance/" + provOut.Record.ID,
		Digest:            digest,
	}, nil
}

// render is the plain-text form of a signed note, the DocumentReference's
// attachment: title, patient, visit, then each section.
func render(c map[string]any, enc *encounter) string {
	var b strings.Builder
	title := fhir.Str(c["title"])
	fmt.Fprintf(&b, "%s\nPatient: %s\nVisit: %s\nDate: %v\n", title, enc.Patient, enc.Ref(), c["date"])
	for _, a := range c["attester"].([]any) {
		m := fhir.Obj(a)
		fmt.Fprintf(&b, "Signed by %s at %v\n", fhir.RefOf(m["party"]), m["time"])
	}
	rels := fhir.List(c["relatesTo"])
	for _, r := range rels {
		m := fhir.Obj(r)
		fmt.Fprintf(&b, "This document %s %s\n", m["code"], fhir.RefOf(m["targetReference"]))
	}
	secs := fhir.List(c["section"])
	for _, s := range secs {
		m := fhir.Obj(s)
		fmt.Fprintf(&b, "\n%s\n%s\n", m["title"], narrativeText(m["text"]))
	}
	return b.String()
}

// docRefOf finds the DocumentReference of a signed Composition.
func (s *Service) docRefOf(ctx context.Context, r reader, compRef string) (*doc, error) {
	found, err := s.find(ctx, r, "DocumentReference", url.Values{"related": {compRef}})
	if err != nil {
		return nil, err
	}
	for _, d := range found {
		if d.Res["status"] == "current" {
			return d, nil
		}
	}
	if len(found) > 0 {
		return found[0], nil
	}
	return nil, nil
}

// loadSigned reads a signed Composition of a later change and its visit.
func (s *Service) loadSigned(ctx context.Context, tx *repo.Tx, op, compositionID string) (*doc, *encounter, error) {
	ref := normRef(compositionID, "Composition")
	if ref == "" {
		return nil, nil, fieldErr(op, "composition", "Choose the signed note")
	}
	c, err := load(ctx, tx, op, "composition", ref, "note")
	if err != nil {
		return nil, nil, err
	}
	if st := c.Res["status"]; st != "final" && st != "amended" {
		return nil, nil, errs.E(op, errs.Conflict, "Only a signed note can have an addendum or an amendment",
			errs.Issue{Severity: "error", Code: "business-rule", Diagnostics: fmt.Sprintf("the Composition is %v", st), Expression: []string{"composition"}})
	}
	encID := fhir.RefOf(c.Res["encounter"])
	if !isRef(encID, "Encounter") {
		return nil, nil, fieldErr(op, "composition", "The note belongs to no visit")
	}
	enc, err := loadEncounter(ctx, tx, op, encID, false)
	if err != nil {
		return nil, nil, err
	}
	return c, enc, nil
}

// Addendum adds text to a signed note without touching it: a new final
// Composition of the same visit whose relatesTo "appends" the original,
// signed by the author, with its DocumentReference (relatesTo appends the
// original's) and Provenance. The original stays as it was signed.
func (s *Service) Addendum(ctx context.Context, compositionID, text, author string) (Signed, error) {
	const op = "add addendum"
	p, err := principal(ctx, op)
	if err != nil {
		return Signed{}, err
	}
	fe := FieldErrors{}
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	switch {
	case text == "":
		fe.add("text", "Write the addendum")
	case len(text) > maxSection:
		fe.add("text", fmt.Sprintf("The addendum is too long (%d characters at most)", maxSection))
	}
	authorRef, err := checkAuthor(op, p, author, fe, "Choose the practitioner who writes the addendum")
	if err != nil {
		return Signed{}, err
	}
	if err := fe.err(op); err != nil {
		return Signed{}, err
	}
	var out Signed
	err = s.repo.InTx(ctx, func(tx *repo.Tx) error {
		orig, enc, err := s.loadSigned(ctx, tx, op, compositionID)
		if err != nil {
			return err
		}
		fe := FieldErrors{}
		if err := exists(ctx, tx, fe, "author", authorRef, "practitioner"); err != nil {
			return err
		}
		if err := fe.err(op); err != nil {
			return err
		}
		now := dateTime(tx.Now())
		title := fhir.Str(orig.Res["title"])
		c := map[string]any{
			"resourceType": "Composition",
			"status":       "final",
			"type":         orig.Res["type"],
			"subject":      orig.Res["subject"],
			"encounter":    orig.Res["encounter"],
			"date":         now,
			"author":       []any{fhir.Reference(authorRef)},
			"title":        "Addendum to " + title,
			"attester":     []any{map[string]any{"mode": "legal", "time": now, "party": fhir.Reference(authorRef)}},
			"relatesTo":    []any{map[string]any{"code": "appends", "targetReference": fhir.Reference(orig.Ref())}},
			"section":      []any{map[string]any{"title": "Addendum", "text": narrative(text)}},
		}
		if cat, ok := orig.Res["category"]; ok {
			c["category"] = cat
		}
		if cust, ok := orig.Res["custodian"]; ok {
			c["custodian"] = cust
		}
		dr, err := s.docRefOf(ctx, tx, orig.Ref())
		if err != nil {
			return err
		}
		out, err = s.signDocument(ctx, tx, enc, c, "", authorRef, p, &relation{code: "appends", composition: orig, docRef: dr}, "")
		return err
	})
	return out, err
}

// Amend corrects a signed note: a new final Composition with the whole
// corrected note, whose relatesTo "replaces" the original, signed by the
// author; its DocumentReference replaces the original's, which becomes
// superseded; the Provenance records the reason. The original Composition
// is not written at all: it stays readable exactly as it was signed, and
// its signature still verifies. A note already replaced cannot be amended
// again: amend the latest.
func (s *Service) Amend(ctx context.Context, compositionID string, n Note, author, reason string) (Signed, error) {
	const op = "amend note"
	p, err := principal(ctx, op)
	if err != nil {
		return Signed{}, err
	}
	fe := FieldErrors{}
	tmplGiven := n.Template != ""
	if !tmplGiven {
		n.Template = "follow-up" // replaced by the original's below; checked for the text only
	}
	n.check(fe, true)
	reason = strings.TrimSpace(reason)
	if len(reason) < 10 {
		fe.add("reason", "Give the reason for the amendment (10 characters at least)")
	}
	authorRef, err := checkAuthor(op, p, author, fe, "Choose the practitioner who amends the note")
	if err != nil {
		return Signed{}, err
	}
	if err := fe.err(op); err != nil {
		return Signed{}, err
	}
	var out Signed
	err = s.repo.InTx(ctx, func(tx *repo.Tx) error {
		orig, enc, err := s.loadSigned(ctx, tx, op, compositionID)
		if err != nil {
			return err
		}
		if rels := fhir.List(orig.Res["relatesTo"]); len(rels) > 0 {
			if fhir.Obj(rels[0])["code"] == "appends" {
				return errs.E(op, errs.Conflict, "An addendum cannot be amended; write another addendum")
			}
		}
		vn, err := s.notes(ctx, tx, enc)
		if err != nil {
			return err
		}
		if vn.replaced[orig.Ref()] {
			return errs.E(op, errs.Conflict, "This note was already amended; amend the latest version",
				errs.Issue{Severity: "error", Code: "business-rule", Diagnostics: "the Composition is replaced", Expression: []string{"composition"}})
		}
		fe := FieldErrors{}
		if err := exists(ctx, tx, fe, "author", authorRef, "practitioner"); err != nil {
			return err
		}
		if err := fe.err(op); err != nil {
			return err
		}
		note := n
		if !tmplGiven {
			note.Template = noteOf(orig.Res).Template
		}
		t, ok := template(note.Template)
		if !ok {
			return fieldErr(op, "template", "Choose a note template")
		}
		now := dateTime(tx.Now())
		cust := fhir.Obj(orig.Res["custodian"])
		c := composition(enc, &note, t, authorRef, "final", now, fhir.RefOf(cust))
		c["attester"] = []any{map[string]any{"mode": "legal", "time": now, "party": fhir.Reference(authorRef)}}
		c["relatesTo"] = []any{map[string]any{"code": "replaces", "targetReference": fhir.Reference(orig.Ref())}}
		dr, err := s.docRefOf(ctx, tx, orig.Ref())
		if err != nil {
			return err
		}
		if dr != nil && dr.Res["status"] == "current" {
			dr.Res["status"] = "superseded"
			if _, err := tx.Update(ctx, "DocumentReference", dr.ID, dr.Res, repo.UpdateOptions{}); err != nil {
				return err
			}
		}
		out, err = s.signDocument(ctx, tx, enc, c, "", authorRef, p, &relation{code: "replaces", composition: orig, docRef: dr}, reason)
		return err
	})
	return out, err
}

// Verify checks the signature recorded by a Provenance: the signed
// Composition version still hashes to the digest, and no later version of
// the Composition exists. It returns nil when both hold.
func (s *Service) Verify(ctx context.Context, provenanceID string) error {
	const op = "verify signature"
	if _, err := principal(ctx, op); err != nil {
		return err
	}
	ref := normRef(provenanceID, "Provenance")
	if ref == "" {
		return fieldErr(op, "provenance", "Choose the signature's Provenance")
	}
	prov, err := load(ctx, s.repo, op, "provenance", ref, "signature")
	if err != nil {
		return err
	}
	sig := fhir.Obj(first(prov.Res["signature"]))
	data := fhir.Str(sig["data"])
	var target string
	targets := fhir.List(prov.Res["target"])
	for _, t := range targets {
		if r := fhir.RefOf(t); strings.HasPrefix(r, "Composition/") {
			target = r
		}
	}
	typ, rest, _ := strings.Cut(target, "/")
	id, vs, ok := strings.Cut(rest, "/_history/")
	version, verr := strconv.ParseInt(vs, 10, 64)
	if typ != "Composition" || !ok || verr != nil || data == "" {
		return errs.E(op, errs.Invalid, "The Provenance records no signed Composition version")
	}
	rec, err := s.repo.VRead(ctx, "Composition", id, version)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(rec.JSON)
	if base64.StdEncoding.EncodeToString(sum[:]) != data {
		return errs.E(op, errs.Conflict, "The signed note does not match its signature")
	}
	cur, err := s.repo.Read(ctx, "Composition", id)
	if err != nil {
		return err
	}
	// Later versions may differ from the signed one by the withhold label
	// alone (repo/signed.go allows nothing else but a status change, which
	// SignedContentKept does not accept).
	if cur.Version != version && !repo.SignedContentKept(rec.JSON, cur.JSON) {
		return errs.E(op, errs.Conflict, fmt.Sprintf("The signed note was changed after signing (version %d, signed %d)", cur.Version, version))
	}
	return nil
}
