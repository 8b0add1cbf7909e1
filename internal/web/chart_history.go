package web

import (
	"net/http"
)

// The problems and medications pages list, below the active list, what is
// no longer active: resolved, inactive and in-remission problems, and
// stopped, completed and cancelled medications (chart.ProblemHistory,
// chart.MedicationHistory), in a section collapsed by default.

// loadProblemHistory reads the problems page's inactive problems.
func (s *server) loadProblemHistory(r *http.Request, v *chartView, fe map[string]string) error {
	h, err := s.cfg.Chart.ProblemHistory(r.Context(), v.ID)
	if err != nil {
		return err
	}
	v.ProblemHistory = h
	return nil
}

// loadMedicationsPage reads the medications page's inactive medications
// and its last reconciliation, concurrently.
func (s *server) loadMedicationsPage(r *http.Request, v *chartView, fe map[string]string) error {
	done := make(chan error, 1)
	go func() {
		h, err := s.cfg.Chart.MedicationHistory(r.Context(), v.ID)
		if err == nil {
			v.MedicationHistory = h
		}
		done <- err
	}()
	errReconciled := s.loadReconciled(r, v, fe)
	if err := <-done; err != nil {
		return err
	}
	return errReconciled
}
