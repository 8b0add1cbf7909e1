package chart

import (
	"context"
)

// ProblemHistory is what the problems page shows below the active list.
type ProblemHistory struct {
	// Inactive are the problems resolved, inactive or in remission, most
	// recently abated first (see inactiveProblems).
	Inactive []Problem
	// EnteredInError counts the Conditions recorded by mistake. They are
	// not history (they were never true) and are never listed.
	EnteredInError int
}

// MedicationHistory is what the medications page shows below the active
// list.
type MedicationHistory struct {
	// Inactive are the MedicationRequests stopped, completed or cancelled
	// and the MedicationStatements stopped or completed, most recently
	// ended first (see inactiveMedications).
	Inactive []Medication
	// EnteredInError counts the requests and statements recorded by
	// mistake: never listed.
	EnteredInError int
}

// ProblemHistory lists the patient's problems that are no longer active.
// It reads the Patient and, concurrently, the compartment's Conditions
// and Encounters (which give the Source of each problem).
func (c *Chart) ProblemHistory(ctx context.Context, patientID string) (*ProblemHistory, error) {
	const op = "chart problem history"
	patient, recs, mistakes, err := c.historyRecords(ctx, op, patientID, []string{"Condition", "Encounter"})
	if err != nil {
		return nil, err
	}
	src := newSourcer(c.home, patient, recs["Encounter"])
	return &ProblemHistory{Inactive: inactiveProblems(recs["Condition"], src), EnteredInError: mistakes["Condition"]}, nil
}

// MedicationHistory lists the patient's medications that were stopped,
// completed or cancelled. It reads the Patient and, concurrently, the
// compartment's MedicationRequests, MedicationStatements and Encounters,
// then the Medication resources the inactive ones reference (one search,
// when there are any).
func (c *Chart) MedicationHistory(ctx context.Context, patientID string) (*MedicationHistory, error) {
	const op = "chart medication history"
	patient, recs, mistakes, err := c.historyRecords(ctx, op, patientID, []string{"Encounter", "MedicationRequest", "MedicationStatement"})
	if err != nil {
		return nil, err
	}
	reqs, stmts := recs["MedicationRequest"], recs["MedicationStatement"]
	meds, err := c.medications(ctx, reqs, stmts, inactiveRequest, inactiveStatement)
	if err != nil {
		return nil, err
	}
	src := newSourcer(c.home, patient, recs["Encounter"])
	return &MedicationHistory{Inactive: inactiveMedications(reqs, stmts, meds, src),
		EnteredInError: mistakes["MedicationRequest"] + mistakes["MedicationStatement"]}, nil
}

// historyRecords reads the Patient and the compartment's resources of
// types concurrently, and counts by type those entered in error.
func (c *Chart) historyRecords(ctx context.Context, op, patientID string, types []string) (map[string]any, records, map[string]int, error) {
	if err := principal(ctx, op); err != nil {
		return nil, nil, nil, err
	}
	if err := checkID(op, patientID); err != nil {
		return nil, nil, nil, err
	}
	var patient map[string]any
	var recs records
	var mistakes map[string]int
	err := parallel(2, func(i int) error {
		if i == 0 {
			var err error
			patient, err = c.readPatient(ctx, patientID)
			return err
		}
		all, err := c.compartmentRecords(ctx, patientID, types, false)
		if err != nil {
			return err
		}
		recs, mistakes, err = groupCounting(all)
		return err
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return patient, recs, mistakes, nil
}
