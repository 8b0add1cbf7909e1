package chart

import (
	"context"
	"net/url"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/store"
)

// Page selects a page of the timeline.
type Page struct {
	Offset int
	Count  int // 0 means DefaultPage; at most MaxPage
}

// Page sizes of the timeline.
const (
	DefaultPage = 20
	MaxPage     = 100
)

// Timeline is one page of a patient's encounters, newest first.
type Timeline struct {
	Encounters []Encounter
	Offset     int
	Total      int // encounters in all
	More       bool
}

// recordedTypes are the types whose resources the timeline counts per
// encounter.
var recordedTypes = []string{"Condition", "MedicationRequest", "Observation", "Procedure"}

// Timeline lists a page of the patient's encounters, newest first (by the
// start of their period), with the type, reason, provider, location and
// period of each and the counts of the diagnoses, observations,
// procedures and prescriptions recorded in it. Cancelled encounters are
// left out. It reads the Patient and the page of encounters concurrently,
// then searches the resources of the four counted types that reference
// them.
func (c *Chart) Timeline(ctx context.Context, patientID string, page Page) (*Timeline, error) {
	const op = "chart timeline"
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if err := checkID(op, patientID); err != nil {
		return nil, err
	}
	if page.Offset < 0 || page.Count < 0 {
		return nil, errs.E(op, errs.Invalid, "a page offset and size are never negative")
	}
	if page.Count == 0 {
		page.Count = DefaultPage
	}
	page.Count = min(page.Count, MaxPage)
	// A repeated parameter is ANDed: neither cancelled nor entered in error.
	q, err := c.compile(op, "Encounter", url.Values{
		"patient":    {"Patient/" + patientID},
		"status:not": {"cancelled", "entered-in-error"},
		"_sort":      {"-date"},
	})
	if err != nil {
		return nil, err
	}
	q.Count, q.Offset, q.Total = page.Count, page.Offset, store.TotalAccurate
	// The Patient is read too: an unknown patient is an error, not an
	// empty record, and its managing organization marks external data.
	var patient map[string]any
	var res *store.Result
	err = parallel(2, func(i int) error {
		var err error
		if i == 0 {
			patient, err = c.readPatient(ctx, patientID)
		} else {
			res, err = c.repo.Search(ctx, q)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	recs, err := group(res.Records)
	if err != nil {
		return nil, err
	}
	tl := &Timeline{Offset: page.Offset, Total: res.Total, More: res.More}
	encs := recs["Encounter"]
	if len(encs) == 0 {
		return tl, nil
	}
	counts, err := c.countRecorded(ctx, encs)
	if err != nil {
		return nil, err
	}
	src := newSourcer(c.home, patient, encs)
	for _, r := range encs {
		e := encounter(r, src)
		n := counts[r.ID]
		for _, d := range objs(r.Res, "diagnosis") {
			if id := refID(ref(fhir.Obj(d["condition"])).Reference, "Condition"); id != "" {
				n.diagnoses[id] = true
			}
		}
		e.Diagnoses, e.Observations, e.Procedures, e.Prescriptions = len(n.diagnoses), n.observations, n.procedures, n.prescriptions
		tl.Encounters = append(tl.Encounters, e)
	}
	sortEncounters(tl.Encounters)
	return tl, nil
}

type recorded struct {
	diagnoses                               map[string]bool
	observations, procedures, prescriptions int
}

// countRecorded reads the conditions, observations, procedures and
// medication requests that reference the encounters (one search) and
// counts them per encounter.
func (c *Chart) countRecorded(ctx context.Context, encs []record) (map[string]*recorded, error) {
	out := map[string]*recorded{}
	or := make([]store.Predicate, 0, len(encs))
	for _, e := range encs {
		out[e.ID] = &recorded{diagnoses: map[string]bool{}}
		or = append(or, store.Predicate{Param: "encounter", Kind: store.KindReference, TargetType: "Encounter", TargetID: e.ID})
	}
	found, err := c.searchTypes(ctx, recordedTypes, []store.Clause{{Or: or}}, false)
	if err != nil {
		return nil, err
	}
	recs, err := group(found)
	if err != nil {
		return nil, err
	}
	for typ, list := range recs {
		for _, r := range list {
			n := out[refID(ref(fhir.Obj(r.Res["encounter"])).Reference, "Encounter")]
			if n == nil {
				continue
			}
			switch typ {
			case "Condition":
				n.diagnoses[r.ID] = true
			case "Observation":
				n.observations++
			case "Procedure":
				if fhir.Str(r.Res["status"]) != "not-done" {
					n.procedures++
				}
			case "MedicationRequest":
				n.prescriptions++
			}
		}
	}
	return out, nil
}

// compile compiles URL search parameters strictly; a failure is a bug of
// this package, not of its caller's input, unless the input was put in
// the parameters (the callers validate it first).
func (c *Chart) compile(op, typ string, params url.Values) (*store.Query, error) {
	compiled, err := c.compiler.Compile(typ, params, true)
	if err != nil {
		return nil, errs.E(op, err)
	}
	return compiled.Query, nil
}
