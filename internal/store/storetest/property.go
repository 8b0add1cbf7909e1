package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"pgregory.net/rapid"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// testVersionProperties checks, over random sequences of creates, updates
// and deletes on a few resources, that Read returns the last write,
// versions are 1..n, History lists them newest first with their methods and
// VRead returns every version as written.
func testVersionProperties(t *testing.T, s store.Store) {
	ctx := context.Background()
	var round atomic.Int64
	rapid.Check(t, func(rt *rapid.T) {
		typ := fmt.Sprintf("Prop%d", round.Add(1)) // a fresh namespace per run
		written := map[string][]store.Write{}
		ids := []string{"a", "b", "c"}
		steps := rapid.IntRange(1, 12).Draw(rt, "steps")
		for range steps {
			id := rapid.SampledFrom(ids).Draw(rt, "id")
			action := rapid.SampledFrom([]string{"write", "delete", "twice"}).Draw(rt, "action")
			hist := written[id]
			live := len(hist) > 0 && !hist[len(hist)-1].Deleted
			next := int64(len(hist) + 1)
			mk := func(v int64, method store.Method) store.Write {
				payload := rapid.StringMatching(`[a-z0-9 ]{0,20}`).Draw(rt, "payload")
				w := store.Write{Record: store.Record{Type: typ, ID: id, Version: v, Method: method,
					JSON: fmt.Appendf(nil, `{"resourceType":%q,"id":%q,"v":%d,"p":%q}`, typ, id, v, payload)}}
				w.Index.Tokens = []store.Token{{Param: "p", Code: payload}}
				return w
			}
			method := store.MethodUpdate
			if !live {
				method = store.MethodCreate
			}
			var ws []store.Write
			switch {
			case action == "delete" && live:
				ws = []store.Write{{Record: store.Record{Type: typ, ID: id, Version: next, Method: store.MethodDelete, Deleted: true}}}
			case action == "twice":
				ws = []store.Write{mk(next, method), mk(next+1, store.MethodUpdate)}
			default:
				ws = []store.Write{mk(next, method)}
			}
			if err := put(ctx, s, ws...); err != nil {
				rt.Fatalf("put %s/%s: %v", typ, id, err)
			}
			written[id] = append(hist, ws...)
			last := ws[len(ws)-1]
			got, err := s.Read(ctx, typ, id)
			if last.Deleted {
				if errs.KindOf(err) != errs.Gone || got == nil || got.Version != last.Version {
					rt.Fatalf("Read after delete = %+v, %v", got, err)
				}
			} else if err != nil || got.Version != last.Version || string(got.JSON) != string(last.JSON) {
				rt.Fatalf("Read = %+v, %v; want version %d", got, err, last.Version)
			}
		}
		for id, hist := range written {
			p, err := s.History(ctx, store.HistoryQuery{Type: typ, ID: id, Count: 100})
			if err != nil {
				rt.Fatal(err)
			}
			if p.Total != len(hist) || len(p.Records) != len(hist) {
				rt.Fatalf("%s: history has %d (total %d), want %d", id, len(p.Records), p.Total, len(hist))
			}
			for i, r := range p.Records {
				w := hist[len(hist)-1-i]
				if r.Version != w.Version || r.Method != w.Method || r.Deleted != w.Deleted || string(r.JSON) != string(w.JSON) {
					rt.Fatalf("%s: history[%d] = v%d %v, want v%d %v", id, i, r.Version, r.Method, w.Version, w.Method)
				}
				if i > 0 && r.LastUpdated.After(p.Records[i-1].LastUpdated) {
					rt.Fatalf("%s: history not newest first", id)
				}
			}
			for _, w := range hist {
				got, err := s.VRead(ctx, typ, id, w.Version)
				if w.Deleted != (errs.KindOf(err) == errs.Gone) || got == nil || string(got.JSON) != string(w.JSON) {
					rt.Fatalf("VRead %s v%d = %+v, %v", id, w.Version, got, err)
				}
			}
		}
	})
}
