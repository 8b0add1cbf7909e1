package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// TestBenchFlags: bad bench flags are usage errors, refused before any
// load is sent.
func TestBenchFlags(t *testing.T) {
	for _, args := range [][]string{
		{"soak", "--fraction", "1.5"},
		{"soak", "--fraction", "0"},
		{"soak", "--rate", "-3"},
		{"soak", "--duration", "0s"},
		{"soak", "--peak-clients", "0"},
		{"soak", "extra"},
		{"run", "--pprof-url", "127.0.0.1:6060"},
		{"run", "--profile", "/tmp/x", "--profile-seconds", "0"},
		{"run", "extra"},
		{"nosuch"},
	} {
		var out, errOut bytes.Buffer
		err := benchCmd(context.Background(), args, &out, &errOut)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("bench %v: %v, want a usage error", args, err)
		}
	}
	var out bytes.Buffer
	if err := benchCmd(context.Background(), []string{"--help"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"bench soak", "--profile DIR", "--pprof-url", "scripts/bench.sh"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("bench --help lacks %q:\n%s", want, out.String())
		}
	}
}
