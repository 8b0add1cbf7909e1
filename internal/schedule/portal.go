package schedule

import (
	"context"
	"slices"
	"strings"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
)

// Patients book through the portal under the access policy's patient
// rules, which let them read their own compartment and create an
// Appointment, but not read or change the clinic's Slots and Schedules
// (they are in no patient's compartment), nor update an Appointment. The
// clinic's rules for patients are enforced here instead: a patient (or
// proxy) user books, cancels and reschedules only for the patients they act
// for, always under the notice period, and the bookkeeping this needs (the
// published free slots, marking a slot busy or free, the appointment's
// status) is done as OpenChart itself, recorded in the audit trail as the
// system acting for that user. Staff act with their own roles throughout.

// patientUser returns the caller when it is a patient or proxy user (a
// signed-in user without a staff organization who acts for patients).
func patientUser(ctx context.Context) (*access.Principal, bool) {
	p := access.From(ctx)
	if p == nil || p.Kind != access.User || p.Organization != "" {
		return nil, false
	}
	return p, p.Patient != "" || len(p.Patients) > 0
}

// actsFor reports whether a patient user may act for the patient ref.
func actsFor(p *access.Principal, ref string) bool {
	id, ok := strings.CutPrefix(ref, "Patient/")
	return ok && (p.Patient == id || slices.Contains(p.Patients, id))
}

// clinicCtx is the context of the clinic's own bookkeeping: for a patient
// user, OpenChart acting for them; for anyone else, the caller's own.
func clinicCtx(ctx context.Context) context.Context {
	p, ok := patientUser(ctx)
	if !ok {
		return ctx
	}
	return access.With(ctx, &access.Principal{Kind: access.System, Username: "scheduling for " + p.Who(), Source: p.Source})
}

// forPatient refuses a patient user acting for a patient they do not act for.
func forPatient(ctx context.Context, op, patient string) error {
	if p, ok := patientUser(ctx); ok && !actsFor(p, patient) {
		return errs.E(op, errs.Permission, "You can only manage your own appointments and those of people you act for.")
	}
	return nil
}

// staffOnly refuses a patient user.
func staffOnly(ctx context.Context, op string) error {
	if _, ok := patientUser(ctx); ok {
		return errs.E(op, errs.Permission, "Only the clinic's staff can do this.")
	}
	return nil
}
