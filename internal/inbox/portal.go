package inbox

import (
	"context"
	"slices"
	"strings"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
)

// The access policy's patient rules let a patient (or proxy) user read
// their own compartment and create a Communication, not update one. The
// inbox enforces what a patient may do with messages instead: send and
// reply only as themselves about the patients they act for, and mark read
// only what is addressed to them; the read receipt is then written as
// OpenChart itself, recorded in the audit trail as acting for that user.

// patientUser returns the caller when it is a patient or proxy user.
func patientUser(ctx context.Context) (*access.Principal, bool) {
	p := access.From(ctx)
	if p == nil || p.Kind != access.User || p.Organization != "" {
		return nil, false
	}
	return p, p.Patient != "" || len(p.Patients) > 0
}

// self reports whether ref is the patient user themselves or a patient
// they act for.
func self(p *access.Principal, ref string) bool {
	if ref == p.FHIRUser && ref != "" {
		return true
	}
	id, ok := strings.CutPrefix(ref, "Patient/")
	return ok && (p.Patient == id || slices.Contains(p.Patients, id))
}

// checkPatientSender refuses a patient user writing as someone else or
// about a patient they do not act for.
func checkPatientSender(ctx context.Context, op, from, patient string) error {
	p, ok := patientUser(ctx)
	if !ok {
		return nil
	}
	if !self(p, from) {
		return errs.E(op, errs.Permission, "You can only send messages as yourself.")
	}
	if patient != "" && !self(p, patient) {
		return errs.E(op, errs.Permission, "You can only send messages about yourself or people you act for.")
	}
	return nil
}

// readerCtx checks that a patient user reads only as themselves and
// returns the context to write read receipts with.
func readerCtx(ctx context.Context, op string, r Reader) (context.Context, error) {
	p, ok := patientUser(ctx)
	if !ok {
		return ctx, nil
	}
	for _, ref := range r.refs() {
		if !self(p, ref) {
			return nil, errs.E(op, errs.Permission, "You can only read your own messages.")
		}
	}
	return access.With(ctx, &access.Principal{Kind: access.System, Username: "inbox for " + p.Who(), Source: p.Source}), nil
}
