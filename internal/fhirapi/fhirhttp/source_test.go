package fhirhttp_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/openchart/openchart/internal/store"
)

// TestAuditRecordsClientAddress: a request whose actor carries no address
// of its own is audited from the client's address.
func TestAuditRecordsClientAddress(t *testing.T) {
	e := newEnv(t)
	req := httptest.NewRequest("GET", base+"/Patient/nobody", nil)
	req.RemoteAddr = "192.0.2.7:51234"
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != 404 {
		t.Fatalf("status %d, want 404", rec.Code)
	}
	page, err := e.st.AuditRange(context.Background(), store.AuditQuery{Interactions: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Rows) == 0 {
		t.Fatal("no audit entry for the read")
	}
	entry, err := page.Rows[len(page.Rows)-1].Entry()
	if err != nil {
		t.Fatal(err)
	}
	if entry.Agent.Source != "192.0.2.7" || entry.Agent.Kind != "operator" {
		t.Errorf("agent = %+v, want the operator from 192.0.2.7", entry.Agent)
	}
}
