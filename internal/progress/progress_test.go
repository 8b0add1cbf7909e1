package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestLines(t *testing.T) {
	cases := []struct {
		name, job, parts string
		snap             Snapshot
		want             string
	}{
		{"import", "import", "files", Snapshot{Parts: 2, PartsDone: 2, Items: 6, Rate: 12, Elapsed: 500 * time.Millisecond, Final: true},
			"import finished: files 2/2, resources 6, 12 resources/s, elapsed 0:01\n"},
		{"reindex", "reindex", "", Snapshot{Total: 40, Done: 10, Items: 10, Rate: 5, Elapsed: 2 * time.Second, ETA: 6 * time.Second, Note: "after 17"},
			"reindex progress: resources 10/40, 5 resources/s, elapsed 0:02, ETA 0:06, after 17\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			Lines(&b, c.job, c.parts, time.Hour)(c.snap)
			if b.String() != c.want {
				t.Errorf("got %q, want %q", b.String(), c.want)
			}
		})
	}
}

// TestTracker checks the counts, the ETA and that Finish sends one final
// snapshot.
func TestTracker(t *testing.T) {
	var got []Snapshot
	tr := Start(func(s Snapshot) { got = append(got, s) }, 0, 4)
	tr.Advance(1)
	tr.AddItems(1)
	tr.SetNote("after 3")
	if s := tr.Snapshot(false); s.ETA <= 0 || s.Done != 1 || s.Note != "after 3" {
		t.Errorf("snapshot %+v: want Done 1, an ETA and the note", s)
	}
	tr.Finish()
	last := got[len(got)-1]
	if !last.Final || last.Items != 1 || last.Fraction() != 1 || last.ETA != 0 {
		t.Errorf("final snapshot %+v", last)
	}
	var b bytes.Buffer
	Terminal(&b, "")(last)
	if !strings.Contains(b.String(), "100%  resources 1") {
		t.Errorf("terminal line %q", b.String())
	}
}
