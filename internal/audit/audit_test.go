package audit_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/fhir/defs"
	"github.com/openchart/openchart/internal/fhir/validate"
)

func sample() *audit.Entry {
	return &audit.Entry{
		Recorded:    time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC),
		Action:      audit.Read,
		Interaction: audit.InteractionSearch,
		Outcome:     audit.Success,
		Agent: audit.AgentOf(&access.Principal{Kind: access.User, UserID: "u1", Username: "dr alice",
			FHIRUser: "Practitioner/p1", ClientID: "app 1", Organization: "org1", Roles: []string{"physician"},
			BreakGlass: []access.BreakGlass{{Patient: "pat2", Reason: "unconscious\npatient"}}, Source: "10.0.0.1"}),
		Entities: []audit.Entity{{Type: "Observation"}, {Type: "Observation", ID: "o1", Version: 3}},
		Patients: []string{"pat1", "pat2"},
		Query:    []audit.Param{{"code", "http://loinc.org|1234-5"}, {"name", "Smith, John & co %"}},
	}
}

func TestCanonicalRoundTrip(t *testing.T) {
	tests := map[string]*audit.Entry{
		"full":    sample(),
		"minimal": {Recorded: time.Unix(0, 0).UTC(), Action: audit.Create, Interaction: "create", Agent: audit.AgentOf(nil)},
		"failure": {Recorded: time.Unix(1e9, 0).UTC(), Action: audit.Update, Interaction: "update", Outcome: audit.MinorFailure,
			OutcomeDesc: "Patient failed validation: Patient.gender: 'mal' is not in the value set", Agent: audit.Agent{Kind: "operator", Roles: []string{""}}},
	}
	for name, e := range tests {
		t.Run(name, func(t *testing.T) {
			data, hash := audit.Seal(e, 42, audit.Genesis)
			if len(hash) != audit.HashSize || e.Seq != 42 {
				t.Fatalf("seal: hash %x, seq %d", hash, e.Seq)
			}
			for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
				if strings.ContainsAny(line, "\r\t") {
					t.Errorf("unescaped control byte in %q", line)
				}
			}
			got, err := audit.Decode(data)
			if err != nil {
				t.Fatalf("decode %q: %v", data, err)
			}
			if d := cmp.Diff(e, got); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
		})
	}
}

// TestCanonicalGolden pins the format docs/AUDIT.md describes: a change
// here breaks every chain already written.
func TestCanonicalGolden(t *testing.T) {
	e := &audit.Entry{Recorded: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), Action: audit.Read, Interaction: "read",
		Agent: audit.Agent{Kind: "user", Username: "a b", Source: "::1"}, Entities: []audit.Entity{{Type: "Patient", ID: "p1", Version: 2}},
		Patients: []string{"p1"}}
	data, hash := audit.Seal(e, 1, audit.Genesis)
	want := "openchart-audit 1\nseq 1\nrecorded 2026-01-02T03:04:05.000006Z\naction R\ninteraction read\noutcome 0\n" +
		"agent-kind user\nusername a%20b\nsource ::1\nentity Patient p1 2\npatient p1\n"
	if string(data) != want {
		t.Errorf("canonical bytes:\n%s\nwant:\n%s", data, want)
	}
	if got := audit.Hash(audit.Genesis, []byte(want)); string(got) != string(hash) {
		t.Errorf("hash differs")
	}
}

func TestDecodeRejectsNonCanonical(t *testing.T) {
	good := string(audit.Encode(sample()))
	for name, s := range map[string]string{
		"header":        strings.Replace(good, "openchart-audit 1", "openchart-audit 2", 1),
		"order":         strings.Replace(good, "seq 0\nrecorded", "recorded", 1) + "seq 0\n",
		"lower escape":  strings.Replace(good, "%20", "%2f", 1),
		"needless":      strings.Replace(good, "action R", "action %52", 1),
		"unknown field": good + "colour blue\n",
		"no newline":    strings.TrimSuffix(good, "\n"),
	} {
		if _, err := audit.Decode([]byte(s)); err == nil {
			t.Errorf("%s: decoded %q", name, s)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(audit.Encode(sample()))
	f.Add([]byte("openchart-audit 1\nseq 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := audit.Decode(data)
		if err != nil {
			return
		}
		if got := audit.Encode(e); string(got) != string(data) {
			t.Fatalf("Decode accepted non-canonical bytes %q (re-encoded %q)", data, got)
		}
	})
}

func TestAuditEventValid(t *testing.T) {
	v := validate.New(defs.Default(), validate.Options{})
	cases := map[string]*audit.Entry{"search": sample()}
	for _, in := range []string{"read", "create", "update", "delete", "history", "login", "login-failed", "logout", "export", "permission-change", "break-glass"} {
		e := sample()
		e.Interaction, e.Action, e.Query = in, audit.ActionOf(in), nil
		cases[in] = e
	}
	anon := &audit.Entry{Seq: 9, Recorded: time.Now().UTC(), Action: audit.Read, Interaction: "read", Outcome: audit.MinorFailure,
		OutcomeDesc: "not found", Agent: audit.AgentOf(nil), Entities: []audit.Entity{{Type: "Patient", ID: "x"}}}
	cases["anonymous"] = anon
	cases["client"] = &audit.Entry{Seq: 3, Recorded: time.Now().UTC(), Action: audit.Execute, Interaction: "export",
		Agent: audit.AgentOf(&access.Principal{Kind: access.Client, ClientID: "backend"})}
	account := sample()
	account.Interaction, account.Action, account.Query = "permission-change", audit.Update, nil
	account.Entities = []audit.Entity{{Type: audit.UserEntity, ID: "0190e1c2-0000-7000-8000-000000000001"}}
	cases["permission-change of an account"] = account
	for name, e := range cases {
		if e.Seq == 0 {
			e.Seq = 7
		}
		ev := e.AuditEvent("OpenChart")
		for _, is := range v.Validate(ev) {
			if is.Severity == "error" || is.Severity == "fatal" {
				t.Errorf("%s: %s %v: %s", name, is.Code, is.Expression, is.Diagnostics)
			}
		}
	}
	// An account is named by identifier, never as a reference to a
	// resource type that does not exist.
	ents, _ := account.AuditEvent("OpenChart")["entity"].([]any)
	found := false
	for _, en := range ents {
		what, _ := en.(map[string]any)["what"].(map[string]any)
		if ident, ok := what["identifier"].(map[string]any); ok && ident["value"] == account.Entities[0].ID && what["reference"] == nil {
			found = true
		}
	}
	if !found {
		t.Errorf("the account is not named by identifier: %v", ents)
	}
	if id := audit.ID(12); id != "audit-12" {
		t.Errorf("ID = %q", id)
	}
	for id, want := range map[string]int64{"audit-12": 12, "audit-012": 0, "audit-0": 0, "x-1": 0, "audit-": 0} {
		if n, ok := audit.ParseID(id); !ok && want != 0 || ok && n != want {
			t.Errorf("ParseID(%q) = %d, want %d", id, n, want)
		}
	}
}

// memory is an in-memory audit.Source.
type memory struct {
	rows []*audit.Row
	head audit.Head
}

func (m *memory) append(e *audit.Entry) {
	prev := audit.Genesis
	if n := len(m.rows); n > 0 {
		prev = m.rows[n-1].Hash
	}
	data, hash := audit.Seal(e, int64(len(m.rows)+1), prev)
	m.rows = append(m.rows, &audit.Row{Seq: e.Seq, Prev: prev, Hash: hash, Data: data, Columns: e.Columns()})
	m.head = audit.Head{Seq: e.Seq, Hash: hash}
}

func (m *memory) AuditScan(_ context.Context, after int64, limit int) ([]*audit.Row, error) {
	var out []*audit.Row
	for _, r := range m.rows {
		if r.Seq > after && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memory) AuditHead(context.Context) (audit.Head, error) { return m.head, nil }

// newChain is a chain of n sample entries a second apart, naming patient
// when it is not "".
func newChain(n int, patient string) *memory {
	m := &memory{head: audit.Head{Hash: audit.Genesis}}
	for i := 0; i < n; i++ {
		e := sample()
		if patient != "" {
			e.Patients = []string{patient}
		}
		e.Recorded = e.Recorded.Add(time.Duration(i) * time.Second)
		m.append(e)
	}
	return m
}

// verifyAt verifies src and fails t unless the first broken entry is want
// (0: the chain verifies).
func verifyAt(t *testing.T, src audit.Source, want int64) *audit.Verification {
	t.Helper()
	v, err := audit.Verify(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	var got int64
	if v.Broken != nil {
		got = v.Broken.Seq
	}
	if got != want {
		t.Errorf("broken at %d (%v), want %d", got, v.Broken, want)
	}
	return v
}

func TestVerify(t *testing.T) {
	build := func() *memory { return newChain(5, "") }
	tests := []struct {
		name   string
		tamper func(m *memory)
		want   int64 // 0: verifies
	}{
		{"untouched", func(*memory) {}, 0},
		{"data modified", func(m *memory) { m.rows[2].Data = []byte(strings.Replace(string(m.rows[2].Data), "pat1", "pat9", 1)) }, 3},
		{"column modified", func(m *memory) { m.rows[1].Outcome = 4 }, 2},
		{"deleted", func(m *memory) { m.rows = append(m.rows[:2], m.rows[3:]...) }, 3},
		{"reordered", func(m *memory) { m.rows[1].Seq, m.rows[2].Seq = 3, 2; m.rows[1], m.rows[2] = m.rows[2], m.rows[1] }, 2},
		{"last deleted", func(m *memory) { m.rows = m.rows[:4] }, 5},
		{"last rehashed", func(m *memory) {
			r := m.rows[4]
			r.Data = []byte(strings.Replace(string(r.Data), "pat1", "pat9", 1))
			r.Hash = audit.Hash(r.Prev, r.Data)
		}, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := build()
			tc.tamper(m)
			v := verifyAt(t, m, tc.want)
			if tc.want == 0 && v.Entries != 5 {
				t.Errorf("verified %d entries, want 5", v.Entries)
			}
		})
	}
}

// anchored is a memory source that also keeps an anchor.
type anchored struct {
	*memory
	anchor audit.Head
}

func (a *anchored) AuditAnchor(context.Context) (audit.Head, error) { return a.anchor, nil }

// TestVerifyAnchor: a chain that agrees with its own head but not with the
// anchor (its file was replaced by a shorter or another chain) fails at the
// first entry the anchor proves missing or different.
func TestVerifyAnchor(t *testing.T) {
	chain := newChain
	seen := chain(5, "pat1")
	anchor := audit.Head{Seq: 4, Hash: seen.rows[3].Hash}
	tests := []struct {
		name string
		src  *memory
		want int64 // 0: verifies
	}{
		{"the chain the anchor saw, grown", seen, 0},
		{"an older copy", chain(2, "pat1"), 3},
		{"emptied", chain(0, "pat1"), 1},
		{"another chain", chain(6, "pat2"), 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			verifyAt(t, &anchored{tc.src, anchor}, tc.want)
		})
	}
}
