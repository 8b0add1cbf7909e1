package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/smart"
)

func TestPortalApps(t *testing.T) { onStores(t, testPortalApps) }

func testPortalApps(t *testing.T, o envOptions) {
	e := newEnv(t, o)
	e.patients()
	e.user("alice", auth.RolePhysician)
	doc := e.browser()
	doc.login("alice")
	p := portalActivate(t, e, "zoe.m", portalInvite(t, doc, "zoe", "zoe.m", ""), "1984-03-27")

	r := p.get("/portal/data")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "No app is connected to your record.")

	sm := e.doors.SMART
	c, _, err := sm.RegisterClient(operator(), smart.ClientSpec{Name: "Sugar Diary", Public: true,
		RedirectURIs: []string{"https://diary.example.org/back"}, Scopes: []string{"launch/patient", "offline_access", "patient/*.rs"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := sm.IssueToken(operator(), smart.TokenSpec{Username: "zoe.m", ClientID: c.ID,
		Scopes: []string{"launch/patient", "offline_access", "patient/Observation.rs"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sm.IssueToken(operator(), smart.TokenSpec{Username: "alice", ClientID: c.ID, Scopes: []string{"user/*.rs"}}); err != nil {
		t.Fatal(err)
	}
	fhirGet := func(token string) int {
		req, _ := http.NewRequest("GET", e.srv.URL+"/fhir/Observation?patient=zoe", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if st := fhirGet(tok); st != http.StatusOK {
		t.Fatalf("the app's token before disconnecting: %d", st)
	}

	r = p.get("/portal/data")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Sugar Diary", "Read, search Observation records of the selected patient",
		"Keep access when you are not using the app", "Disconnect Sugar Diary", "last signed in")
	zoe, err := e.auth.UserByName(operator(), "zoe.m")
	if err != nil {
		t.Fatal(err)
	}
	mine, err := sm.ListGrants(operator(), zoe.ID)
	if err != nil || len(mine) != 1 {
		t.Fatalf("zoe's grants: %v, %v", mine, err)
	}
	alice, _ := e.auth.UserByName(operator(), "alice")
	theirs, err := sm.ListGrants(operator(), alice.ID)
	if err != nil || len(theirs) != 1 {
		t.Fatalf("alice's grants: %v, %v", theirs, err)
	}
	if !strings.Contains(r.body, "/portal/data/apps/"+mine[0].ID+"/disconnect") || strings.Contains(r.body, theirs[0].ID) {
		t.Errorf("the page lists the wrong grants:\n%s", r.body)
	}

	// Another user's grant is not found, and stays.
	wantStatus(t, p.post("/portal/data/apps/"+theirs[0].ID+"/disconnect", url.Values{}), http.StatusNotFound)
	if gs, _ := sm.ListGrants(operator(), alice.ID); len(gs) != 1 {
		t.Errorf("alice's grant after zoe's attempt: %v", gs)
	}
	// Without the CSRF token: refused.
	wantStatus(t, p.post("/portal/data/apps/"+mine[0].ID+"/disconnect", url.Values{"csrf": {"forged"}}), http.StatusForbidden)
	if st := fhirGet(tok); st != http.StatusOK {
		t.Fatalf("the app's token after a forged request: %d", st)
	}

	r = p.post("/portal/data/apps/"+mine[0].ID+"/disconnect", url.Values{})
	wantStatus(t, r, http.StatusSeeOther)
	r = p.get("/portal/data")
	wantBody(t, r, "Sugar Diary is disconnected", "No app is connected to your record.")
	if st := fhirGet(tok); st != http.StatusUnauthorized {
		t.Errorf("the app's token after disconnecting: %d, want 401", st)
	}
	// Twice: gone.
	wantStatus(t, p.post("/portal/data/apps/"+mine[0].ID+"/disconnect", url.Values{}), http.StatusNotFound)
}
