package visit

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
)

// Diagnosis is a diagnosis made at the visit.
type Diagnosis struct {
	ICD10 string // an ICD-10-CM code, with or without its dot ("J02.9")
	Onset string // optional: YYYY, YYYY-MM or YYYY-MM-DD, not in the future
	// ProblemList also puts the condition on the patient's problem list
	// (category problem-list-item), beyond this visit.
	ProblemList bool
	Note        string
}

// AddDiagnosis records a diagnosis of the visit: a Condition (category
// encounter-diagnosis, and problem-list-item when asked; the ICD-10-CM
// coding with its display; clinicalStatus active, verificationStatus
// confirmed; subject, encounter, recorder) and, in the same transaction,
// its entry in Encounter.diagnosis with its rank (the first diagnosis is
// rank 1, the primary one). A code that is not in ICD-10-CM, or a
// category that has more specific codes, is refused. It returns the
// Condition id.
func (s *Service) AddDiagnosis(ctx context.Context, encounterID string, dx Diagnosis) (string, error) {
	const op = "add diagnosis"
	p, err := principal(ctx, op)
	if err != nil {
		return "", err
	}
	fe := FieldErrors{}
	code, billable, ok := s.codes.ICD10CM(dx.ICD10)
	switch {
	case strings.TrimSpace(dx.ICD10) == "":
		fe.add("icd10", "Choose the diagnosis")
	case !ok:
		fe.add("icd10", fmt.Sprintf("%s is not an ICD-10-CM code", strings.TrimSpace(dx.ICD10)))
	case !billable:
		fe.add("icd10", fmt.Sprintf("%s (%s) is a category; choose a more specific code", code.Code, code.Display))
	}
	dx.Note = strings.TrimSpace(dx.Note)
	if len(dx.Note) > 1000 {
		fe.add("note", "The note is too long (1000 characters at most)")
	}
	onset := ""
	if strings.TrimSpace(dx.Onset) != "" {
		var msg string
		if onset, msg = parseDate(dx.Onset, time.Now()); msg != "" {
			fe.add("onset", msg)
		}
	}
	if err := fe.err(op); err != nil {
		return "", err
	}
	var id string
	err = s.repo.InTx(ctx, func(tx *repo.Tx) error {
		fe := FieldErrors{}
		enc, err := loadEncounter(ctx, tx, op, encounterID, true)
		if err != nil {
			return err
		}
		dups, err := s.find(ctx, tx, "Condition", url.Values{"encounter": {enc.Ref()}, "code": {sysICD10CM + "|" + code.Code}})
		if err != nil {
			return err
		}
		for _, d := range dups {
			if statusCode(d.Res["verificationStatus"]) != "entered-in-error" {
				fe.add("icd10", fmt.Sprintf("%s is already a diagnosis of this visit", code.Code))
			}
		}
		if err := fe.err(op); err != nil {
			return err
		}
		cats := []any{concept(sysCondCategory, "encounter-diagnosis", "Encounter Diagnosis")}
		if dx.ProblemList {
			cats = append(cats, concept(sysCondCategory, "problem-list-item", "Problem List Item"))
		}
		cond := map[string]any{
			"resourceType":       "Condition",
			"clinicalStatus":     concept(sysCondClinical, "active", "Active"),
			"verificationStatus": concept(sysCondVer, "confirmed", "Confirmed"),
			"category":           cats,
			"code":               concept(code.System, code.Code, code.Display),
			"subject":            fhir.Reference(enc.Patient),
			"encounter":          fhir.Reference(enc.Ref()),
			"recordedDate":       dateTime(tx.Now()),
		}
		if onset != "" {
			cond["onsetDateTime"] = onset
		}
		if rec := clinician(p, enc.Res); rec != "" {
			cond["recorder"] = fhir.Reference(rec)
		}
		if dx.Note != "" {
			cond["note"] = []any{map[string]any{"text": dx.Note}}
		}
		id = repo.NewID()
		if _, err := tx.Create(ctx, cond, repo.CreateOptions{ID: id}); err != nil {
			return err
		}
		diags := fhir.List(enc.Res["diagnosis"])
		enc.Res["diagnosis"] = append(diags, map[string]any{
			"condition": fhir.Reference("Condition/" + id),
			"use":       concept(sysDiagRole, "billing", "Billing"),
			"rank":      json64(len(diags) + 1),
		})
		_, err = tx.Update(ctx, "Encounter", enc.ID, enc.Res, repo.UpdateOptions{})
		return err
	})
	return id, err
}

// statusCode is the first code of a status CodeableConcept.
func statusCode(v any) string {
	c := fhir.Obj(first(fhir.Obj(v)["coding"]))
	s := fhir.Str(c["code"])
	return s
}

// ResolveProblem marks a condition resolved: clinicalStatus resolved and
// abatementDateTime the given date (default today). An entered-in-error
// condition is refused.
func (s *Service) ResolveProblem(ctx context.Context, conditionID, abatement string) error {
	const op = "resolve problem"
	if _, err := principal(ctx, op); err != nil {
		return err
	}
	ref := normRef(conditionID, "Condition")
	if ref == "" {
		return fieldErr(op, "condition", "Choose the problem")
	}
	return s.repo.InTx(ctx, func(tx *repo.Tx) error {
		c, err := load(ctx, tx, op, "condition", ref, "problem")
		if err != nil {
			return err
		}
		date := tx.Now().UTC().Format("2006-01-02")
		if strings.TrimSpace(abatement) != "" {
			d, msg := parseDate(abatement, tx.Now())
			if msg != "" {
				return fieldErr(op, "abatement", msg)
			}
			if onset := fhir.Str(c.Res["onsetDateTime"]); onset != "" && d < onset[:min(len(onset), len(d))] {
				return fieldErr(op, "abatement", "The problem cannot resolve before its onset")
			}
			date = d
		}
		if statusCode(c.Res["verificationStatus"]) == "entered-in-error" {
			return errs.E(op, errs.Conflict, "The problem was entered in error")
		}
		switch statusCode(c.Res["clinicalStatus"]) {
		case "resolved":
			return errs.E(op, errs.Conflict, "The problem is already resolved")
		}
		c.Res["clinicalStatus"] = concept(sysCondClinical, "resolved", "Resolved")
		c.Res["abatementDateTime"] = date
		_, err = tx.Update(ctx, "Condition", c.ID, c.Res, repo.UpdateOptions{})
		return err
	})
}
