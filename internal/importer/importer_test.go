package importer_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/app"
	"github.com/openchart/openchart/internal/importer"
	"github.com/openchart/openchart/internal/store/pgtest"
)

// TestNDJSONBatches imports an NDJSON file of more lines than one batch
// holds, with a bad line and a resource listed twice, on both stores: the
// later line of the resource listed twice wins, a second import of the same
// file changes nothing, and a changed line makes a new version.
func TestNDJSONBatches(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) {
			ctx := access.With(context.Background(), &access.Principal{Kind: access.Operator})
			cfg := app.Config{BaseURL: "http://import.test/fhir", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			if pg {
				cfg.DB = pgtest.URL(t)
			} else {
				cfg.DataDir = t.TempDir()
			}
			a, err := app.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			im, err := importer.New(importer.Config{Bundles: a.API, Repo: a.Repo, BatchSize: 50, BatchBytes: 3000})
			if err != nil {
				t.Fatal(err)
			}
			const n = 120
			lines := func(family string) []byte {
				var b bytes.Buffer
				b.WriteString(`{"resourceType":"Patient","id":"dup","name":[{"family":"First"}]}` + "\n")
				for i := 0; i < n; i++ {
					fmt.Fprintf(&b, `{"resourceType":"Patient","id":"nd%d","gender":"female","name":[{"family":"%s%d"}]}`+"\n", i, family, i)
					if i == 70 {
						b.WriteString(`{"resourceType":"Patient","id":"bad","gender":"sometimes"}` + "\n")
					}
				}
				b.WriteString(`{"resourceType":"Patient","id":"dup","name":[{"family":"Last"}]}` + "\n")
				return b.Bytes()
			}
			path := filepath.Join(t.TempDir(), "Patient.ndjson")
			if err := os.WriteFile(path, lines("Family"), 0o600); err != nil {
				t.Fatal(err)
			}
			sum, err := im.Run(ctx, []string{path})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Resources != n+2 || sum.Failed != 1 || !strings.Contains(strings.Join(sum.Files[0].Errors, "\n"), "line 73") {
				t.Fatalf("first import: %d loaded, %d failed, errors %q; want %d loaded and line 73 failed", sum.Resources, sum.Failed, sum.Files[0].Errors, n+2)
			}
			dup, err := a.Repo.Read(ctx, "Patient", "dup")
			if err != nil || dup.Version != 2 || !bytes.Contains(dup.JSON, []byte("Last")) {
				t.Fatalf("Patient/dup, listed twice: %s, %v; want version 2 from the later line", dup.JSON, err)
			}
			if sum, err = im.Run(ctx, []string{path}); err != nil || sum.Resources != n+2 {
				t.Fatalf("second import: %+v, %v", sum, err)
			}
			for i := range n {
				rec, err := a.Repo.Read(ctx, "Patient", fmt.Sprintf("nd%d", i))
				if err != nil || rec.Version != 1 {
					t.Fatalf("Patient/nd%d after importing the same file twice: %+v, %v; want version 1", i, rec, err)
				}
			}
			if err := os.WriteFile(path, lines("Changed"), 0o600); err != nil {
				t.Fatal(err)
			}
			if sum, err = im.Run(ctx, []string{path}); err != nil || sum.Resources != n+2 {
				t.Fatalf("third import: %+v, %v", sum, err)
			}
			rec, err := a.Repo.Read(ctx, "Patient", "nd119")
			if err != nil || rec.Version != 2 || !bytes.Contains(rec.JSON, []byte("Changed119")) {
				t.Fatalf("Patient/nd119 after a changed import: %+v, %v; want version 2 with the new name", rec, err)
			}
			if _, err := a.Repo.Read(ctx, "Patient", "bad"); err == nil {
				t.Fatal("the invalid line was stored")
			}
		})
	}
}
