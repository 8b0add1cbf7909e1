package fhirapi

import (
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

func TestAuditQuery(t *testing.T) {
	a := &API{defCount: 50, maxCount: 1000}
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	endOfDay := func(d int) time.Time { return day(d + 1).Add(-time.Microsecond) }
	tests := []struct {
		name  string
		query string
		want  store.AuditQuery
	}{
		{"none", "", store.AuditQuery{Count: 50}},
		{"day", "date=2026-03-04", store.AuditQuery{From: day(4), To: endOfDay(4), Count: 50}},
		{"range", "date=ge2026-03-04&date=lt2026-03-06", store.AuditQuery{From: day(4), To: day(6).Add(-time.Microsecond), Count: 50}},
		{"after", "date=gt2026-03-04", store.AuditQuery{From: day(5), Count: 50}},
		{"up to", "date=le2026-03-04", store.AuditQuery{To: endOfDay(4), Count: 50}},
		{"agent and patient", "agent=alice&patient=Patient/p1", store.AuditQuery{User: "alice", Patient: "p1", Count: 50}},
		{"lists", "action=R,U&outcome=4,8&subtype=http://hl7.org/fhir/restful-interaction|read,search",
			store.AuditQuery{Actions: []audit.Action{"R", "U"}, Outcomes: []audit.Outcome{4, 8}, Interactions: []string{"read", "search"}, Count: 50}},
		{"sort and page", "_sort=-date,patient&_count=10&_offset=20",
			store.AuditQuery{Sort: []store.AuditSort{{Key: store.AuditByTime, Desc: true}, {Key: store.AuditByPatient}}, Count: 10, Offset: 20}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := url.ParseQuery(tc.query)
			got, err := a.auditQuery(v)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	for _, bad := range []string{"colour=blue", "date=2026-13-01", "date=ap2026", "outcome=x", "_sort=colour", "agent=a&agent=b", "_offset=-1"} {
		v, _ := url.ParseQuery(bad)
		if _, err := a.auditQuery(v); !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: err = %v, want invalid", bad, err)
		}
	}
}
