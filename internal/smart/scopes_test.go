package smart

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGrantable(t *testing.T) {
	all := func(scope) bool { return true }
	noUser := func(s scope) bool { return s.Res == nil || s.Res.Context != "user" }
	cases := []struct {
		name                  string
		requested, registered string
		permit                func(scope) bool
		want                  []string
	}{
		{"equal", "patient/Observation.rs", "patient/Observation.rs", all, []string{"patient/Observation.rs"}},
		{"v1 within v2", "patient/Observation.read", "patient/*.rs", all, []string{"patient/Observation.read"}},
		{"wildcard narrowed to the registered type", "patient/*.rs", "patient/Observation.rs", all, []string{"patient/Observation.rs"}},
		{"permissions narrowed", "patient/*.cruds", "patient/*.rs", all, []string{"patient/*.rs"}},
		{"v1 write against read-only", "user/*.write", "user/*.rs", all, nil},
		{"other context", "user/*.rs", "patient/*.rs", all, nil},
		{"registered query kept", "patient/Observation.rs", "patient/Observation.rs?category=laboratory", all,
			[]string{"patient/Observation.rs?category=laboratory"}},
		{"same query", "patient/Observation.rs?category=laboratory", "patient/*.rs?category=laboratory", all,
			[]string{"patient/Observation.rs?category=laboratory"}},
		{"other query", "patient/Observation.rs?category=vital-signs", "patient/Observation.rs?category=laboratory", all, nil},
		{"requested query within a wider registration", "patient/Observation.rs?category=laboratory", "patient/*.cruds", all,
			[]string{"patient/Observation.rs?category=laboratory"}},
		{"non-resource scopes", "openid fhirUser offline_access", "openid offline_access", all, []string{"openid", "offline_access"}},
		{"several registrations", "patient/*.r", "patient/Observation.rs patient/Condition.r", all,
			[]string{"patient/Observation.r", "patient/Condition.r"}},
		{"permit drops a context", "user/*.rs patient/*.rs", "user/*.rs patient/*.rs", noUser, []string{"patient/*.rs"}},
		{"duplicates once", "patient/*.rs patient/*.rs", "patient/*.rs", all, []string{"patient/*.rs"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rq, err := parseScopes(strings.Fields(c.requested))
			if err != nil {
				t.Fatal(err)
			}
			rg, err := parseScopes(strings.Fields(c.registered))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, grantable(rq, rg, c.permit)); diff != "" {
				t.Errorf("granted (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRequested(t *testing.T) {
	got, err := parseRequested([]string{"openid", "smart/orchestrate_launch", "patient/*.rs", "launch/other"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range got {
		names = append(names, s.raw)
	}
	if diff := cmp.Diff([]string{"openid", "patient/*.rs"}, names); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{"patient/Observation", "patient/Observation.xyz", "user/*.read?x=1", "patient/obs.rs"} {
		if _, err := parseRequested([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzGrantable: whatever is requested, every granted resource scope is
// covered by a registered one (never more than the registration allows).
func FuzzGrantable(f *testing.F) {
	f.Add("patient/*.cruds user/Observation.rs?code=1 openid", "patient/Observation.rs user/*.r")
	f.Add("system/*.*", "system/Patient.rs?x=y")
	f.Fuzz(func(t *testing.T, requested, registered string) {
		rq, err1 := parseRequested(strings.Fields(requested))
		rg, err2 := parseRequested(strings.Fields(registered))
		if err1 != nil || err2 != nil {
			return
		}
		for _, g := range grantable(rq, rg, func(scope) bool { return true }) {
			sc, err := parseScope(g)
			if err != nil {
				t.Fatalf("granted %q does not parse: %v", g, err)
			}
			if sc.Res == nil {
				continue
			}
			covered := false
			for _, r := range rg {
				if r.Res == nil {
					continue
				}
				if n, ok := narrow(*r.Res, *sc.Res); ok && n.String() == sc.Res.String() {
					covered = true
				}
			}
			if !covered {
				t.Fatalf("granted %q is not within the registration %q", g, registered)
			}
		}
	})
}

func TestPKCE(t *testing.T) {
	// RFC 7636 Appendix B.
	const verifier, challenge = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if !pkceMatches(verifier, challenge) {
		t.Error("the RFC's example does not match")
	}
	for _, v := range []string{verifier[:42], verifier + "!", strings.Repeat("a", 129), ""} {
		if pkceMatches(v, challenge) {
			t.Errorf("verifier %q matched", v)
		}
	}
}

func TestDescribe(t *testing.T) {
	for scope, want := range map[string]string{
		"patient/Observation.rs":                     "Read, search Observation records of the selected patient",
		"user/*.cruds":                               "Create, read, update, delete, search all kinds of data you can access",
		"patient/Observation.rs?category=laboratory": "Read, search Observation records of the selected patient (only where category=laboratory)",
		"offline_access":                             "Keep access when you are not using the app, until you revoke it",
	} {
		if got := describe(scope); got != want {
			t.Errorf("describe(%q) = %q, want %q", scope, got, want)
		}
	}
}
