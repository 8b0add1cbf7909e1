package visit

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
)

// Priorities are the request priorities of FHIR (request-priority).
var Priorities = []string{"routine", "urgent", "asap", "stat"}

func checkPriority(fe FieldErrors, p *string) {
	if *p == "" {
		*p = "routine"
	}
	for _, ok := range Priorities {
		if *p == ok {
			return
		}
	}
	fe.add("priority", "Choose the priority: routine, urgent, asap or stat")
}

// LabOrder orders laboratory tests.
type LabOrder struct {
	LOINC    []string // LOINC codes of the tests, one ServiceRequest each
	Priority string   // routine (default), urgent, asap, stat
	Note     string
}

// ImagingOrder orders an imaging study: a LOINC code (from the LOINC/RSNA
// radiology playbook) with its display, or a free-text description.
type ImagingOrder struct {
	LOINC    string
	Display  string // required with LOINC
	Text     string // the study in words, when there is no code
	Priority string
	Reason   string
	Note     string
}

// Referral refers the patient to a specialty, organization or practitioner.
type Referral struct {
	Specialty    string // the specialty in words ("Cardiology")
	Organization string // optional "Organization/id"
	Practitioner string // optional "Practitioner/id"
	Reason       string // required
	Priority     string
	Note         string
}

// Service request categories (SNOMED CT, FHIR servicerequest-category).
var (
	catLab      = Code{sysSNOMED, "108252007", "Laboratory procedure"}
	catImaging  = Code{sysSNOMED, "363679005", "Imaging"}
	catReferral = Code{sysSNOMED, "3457005", "Patient referral"}
)

var loincPattern = regexp.MustCompile(`^[0-9]{1,7}-[0-9]$`)

// loincValid checks a LOINC code's form and its mod-10 check digit
// (LOINC Users' Guide, appendix on check digits), which catches most
// typing errors in a code entered by hand.
func loincValid(code string) bool {
	if !loincPattern.MatchString(code) {
		return false
	}
	body, check, _ := strings.Cut(code, "-")
	sum := 0
	double := true // from the rightmost digit of the body
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if double {
			d *= 2
			d = d/10 + d%10
		}
		sum += d
		double = !double
	}
	return (10-sum%10)%10 == int(check[0]-'0')
}

// serviceRequest is the common part of an order.
func serviceRequest(enc *encounter, cat Code, requester, priority, note, now string) map[string]any {
	sr := map[string]any{
		"resourceType": "ServiceRequest",
		"status":       "active",
		"intent":       "order",
		"category":     []any{concept(cat.System, cat.Code, cat.Display)},
		"priority":     priority,
		"subject":      fhir.Reference(enc.Patient),
		"encounter":    fhir.Reference(enc.Ref()),
		"authoredOn":   now,
	}
	if requester != "" {
		sr["requester"] = fhir.Reference(requester)
	}
	if note != "" {
		sr["note"] = []any{map[string]any{"text": note}}
	}
	return sr
}

func checkText(fe FieldErrors, field, label string, s *string, max int, required bool) {
	*s = strings.TrimSpace(*s)
	switch {
	case *s == "" && required:
		fe.add(field, "Enter the "+label)
	case len(*s) > max:
		fe.add(field, fmt.Sprintf("The %s is too long (%d characters at most)", label, max))
	}
}

// OrderLab orders laboratory tests for the visit: one ServiceRequest per
// LOINC code (category laboratory procedure, status active, intent order,
// subject, encounter, requester), sharing one requisition identifier so
// the lab sees them as one order. Unknown LOINC codes are refused. It
// returns the ServiceRequest ids.
func (s *Service) OrderLab(ctx context.Context, encounterID string, o LabOrder) ([]string, error) {
	const op = "order lab"
	p, err := principal(ctx, op)
	if err != nil {
		return nil, err
	}
	fe := FieldErrors{}
	var codes []Code
	seen := map[string]bool{}
	for _, c := range o.LOINC {
		c = strings.TrimSpace(c)
		if c == "" || seen[c] {
			continue
		}
		seen[c] = true
		t, ok := s.codes.LabTest(c)
		if !ok {
			fe.add("loinc", fmt.Sprintf("%s is not a known LOINC laboratory test", c))
			continue
		}
		codes = append(codes, t)
	}
	if len(codes) == 0 {
		fe.add("loinc", "Choose at least one test")
	}
	checkPriority(fe, &o.Priority)
	checkText(fe, "note", "note", &o.Note, 1000, false)
	if err := fe.err(op); err != nil {
		return nil, err
	}
	var ids []string
	err = s.repo.InTx(ctx, func(tx *repo.Tx) error {
		ids = ids[:0]
		enc, err := loadEncounter(ctx, tx, op, encounterID, true)
		if err != nil {
			return err
		}
		requester := clinician(p, enc.Res)
		requisition := repo.NewID()
		for _, c := range codes {
			sr := serviceRequest(enc, catLab, requester, o.Priority, o.Note, dateTime(tx.Now()))
			sr["code"] = concept(c.System, c.Code, c.Display)
			sr["requisition"] = map[string]any{"system": sysRequisition, "value": requisition}
			out, err := tx.Create(ctx, sr, repo.CreateOptions{})
			if err != nil {
				return err
			}
			ids = append(ids, out.Record.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// OrderImaging orders an imaging study: a ServiceRequest of category
// imaging, coded with LOINC (form and check digit verified) or described
// in text. It returns the ServiceRequest id.
func (s *Service) OrderImaging(ctx context.Context, encounterID string, o ImagingOrder) (string, error) {
	const op = "order imaging"
	p, err := principal(ctx, op)
	if err != nil {
		return "", err
	}
	fe := FieldErrors{}
	o.LOINC = strings.TrimSpace(o.LOINC)
	checkText(fe, "display", "name of the study", &o.Display, 300, o.LOINC != "")
	checkText(fe, "text", "study to perform", &o.Text, 300, o.LOINC == "")
	if o.LOINC != "" && !loincValid(o.LOINC) {
		fe.add("loinc", fmt.Sprintf("%s is not a valid LOINC code", o.LOINC))
	}
	checkPriority(fe, &o.Priority)
	checkText(fe, "reason", "reason", &o.Reason, 500, false)
	checkText(fe, "note", "note", &o.Note, 1000, false)
	if err := fe.err(op); err != nil {
		return "", err
	}
	var id string
	err = s.repo.InTx(ctx, func(tx *repo.Tx) error {
		enc, err := loadEncounter(ctx, tx, op, encounterID, true)
		if err != nil {
			return err
		}
		sr := serviceRequest(enc, catImaging, clinician(p, enc.Res), o.Priority, o.Note, dateTime(tx.Now()))
		if o.LOINC != "" {
			sr["code"] = concept(sysLOINC, o.LOINC, o.Display)
		} else {
			sr["code"] = map[string]any{"text": o.Text}
		}
		if o.Reason != "" {
			sr["reasonCode"] = []any{map[string]any{"text": o.Reason}}
		}
		out, err := tx.Create(ctx, sr, repo.CreateOptions{})
		if err != nil {
			return err
		}
		id = out.Record.ID
		return nil
	})
	return id, err
}

// Refer refers the patient: a ServiceRequest of category patient referral
// whose code is the referral (SNOMED CT 3457005) with the specialty in
// words, performerType the specialty, performer the organization and
// practitioner when given, and reasonCode the reason. It returns the
// ServiceRequest id.
func (s *Service) Refer(ctx context.Context, encounterID string, r Referral) (string, error) {
	const op = "refer"
	p, err := principal(ctx, op)
	if err != nil {
		return "", err
	}
	fe := FieldErrors{}
	org, prac := "", ""
	if strings.TrimSpace(r.Organization) != "" {
		if org = normRef(r.Organization, "Organization"); org == "" {
			fe.add("organization", "The organization is not a valid id")
		}
	}
	if strings.TrimSpace(r.Practitioner) != "" {
		if prac = normRef(r.Practitioner, "Practitioner"); prac == "" {
			fe.add("practitioner", "The practitioner is not a valid id")
		}
	}
	checkText(fe, "specialty", "specialty", &r.Specialty, 200, org == "" && prac == "")
	checkText(fe, "reason", "reason for the referral", &r.Reason, 1000, true)
	checkPriority(fe, &r.Priority)
	checkText(fe, "note", "note", &r.Note, 1000, false)
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
		if org != "" {
			if err := exists(ctx, tx, fe, "organization", org, "organization"); err != nil {
				return err
			}
		}
		if prac != "" {
			if err := exists(ctx, tx, fe, "practitioner", prac, "practitioner"); err != nil {
				return err
			}
		}
		if err := fe.err(op); err != nil {
			return err
		}
		sr := serviceRequest(enc, catReferral, clinician(p, enc.Res), r.Priority, r.Note, dateTime(tx.Now()))
		text := "Referral"
		if r.Specialty != "" {
			text = "Referral to " + r.Specialty
			sr["performerType"] = map[string]any{"text": r.Specialty}
		}
		sr["code"] = map[string]any{"coding": []any{coding(catReferral.System, catReferral.Code, catReferral.Display)}, "text": text}
		var performers []any
		for _, ref := range []string{org, prac} {
			if ref != "" {
				performers = append(performers, fhir.Reference(ref))
			}
		}
		if len(performers) > 0 {
			sr["performer"] = performers
		}
		sr["reasonCode"] = []any{map[string]any{"text": r.Reason}}
		out, err := tx.Create(ctx, sr, repo.CreateOptions{})
		if err != nil {
			return err
		}
		id = out.Record.ID
		return nil
	})
	return id, err
}
