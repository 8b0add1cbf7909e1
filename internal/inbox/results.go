package inbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

// Representation of reviews (docs/INBOX.md).
const (
	// ReviewTagSystem and ReviewedTag mark a result as reviewed
	// (meta.tag), which takes it out of every queue in one search
	// (_tag:not). A lab's new version without the tag (an amendment)
	// puts it back.
	ReviewTagSystem = "http://openchart.org/fhir/CodeSystem/review-status"
	ReviewedTag     = "reviewed"
	// TaskCodeSystem and ReviewCode are the Task.code of a sign-off: a
	// completed Task whose focus is the result, whose owner is the
	// reviewer and whose note is the reviewer's comment.
	TaskCodeSystem = "http://openchart.org/fhir/CodeSystem/task-code"
	ReviewCode     = "review"

	labCategory    = "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
	reviewStatuses = "final,amended,corrected"
)

// Interpretation codes (v3 ObservationInterpretation, v2 0078) that make a
// result abnormal, and the critical ones among them.
var (
	abnormalCodes = []string{"H", "L", "A", "HU", "LU", "HH", "LL", "AA", "POS", "DET", "R"}
	criticalCodes = []string{"HH", "LL", "AA"}
)

type queueParams struct{ report, observation url.Values }

// reviewParams are the searches of a reviewer's queue: results ordered by
// them (basedOn a ServiceRequest whose requester is the reviewer) for a
// Practitioner or PractitionerRole; results of the organization's patients
// (Patient.managingOrganization) for an Organization. Final, amended or
// corrected, not tagged reviewed; observations of the laboratory category.
func reviewParams(reviewer string) (queueParams, bool) {
	typ, _, ok := splitRef(reviewer)
	if !ok {
		return queueParams{}, false
	}
	common := url.Values{"status": {reviewStatuses}, "_tag:not": {ReviewTagSystem + "|" + ReviewedTag}}
	switch typ {
	case "Practitioner", "PractitionerRole":
		common.Set("based-on:ServiceRequest.requester", reviewer)
	case "Organization":
		common.Set("patient.organization", reviewer)
	default:
		return queueParams{}, false
	}
	obs := cloneValues(common)
	obs.Set("category", labCategory)
	return queueParams{report: common, observation: obs}, true
}

// Result is one result in a review queue.
type Result struct {
	Ref         string // "DiagnosticReport/id" or "Observation/id"
	Version     int64
	Patient     string
	PatientName string
	Name        string // what was measured or reported
	Status      string
	When        time.Time // issued, else effective
	Value       string    // an Observation's value with its unit and range
	Flags       []string  // interpretation codes, given or computed from the range
	Abnormal    bool
	Critical    bool
	Members     []string // a report's result Observations
}

// Queue is a reviewer's results: the first Limit of them (Config.QueueLimit)
// ordered critical first, then abnormal, then newest; Total counts them all.
type Queue struct {
	Results []*Result
	Total   int
}

// Results returns the review queue of a reviewer (a Practitioner,
// PractitionerRole or Organization reference).
func (ib *Inbox) Results(ctx context.Context, reviewer string) (*Queue, error) {
	const op = "results to review"
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	rp, ok := reviewParams(reviewer)
	if !ok {
		return nil, invalid(op, "reviewer", fmt.Sprintf("results are reviewed by a Practitioner, PractitionerRole or Organization, not %q", reviewer))
	}
	q := &Queue{}
	var all []*Result
	var reports []*Result
	for _, s := range []struct {
		typ  string
		p    url.Values
		sort string
	}{{"DiagnosticReport", rp.report, "-issued"}, {"Observation", rp.observation, "-date"}} {
		n, err := ib.count(ctx, s.typ, s.p)
		if err != nil {
			return nil, err
		}
		q.Total += n
		p := cloneValues(s.p)
		p.Set("_sort", s.sort)
		recs, err := ib.search(ctx, s.typ, p, ib.queueLimit)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			res, err := parse(rec)
			if err != nil {
				return nil, err
			}
			r := resultOf(rec, res)
			all = append(all, r)
			if rec.Type == "DiagnosticReport" {
				reports = append(reports, r)
			}
		}
	}
	if err := ib.judgeReports(ctx, reports); err != nil {
		return nil, err
	}
	var pats []string
	for _, r := range all {
		pats = append(pats, r.Patient)
	}
	names, err := ib.names(ctx, pats)
	if err != nil {
		return nil, err
	}
	for _, r := range all {
		r.PatientName = names[r.Patient]
	}
	slices.SortStableFunc(all, func(a, b *Result) int {
		if a.Critical != b.Critical {
			return boolFirst(a.Critical)
		}
		if a.Abnormal != b.Abnormal {
			return boolFirst(a.Abnormal)
		}
		return b.When.Compare(a.When)
	})
	if len(all) > ib.queueLimit {
		all = all[:ib.queueLimit]
	}
	q.Results = all
	return q, nil
}

func boolFirst(a bool) int {
	if a {
		return -1
	}
	return 1
}

// judgeReports flags reports abnormal or critical when one of their
// result Observations is (one search for all of them).
func (ib *Inbox) judgeReports(ctx context.Context, reports []*Result) error {
	var ids []string
	for _, r := range reports {
		for _, m := range r.Members {
			if _, id, ok := splitRef(m); ok {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	recs, err := ib.search(ctx, "Observation", url.Values{"_id": {strings.Join(slices.Compact(ids), ",")}}, 0)
	if err != nil {
		return err
	}
	members := map[string]*Result{}
	for _, rec := range recs {
		res, err := parse(rec)
		if err != nil {
			return err
		}
		members["Observation/"+rec.ID] = resultOf(rec, res)
	}
	for _, r := range reports {
		for _, m := range r.Members {
			if o := members[m]; o != nil {
				r.Abnormal = r.Abnormal || o.Abnormal
				r.Critical = r.Critical || o.Critical
				for _, f := range o.Flags {
					if !slices.Contains(r.Flags, f) {
						r.Flags = append(r.Flags, f)
					}
				}
			}
		}
	}
	return nil
}

func resultOf(rec *store.Record, res map[string]any) *Result {
	r := &Result{Ref: rec.Type + "/" + rec.ID, Version: rec.Version, Patient: fhir.RefOf(res["subject"]),
		Name: label(res["code"]), Status: fhir.Str(res["status"])}
	r.When = parseTime(res["issued"])
	if r.When.IsZero() {
		r.When = parseTime(res["effectiveDateTime"])
	}
	if r.When.IsZero() {
		r.When = parseTime(fhir.Obj(res["effectivePeriod"])["start"])
	}
	for _, m := range fhir.List(res["result"]) {
		r.Members = append(r.Members, fhir.RefOf(m))
	}
	judge(r, res)
	for _, c := range fhir.List(res["component"]) {
		judge(r, fhir.Obj(c))
	}
	r.Value = valueText(res)
	return r
}

// judge adds the flags of an observation (or a component): its
// interpretation codes, else what its value says against its reference
// range.
func judge(r *Result, o map[string]any) {
	var codes []string
	for _, in := range fhir.List(o["interpretation"]) {
		for _, c := range fhir.List(fhir.Obj(in)["coding"]) {
			if code := fhir.Str(fhir.Obj(c)["code"]); code != "" {
				codes = append(codes, code)
			}
		}
	}
	if len(codes) == 0 {
		codes = rangeFlags(o)
	}
	for _, code := range codes {
		if slices.Contains(abnormalCodes, code) {
			r.Abnormal = true
			if !slices.Contains(r.Flags, code) {
				r.Flags = append(r.Flags, code)
			}
		}
		if slices.Contains(criticalCodes, code) {
			r.Critical = true
		}
	}
}

// rangeFlags compares a valueQuantity with the reference ranges (same
// unit, or a range without one): "H" above a high, "L" below a low.
func rangeFlags(o map[string]any) []string {
	vq := fhir.Obj(o["valueQuantity"])
	v, ok := number(vq["value"])
	if !ok {
		return nil
	}
	for _, rr := range fhir.List(o["referenceRange"]) {
		rm := fhir.Obj(rr)
		for _, side := range []struct {
			key, flag string
			out       func(v, lim float64) bool
		}{{"high", "H", func(v, l float64) bool { return v > l }}, {"low", "L", func(v, l float64) bool { return v < l }}} {
			lim := fhir.Obj(rm[side.key])
			l, ok := number(lim["value"])
			if !ok || !sameUnit(vq, lim) {
				continue
			}
			if side.out(v, l) {
				return []string{side.flag}
			}
		}
	}
	return nil
}

func sameUnit(a, b map[string]any) bool {
	ua, ub := fhir.Str(a["code"]), fhir.Str(b["code"])
	if ua == "" || ub == "" {
		ua, ub = fhir.Str(a["unit"]), fhir.Str(b["unit"])
	}
	return ua == "" || ub == "" || ua == ub
}

func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

func valueText(res map[string]any) string {
	if vq := fhir.Obj(res["valueQuantity"]); vq != nil {
		s := string(jsonNumber(vq["value"]))
		if u := fhir.Str(vq["unit"]); u != "" {
			s += " " + u
		} else if c := fhir.Str(vq["code"]); c != "" {
			s += " " + c
		}
		return s
	}
	if s := fhir.Str(res["valueString"]); s != "" {
		return s
	}
	if cc, ok := res["valueCodeableConcept"]; ok {
		return label(cc)
	}
	return ""
}

func jsonNumber(v any) json.Number {
	n, _ := v.(json.Number)
	return n
}

func reviewed(res map[string]any) bool {
	for _, t := range fhir.List(fhir.Obj(res["meta"])["tag"]) {
		if fhir.Str(fhir.Obj(t)["system"]) == ReviewTagSystem && fhir.Str(fhir.Obj(t)["code"]) == ReviewedTag {
			return true
		}
	}
	return false
}

// SignOff records that reviewer reviewed a result, in one transaction: the
// result is tagged reviewed (meta.tag) and a completed Task records the
// review (code review, focus the result, owner the reviewer, the note).
// Signing off a report signs off its final result Observations too (a
// Task each, partOf the report's). A result already signed off is a
// conflict. It returns the report's (or observation's) Task id.
func (ib *Inbox) SignOff(ctx context.Context, resultRef, reviewer, note string) (string, error) {
	const op = "sign off"
	if err := principal(ctx, op); err != nil {
		return "", err
	}
	typ, id, ok := splitRef(resultRef)
	if !ok || (typ != "DiagnosticReport" && typ != "Observation") {
		return "", invalid(op, "result", fmt.Sprintf("only a DiagnosticReport or an Observation can be signed off, not %q", resultRef))
	}
	if _, err := checkRef(op, "reviewer", reviewer, "Practitioner", "PractitionerRole", "Organization"); err != nil {
		return "", err
	}
	note = strings.TrimSpace(note)
	if len(note) > MaxTextLength {
		return "", invalid(op, "note", fmt.Sprintf("the note is limited to %d characters", MaxTextLength))
	}
	var taskID string
	err := ib.repo.InTx(ctx, func(tx *repo.Tx) error {
		res, rec, err := readResult(ctx, tx, typ, id)
		if err != nil {
			return err
		}
		switch {
		case reviewed(res):
			return errs.E(op, errs.Conflict, "This result has already been signed off.")
		case !slices.Contains(strings.Split(reviewStatuses, ","), fhir.Str(res["status"])):
			return errs.E(op, errs.Conflict, fmt.Sprintf("This result is %s, not final: it can be signed off once the lab has finalised it.", fhir.Str(res["status"])))
		}
		taskID = repo.NewID()
		if err := signOne(ctx, tx, res, rec, taskID, "", reviewer, note); err != nil {
			return err
		}
		if typ != "DiagnosticReport" {
			return nil
		}
		for _, m := range fhir.List(res["result"]) {
			mt, mid, ok := splitRef(fhir.RefOf(m))
			if !ok || mt != "Observation" {
				continue
			}
			mres, mrec, err := readResult(ctx, tx, mt, mid)
			if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Gone) {
				continue
			}
			if err != nil {
				return err
			}
			if reviewed(mres) || !slices.Contains(strings.Split(reviewStatuses, ","), fhir.Str(mres["status"])) {
				continue
			}
			if err := signOne(ctx, tx, mres, mrec, repo.NewID(), taskID, reviewer, note); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return taskID, nil
}

func readResult(ctx context.Context, tx *repo.Tx, typ, id string) (map[string]any, *store.Record, error) {
	rec, err := tx.Read(ctx, typ, id)
	if err != nil {
		return nil, nil, err
	}
	res, err := parse(rec)
	return res, rec, err
}

func signOne(ctx context.Context, tx *repo.Tx, res map[string]any, rec *store.Record, taskID, partOf, reviewer, note string) error {
	meta := fhir.Obj(res["meta"])
	if meta == nil {
		meta = map[string]any{}
		res["meta"] = meta
	}
	meta["tag"] = append(fhir.List(meta["tag"]), map[string]any{"system": ReviewTagSystem, "code": ReviewedTag, "display": "Reviewed"})
	out, err := tx.Update(ctx, rec.Type, rec.ID, res, repo.UpdateOptions{IfMatch: rec.Version})
	if err != nil {
		return err
	}
	now := stamp(tx.Now())
	task := map[string]any{
		"resourceType":    "Task",
		"status":          "completed",
		"intent":          "order",
		"code":            map[string]any{"coding": []any{map[string]any{"system": TaskCodeSystem, "code": ReviewCode, "display": "Review result"}}},
		"description":     "Result review and sign-off",
		"focus":           fhir.Reference(rec.Type + "/" + rec.ID),
		"authoredOn":      now,
		"lastModified":    now,
		"owner":           fhir.Reference(reviewer),
		"executionPeriod": map[string]any{"start": now, "end": now},
		"input": []any{map[string]any{
			"type":           map[string]any{"text": "reviewed version"},
			"valueReference": fhir.Reference(rec.Type + "/" + rec.ID + "/_history/" + strconv.FormatInt(out.Record.Version, 10)),
		}},
	}
	if p := fhir.RefOf(res["subject"]); strings.HasPrefix(p, "Patient/") {
		task["for"] = fhir.Reference(p)
	}
	if partOf != "" {
		task["partOf"] = []any{fhir.Reference("Task/" + partOf)}
	}
	if note != "" {
		task["note"] = []any{map[string]any{"authorReference": fhir.Reference(reviewer), "time": now, "text": note}}
	}
	if task, err = fhir.Normalize(task); err != nil {
		return err
	}
	_, err = tx.Create(ctx, task, repo.CreateOptions{ID: taskID})
	return err
}

// Review is a recorded sign-off.
type Review struct {
	Task     string
	Reviewer string
	At       time.Time
	Note     string
}

// Reviews lists the sign-offs of a result, oldest first.
func (ib *Inbox) Reviews(ctx context.Context, resultRef string) ([]Review, error) {
	const op = "reviews"
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if _, err := checkRef(op, "result", resultRef, "DiagnosticReport", "Observation"); err != nil {
		return nil, err
	}
	recs, err := ib.search(ctx, "Task", url.Values{"focus": {resultRef}, "code": {TaskCodeSystem + "|" + ReviewCode},
		"status": {"completed"}, "_sort": {"modified"}}, 0)
	if err != nil {
		return nil, err
	}
	var out []Review
	for _, rec := range recs {
		res, err := parse(rec)
		if err != nil {
			return nil, err
		}
		rv := Review{Task: rec.ID, Reviewer: fhir.RefOf(res["owner"]), At: parseTime(res["lastModified"])}
		if n := fhir.List(res["note"]); len(n) > 0 {
			rv.Note = fhir.Str(fhir.Obj(n[0])["text"])
		}
		out = append(out, rv)
	}
	return out, nil
}
