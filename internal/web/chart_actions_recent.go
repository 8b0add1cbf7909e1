package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/store"
)

// recentLimit is how many recent charts the home page lists.
const recentLimit = 10

// recentPatients are the charts the signed-in user opened last, newest
// first: the patients of the user's own successful reads of a Patient in
// the audit trail. The web package keeps no per-user state; the audit
// trail already records every chart opened.
//
// Reading the audit trail needs AuditEvent read permission, which
// clinicians lack: this one query runs with a System principal, and it is
// limited to the signed-in user's own entries (User is the user's id).
// The patients are then searched with the user's own principal, so a
// patient the user may no longer see is left out. A failure leaves the
// list empty: the home page's search still works.
func (s *server) recentPatients(r *http.Request) []patientRow {
	st := stateOf(r)
	if st.user == nil || st.user.ID == "" || s.cfg.Search == nil {
		return nil
	}
	sys := access.With(r.Context(), &access.Principal{Kind: access.System, Username: "recent patients for " + st.user.Username})
	page, err := s.cfg.Repo.AuditReport(sys, store.AuditQuery{
		User:         st.user.ID,
		Interactions: []string{audit.InteractionRead},
		Outcomes:     []audit.Outcome{audit.Success},
		Sort:         []store.AuditSort{{Key: store.AuditByTime, Desc: true}},
		Count:        200,
	})
	if err != nil {
		s.log.Warn("web: recent patients", "user", st.user.Username, "err", err)
		return nil
	}
	var ids []string
	for _, row := range page.Rows {
		if row.UserID != st.user.ID {
			continue // the query matches names too: keep the user's own entries only
		}
		e, err := row.Entry()
		if err != nil {
			continue
		}
		for _, ent := range e.Entities {
			if ent.Type == "Patient" && validID(ent.ID) && !slices.Contains(ids, ent.ID) {
				ids = append(ids, ent.ID)
			}
		}
		if len(ids) >= recentLimit {
			break
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, _, err := s.searchPatients(r.Context(), url.Values{"_id": {strings.Join(ids, ",")}})
	if err != nil {
		return nil
	}
	slices.SortFunc(rows, func(a, b patientRow) int { return slices.Index(ids, a.ID) - slices.Index(ids, b.ID) })
	return rows
}
