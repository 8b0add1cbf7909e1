package repo_test

import (
	"slices"
	"testing"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

// TestAuditReportScope: each principal reads its own part of the audit
// trail. An organization's admin sees the entries of those acting for it,
// a patient the entries about them alone, staff without the audit
// permission nothing; operators and system administrators see it all.
func TestAuditReportScope(t *testing.T) {
	each(t, func(t *testing.T, r *repo.Repo) {
		op := operator()
		twoOrganizations(t, r)
		staff := func(name, org, role string) *access.Principal {
			return &access.Principal{Kind: access.User, Username: name, UserID: "id-" + name, Organization: "Organization/" + org, Roles: []string{role}}
		}
		nurseX, nurseY := staff("nx", "x", "nurse"), staff("ny", "y", "nurse")
		adminX, adminY := staff("ax", "x", "admin"), staff("ay", "y", "admin")
		physX := staff("px", "x", "physician")
		patA := &access.Principal{Kind: access.User, Username: "pa", FHIRUser: "Patient/a", Patient: "a", Patients: []string{"a"}}
		appA := &access.Principal{Kind: access.Client, ClientID: "app", Patient: "a", Scopes: []string{"patient/*.rs"}}

		for _, p := range []*access.Principal{nurseX, physX} {
			if _, err := r.Read(as(p), "Patient", "a"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.Read(as(nurseY), "Patient", "b"); err != nil {
			t.Fatal(err)
		}
		// A search that returns both patients concerns both: not a's alone.
		if res, err := r.Search(op, &store.Query{Types: []string{"Patient"}}); err != nil || len(res.Records) != 2 {
			t.Fatalf("search: %v, %v", res, err)
		}

		report := func(p *access.Principal) ([]*audit.Entry, error) {
			t.Helper()
			page, err := r.AuditReport(as(p), store.AuditQuery{Count: 1000})
			if err != nil {
				return nil, err
			}
			var es []*audit.Entry
			for _, row := range page.Rows {
				e, err := row.Entry()
				if err != nil {
					t.Fatal(err)
				}
				es = append(es, e)
			}
			return es, nil
		}
		byUser := func(es []*audit.Entry, name string) bool {
			return slices.ContainsFunc(es, func(e *audit.Entry) bool { return e.Agent.Username == name })
		}

		for _, c := range []struct {
			admin      *access.Principal
			own, other string
		}{{adminX, "nx", "ny"}, {adminY, "ny", "nx"}} {
			es, err := report(c.admin)
			if err != nil {
				t.Fatalf("%s's report: %v", c.admin.Username, err)
			}
			for _, e := range es {
				if e.Agent.Organization != c.admin.Organization {
					t.Errorf("%s sees entry %d of %q (%s)", c.admin.Username, e.Seq, e.Agent.Organization, e.Agent.Name())
				}
			}
			if !byUser(es, c.own) || byUser(es, c.other) {
				t.Errorf("%s's report: %s's entries %v, %s's entries %v; want only the first", c.admin.Username,
					c.own, byUser(es, c.own), c.other, byUser(es, c.other))
			}
		}

		for _, p := range []*access.Principal{patA, appA} {
			es, err := report(p)
			if err != nil {
				t.Fatalf("%s's report: %v", who(p), err)
			}
			for _, e := range es {
				if !slices.Equal(e.Patients, []string{"a"}) {
					t.Errorf("%s sees entry %d about %v", who(p), e.Seq, e.Patients)
				}
			}
			if !byUser(es, "nx") || !byUser(es, "px") || byUser(es, "ny") {
				t.Errorf("%s's report: nx %v, px %v, ny %v; want the reads of a only", who(p), byUser(es, "nx"), byUser(es, "px"), byUser(es, "ny"))
			}
		}

		for _, p := range []*access.Principal{physX, nurseX, staff("fx", "x", "frontdesk"), {Kind: access.Anonymous}} {
			if _, err := report(p); !errs.Is(err, errs.Permission) && !errs.Is(err, errs.Unauthenticated) {
				t.Errorf("%s's report: err = %v, want a refusal", who(p), err)
			}
		}

		sysX := staff("sx", "x", "nurse")
		sysX.SystemAdmin = true
		sysNone := &access.Principal{Kind: access.User, Username: "s0", UserID: "id-s0", SystemAdmin: true}
		for _, p := range []*access.Principal{{Kind: access.Operator, Username: "root"}, sysX, sysNone} {
			es, err := report(p)
			if err != nil || !byUser(es, "nx") || !byUser(es, "ny") || !byUser(es, "pa") {
				t.Errorf("%s's report: %d entries, %v; want the whole trail", who(p), len(es), err)
			}
		}
		// The whole trail is not a way into the records, nor into the
		// AuditEvents apps recorded about a patient.
		if _, err := r.Read(as(sysNone), "Patient", "a"); err == nil {
			t.Error("a system administrator of no organization read a patient")
		}
		appEvent := map[string]any{"resourceType": "AuditEvent", "id": "app-event", "recorded": "2026-01-02T03:04:05Z",
			"type":   map[string]any{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110"},
			"agent":  []any{map[string]any{"requestor": true, "who": map[string]any{"display": "an app"}}},
			"source": map[string]any{"observer": map[string]any{"display": "an app"}},
			"entity": []any{map[string]any{"what": map[string]any{"reference": "Patient/a"}}}}
		if _, err := r.Update(op, "AuditEvent", "app-event", appEvent, repo.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if res, err := r.Search(as(sysNone), &store.Query{Types: []string{"AuditEvent"}}); err == nil && len(res.Records) > 0 {
			t.Errorf("a system administrator of no organization found %d AuditEvents of patients", len(res.Records))
		}
		if res, err := r.Search(op, &store.Query{Types: []string{"AuditEvent"}}); err != nil || len(res.Records) != 1 {
			t.Errorf("the operator's search of AuditEvents: %v, %v", res, err)
		}
	})
}

// who names a principal in a failure message.
func who(p *access.Principal) string { return audit.AgentOf(p).Name() }
