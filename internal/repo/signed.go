package repo

import (
	"bytes"
	"encoding/json"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/store"
)

// A signed clinical document is a legal record: once signed it never
// changes, whoever asks and through whichever door. Corrections are new
// documents that point at it (an addendum appends, an amendment replaces:
// docs/VISIT.md). The Repository keeps that rule so that the FHIR API
// cannot overwrite what the visit service signed:
//
//   - a Composition whose status is final or amended and that has a legal
//     attester may change only its status, and only to entered-in-error;
//   - a DocumentReference whose docStatus is final may change only its
//     status (current to superseded or entered-in-error);
//   - neither may be deleted;
//   - both may take, change or lose the withhold label (withhold.go): a
//     meta.security coding in ReleaseSystem, which says whether the
//     patient sees the document, not what it says.
//
// Everything else about them, including their text and their other
// labels, stays as signed.

// signedStatusChanges are the status moves a signed document may make.
var signedStatusChanges = map[string]map[string]bool{
	"Composition":       {"entered-in-error": true},
	"DocumentReference": {"superseded": true, "entered-in-error": true},
}

// signed reports whether the stored version is a signed document.
func signed(cur *store.Record) bool {
	if cur == nil || cur.Deleted || signedStatusChanges[cur.Type] == nil {
		return false
	}
	var doc struct {
		Status    string `json:"status"`
		DocStatus string `json:"docStatus"`
		Attester  []struct {
			Mode string `json:"mode"`
		} `json:"attester"`
	}
	if json.Unmarshal(cur.JSON, &doc) != nil {
		return false
	}
	switch cur.Type {
	case "Composition":
		if doc.Status != "final" && doc.Status != "amended" {
			return false
		}
		for _, a := range doc.Attester {
			if a.Mode == "legal" {
				return true
			}
		}
	case "DocumentReference":
		return doc.DocStatus == "final"
	}
	return false
}

// checkSigned refuses a change of a signed document other than its allowed
// status moves; next is nil for a deletion.
func checkSigned(op string, cur *store.Record, next map[string]any) error {
	if !signed(cur) {
		return nil
	}
	refuse := func(why string) error {
		return errs.E(op, errs.Conflict, why, errs.Issue{Severity: "error", Code: "business-rule",
			Diagnostics: why + " Corrections are made as an addendum or an amendment, which keep the signed original."})
	}
	if next == nil {
		return refuse("A signed document cannot be deleted.")
	}
	status, _ := next["status"].(string)
	same := make(map[string]any, len(next))
	for k, v := range next {
		same[k] = v
	}
	var old struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal(cur.JSON, &old)
	if status != old.Status {
		if !signedStatusChanges[cur.Type][status] {
			return refuse("A signed document's status can only become " + allowedList(cur.Type) + ".")
		}
		same["status"] = old.Status
	}
	if !sameSigned(cur.JSON, same) {
		return refuse("A signed document cannot be changed.")
	}
	return nil
}

// sameSigned reports whether a new version of a signed document keeps its
// content: everything but the meta the Repository sets and the withhold
// label.
func sameSigned(stored []byte, res map[string]any) bool {
	old, err := fhir.Parse(stored, fhir.ParseOptions{})
	if err != nil {
		return false
	}
	return bytes.Equal(fhir.Marshal(withoutVersionMeta(withoutRelease(old))), fhir.Marshal(withoutVersionMeta(withoutRelease(res))))
}

// SignedContentKept reports whether current, a later version of a signed
// document, keeps the content of signed: it differs by nothing but the
// meta the Repository sets and the withhold label. A signature over signed
// still speaks for current (signed.go lets nothing else change but the
// status, which this does not allow either).
func SignedContentKept(signed, current []byte) bool {
	cur, err := fhir.Parse(current, fhir.ParseOptions{})
	if err != nil {
		return false
	}
	return sameSigned(signed, cur)
}

func allowedList(typ string) string {
	if typ == "Composition" {
		return "entered-in-error"
	}
	return "superseded or entered-in-error"
}
