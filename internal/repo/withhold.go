package repo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// Release of notes, reports and results to the patient (docs/ACCESS.md,
// "Release to the patient"). Everything is released to the patient as soon
// as it is recorded; a clinician may withhold one note, report or result
// when an exception of the information-blocking rule applies, and release
// it again later. A withheld resource carries one meta.security coding,
// WithheldLabel, whose extension records the exception, the reason, who
// withheld it and when. The access policy hides resources carrying it from
// patients and their proxies, directly and through their apps; staff see
// them.

// The withhold label and its extension.
const (
	// ReleaseSystem is OpenChart's code system of release states; its one
	// code, WithheldCode, labels a resource withheld from the patient.
	ReleaseSystem = "http://openchart.org/fhir/CodeSystem/patient-release"
	WithheldCode  = "withheld"
	// WithheldExtension is the complex extension on the label's coding:
	// exception (valueCoding in ExceptionSystem), reason (valueString),
	// by (valueReference), at (valueDateTime), and for a companion withheld
	// with a note or report (Withhold), with (valueReference to it).
	WithheldExtension = "http://openchart.org/fhir/StructureDefinition/withheld-from-patient"
	// ExceptionSystem is OpenChart's code system of the exceptions that
	// allow withholding (Exceptions).
	ExceptionSystem = "http://openchart.org/fhir/CodeSystem/withhold-exception"
	// MaxWithholdReason bounds the reason's length, in characters.
	MaxWithholdReason = 1000
)

// Exception is an exception of the information-blocking rule
// (45 CFR 171) under which a clinician may withhold something.
type Exception struct{ Code, Display string }

// Exceptions are the exceptions a clinician chooses from.
var Exceptions = []Exception{
	{"preventing-harm", "Preventing harm (45 CFR 171.201)"},
	{"patient-request", "The patient asked not to see it (45 CFR 171.202(e))"},
	{"third-party-privacy", "Privacy of another person (45 CFR 171.202)"},
}

// ExceptionOf returns the exception of code.
func ExceptionOf(code string) (Exception, bool) {
	i := slices.IndexFunc(Exceptions, func(e Exception) bool { return e.Code == code })
	if i < 0 {
		return Exception{}, false
	}
	return Exceptions[i], true
}

// Withholdable are the types a clinician may withhold: notes
// (Composition, DocumentReference), reports (DiagnosticReport) and
// results (Observation).
var Withholdable = map[string]bool{"Composition": true, "DocumentReference": true, "DiagnosticReport": true, "Observation": true}

// Withholding is what the label of a withheld resource records.
type Withholding struct {
	Exception string // a code of Exceptions
	Reason    string
	// By is who withheld it: a reference ("Practitioner/1") and a name.
	By, ByName string
	At         time.Time
	// With is the resource this one was withheld with, as its companion
	// (a report's result, a note's DocumentReference): "" when it was
	// withheld on its own.
	With string
}

// WithholdingOf reads the withhold label of a resource's JSON: nil when
// the resource is released.
func WithholdingOf(raw []byte) *Withholding {
	var doc struct {
		Meta struct {
			Security []json.RawMessage `json:"security"`
		} `json:"meta"`
	}
	if json.Unmarshal(raw, &doc) != nil {
		return nil
	}
	for _, s := range doc.Meta.Security {
		var c struct {
			System, Code string
			Extension    []struct {
				URL       string `json:"url"`
				Extension []struct {
					URL            string `json:"url"`
					ValueString    string `json:"valueString"`
					ValueDateTime  string `json:"valueDateTime"`
					ValueCoding    struct{ Code string }
					ValueReference struct{ Reference, Display string }
				} `json:"extension"`
			} `json:"extension"`
		}
		if json.Unmarshal(s, &c) != nil || c.System != ReleaseSystem || c.Code != WithheldCode {
			continue
		}
		w := &Withholding{}
		for _, e := range c.Extension {
			if e.URL != WithheldExtension {
				continue
			}
			for _, x := range e.Extension {
				switch x.URL {
				case "exception":
					w.Exception = x.ValueCoding.Code
				case "reason":
					w.Reason = x.ValueString
				case "by":
					w.By, w.ByName = x.ValueReference.Reference, x.ValueReference.Display
				case "at":
					w.At, _ = time.Parse(time.RFC3339Nano, x.ValueDateTime)
				case "with":
					w.With = x.ValueReference.Reference
				}
			}
		}
		return w
	}
	return nil
}

// isReleaseLabel reports whether a meta.security entry is the withhold
// label.
func isReleaseLabel(v any) bool {
	m, ok := v.(map[string]any)
	return ok && m["system"] == ReleaseSystem
}

// withoutRelease returns res without its withhold label (a shallow copy;
// res itself is not modified).
func withoutRelease(res map[string]any) map[string]any {
	meta, ok := res["meta"].(map[string]any)
	if !ok {
		return res
	}
	sec, _ := meta["security"].([]any)
	if !slices.ContainsFunc(sec, isReleaseLabel) {
		return res
	}
	out := make(map[string]any, len(res))
	for k, v := range res {
		out[k] = v
	}
	mm := make(map[string]any, len(meta))
	for k, v := range meta {
		mm[k] = v
	}
	kept := slices.DeleteFunc(slices.Clone(sec), isReleaseLabel)
	if len(kept) == 0 {
		delete(mm, "security")
	} else {
		mm["security"] = kept
	}
	if len(mm) == 0 {
		delete(out, "meta")
	} else {
		out["meta"] = mm
	}
	return out
}

// withLabel returns res with label as its withhold label (nil: none),
// everything else kept. res itself is not modified.
func withLabel(res map[string]any, label map[string]any) map[string]any {
	base := withoutRelease(res)
	if label == nil {
		return base
	}
	out := make(map[string]any, len(base)+1)
	for k, v := range base {
		out[k] = v
	}
	meta := map[string]any{}
	if m, ok := base["meta"].(map[string]any); ok {
		for k, v := range m {
			meta[k] = v
		}
	}
	sec, _ := meta["security"].([]any)
	meta["security"] = append(slices.Clone(sec), label)
	out["meta"] = meta
	return out
}

func (w *Withholding) label() map[string]any {
	ex, _ := ExceptionOf(w.Exception)
	by := map[string]any{}
	if w.By != "" {
		by["reference"] = w.By
	}
	if w.ByName != "" {
		by["display"] = w.ByName
	}
	parts := []any{
		map[string]any{"url": "exception", "valueCoding": map[string]any{"system": ExceptionSystem, "code": ex.Code, "display": ex.Display}},
		map[string]any{"url": "reason", "valueString": w.Reason},
	}
	if len(by) > 0 {
		parts = append(parts, map[string]any{"url": "by", "valueReference": by})
	}
	parts = append(parts, map[string]any{"url": "at", "valueDateTime": w.At.UTC().Format(time.RFC3339)})
	if w.With != "" {
		parts = append(parts, map[string]any{"url": "with", "valueReference": map[string]any{"reference": w.With}})
	}
	return map[string]any{
		"system": ReleaseSystem, "code": WithheldCode, "display": "Withheld from the patient",
		"extension": []any{map[string]any{"url": WithheldExtension, "extension": parts}},
	}
}

// withholdFields checks what a clinician entered: field "exception" or
// "reason" names what is wrong.
func withholdFields(op, typ string, w *Withholding) error {
	if !Withholdable[typ] {
		return errs.E(op, errs.Invalid, fmt.Sprintf("a %s cannot be withheld from the patient: only notes, reports and results can", typ))
	}
	if _, ok := ExceptionOf(w.Exception); !ok {
		return errs.E(op, errs.Invalid, "Choose the exception that applies.", errs.Issue{Severity: "error", Code: "required",
			Diagnostics: "Choose the exception that applies.", Expression: []string{"exception"}})
	}
	w.Reason = strings.TrimSpace(w.Reason)
	switch {
	case w.Reason == "":
		return errs.E(op, errs.Invalid, "Give the reason.", errs.Issue{Severity: "error", Code: "required",
			Diagnostics: "Give the reason.", Expression: []string{"reason"}})
	case utf8.RuneCountInString(w.Reason) > MaxWithholdReason:
		why := fmt.Sprintf("Keep the reason within %d characters.", MaxWithholdReason)
		return errs.E(op, errs.Invalid, why, errs.Issue{Severity: "error", Code: "value", Diagnostics: why, Expression: []string{"reason"}})
	}
	return nil
}

// Withhold labels typ/id withheld from the patient, if its current version
// is version (0: whichever is current), keeping everything else about it;
// a withheld resource gets its label replaced (a new exception or
// reason). Its companions go with it (companions): they take the same
// label, naming typ/id as what they were withheld with, unless they are
// withheld already. w.By and w.ByName default to the principal; w.At is
// the transaction's time. The writes go through the policy like any patch
// (update permission on the type, the patient visible) and are audited as
// patches; a signed note may take this label (signed.go).
func (r *Repo) Withhold(ctx context.Context, typ, id string, version int64, w Withholding) (*Outcome, error) {
	op := "withhold " + typ + "/" + id
	if err := withholdFields(op, typ, &w); err != nil {
		return nil, err
	}
	if p := access.From(ctx); p != nil {
		if w.By == "" {
			w.By = p.FHIRUser
		}
		if w.ByName == "" {
			w.ByName = p.Username
		}
	}
	w.With = ""
	var out *Outcome
	err := r.InTx(ctx, func(tx *Tx) error {
		w.At = tx.now
		var res map[string]any
		o, err := tx.Patch(ctx, typ, id, func(cur map[string]any) (map[string]any, error) {
			res = cur
			return withLabel(cur, w.label()), nil
		}, UpdateOptions{IfMatch: version})
		if err != nil {
			return err
		}
		out = o
		cw := w
		cw.With = typ + "/" + id
		return tx.labelCompanions(ctx, typ, id, res, func(cur *Withholding) map[string]any {
			if cur != nil {
				return keep // withheld already, on its own or with something else
			}
			return cw.label()
		})
	})
	return out, err
}

// Release removes the withhold label of typ/id, if its current version is
// version (0: whichever is current), and of the companions withheld with
// it (not those withheld on their own). Releasing what is not withheld
// changes nothing.
func (r *Repo) Release(ctx context.Context, typ, id string, version int64) (*Outcome, error) {
	op := "release " + typ + "/" + id
	if !Withholdable[typ] {
		return nil, errs.E(op, errs.Invalid, fmt.Sprintf("a %s is never withheld from the patient", typ))
	}
	var out *Outcome
	err := r.InTx(ctx, func(tx *Tx) error {
		var res map[string]any
		o, err := tx.Patch(ctx, typ, id, func(cur map[string]any) (map[string]any, error) {
			res = cur
			return withLabel(cur, nil), nil
		}, UpdateOptions{IfMatch: version})
		if err != nil {
			return err
		}
		out = o
		return tx.labelCompanions(ctx, typ, id, res, func(cur *Withholding) map[string]any {
			if cur == nil || cur.With != typ+"/"+id {
				return keep
			}
			return nil
		})
	})
	return out, err
}

// keep is the answer of a labelCompanions decision that leaves a
// companion as it is.
var keep = map[string]any{}

// maxCompanions bounds the companions of one resource that are labelled
// with it.
const maxCompanions = 200

// companions are what shows the same content as typ/id (res) to the
// patient, and so is withheld and released with it: a DiagnosticReport's
// result Observations; the DocumentReferences of a Composition (those whose
// context.related names it: the rendered form of a signed note, visit
// service).
func (tx *Tx) companions(ctx context.Context, typ, id string, res map[string]any) ([][2]string, error) {
	var out [][2]string
	switch typ {
	case "DiagnosticReport":
		list, _ := res["result"].([]any)
		for _, v := range list {
			m, _ := v.(map[string]any)
			ref, _ := m["reference"].(string)
			if oid, ok := strings.CutPrefix(ref, "Observation/"); ok && oid != "" && !strings.Contains(oid, "/") && !slices.Contains(out, [2]string{"Observation", oid}) {
				out = append(out, [2]string{"Observation", oid})
			}
		}
	case "Composition":
		q, err := tx.r.criteria.Criteria("DocumentReference", url.Values{"related": {"Composition/" + id}})
		if err != nil {
			return nil, err
		}
		q.Count, q.Offset, q.Total = maxCompanions, 0, store.TotalNone
		if g := tx.r.guard(ctx); !g.open() {
			if q, err = g.scoped("withhold "+typ+"/"+id, q, 's'); err != nil {
				if errs.Is(err, errs.Permission) {
					return nil, nil // may not search them: none to label
				}
				return nil, err
			}
		}
		found, err := tx.st.Search(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, rec := range found.Records {
			if rec.Type == "DocumentReference" && !rec.Deleted {
				out = append(out, [2]string{rec.Type, rec.ID})
			}
		}
	}
	if len(out) > maxCompanions {
		out = out[:maxCompanions]
	}
	return out, nil
}

// labelCompanions sets the withhold label of each companion of typ/id to
// what decide returns for its current label (nil: none; keep: unchanged).
// A companion the principal may not see, or that is missing, is left
// alone: it is not shown with this resource anyway.
func (tx *Tx) labelCompanions(ctx context.Context, typ, id string, res map[string]any, decide func(cur *Withholding) map[string]any) error {
	list, err := tx.companions(ctx, typ, id, res)
	if err != nil {
		return errs.E("withhold "+typ+"/"+id, err)
	}
	for _, c := range list {
		_, err := tx.Patch(ctx, c[0], c[1], func(cur map[string]any) (map[string]any, error) {
			raw, err := json.Marshal(cur)
			if err != nil {
				return nil, err
			}
			label := decide(WithholdingOf(raw))
			if label != nil && len(label) == 0 {
				return cur, nil
			}
			return withLabel(cur, label), nil
		}, UpdateOptions{})
		if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Gone) {
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// releaseHidden reports whether rules hide withheld resources: patients
// and their proxies, signed in or through their apps.
func releaseHidden(rl *access.Rules) bool { return rl.Self || rl.Proxy }

// hiddenLabels are the labels of resources the principal may not see:
// the sensitivity labels of its rules, and the withhold label for
// patients and proxies.
func (g *guard) hiddenLabels() []access.Label {
	ls := g.rules.HiddenLabels()
	if releaseHidden(g.rules) {
		ls = append(ls, access.Label{System: ReleaseSystem, Code: WithheldCode})
	}
	return ls
}
