package safety

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// TestEmbeddedKnowledge checks every row of the embedded files: Default
// loads them strictly (columns, severities, sources, defined classes), and
// every ingredient they name is one the RxNorm catalogue knows, so that no
// row is dead.
func TestEmbeddedKnowledge(t *testing.T) {
	k := Default()
	if unknown := k.Unknown(); len(unknown) != 0 {
		t.Errorf("ingredients unknown to the RxNorm catalogue: %v", unknown)
	}
	if n := len(k.Classes()); n < 15 {
		t.Errorf("%d classes, want the starter set's 20", n)
	}
	if n := len(k.Interactions()); n < 15 {
		t.Errorf("%d interactions, want the starter set's 16", n)
	}
	for _, c := range k.Classes() {
		for _, m := range c.Members {
			if _, ok := k.rx.Ingredient(m); !ok {
				t.Errorf("class %s: member %q unknown", c.ID, m)
			}
		}
	}
	// Every row carries a source: the loader refuses rows without one, and
	// this counts the rows the files hold against what was loaded.
	sub, _ := fs.Sub(embedded, "knowledge")
	rows := func(name string) int {
		b, err := fs.ReadFile(sub, name)
		if err != nil {
			t.Fatal(err)
		}
		return len(strings.Split(strings.TrimSpace(string(b)), "\n")) - 1
	}
	if got, want := len(k.Interactions()), rows(FileInteractions); got != want {
		t.Errorf("loaded %d interactions of %d rows", got, want)
	}
	members := 0
	for _, c := range k.Classes() {
		members += len(c.Members)
	}
	if want := rows(FileMembers); members != want {
		t.Errorf("loaded %d members of %d rows", members, want)
	}
}

// embeddedFiles returns a fresh, modifiable copy of the embedded set.
func embeddedFiles(t testing.TB) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	for _, name := range []string{FileClasses, FileMembers, FileInteractions, FileCrossReactivity, FileAllergens} {
		b, err := embedded.ReadFile("knowledge/" + name)
		if err != nil {
			t.Fatal(err)
		}
		m[name] = &fstest.MapFile{Data: b}
	}
	return m
}

func TestLoadReplacement(t *testing.T) {
	files := embeddedFiles(t)
	// An operator's table with one more interaction: azithromycin + warfarin.
	files[FileInteractions].Data = append(files[FileInteractions].Data,
		[]byte("azithromycin\twarfarin\tmoderate\tMay raise INR.\tLocal formulary committee\n")...)
	dir := t.TempDir()
	for name, f := range files {
		if err := os.WriteFile(filepath.Join(dir, name), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	k, err := Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	got := k.Check(context.Background(), azithromycin, Context{ActiveMeds: []Drug{warfarin5}})
	if len(got) != 1 || got[0].Source != "Local formulary committee" || got[0].Severity != Moderate {
		t.Fatalf("replacement table: got %+v", got)
	}
	if got := Default().Check(context.Background(), azithromycin, Context{ActiveMeds: []Drug{warfarin5}}); len(got) != 0 {
		t.Errorf("the default set changed: %+v", got)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, file, add, want string
	}{
		{"bad severity", FileInteractions, "warfarin\taspirin\tsevere\tBleeding.\tLabel\n", "severity"},
		{"no source", FileInteractions, "warfarin\taspirin\tmajor\tBleeding.\t\n", "source is required"},
		{"unknown class", FileInteractions, "class:nope\taspirin\tmajor\tBleeding.\tLabel\n", `unknown class "nope"`},
		{"missing column", FileMembers, "statins\tcerivastatin\n", "want 3 tab-separated columns"},
		{"member of no class", FileMembers, "antifungals\tfluconazole\tLabel\n", `unknown class "antifungals"`},
		{"class twice", FileClasses, "statins\tStatins\tyes\tyes\tLabel\t\n", "defined twice"},
		{"bad yes/no", FileClasses, "azoles\tAzoles\tmaybe\tyes\tLabel\t\n", "want yes or no"},
		{"allergen twice", FileAllergens, "text\tPCN\tclass:penicillins\tLocal\n", "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := embeddedFiles(t)
			files[tt.file].Data = append(files[tt.file].Data, []byte(tt.add)...)
			_, err := Load(files)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.file+":") {
				t.Fatalf("got %v, want an error at a line of %s containing %q", err, tt.file, tt.want)
			}
		})
	}
	files := embeddedFiles(t)
	delete(files, FileAllergens)
	if _, err := Load(files); err == nil {
		t.Error("a missing file loaded")
	}
}

// FuzzLoad feeds arbitrary interaction files to the loader: it must
// return a table or an error, never panic, and a loaded table must check.
func FuzzLoad(f *testing.F) {
	f.Add("warfarin\taspirin\tmajor\tBleeding.\tLabel\n")
	f.Add("class:nsaids\tclass:nsaids\tminor\tx\ty\n")
	f.Add("\t\t\t\t\n")
	f.Add("a\tb\n#comment\n\n")
	base := embeddedFiles(f)
	f.Fuzz(func(t *testing.T, extra string) {
		files := fstest.MapFS{}
		for name, file := range base {
			files[name] = &fstest.MapFile{Data: file.Data}
		}
		files[FileInteractions] = &fstest.MapFile{Data: append(append([]byte(nil), base[FileInteractions].Data...), extra...)}
		k, err := Load(files)
		if err != nil {
			return
		}
		k.Check(context.Background(), warfarin5, Context{ActiveMeds: []Drug{ibuprofen200}, Allergies: []Allergy{{Text: extra}}})
	})
}
