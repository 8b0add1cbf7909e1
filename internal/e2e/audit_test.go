package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/cli"
	"github.com/openchart/openchart/internal/store/sqlite"
)

// attacker runs SQL on a store's database directly, as someone with access
// to the database (not to OpenChart) would: it first switches off the
// triggers that refuse changes to the audit tables.
type attacker struct {
	t     *testing.T
	exec  func(q string, args ...any)
	query func(q string, args ...any) []byte
}

func newAttacker(t *testing.T, cfg app.Config) *attacker {
	ctx := context.Background()
	if cfg.DB == "" {
		db, err := sql.Open("sqlite", filepath.Join(cfg.DataDir, sqlite.AuditFileName))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		at := &attacker{t: t,
			exec: func(q string, args ...any) {
				if _, err := db.ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			},
			query: func(q string, args ...any) (b []byte) {
				if err := db.QueryRowContext(ctx, q, args...).Scan(&b); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				return b
			}}
		// The database itself refuses changes until the triggers are gone.
		if _, err := db.ExecContext(ctx, "DELETE FROM audit_log WHERE seq = 1"); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("deleting an entry: err = %v, want the append-only refusal", err)
		}
		for _, tr := range []string{"audit_log_no_update", "audit_log_no_delete", "audit_patient_no_update", "audit_patient_no_delete",
			"audit_org_no_update", "audit_org_no_delete"} {
			at.exec("DROP TRIGGER " + tr)
		}
		return at
	}
	conn, err := pgx.Connect(ctx, cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	at := &attacker{t: t,
		exec: func(q string, args ...any) {
			if _, err := conn.Exec(ctx, pgPlaceholders(q), args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		},
		query: func(q string, args ...any) (b []byte) {
			if err := conn.QueryRow(ctx, pgPlaceholders(q), args...).Scan(&b); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return b
		}}
	if _, err := conn.Exec(ctx, "UPDATE audit_log SET outcome = 0 WHERE seq = 1"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("updating an entry: err = %v, want the append-only refusal", err)
	}
	if _, err := conn.Exec(ctx, "TRUNCATE audit_log"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("truncating the trail: err = %v, want the append-only refusal", err)
	}
	at.exec("ALTER TABLE audit_log DISABLE TRIGGER USER")
	at.exec("ALTER TABLE audit_patient DISABLE TRIGGER USER")
	at.exec("ALTER TABLE audit_org DISABLE TRIGGER USER")
	return at
}

// pgPlaceholders turns SQLite's ?1 into PostgreSQL's $1.
func pgPlaceholders(q string) string { return strings.ReplaceAll(q, "?", "$") }

// verifyCmd runs "openchart audit verify" on the store and returns its exit
// status and output.
func verifyCmd(t *testing.T, cfg app.Config) (int, string) {
	args := []string{"audit", "verify"}
	if cfg.DB != "" {
		args = append(args, "--db", cfg.DB)
	} else {
		args = append(args, "--data", cfg.DataDir)
	}
	var out, errOut bytes.Buffer
	code := cli.Main(args, &out, &errOut)
	return code, out.String() + errOut.String()
}

// someInteractions performs reads, searches and writes through the API,
// and returns the number of entries in the chain afterwards.
func someInteractions(t *testing.T, a *app.App, c client) int64 {
	for i := 0; i < 3; i++ {
		id := fmt.Sprintf("tp%d", i)
		if r := c.do("PUT", "Patient/"+id, patient(id, "Tamper", i)); r.status >= 300 {
			t.Fatalf("PUT: %d %s", r.status, r.raw)
		}
		c.do("GET", "Patient/"+id, nil)
	}
	c.do("GET", "Patient?family=Tamper", nil)
	c.do("GET", "Patient/nope", nil)
	h, err := a.Store.AuditHead(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h.Seq
}

// TestAuditTampering: modifying, deleting or reordering audit rows directly
// in the database makes "openchart audit verify" fail naming that entry;
// an untouched chain verifies (issue 4's acceptance test).
func TestAuditTampering(t *testing.T) {
	const k = 4
	tests := []struct {
		name   string
		tamper func(at *attacker, last int64)
		want   func(last int64) int64
	}{
		{"entry field", func(at *attacker, _ int64) {
			// The entry's own bytes: the agent's name.
			data := at.query("SELECT entry FROM audit_log WHERE seq = ?1", k)
			data = bytes.Replace(data, []byte("agent-kind operator"), []byte("agent-kind anonymous"), 1)
			at.exec("UPDATE audit_log SET entry = ?1 WHERE seq = ?2", data, k)
		}, func(int64) int64 { return k }},
		{"column", func(at *attacker, _ int64) {
			at.exec("UPDATE audit_log SET outcome = 0, username = 'someone' WHERE seq = ?1", k)
		}, func(int64) int64 { return k }},
		{"patient row", func(at *attacker, _ int64) {
			at.exec("DELETE FROM audit_patient WHERE seq = ?1", k)
		}, func(int64) int64 { return k }},
		{"organization row", func(at *attacker, _ int64) {
			// The entries are an operator's, of no organization: a row
			// that puts one in another organization's report.
			at.exec("INSERT INTO audit_org (seq, organization) VALUES (?1, 'Organization/elsewhere')", k)
		}, func(int64) int64 { return k }},
		{"delete", func(at *attacker, _ int64) {
			at.exec("DELETE FROM audit_patient WHERE seq = ?1", k)
			at.exec("DELETE FROM audit_log WHERE seq = ?1", k)
		}, func(int64) int64 { return k }},
		{"reorder", func(at *attacker, _ int64) {
			at.exec("UPDATE audit_log SET seq = -1 WHERE seq = ?1", k)
			at.exec("UPDATE audit_log SET seq = ?1 WHERE seq = ?2", k, k+1)
			at.exec("UPDATE audit_log SET seq = ?1 WHERE seq = -1", k+1)
		}, func(int64) int64 { return k }},
		{"last modified", func(at *attacker, last int64) {
			at.exec("UPDATE audit_log SET interaction = 'vread' WHERE seq = ?1", last)
		}, func(last int64) int64 { return last }},
		{"last rewritten and rehashed", func(at *attacker, last int64) {
			data := at.query("SELECT entry FROM audit_log WHERE seq = ?1", last)
			prev := at.query("SELECT prev_hash FROM audit_log WHERE seq = ?1", last)
			data = bytes.Replace(data, []byte("entity Patient nope"), []byte("entity Patient tp0"), 1)
			at.exec("UPDATE audit_log SET entry = ?1, hash = ?2 WHERE seq = ?3", data, audit.Hash(prev, data), last)
		}, func(last int64) int64 { return last }},
		{"last deleted", func(at *attacker, last int64) {
			at.exec("DELETE FROM audit_patient WHERE seq = ?1", last)
			at.exec("DELETE FROM audit_log WHERE seq = ?1", last)
		}, func(last int64) int64 { return last }},
	}
	for name, cfgFn := range stores(t) {
		t.Run(name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					cfg := cfgFn(t)
					a := openApp(t, cfg)
					ts := serve(t, a)
					last := someInteractions(t, a, client{t: t, base: ts.URL})
					if last < k+2 {
						t.Fatalf("only %d entries", last)
					}
					code, out := verifyCmd(t, cfg)
					if code != 0 || !strings.Contains(out, fmt.Sprintf("audit chain verified: %d entries", last)) {
						t.Fatalf("untouched chain: exit %d, %s", code, out)
					}
					tc.tamper(newAttacker(t, cfg), last)
					want := tc.want(last)
					code, out = verifyCmd(t, cfg)
					if code != 1 || !strings.Contains(out, fmt.Sprintf("audit chain broken at entry %d:", want)) {
						t.Errorf("after tampering: exit %d, %q; want exit 1 naming entry %d", code, out, want)
					}
					t.Logf("%s", strings.TrimSpace(out))
				})
			}
		})
	}
}

// TestAuditConcurrentWriters: concurrent writers and readers through the
// API leave an unbroken chain with one entry per write and per read.
func TestAuditConcurrentWriters(t *testing.T) {
	for name, cfgFn := range stores(t) {
		t.Run(name, func(t *testing.T) {
			cfg := cfgFn(t)
			a := openApp(t, cfg)
			ts := serve(t, a)
			const writers, each = 8, 20
			before, err := a.Store.AuditHead(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					c := client{t: t, base: ts.URL}
					for i := 0; i < each; i++ {
						id := fmt.Sprintf("cw%d", w)
						if r := c.do("PUT", "Patient/"+id, patient(id, fmt.Sprintf("Writer%d", i), i)); r.status >= 300 {
							t.Errorf("PUT %s: %d %s", id, r.status, r.raw)
						}
						if r := c.do("GET", "Patient/"+id, nil); r.status != 200 {
							t.Errorf("GET %s: %d %s", id, r.status, r.raw)
						}
					}
				}(w)
			}
			wg.Wait()
			v, err := audit.Verify(context.Background(), a.Store)
			if err != nil {
				t.Fatal(err)
			}
			if v.Broken != nil || v.Entries != before.Seq+2*writers*each {
				t.Fatalf("verify: %d entries, broken %v; want %d", v.Entries, v.Broken, before.Seq+2*writers*each)
			}
			if code, out := verifyCmd(t, cfg); code != 0 {
				t.Fatalf("audit verify: exit %d, %s", code, out)
			}
		})
	}
}

// auditSummary is what a test checks of an AuditEvent.
type auditSummary struct {
	id, interaction, action, outcome string
	what                             []string // entity.what references (or displays)
	query                            string   // the decoded entity.query
}

func auditEvents(t *testing.T, c client, query string) []auditSummary {
	t.Helper()
	r := c.do("GET", "AuditEvent?"+query, nil)
	if r.status != 200 {
		t.Fatalf("AuditEvent?%s: %d %s", query, r.status, r.raw)
	}
	var out []auditSummary
	entries, _ := r.body["entry"].([]any)
	for _, e := range entries {
		res, _ := e.(map[string]any)["resource"].(map[string]any)
		s := auditSummary{id: fmt.Sprint(res["id"]), action: fmt.Sprint(res["action"]), outcome: fmt.Sprint(res["outcome"])}
		if sub, _ := res["subtype"].([]any); len(sub) > 0 {
			s.interaction = fmt.Sprint(sub[0].(map[string]any)["code"])
		}
		ents, _ := res["entity"].([]any)
		for _, x := range ents {
			ent := x.(map[string]any)
			if w, ok := ent["what"].(map[string]any); ok {
				if ref, ok := w["reference"]; ok {
					s.what = append(s.what, fmt.Sprint(ref))
				} else {
					s.what = append(s.what, fmt.Sprint(w["display"]))
				}
			}
			if q, ok := ent["query"].(string); ok {
				raw, _ := base64.StdEncoding.DecodeString(q)
				s.query = string(raw)
			}
		}
		out = append(out, s)
	}
	return out
}

func findEvent(evs []auditSummary, interaction, outcome string, what string) *auditSummary {
	for i := range evs {
		e := &evs[i]
		if e.interaction == interaction && e.outcome == outcome && slices.Contains(e.what, what) {
			return e
		}
	}
	return nil
}

// TestAuditEntries: a read, a search, a write, a failed write and a read of
// a missing resource each leave the entry they should, and the trail is
// searchable as AuditEvent by patient, date, interaction and outcome.
func TestAuditEntries(t *testing.T) {
	for name, cfgFn := range stores(t) {
		t.Run(name, func(t *testing.T) {
			cfg := cfgFn(t)
			a := openApp(t, cfg)
			ts := serve(t, a)
			c := client{t: t, base: ts.URL}
			start := time.Now().UTC()
			for _, id := range []string{"ae1", "ae2"} {
				if r := c.do("PUT", "Patient/"+id, patient(id, "Audit", 1)); r.status != 201 {
					t.Fatalf("PUT: %d %s", r.status, r.raw)
				}
			}
			obs := map[string]any{"resourceType": "Observation", "status": "final",
				"code":    map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "8310-5"}}},
				"subject": map[string]any{"reference": "Patient/ae1"}}
			r := c.do("POST", "Observation", obs)
			if r.status != 201 {
				t.Fatalf("POST: %d %s", r.status, r.raw)
			}
			obsRef := "Observation/" + fmt.Sprint(r.body["id"])
			c.do("GET", "Patient/ae1", nil)
			c.do("GET", "Observation?subject=Patient/ae1&code=http://loinc.org|8310-5", nil)
			bad := patient("ae2", "Audit", 1)
			bad["gender"] = "mal"
			if r := c.do("PUT", "Patient/ae2", bad); r.status < 400 {
				t.Fatalf("invalid PUT: %d", r.status)
			}
			if r := c.do("GET", "Patient/missing", nil); r.status != 404 {
				t.Fatalf("missing: %d", r.status)
			}

			// By patient: the writes, the read and the search of ae1.
			evs := auditEvents(t, c, "patient=ae1&_count=100")
			for _, want := range []struct{ interaction, what string }{
				{"update", "Patient/ae1/_history/1"},
				{"create", obsRef + "/_history/1"},
				{"read", "Patient/ae1/_history/1"},
				{"search", obsRef + "/_history/1"},
			} {
				if findEvent(evs, want.interaction, "0", want.what) == nil {
					t.Errorf("no successful %s of %s for patient ae1 in %+v", want.interaction, want.what, evs)
				}
			}
			if s := findEvent(evs, "search", "0", "Patient/ae1"); s == nil || !strings.Contains(s.query, "subject=Patient%2Fae1") {
				t.Errorf("search entry without its patient or query: %+v", s)
			}
			for _, e := range evs {
				if slices.Contains(e.what, "Patient/ae2") {
					t.Errorf("patient=ae1 returned an entry of ae2: %+v", e)
				}
			}
			// Failures: the invalid update (4) and the missing read (4).
			fails := auditEvents(t, c, "outcome=4&_count=100")
			if findEvent(fails, "update", "4", "Patient/ae2") == nil {
				t.Errorf("no failed update of Patient/ae2 in %+v", fails)
			}
			if findEvent(fails, "read", "4", "Patient/missing") == nil {
				t.Errorf("no failed read of Patient/missing in %+v", fails)
			}
			// By date: everything since start, nothing of ours before it;
			// newest first with _sort=-date.
			since := auditEvents(t, c, "date=ge"+start.Format(time.RFC3339Nano)+"&_count=100&_sort=-date")
			before := auditEvents(t, c, "date=lt"+start.Format(time.RFC3339Nano))
			if len(since) < 8 || len(before) > 1 {
				t.Errorf("since start %d entries, before %d", len(since), len(before))
			}
			if len(since) > 1 && since[0].id <= since[len(since)-1].id && len(since[0].id) == len(since[len(since)-1].id) {
				t.Errorf("_sort=-date: first %s, last %s", since[0].id, since[len(since)-1].id)
			}
			// One entry by id; the trail cannot be changed through the API.
			if r := c.do("GET", "AuditEvent/audit-2", nil); r.status != 200 || r.body["resourceType"] != "AuditEvent" {
				t.Errorf("GET AuditEvent/audit-2: %d %s", r.status, r.raw)
			}
			if r := c.do("GET", "AuditEvent/audit-99999", nil); r.status != 404 {
				t.Errorf("GET a missing entry: %d", r.status)
			}
			for _, m := range []string{"PUT", "DELETE", "PATCH"} {
				if r := c.do(m, "AuditEvent/audit-2", map[string]any{"resourceType": "AuditEvent", "id": "audit-2"}); r.status != 405 || r.body["resourceType"] != "OperationOutcome" {
					t.Errorf("%s AuditEvent/audit-2: %d %s", m, r.status, r.raw)
				}
			}
			tx := map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{map[string]any{
				"resource": map[string]any{"resourceType": "AuditEvent", "id": "audit-3"},
				"request":  map[string]any{"method": "PUT", "url": "AuditEvent/audit-3"}}}}
			if r := c.do("POST", "", tx); r.status < 400 {
				t.Errorf("a transaction writing AuditEvent/audit-3: %d %s", r.status, r.raw)
			}
			if r := c.do("GET", "AuditEvent?colour=blue", nil); r.status != 400 {
				t.Errorf("unknown audit search parameter: %d", r.status)
			}
			if code, out := verifyCmd(t, cfg); code != 0 {
				t.Fatalf("audit verify: exit %d, %s", code, out)
			}
		})
	}
}
