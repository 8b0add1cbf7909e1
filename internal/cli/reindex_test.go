package cli

import (
	"strings"
	"testing"
)

// TestReindex runs `openchart reindex` on an embedded data directory: all
// types, one type, and the usage errors.
func TestReindex(t *testing.T) {
	data := t.TempDir()
	if code, stdout, stderr := run(t, "import", "--data", data, "testdata/bundle.json", "testdata/good.ndjson"); code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr := run(t, "reindex", "--data", data, "--batch", "2")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"Reindexed 6 resources in ", "Patient                      3", "Practitioner                 1"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "reindex finished: resources 6/6") {
		t.Errorf("no final progress line in stderr:\n%s", stderr)
	}

	code, stdout, stderr = run(t, "reindex", "--data", data, "--type", "Patient,Condition")
	if code != 0 || !strings.Contains(stdout, "Reindexed 4 resources") || strings.Contains(stdout, "Practitioner") {
		t.Errorf("--type Patient,Condition: exit %d\n%s\n%s", code, stdout, stderr)
	}

	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown type", []string{"--type", "Nope"}, 2, `"Nope" is not a FHIR R4 resource type`},
		{"bad batch", []string{"--batch", "0"}, 2, "--batch must be positive"},
		{"bad cursor", []string{"--after", "xyz"}, 1, "invalid scan cursor"},
		{"arguments", []string{"extra"}, 2, "unexpected arguments"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := run(t, append([]string{"reindex", "--data", data}, c.args...)...)
			if code != c.code || !strings.Contains(stdout+stderr, c.want) {
				t.Errorf("exit %d (want %d), output lacks %q?\n%s%s", code, c.code, c.want, stdout, stderr)
			}
		})
	}
}
