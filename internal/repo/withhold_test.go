package repo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

func signedNote(id, pat string) map[string]any {
	return map[string]any{"resourceType": "Composition", "id": id, "status": "final", "date": "2024-05-01T10:00:00Z",
		"type":    map[string]any{"text": "Progress note"},
		"title":   "Visit note",
		"subject": map[string]any{"reference": "Patient/" + pat},
		"author":  []any{map[string]any{"reference": "Practitioner/dr", "display": "Dr Who"}},
		"attester": []any{map[string]any{"mode": "legal", "time": "2024-05-01T10:05:00Z",
			"party": map[string]any{"reference": "Practitioner/dr"}}},
		"section": []any{map[string]any{"title": "Assessment", "text": map[string]any{"status": "generated",
			"div": `<div xmlns="http://www.w3.org/1999/xhtml">Stable.</div>`}}},
		"meta": map[string]any{"security": []any{map[string]any{"system": access.ConfidentialitySystem, "code": "N"}}},
	}
}

func labReport(id, pat string, results ...string) map[string]any {
	var refs []any
	for _, r := range results {
		refs = append(refs, map[string]any{"reference": "Observation/" + r})
	}
	return map[string]any{"resourceType": "DiagnosticReport", "id": id, "status": "final",
		"code": map[string]any{"text": "Panel"}, "subject": map[string]any{"reference": "Patient/" + pat}, "result": refs}
}

// releaseFixture: patient a (organization x) with a signed note, a lab
// report with two results, a third result on its own; the principals.
type releaseFixture struct {
	staff, physician, frontdesk, patient, proxy, app, launch context.Context
}

func newReleaseFixture(t *testing.T, r *repo.Repo) releaseFixture {
	t.Helper()
	op := operator()
	put := func(typ, id string, res map[string]any) {
		t.Helper()
		if _, err := r.Update(op, typ, id, res, repo.UpdateOptions{}); err != nil {
			t.Fatalf("%s/%s: %v", typ, id, err)
		}
	}
	put("Organization", "x", map[string]any{"resourceType": "Organization", "id": "x", "name": "x"})
	put("Patient", "a", managed("a", "x"))
	put("RelatedPerson", "rp", map[string]any{"resourceType": "RelatedPerson", "id": "rp", "patient": map[string]any{"reference": "Patient/a"}})
	put("Composition", "note", signedNote("note", "a"))
	for _, id := range []string{"o1", "o2", "o3"} {
		put("Observation", id, observation(id, "a"))
	}
	put("DiagnosticReport", "dr", labReport("dr", "a", "o1", "o2", "o3"))
	put("DocumentReference", "notedoc", map[string]any{"resourceType": "DocumentReference", "id": "notedoc", "status": "current", "docStatus": "final",
		"type": map[string]any{"text": "Progress note"}, "subject": map[string]any{"reference": "Patient/a"},
		"content": []any{map[string]any{"attachment": map[string]any{"contentType": "text/plain", "data": "U3RhYmxlLg=="}}},
		"context": map[string]any{"related": []any{map[string]any{"reference": "Composition/note"}}}})
	return releaseFixture{
		staff:     as(&access.Principal{Kind: access.User, Username: "nx", FHIRUser: "Practitioner/nx", Organization: "Organization/x", Roles: []string{"nurse"}}),
		physician: as(&access.Principal{Kind: access.User, Username: "px", FHIRUser: "Practitioner/px", Organization: "Organization/x", Roles: []string{"physician"}}),
		frontdesk: as(&access.Principal{Kind: access.User, Username: "fd", Organization: "Organization/x", Roles: []string{"frontdesk"}}),
		patient:   as(&access.Principal{Kind: access.User, Username: "pa", FHIRUser: "Patient/a", Patient: "a", Patients: []string{"a"}}),
		proxy:     as(&access.Principal{Kind: access.User, Username: "mom", FHIRUser: "RelatedPerson/rp", Patient: "a", Patients: []string{"a"}}),
		app: as(&access.Principal{Kind: access.User, Username: "pa", FHIRUser: "Patient/a", Patient: "a", Patients: []string{"a"},
			ClientID: "app", Scopes: []string{"launch/patient", "patient/*.read"}}),
		launch: as(&access.Principal{Kind: access.User, Username: "px", FHIRUser: "Practitioner/px", Organization: "Organization/x", Roles: []string{"physician"},
			ClientID: "ehrapp", Patient: "a", Scopes: []string{"launch", "patient/*.read"}}),
	}
}

// sees reports what ctx gets of typ/id through every read: read, vread,
// instance history, a type search and its count, a system-level search,
// and a reverse chain that would tell whether it exists.
func sees(t *testing.T, r *repo.Repo, ctx context.Context, typ, id string) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	_, err := r.Read(ctx, typ, id)
	got["read"] = err == nil
	if err != nil && !errs.Is(err, errs.NotFound) {
		t.Fatalf("read %s/%s: %v", typ, id, err)
	}
	_, err = r.VRead(ctx, typ, id, 1)
	got["vread"] = err == nil
	_, err = r.History(ctx, store.HistoryQuery{Type: typ, ID: id})
	got["history"] = err == nil
	idq := store.Clause{Or: []store.Predicate{{Param: "_id", Kind: store.KindID, Code: id}}}
	res, err := r.Search(ctx, &store.Query{Types: []string{typ}, Where: []store.Clause{idq}, Total: store.TotalAccurate, Count: 10})
	if err != nil {
		t.Fatalf("search %s: %v", typ, err)
	}
	got["search"] = len(res.Records) > 0
	got["count"] = res.Total > 0
	res, err = r.Search(ctx, &store.Query{Where: []store.Clause{idq}, Count: 50})
	if err != nil {
		t.Fatalf("system search: %v", err)
	}
	for _, rec := range res.Records {
		if rec.Type == typ && rec.ID == id {
			got["system"] = true
		}
	}
	// Patient?_has:<typ>:patient:_id=<id>
	has := store.Predicate{Has: &store.Has{Param: "patient", Query: &store.Query{Types: []string{typ}, Where: []store.Clause{idq}}}}
	res, err = r.Search(ctx, &store.Query{Types: []string{"Patient"}, Where: []store.Clause{{Or: []store.Predicate{has}}}})
	if err != nil {
		t.Fatalf("_has search: %v", err)
	}
	got["_has"] = len(res.Records) > 0
	return got
}

func all(m map[string]bool, want bool) bool {
	for _, v := range m {
		if v != want {
			return false
		}
	}
	return len(m) > 0
}

// TestWithholdPolicy: a withheld note, report and result are hidden from
// the patient, the proxy and the patient's app through every read, and
// seen by staff (directly and through an EHR launch); releasing shows
// them again.
func TestWithholdPolicy(t *testing.T) {
	each(t, func(t *testing.T, r *repo.Repo) {
		f := newReleaseFixture(t, r)
		viewers := map[string]context.Context{"patient": f.patient, "proxy": f.proxy, "patient app": f.app, "nurse": f.staff, "EHR launch": f.launch}
		staff := map[string]bool{"nurse": true, "EHR launch": true}
		items := [][2]string{{"Composition", "note"}, {"DiagnosticReport", "dr"}, {"Observation", "o1"}, {"Observation", "o3"}}
		for _, it := range items {
			for name, ctx := range viewers {
				if got := sees(t, r, ctx, it[0], it[1]); !all(got, true) {
					t.Fatalf("before withholding, %s sees %s/%s: %v", name, it[0], it[1], got)
				}
			}
		}
		// o3 is withheld on its own first; then the note (with its
		// DocumentReference) and the report (with its results).
		if _, err := r.Withhold(f.staff, "Observation", "o3", 1, repo.Withholding{Exception: "third-party-privacy", Reason: "Names the partner."}); err != nil {
			t.Fatal(err)
		}
		w := repo.Withholding{Exception: "preventing-harm", Reason: "Discuss the biopsy in person first."}
		if _, err := r.Withhold(f.physician, "Composition", "note", 1, w); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Withhold(f.physician, "DiagnosticReport", "dr", 1, w); err != nil {
			t.Fatal(err)
		}
		rec, _ := r.Read(f.staff, "Observation", "o3")
		if got := repo.WithholdingOf(rec.JSON); got == nil || got.Exception != "third-party-privacy" || got.With != "" {
			t.Fatalf("o3's own withholding was replaced by the report's: %+v", got)
		}
		rec, _ = r.Read(f.staff, "DocumentReference", "notedoc")
		if got := repo.WithholdingOf(rec.JSON); got == nil || got.With != "Composition/note" {
			t.Fatalf("the note's DocumentReference: %+v", got)
		}
		for _, it := range append(items, [2]string{"Observation", "o2"}, [2]string{"DocumentReference", "notedoc"}) {
			for name, ctx := range viewers {
				got := sees(t, r, ctx, it[0], it[1])
				if staff[name] && !all(got, true) {
					t.Errorf("%s does not see withheld %s/%s: %v", name, it[0], it[1], got)
				}
				if !staff[name] && !all(got, false) {
					t.Errorf("%s sees withheld %s/%s: %v", name, it[0], it[1], got)
				}
			}
		}
		// The patient's counts leave the withheld out.
		res, err := r.Search(f.patient, &store.Query{Types: []string{"Observation"}, Total: store.TotalAccurate})
		if err != nil || res.Total != 0 {
			t.Fatalf("patient's Observation total = %+v, %v; want 0", res, err)
		}
		// The label records the exception, reason, who and when.
		rec, err = r.Read(f.staff, "Composition", "note")
		if err != nil {
			t.Fatal(err)
		}
		got := repo.WithholdingOf(rec.JSON)
		if got == nil || got.Exception != "preventing-harm" || got.Reason != w.Reason || got.By != "Practitioner/px" || got.ByName != "px" || got.At.IsZero() {
			t.Fatalf("withholding = %+v", got)
		}
		rec, _ = r.Read(f.staff, "Observation", "o2")
		if got := repo.WithholdingOf(rec.JSON); got == nil || got.With != "DiagnosticReport/dr" {
			t.Fatalf("result withheld with its report: %+v", got)
		}
		// Releasing the report releases the results withheld with it, not
		// the one withheld on its own.
		rec, _ = r.Read(f.staff, "DiagnosticReport", "dr")
		if _, err := r.Release(f.staff, "DiagnosticReport", "dr", rec.Version); err != nil {
			t.Fatal(err)
		}
		for _, it := range [][2]string{{"DiagnosticReport", "dr"}, {"Observation", "o1"}, {"Observation", "o2"}} {
			if got := sees(t, r, f.patient, it[0], it[1]); !all(got, true) {
				t.Errorf("after release, the patient does not see %s/%s: %v", it[0], it[1], got)
			}
		}
		if got := sees(t, r, f.proxy, "Observation", "o3"); !all(got, false) {
			t.Errorf("o3, withheld on its own, was released with the report: %v", got)
		}
		// Releasing the note releases its DocumentReference.
		rec, _ = r.Read(f.staff, "Composition", "note")
		if _, err := r.Release(f.physician, "Composition", "note", rec.Version); err != nil {
			t.Fatal(err)
		}
		if got := sees(t, r, f.patient, "DocumentReference", "notedoc"); !all(got, true) {
			t.Errorf("after the note's release, its DocumentReference: %v", got)
		}
		// An operator, who has no name or FHIR user, may withhold too.
		if _, err := r.Withhold(operator(), "Observation", "o1", 0, repo.Withholding{Exception: "patient-request", Reason: "asked"}); err != nil {
			t.Errorf("operator withholds: %v", err)
		}
		// The patient may not write the label.
		o := observation("", "a")
		o["meta"] = map[string]any{"security": []any{map[string]any{"system": repo.ReleaseSystem, "code": repo.WithheldCode}}}
		if _, err := r.Create(f.patient, o, repo.CreateOptions{}); !errs.Is(err, errs.Permission) {
			t.Errorf("patient writes a withheld resource: err = %v, want permission", err)
		}
	})
}

// TestWithholdRules: who may withhold, what, and with what; the version
// guard.
func TestWithholdRules(t *testing.T) {
	each(t, func(t *testing.T, r *repo.Repo) {
		f := newReleaseFixture(t, r)
		w := repo.Withholding{Exception: "patient-request", Reason: "Asked to hear it from the doctor."}
		cases := []struct {
			name     string
			ctx      context.Context
			typ, id  string
			version  int64
			w        repo.Withholding
			want     errs.Kind
			wantPath string
		}{
			{"front desk", f.frontdesk, "Observation", "o3", 0, w, errs.Permission, ""},
			{"the patient", f.patient, "Observation", "o3", 0, w, errs.Permission, ""},
			{"not a note, report or result", f.physician, "Patient", "a", 0, w, errs.Invalid, ""},
			{"unknown exception", f.physician, "Observation", "o3", 0, repo.Withholding{Exception: "because", Reason: "x"}, errs.Invalid, "exception"},
			{"no reason", f.physician, "Observation", "o3", 0, repo.Withholding{Exception: "preventing-harm", Reason: "  "}, errs.Invalid, "reason"},
			{"reason too long", f.physician, "Observation", "o3", 0, repo.Withholding{Exception: "preventing-harm", Reason: strings.Repeat("x", repo.MaxWithholdReason+1)}, errs.Invalid, "reason"},
			{"stale version", f.physician, "Observation", "o3", 7, w, errs.Precondition, ""},
			{"missing", f.physician, "Observation", "nope", 0, w, errs.NotFound, ""},
		}
		for _, c := range cases {
			_, err := r.Withhold(c.ctx, c.typ, c.id, c.version, c.w)
			if !errs.Is(err, c.want) {
				t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
				continue
			}
			if c.wantPath != "" {
				if !strings.Contains(strings.Join(issuePaths(err), ","), c.wantPath) {
					t.Errorf("%s: issues of %v do not name %s", c.name, err, c.wantPath)
				}
			}
		}
		if rec, _ := r.Read(operator(), "Observation", "o3"); rec.Version != 1 {
			t.Fatalf("refused withholds stored a version: %d", rec.Version)
		}
	})
}

func issuePaths(err error) []string {
	var out []string
	for _, is := range errs.IssuesOf(err) {
		out = append(out, is.Expression...)
	}
	return out
}

// TestWithholdSignedNote: a signed note takes and loses the withhold label
// and keeps everything else; any other change is still refused, the label
// included with another change.
func TestWithholdSignedNote(t *testing.T) {
	each(t, func(t *testing.T, r *repo.Repo) {
		f := newReleaseFixture(t, r)
		before, err := r.Read(operator(), "Composition", "note")
		if err != nil {
			t.Fatal(err)
		}
		start := headSeq(t, r)
		out, err := r.Withhold(f.physician, "Composition", "note", before.Version, repo.Withholding{Exception: "preventing-harm", Reason: "r"})
		if err != nil {
			t.Fatal(err)
		}
		after := out.Record
		// Audited: the patch of the note's new version by the physician,
		// about patient a, and the patch of its DocumentReference.
		var patched []string
		for _, e := range entriesSince(t, r, start) {
			if e.Interaction == audit.InteractionPatch && e.Outcome == audit.Success && e.Agent.Name() == "px" && slices.Equal(e.Patients, []string{"a"}) {
				patched = append(patched, fmt.Sprintf("%s/%s/%d", e.Entities[0].Type, e.Entities[0].ID, e.Entities[0].Version))
			}
		}
		if !slices.Contains(patched, fmt.Sprintf("Composition/note/%d", after.Version)) || !slices.Contains(patched, "DocumentReference/notedoc/2") {
			t.Fatalf("audited patches: %v", patched)
		}
		if after.Version != before.Version+1 {
			t.Fatalf("version %d after withholding version %d", after.Version, before.Version)
		}
		if !sameExceptMeta(t, before.JSON, after.JSON) {
			t.Fatalf("withholding changed the note:\n%s\n%s", before.JSON, after.JSON)
		}
		if !repo.SignedContentKept(before.JSON, after.JSON) {
			t.Fatal("SignedContentKept: false for a version that only took the withhold label")
		}
		changed := strings.Replace(string(after.JSON), "Stable.", "Unstable.", 1)
		if repo.SignedContentKept(before.JSON, []byte(changed)) {
			t.Fatal("SignedContentKept: true for a changed text")
		}
		var doc struct {
			Meta struct{ Security []map[string]any } `json:"meta"`
		}
		_ = json.Unmarshal(after.JSON, &doc)
		if len(doc.Meta.Security) != 2 || doc.Meta.Security[0]["code"] != "N" {
			t.Fatalf("the note's other label was not kept: %v", doc.Meta.Security)
		}
		// The label with a change of the text: refused.
		_, err = r.Patch(f.physician, "Composition", "note", func(res map[string]any) (map[string]any, error) {
			res["title"] = "Changed"
			return res, nil
		}, repo.UpdateOptions{})
		if !errs.Is(err, errs.Conflict) {
			t.Fatalf("changing a withheld signed note: err = %v, want conflict", err)
		}
		// Another label: refused.
		_, err = r.Patch(operator(), "Composition", "note", func(res map[string]any) (map[string]any, error) {
			meta := res["meta"].(map[string]any)
			meta["security"] = append(meta["security"].([]any), map[string]any{"system": access.ConfidentialitySystem, "code": "R"})
			return res, nil
		}, repo.UpdateOptions{})
		if !errs.Is(err, errs.Conflict) {
			t.Fatalf("labelling a signed note R: err = %v, want conflict", err)
		}
		out, err = r.Release(f.physician, "Composition", "note", after.Version)
		if err != nil {
			t.Fatal(err)
		}
		if repo.WithholdingOf(out.Record.JSON) != nil || !sameExceptMeta(t, before.JSON, out.Record.JSON) {
			t.Fatalf("released note: %s", out.Record.JSON)
		}
		// Releasing again changes nothing.
		again, err := r.Release(f.physician, "Composition", "note", 0)
		if err != nil || !again.Unchanged {
			t.Fatalf("second release: %+v, %v", again, err)
		}
		if _, err := r.Delete(f.physician, "Composition", "note"); !errs.Is(err, errs.Conflict) {
			t.Fatalf("deleting the signed note: err = %v, want conflict", err)
		}
	})
}

// sameExceptMeta compares two versions without meta.
func sameExceptMeta(t *testing.T, a, b []byte) bool {
	t.Helper()
	pa, err := fhir.Parse(a, fhir.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pb, err := fhir.Parse(b, fhir.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	delete(pa, "meta")
	delete(pb, "meta")
	return string(fhir.Marshal(pa)) == string(fhir.Marshal(pb))
}
