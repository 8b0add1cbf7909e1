package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/fhirapi/fhirhttp"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

// The leak matrix (issue 4's acceptance): Synthea patients split between
// two organizations, and for each principal every interaction on every
// type of the Patient compartment, through the FHIR API. Every resource a
// response carries is checked against what the principal may see,
// computed here from the loaded data alone (the patients each resource
// references); the counts the server reports are compared with the same
// truth, so the test fails when data is refused that should be served.

const (
	leakPatients = 8 // Synthea patients loaded, half in each organization
	orgX, orgY   = "org-x", "org-y"
	catSystem    = "http://terminology.hl7.org/CodeSystem/observation-category"
)

// leakFiles: the two information Bundles and leakPatients patient Bundles
// of moderate size.
func leakFiles(t *testing.T) []string {
	all := syntheaFiles(t)
	var info, pats []string
	for _, f := range all {
		if strings.HasPrefix(filepath.Base(f), "0-") {
			info = append(info, f)
			continue
		}
		if st, err := os.Stat(f); err == nil && st.Size() > 40_000 && st.Size() < 120_000 {
			pats = append(pats, f)
		}
	}
	sort.Strings(pats)
	if len(pats) > leakPatients {
		pats = pats[:leakPatients]
	}
	return append(info, pats...)
}

// truth is the loaded data as the test knows it.
type truth struct {
	res      []*leakRes
	byKey    map[string]*leakRes
	org      map[string]string // patient id -> organization id
	patients []string          // sorted
	family   map[string]string // patient id -> family name
	comp     map[string]bool   // types of the Patient compartment
}

type leakRes struct {
	typ, id string
	pats    []string
	labels  []string // meta.security codes
	lab     bool     // an Observation of category laboratory
}

var patientRef = regexp.MustCompile(`"reference":"Patient/([^"/]+)"`)

// describe reads what a resource is about from its JSON alone: the
// patients it references (and itself, for a Patient), its labels, its
// category.
func describe(raw []byte) *leakRes {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	r := &leakRes{typ: fmt.Sprint(m["resourceType"]), id: fmt.Sprint(m["id"])}
	if r.typ == "Patient" {
		r.pats = append(r.pats, r.id)
	}
	for _, sm := range patientRef.FindAllSubmatch(raw, -1) {
		if p := string(sm[1]); !slices.Contains(r.pats, p) {
			r.pats = append(r.pats, p)
		}
	}
	if meta, ok := m["meta"].(map[string]any); ok {
		sec, _ := meta["security"].([]any)
		for _, s := range sec {
			if c, ok := s.(map[string]any); ok {
				r.labels = append(r.labels, fmt.Sprint(c["code"]))
			}
		}
	}
	if r.typ == "Observation" {
		cats, _ := m["category"].([]any)
		for _, c := range cats {
			cc, _ := c.(map[string]any)
			codings, _ := cc["coding"].([]any)
			for _, x := range codings {
				xc, _ := x.(map[string]any)
				if xc["system"] == catSystem && xc["code"] == "laboratory" {
					r.lab = true
				}
			}
		}
	}
	return r
}

// viewer is a principal with the test's own idea of what it may see.
type viewer struct {
	name    string
	p       *access.Principal
	allowed map[string]bool // patients
	staff   bool            // organizational data (compartment types of no patient) is visible
	hidden  []string        // labels it may not see
	labOnly bool            // granular scope: laboratory Observations only
}

func (v *viewer) typeOK(typ string) bool { return !v.labOnly || typ == "Observation" }

// sees is the truth: may v see r?
func (v *viewer) sees(tr *truth, r *leakRes) bool {
	if !v.typeOK(r.typ) || (v.labOnly && !r.lab) {
		return false
	}
	for _, l := range r.labels {
		if slices.Contains(v.hidden, l) {
			return false
		}
	}
	if !tr.comp[r.typ] {
		return true
	}
	if len(r.pats) == 0 {
		return v.staff
	}
	for _, p := range r.pats {
		if v.allowed[p] {
			return true
		}
	}
	return false
}

// leakEnv runs requests and counts them.
type leakEnv struct {
	t        *testing.T
	a        *app.App
	h        http.Handler
	tr       *truth
	requests int
	leaks    []string
}

func (e *leakEnv) do(v *viewer, method, target string, body []byte) (int, []byte) {
	e.requests++
	req := httptest.NewRequest(method, "http://ehr.test/fhir"+target, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	req = req.WithContext(access.With(req.Context(), v.p))
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func (e *leakEnv) leak(v *viewer, what string) {
	e.leaks = append(e.leaks, v.name+": "+what)
}

// check inspects every resource a response carries (Bundles of any depth).
func (e *leakEnv) check(v *viewer, what string, body []byte) []*leakRes {
	var out []*leakRes
	var walk func(raw json.RawMessage)
	walk = func(raw json.RawMessage) {
		var head struct {
			ResourceType string `json:"resourceType"`
			Entry        []struct {
				Resource json.RawMessage `json:"resource"`
				Response *struct {
					Outcome json.RawMessage `json:"outcome"`
				} `json:"response"`
			} `json:"entry"`
		}
		if json.Unmarshal(raw, &head) != nil {
			return
		}
		switch head.ResourceType {
		case "Bundle":
			for _, en := range head.Entry {
				if len(en.Resource) > 0 {
					walk(en.Resource)
				}
			}
			return
		case "OperationOutcome", "":
			return
		}
		r := describe(raw)
		if r == nil {
			return
		}
		out = append(out, r)
		if !v.sees(e.tr, r) {
			e.leak(v, fmt.Sprintf("%s returned %s/%s (patients %v, labels %v)", what, r.typ, r.id, r.pats, r.labels))
		}
	}
	walk(body)
	return out
}

// get runs a GET and checks what it returns; a refusal is fine.
func (e *leakEnv) get(v *viewer, target string) (int, []*leakRes) {
	code, body := e.do(v, "GET", target, nil)
	if code != http.StatusOK {
		return code, nil
	}
	return code, e.check(v, "GET "+target, body)
}

// TestLeakMatrix: see the comment at the top of this file.
func TestLeakMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("loads Synthea patients into two organizations on both stores")
	}
	files := leakFiles(t)
	for name, cfg := range stores(t) {
		t.Run(name, func(t *testing.T) {
			a := openApp(t, cfg(t))
			start := time.Now()
			tr := loadLeakData(t, a, files)
			loaded := time.Since(start)
			e := &leakEnv{t: t, a: a, tr: tr}
			e.h = fhirhttp.New(a.API, fhirhttp.Options{BasePath: "/fhir",
				Authenticate: func(*http.Request) (*access.Principal, error) { return nil, nil }})
			e.run()
			t.Logf("loaded %d resources of %d patients in %s; matrix in %s", len(tr.res), len(tr.patients), loaded.Round(time.Millisecond), time.Since(start.Add(loaded)).Round(time.Millisecond))
			fmt.Printf("leak matrix (%s): %d requests, %d leaked\n", name, e.requests, len(e.leaks))
			for i, l := range e.leaks {
				if i == 20 {
					t.Errorf("... and %d more", len(e.leaks)-20)
					break
				}
				t.Errorf("leak: %s", l)
			}
		})
	}
}

// loadLeakData loads the Bundles, puts the patients under two
// organizations by turns, labels two of patient A's Observations,
// withholds one of A's reports from A, and returns the truth.
func loadLeakData(t *testing.T, a *app.App, files []string) *truth {
	ctx := opCtx()
	for _, id := range []string{orgX, orgY} {
		org := map[string]any{"resourceType": "Organization", "id": id, "name": "Clinic " + id}
		if _, err := a.Repo.Update(ctx, "Organization", id, org, repo.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, f := range files {
		b := readBundle(t, f)
		if !strings.HasPrefix(filepath.Base(f), "0-") {
			org := orgX
			if n%2 == 1 {
				org = orgY
			}
			n++
			entries, _ := b["entry"].([]any)
			for _, en := range entries {
				r, _ := en.(map[string]any)["resource"].(map[string]any)
				if fhir.TypeOf(r) == "Patient" {
					r["managingOrganization"] = map[string]any{"reference": "Organization/" + org}
				}
			}
		}
		if _, err := a.API.ProcessBundle(ctx, b, ""); err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
	}
	tr := &truth{byKey: map[string]*leakRes{}, org: map[string]string{}, family: map[string]string{}, comp: map[string]bool{}}
	for typ := range defs.Default().Compartment("Patient").Resources {
		tr.comp[typ] = true
	}
	scanAll(t, a, func(rec *store.Record) {
		if rec.Type != "Patient" {
			return
		}
		var p struct {
			ManagingOrganization struct{ Reference string } `json:"managingOrganization"`
			Name                 []struct{ Family string }  `json:"name"`
		}
		if err := json.Unmarshal(rec.JSON, &p); err != nil {
			t.Fatal(err)
		}
		tr.org[rec.ID] = strings.TrimPrefix(p.ManagingOrganization.Reference, "Organization/")
		if len(p.Name) > 0 {
			tr.family[rec.ID] = p.Name[0].Family
		}
		tr.patients = append(tr.patients, rec.ID)
	})
	sort.Strings(tr.patients)
	// Patient A's labelled Observations: restricted, and confidential to
	// the patient (hidden from proxies).
	pa := tr.inOrg(orgX)[0]
	for id, label := range map[string][2]string{"label-r": {access.ConfidentialitySystem, "R"}, "label-prs": {access.ActCodeSystem, "PRS"}} {
		obs := map[string]any{"resourceType": "Observation", "id": id, "status": "final",
			"meta":    map[string]any{"security": []any{map[string]any{"system": label[0], "code": label[1]}}},
			"code":    map[string]any{"text": "sensitive finding"},
			"subject": map[string]any{"reference": "Patient/" + pa}}
		if _, err := a.Repo.Update(ctx, "Observation", id, obs, repo.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// One of patient A's reports is withheld from the patient, with its
	// results (label "withheld": hidden from A, the proxy and A's apps).
	var report string
	scanAll(t, a, func(rec *store.Record) {
		if report == "" && rec.Type == "DiagnosticReport" && strings.Contains(string(rec.JSON), `"Patient/`+pa+`"`) && strings.Contains(string(rec.JSON), `"Observation/`) {
			report = rec.ID
		}
	})
	if report == "" {
		t.Fatal("patient A has no DiagnosticReport with results")
	}
	if _, err := a.Repo.Withhold(ctx, "DiagnosticReport", report, 0, repo.Withholding{Exception: "preventing-harm", Reason: "to discuss in person"}); err != nil {
		t.Fatal(err)
	}
	scanAll(t, a, func(rec *store.Record) {
		r := describe(rec.JSON)
		tr.res = append(tr.res, r)
		tr.byKey[r.typ+"/"+r.id] = r
	})
	return tr
}

func scanAll(t *testing.T, a *app.App, fn func(*store.Record)) {
	q := store.ScanQuery{Limit: 1000}
	for {
		page, err := a.Store.Scan(opCtx(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range page.Records {
			fn(rec)
		}
		if page.Next == "" {
			return
		}
		q.After = page.Next
	}
}

func (tr *truth) inOrg(org string) []string {
	var out []string
	for _, p := range tr.patients {
		if tr.org[p] == org {
			out = append(out, p)
		}
	}
	return out
}

// of lists the resources of typ about patient p.
func (tr *truth) of(typ, p string) []*leakRes {
	var out []*leakRes
	for _, r := range tr.res {
		if r.typ == typ && slices.Contains(r.pats, p) {
			out = append(out, r)
		}
	}
	return out
}

func set(ids ...[]string) map[string]bool {
	m := map[string]bool{}
	for _, l := range ids {
		for _, id := range l {
			m[id] = true
		}
	}
	return m
}

// run builds the principals and runs the matrix, in the order the
// consent and the break-the-glass grant come into force.
func (e *leakEnv) run() {
	tr := e.tr
	xs, ys := tr.inOrg(orgX), tr.inOrg(orgY)
	pa, pb := xs[0], xs[1]
	staff := func(org string) *access.Principal {
		return &access.Principal{Kind: access.User, Username: "staff-" + org, Organization: "Organization/" + org, Roles: []string{"physician"}}
	}
	patientA := &viewer{name: "patient A", p: &access.Principal{Kind: access.User, Username: "a", FHIRUser: "Patient/" + pa, Patient: pa, Patients: []string{pa}},
		allowed: set([]string{pa}), hidden: []string{repo.WithheldCode}}
	proxy := &viewer{name: "proxy of A", p: &access.Principal{Kind: access.User, Username: "mum", FHIRUser: "RelatedPerson/r1", Patient: pa, Patients: []string{pa}},
		allowed: set([]string{pa}), hidden: []string{"R", "V", "PRS", repo.WithheldCode}}
	app := &viewer{name: "SMART app of A", p: &access.Principal{Kind: access.User, Username: "a", FHIRUser: "Patient/" + pa, ClientID: "app1", Patient: pa, Patients: []string{pa},
		Scopes: []string{"launch/patient", "patient/*.rs"}}, allowed: set([]string{pa}), hidden: []string{repo.WithheldCode}}
	lab := &viewer{name: "lab-only app of A", p: &access.Principal{Kind: access.User, Username: "a", FHIRUser: "Patient/" + pa, ClientID: "app2", Patient: pa,
		Scopes: []string{"patient/Observation.rs?category=" + url.QueryEscape(catSystem+"|laboratory")}}, allowed: set([]string{pa}), labOnly: true, hidden: []string{repo.WithheldCode}}
	staffX := &viewer{name: "staff of X", p: staff(orgX), allowed: set(xs), staff: true}
	staffY := &viewer{name: "staff of Y", p: staff(orgY), allowed: set(ys), staff: true}
	frontdeskY := &viewer{name: "front desk of Y", p: &access.Principal{Kind: access.User, Username: "desk", Organization: "Organization/" + orgY, Roles: []string{"frontdesk"}},
		allowed: set(ys), staff: true, hidden: []string{"R", "V"}}

	for _, v := range []*viewer{patientA, proxy, app, lab, staffX, staffY} {
		e.matrix(v)
	}
	e.frontDesk(frontdeskY)
	e.mustSee(patientA, "Observation/label-r", "Observation?patient="+pa)
	e.mustSee(staffX, "Patient/"+pa, "Patient?organization=Organization/"+orgX)
	if code, _ := e.get(lab, "/Condition?patient="+pa); code != http.StatusForbidden {
		e.t.Errorf("lab-only app searching Condition: status %d, want 403", code)
	}

	// A consents to Y: Y's staff now see A (and only A of X).
	consent := map[string]any{"resourceType": "Consent", "status": "active",
		"scope":      map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}}},
		"category":   []any{map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "59284-0"}}}},
		"patient":    map[string]any{"reference": "Patient/" + pa},
		"policyRule": map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}}},
		"provision": map[string]any{"type": "permit", "actor": []any{map[string]any{
			"role":      map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}}},
			"reference": map[string]any{"reference": "Organization/" + orgY}}}}}
	out, err := e.a.Repo.Create(opCtx(), consent, repo.CreateOptions{})
	if err != nil {
		e.t.Fatalf("consent: %v", err)
	}
	e.tr.res = append(e.tr.res, describe(out.Record.JSON))
	staffYC := &viewer{name: "staff of Y after A's consent", p: staff(orgY), allowed: set(ys, []string{pa}), staff: true}
	e.matrix(staffYC)
	e.mustSee(staffYC, "Patient/"+pa, "Observation?patient="+pa)

	// Break the glass on B.
	bg := staff(orgY)
	bg.BreakGlass = []access.BreakGlass{{Patient: pb, Reason: "unconscious in the emergency room", Until: time.Now().Add(time.Hour)}}
	staffYBG := &viewer{name: "staff of Y breaking the glass on B", p: bg, allowed: set(ys, []string{pa, pb}), staff: true}
	e.matrix(staffYBG)
	e.mustSee(staffYBG, "Patient/"+pb, "Encounter?patient="+pb)
	e.breakGlassAudited(pb)

	// The audit trail, which by now records every request above: patients
	// and their apps read the entries about them alone, an organization's
	// admin those of its staff, clinicians none of it.
	adminX := &viewer{name: "admin of X", p: &access.Principal{Kind: access.User, Username: "admin-x", Organization: "Organization/" + orgX, Roles: []string{"admin"}}}
	for _, v := range []*viewer{patientA, proxy, app, adminX, staffX, staffYBG} {
		e.auditTrail(v)
	}

	// Without credentials nothing is served.
	anon := &viewer{name: "anonymous", p: nil}
	for _, target := range []string{"/Patient", "/Patient/" + pa, "/Observation?patient=" + pa} {
		req := httptest.NewRequest("GET", "http://ehr.test/fhir"+target, nil)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		e.requests++
		if rec.Code != http.StatusUnauthorized {
			e.leak(anon, fmt.Sprintf("GET %s: status %d, want 401", target, rec.Code))
		}
	}
}

// others are the patients v may not see.
func (e *leakEnv) others(v *viewer) []string {
	var out []string
	for _, p := range e.tr.patients {
		if !v.allowed[p] {
			out = append(out, p)
		}
	}
	return out
}

func (e *leakEnv) compTypes() []string {
	seen := map[string]bool{}
	for _, r := range e.tr.res {
		if e.tr.comp[r.typ] {
			seen[r.typ] = true
		}
	}
	var out []string
	for t := range seen {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// expected counts the resources of typ v may see.
func (e *leakEnv) expected(v *viewer, typ string) int {
	n := 0
	for _, r := range e.tr.res {
		if r.typ == typ && v.sees(e.tr, r) {
			n++
		}
	}
	return n
}

func total(body []byte) int {
	var b struct {
		Total *int `json:"total"`
	}
	if json.Unmarshal(body, &b) != nil || b.Total == nil {
		return -1
	}
	return *b.Total
}

// matrix runs every interaction for v.
func (e *leakEnv) matrix(v *viewer) {
	others := e.others(v)
	for _, typ := range e.compTypes() {
		// Search by type, and the count, which must be exactly the truth.
		e.get(v, "/"+typ+"?_count=100")
		code, body := e.do(v, "GET", "/"+typ+"?_summary=count", nil)
		want := e.expected(v, typ)
		switch {
		case code == http.StatusOK && total(body) > want:
			e.leak(v, fmt.Sprintf("%s?_summary=count = %d, only %d visible", typ, total(body), want))
		case code == http.StatusOK && total(body) != want:
			e.t.Errorf("%s: %s?_summary=count = %d, want %d", v.name, typ, total(body), want)
		case code != http.StatusOK && v.typeOK(typ):
			e.t.Errorf("%s: %s?_summary=count: status %d", v.name, typ, code)
		}
		for i, p := range others {
			if i == 3 {
				break
			}
			theirs := e.tr.of(typ, p)
			if len(theirs) > 5 {
				theirs = theirs[:5]
			}
			if len(theirs) == 0 {
				continue
			}
			ids := make([]string, len(theirs))
			for j, r := range theirs {
				ids[j] = r.id
			}
			e.get(v, "/"+typ+"?_id="+strings.Join(ids, ","))
			for _, r := range theirs[:min(2, len(theirs))] {
				e.read(v, typ, r.id)
			}
		}
	}
	e.searches(v, others)
	e.bundles(v, others)
	e.writes(v, others)
}

// read checks that a read and a vread of a resource v may not see answer
// exactly as for a resource that does not exist (or 403 for a type v may
// not read at all).
func (e *leakEnv) read(v *viewer, typ, id string) {
	for _, suffix := range []string{"", "/_history/1"} {
		code, body := e.do(v, "GET", "/"+typ+"/"+id+suffix, nil)
		if code == http.StatusOK {
			e.check(v, "read "+typ+"/"+id+suffix, body)
			continue
		}
		if code == http.StatusForbidden && !v.typeOK(typ) {
			continue
		}
		nCode, nBody := e.do(v, "GET", "/"+typ+"/no-such-"+id+suffix, nil)
		if code != nCode || !bytes.Equal(bytes.ReplaceAll(nBody, []byte("no-such-"), nil), body) {
			e.leak(v, fmt.Sprintf("read %s/%s%s answers %d %s; a missing one %d %s", typ, id, suffix, code, body, nCode, nBody))
		}
	}
}

func (e *leakEnv) searches(v *viewer, others []string) {
	for i, p := range others {
		if i == 3 {
			break
		}
		for _, target := range []string{
			"/Observation?patient=" + p,
			"/Observation?subject=Patient/" + p + "&_include=Observation:subject",
			"/Patient/" + p + "/Observation",
			"/Patient/" + p + "/$everything",
			"/Patient?_id=" + p + "&_revinclude=Encounter:subject&_revinclude=Observation:subject",
			"/Encounter?subject:Patient.family=" + url.QueryEscape(e.tr.family[p]),
			"/Observation?subject:Patient._id=" + p,
			"/Patient/" + p + "/_history",
			"/?_id=" + p,
		} {
			e.get(v, target)
		}
		// Reverse chains through data v may not see must match nothing:
		// otherwise they tell which practitioner treated the patient, or
		// which organization manages them.
		for _, target := range []string{
			"/Practitioner?_has:Encounter:practitioner:patient=" + p,
			"/Organization?_has:Patient:organization:_id=" + p,
			"/Location?_has:Encounter:location:subject:Patient._id=" + p,
		} {
			if code, res := e.get(v, target); code == http.StatusOK && len(res) > 0 {
				e.leak(v, fmt.Sprintf("GET %s found %d resources through another patient's data", target, len(res)))
			}
		}
	}
	for _, target := range []string{
		"/Patient?_has:Observation:patient:status=final",
		"/Practitioner?_has:Encounter:practitioner:status=finished&_count=100",
		"/Organization?_has:Patient:organization:gender=female,male",
		"/Encounter?_include=*&_count=100",
		"/Observation?_include=Observation:subject&_include=Observation:encounter&_count=100",
		"/Patient?_revinclude=*&_count=100",
		"/Patient?_revinclude=Condition:subject&_count=100",
		"/Condition?_include:iterate=*&_include=Condition:encounter&_count=100",
		"/Observation/_history",
		"/_history",
		"/?_type=Patient,Observation,Practitioner&_count=100",
		"/Patient?_summary=count&_has:Observation:patient:status=final",
	} {
		e.get(v, target)
	}
}

func bundle(kind string, urls []string) []byte {
	var entries []any
	for _, u := range urls {
		entries = append(entries, map[string]any{"request": map[string]any{"method": "GET", "url": u}})
	}
	return fhir.Marshal(map[string]any{"resourceType": "Bundle", "type": kind, "entry": entries})
}

func (e *leakEnv) bundles(v *viewer, others []string) {
	var urls []string
	for i, p := range others {
		if i == 3 {
			break
		}
		urls = append(urls, "Patient/"+p, "Observation?patient="+p, "Patient/"+p+"/$everything")
		for _, r := range e.tr.of("Encounter", p)[:min(2, len(e.tr.of("Encounter", p)))] {
			urls = append(urls, "Encounter/"+r.id)
		}
	}
	for _, kind := range []string{"batch", "transaction"} {
		code, body := e.do(v, "POST", "", bundle(kind, urls))
		if code == http.StatusOK {
			e.check(v, kind+" of GETs", body)
		}
	}
}

// writes tries conditional writes whose criteria match others' data: they
// must not change it.
func (e *leakEnv) writes(v *viewer, others []string) {
	for i, p := range others {
		if i == 2 {
			break
		}
		obs := e.tr.of("Observation", p)
		if len(obs) == 0 {
			continue
		}
		target := obs[0]
		before := e.version(target.typ, target.id)
		body := fhir.Marshal(map[string]any{"resourceType": "Observation", "status": "final",
			"code": map[string]any{"text": "overwritten"}, "subject": map[string]any{"reference": "Patient/" + p}})
		code, _ := e.do(v, "PUT", "/Observation?_id="+target.id, body)
		if code == http.StatusOK || code == http.StatusCreated {
			e.leak(v, fmt.Sprintf("conditional update matching Observation/%s of another patient: status %d", target.id, code))
		}
		e.do(v, "DELETE", "/Observation?_id="+target.id, nil)
		e.do(v, "DELETE", "/Observation/"+target.id, nil)
		if after := e.version(target.typ, target.id); after != before {
			e.leak(v, fmt.Sprintf("Observation/%s of another patient changed from version %d to %d", target.id, before, after))
		}
	}
}

// version is the current version, as an operator reads it (0: gone).
func (e *leakEnv) version(typ, id string) int64 {
	rec, err := e.a.Repo.Read(opCtx(), typ, id)
	if err != nil {
		return 0
	}
	return rec.Version
}

// mustSee: v reads target and gets it; search returns something.
func (e *leakEnv) mustSee(v *viewer, read, search string) {
	if code, res := e.get(v, "/"+read); code != http.StatusOK || len(res) != 1 {
		e.t.Errorf("%s: GET %s: status %d, want the resource", v.name, read, code)
	}
	if code, res := e.get(v, "/"+search); code != http.StatusOK || len(res) == 0 {
		e.t.Errorf("%s: GET %s: status %d, %d resources, want some", v.name, search, code, len(res))
	}
}

// frontDesk: a role without clinical scopes is refused clinical types
// (403), and sees its organization's patients but nothing restricted.
func (e *leakEnv) frontDesk(v *viewer) {
	for _, typ := range []string{"Observation", "Condition", "MedicationRequest"} {
		if code, _ := e.get(v, "/"+typ); code != http.StatusForbidden {
			e.leak(v, fmt.Sprintf("GET %s: status %d, want 403", typ, code))
		}
	}
	code, body := e.do(v, "GET", "/Patient?_summary=count", nil)
	if want := e.expected(v, "Patient"); code != http.StatusOK || total(body) != want {
		e.t.Errorf("%s: Patient count: status %d, total %d, want %d", v.name, code, total(body), want)
	}
	e.get(v, "/Patient?_count=100")
	e.get(v, "/Encounter?_count=100")
	// Includes and $everything leave out the types the role may not read.
	own := e.tr.inOrg(orgY)[0]
	for _, target := range []string{"/Patient?_id=" + own + "&_revinclude=Observation:subject", "/Patient/" + own + "/$everything"} {
		code, res := e.get(v, target)
		if code != http.StatusOK || len(res) == 0 {
			e.t.Errorf("%s: GET %s: status %d, %d resources", v.name, target, code, len(res))
		}
		for _, r := range res {
			if r.typ == "Observation" || r.typ == "Condition" {
				e.leak(v, fmt.Sprintf("GET %s returned %s/%s, a type the role may not read", target, r.typ, r.id))
			}
		}
	}
}

// breakGlassAudited: the reads under the grant name it in their entries.
func (e *leakEnv) breakGlassAudited(pb string) {
	page, err := e.a.Store.AuditRange(opCtx(), store.AuditQuery{Patient: pb, Interactions: []string{"read"}})
	if err != nil {
		e.t.Fatal(err)
	}
	found := false
	for _, row := range page.Rows {
		en, err := row.Entry()
		if err != nil {
			e.t.Fatal(err)
		}
		if en.Agent.BreakGlassPatient == pb && en.Agent.BreakGlassReason != "" && en.Outcome == 0 {
			found = true
		}
	}
	if !found {
		e.t.Errorf("no audited read of Patient/%s names the break-the-glass grant", pb)
	}
}

// auditTrail reads the audit trail as v: every entry v gets must be one v
// may read (about v's patients and no other, or by v's organization's
// staff), v must get some, and staff who are not admins get 403.
func (e *leakEnv) auditTrail(v *viewer) {
	code, body := e.do(v, "GET", "/AuditEvent?_count=1000", nil)
	admin := slices.Contains(v.p.Roles, "admin")
	if v.staff && !admin {
		if code != http.StatusForbidden {
			e.leak(v, fmt.Sprintf("GET /AuditEvent: status %d, want 403", code))
		}
		return
	}
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &b) != nil || len(b.Entry) == 0 {
		e.t.Errorf("%s: GET /AuditEvent: status %d, %d entries, want some", v.name, code, len(b.Entry))
		return
	}
	for _, en := range b.Entry {
		r := describe(en.Resource)
		if admin {
			// The agent's role names the organization acted for.
			if !bytes.Contains(en.Resource, []byte(`"text":"organization `+v.p.Organization+`"`)) {
				e.leak(v, fmt.Sprintf("GET /AuditEvent returned entry %s, not by a member of %s", r.id, v.p.Organization))
			}
			continue
		}
		if len(r.pats) == 0 {
			e.leak(v, fmt.Sprintf("GET /AuditEvent returned entry %s, about no patient", r.id))
		}
		for _, p := range r.pats {
			if !v.allowed[p] {
				e.leak(v, fmt.Sprintf("GET /AuditEvent returned entry %s about patient %s", r.id, p))
			}
		}
	}
}
