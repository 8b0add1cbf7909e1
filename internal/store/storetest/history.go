package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openchart/openchart/internal/store"
)

type ver struct {
	Ref     string
	Version int64
	Method  store.Method
}

func versions(p *store.HistoryPage) []ver {
	var out []ver
	for _, r := range p.Records {
		out = append(out, ver{r.Type + "/" + r.ID, r.Version, r.Method})
	}
	return out
}

func testHistory(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustPut(t, s, write("Patient", "a", 1, store.Index{}))
	mustPut(t, s, write("Patient", "a", 2, store.Index{}))
	mustPut(t, s, deletion("Patient", "a", 3))
	mustPut(t, s, write("Patient", "b", 1, store.Index{}))
	mustPut(t, s, write("Observation", "c", 1, store.Index{}))
	a2, err := s.VRead(ctx, "Patient", "a", 2)
	if err != nil {
		t.Fatal(err)
	}
	c, u, d := store.MethodCreate, store.MethodUpdate, store.MethodDelete
	tests := []struct {
		name string
		q    store.HistoryQuery
		want []ver
	}{
		{"instance", store.HistoryQuery{Type: "Patient", ID: "a"}, []ver{{"Patient/a", 3, d}, {"Patient/a", 2, u}, {"Patient/a", 1, c}}},
		{"type", store.HistoryQuery{Type: "Patient"}, []ver{{"Patient/b", 1, c}, {"Patient/a", 3, d}, {"Patient/a", 2, u}, {"Patient/a", 1, c}}},
		{"system", store.HistoryQuery{}, []ver{{"Observation/c", 1, c}, {"Patient/b", 1, c}, {"Patient/a", 3, d}, {"Patient/a", 2, u}, {"Patient/a", 1, c}}},
		{"since", store.HistoryQuery{Type: "Patient", ID: "a", Since: a2.LastUpdated}, []ver{{"Patient/a", 3, d}, {"Patient/a", 2, u}}},
		{"at", store.HistoryQuery{At: a2.LastUpdated}, []ver{{"Patient/a", 2, u}, {"Patient/a", 1, c}}},
		{"missing resource", store.HistoryQuery{Type: "Patient", ID: "zz"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.History(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, versions(p)); d != "" {
				t.Errorf("history (-want +got):\n%s", d)
			}
			if p.Total != len(tc.want) || p.Next != "" {
				t.Errorf("Total, Next = %d, %q; want %d, \"\"", p.Total, p.Next, len(tc.want))
			}
		})
	}
	p, err := s.History(ctx, store.HistoryQuery{Type: "Patient", ID: "a", Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r := p.Records[0]; !r.Deleted || len(r.JSON) != 0 {
		t.Errorf("deletion in history = %+v, want a deletion marker", r)
	}
	if _, err := s.History(ctx, store.HistoryQuery{After: "not a cursor!"}); err == nil {
		t.Errorf("History accepted a bad cursor")
	}
}

// testHistoryPaging walks a listing page by page while new versions are
// written: the cursor continues where it stopped, nothing repeats or is
// skipped, and the total stays the count pinned by At.
func testHistoryPaging(t *testing.T, s store.Store) {
	ctx := context.Background()
	var ws []store.Write
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 23 {
		w := write("Patient", fmt.Sprintf("p%02d", i%5), int64(i/5+1), store.Index{})
		// Several versions share a timestamp: the cursor must still order them.
		w.LastUpdated = base.Add(time.Duration(i/3) * time.Second)
		ws = append(ws, w)
	}
	mustPut(t, s, ws...)
	full, err := s.History(ctx, store.HistoryQuery{Count: 100})
	if err != nil || len(full.Records) != 23 || full.Total != 23 {
		t.Fatalf("full listing: %d records, total %d, %v", len(full.Records), full.Total, err)
	}
	at := full.Records[0].LastUpdated
	var got []ver
	q := store.HistoryQuery{Count: 5, At: at}
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		p, err := s.History(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 23 {
			t.Errorf("page %d: Total = %d, want 23", pages, p.Total)
		}
		got = append(got, versions(p)...)
		if p.Next == "" {
			break
		}
		q.After = p.Next
		// A write after the listing began must not appear in it.
		mustPut(t, s, write("Observation", fmt.Sprintf("new%d", pages), 1, store.Index{}))
	}
	if d := cmp.Diff(versions(full), got); d != "" {
		t.Errorf("paged listing differs from the full one (-want +got):\n%s", d)
	}
	for i := 1; i < len(full.Records); i++ {
		if full.Records[i].LastUpdated.After(full.Records[i-1].LastUpdated) {
			t.Errorf("history not newest first at %d", i)
		}
	}
	// Since bounds the listing from below.
	p, err := s.History(ctx, store.HistoryQuery{Type: "Patient", Since: base.Add(6 * time.Second)})
	if err != nil || p.Total != 5 {
		t.Errorf("since: total %d, %v; want 5", p.Total, err)
	}
}
