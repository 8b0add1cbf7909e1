package search

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/openchart/openchart/internal/store"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestDateRange(t *testing.T) {
	tests := []struct {
		name, in  string
		low, high string
		wantErr   bool
	}{
		{name: "year", in: "2013", low: "2013-01-01T00:00:00Z", high: "2013-12-31T23:59:59.999999Z"},
		{name: "month", in: "2013-02", low: "2013-02-01T00:00:00Z", high: "2013-02-28T23:59:59.999999Z"},
		{name: "leap month", in: "2024-02", low: "2024-02-01T00:00:00Z", high: "2024-02-29T23:59:59.999999Z"},
		{name: "day", in: "2013-01-14", low: "2013-01-14T00:00:00Z", high: "2013-01-14T23:59:59.999999Z"},
		{name: "minute without zone is UTC", in: "2013-01-14T10:00", low: "2013-01-14T10:00:00Z", high: "2013-01-14T10:00:59.999999Z"},
		{name: "minute with zone", in: "2013-01-14T10:00+05:00", low: "2013-01-14T05:00:00Z", high: "2013-01-14T05:00:59.999999Z"},
		{name: "second Z", in: "2013-01-14T10:00:00Z", low: "2013-01-14T10:00:00Z", high: "2013-01-14T10:00:00.999999Z"},
		{name: "second negative zone", in: "2013-01-14T23:30:00-05:00", low: "2013-01-15T04:30:00Z", high: "2013-01-15T04:30:00.999999Z"},
		{name: "plus decoded to space", in: "2013-01-14T10:00:00 01:00", low: "2013-01-14T09:00:00Z", high: "2013-01-14T09:00:00.999999Z"},
		{name: "milliseconds", in: "2013-01-14T10:00:00.123Z", low: "2013-01-14T10:00:00.123Z", high: "2013-01-14T10:00:00.123999Z"},
		{name: "one fraction digit", in: "2013-01-14T10:00:00.5Z", low: "2013-01-14T10:00:00.5Z", high: "2013-01-14T10:00:00.599999Z"},
		{name: "microseconds", in: "2013-01-14T10:00:00.123456Z", low: "2013-01-14T10:00:00.123456Z", high: "2013-01-14T10:00:00.123456Z"},
		{name: "nanoseconds truncate", in: "2013-01-14T10:00:00.123456789Z", low: "2013-01-14T10:00:00.123456Z", high: "2013-01-14T10:00:00.123456Z"},
		{name: "bad month", in: "2013-13", wantErr: true},
		{name: "bad day", in: "2013-02-30", wantErr: true},
		{name: "hour only", in: "2013-01-14T10", wantErr: true},
		{name: "two digit year", in: "13-01-14", wantErr: true},
		{name: "junk after", in: "2013-01-14x", wantErr: true},
		{name: "empty fraction", in: "2013-01-14T10:00:00.Z", wantErr: true},
		{name: "bad zone", in: "2013-01-14T10:00:00+5", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi, err := DateRange(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("DateRange(%q) = %v, %v; want an error", tc.in, lo, hi)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]time.Time{utc(tc.low), utc(tc.high)}, []time.Time{lo, hi}); diff != "" {
				t.Errorf("DateRange(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestNumberRange(t *testing.T) {
	tests := []struct {
		name, in         string
		value, low, high float64
		wantErr          bool
	}{
		{name: "integer", in: "100", value: 100, low: 99.5, high: 100.5},
		{name: "decimals", in: "100.00", value: 100, low: 99.995, high: 100.005},
		{name: "exponent one figure", in: "1e2", value: 100, low: 50, high: 150},
		{name: "exponent three figures", in: "1.00e2", value: 100, low: 99.5, high: 100.5},
		{name: "negative exponent", in: "5e-1", value: 0.5, low: 0.45, high: 0.55},
		{name: "negative", in: "-5.5", value: -5.5, low: -5.55, high: -5.45},
		{name: "zero", in: "0", value: 0, low: -0.5, high: 0.5},
		{name: "zero decimals", in: "0.0", value: 0, low: -0.05, high: 0.05},
		{name: "small", in: "0.001", value: 0.001, low: 0.0005, high: 0.0015},
		{name: "leading zeros", in: "007", value: 7, low: 6.5, high: 7.5},
		{name: "long mantissa", in: "123456789012345678901", value: 123456789012345678901, low: 123456789012345678900.5, high: 123456789012345678901.5},
		{name: "plus sign", in: "+3", value: 3, low: 2.5, high: 3.5},
		{name: "no digits", in: "-", wantErr: true},
		{name: "dot only", in: "1.", wantErr: true},
		{name: "leading dot", in: ".5", wantErr: true},
		{name: "letters", in: "abc", wantErr: true},
		{name: "empty exponent", in: "1e", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, lo, hi, err := NumberRange(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("NumberRange(%q) succeeded; want an error", tc.in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]float64{tc.value, tc.low, tc.high}, []float64{v, lo, hi}); diff != "" {
				t.Errorf("NumberRange(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestNormalizeString(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "peter", "peter"},
		{"case", "PeTer", "peter"},
		{"accents", "Zoë Müller-Lüdenscheidt", "zoe muller-ludenscheidt"},
		{"composed and decomposed agree", "Jose\u0301", "jose"},
		{"whitespace", "  van   der\tBerg \n", "van der berg"},
		{"letters without decomposition", "Søren Łukasz Straße", "soren lukasz strasse"},
		{"non-latin lower-cased", "ΑΘΗΝΑ", "αθηνα"},
		{"empty", "", ""},
		{"spaces only", "   ", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NormalizeString(tc.in); got != tc.want {
				t.Errorf("NormalizeString(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestEscapes(t *testing.T) {
	tests := []struct {
		name, in string
		sep      byte
		want     []string
	}{
		{"plain", "a,b,c", ',', []string{"a", "b", "c"}},
		{"escaped comma", `a\,b,c`, ',', []string{"a,b", "c"}},
		{"escaped backslash before comma", `a\\,b`, ',', []string{`a\`, "b"}},
		{"escaped pipe", `http://x\|y|code`, '|', []string{"http://x|y", "code"}},
		{"escaped dollar", `a\$b$c`, '$', []string{"a$b", "c"}},
		{"empty parts", ",", ',', []string{"", ""}},
		{"other escapes kept", `a\nb`, ',', []string{`a\nb`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, p := range splitEscaped(tc.in, tc.sep) {
				got = append(got, unescape(p))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("split %q (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestCutPrefix(t *testing.T) {
	tests := []struct {
		in   string
		op   store.Op
		rest string
	}{
		{"ge2013", store.OpGe, "2013"},
		{"lt-5", store.OpLt, "-5"},
		{"ap100", store.OpAp, "100"},
		{"sa2013-01", store.OpSa, "2013-01"},
		{"eb2013", store.OpEb, "2013"},
		{"ne1", store.OpNe, "1"},
		{"2013", store.OpEq, "2013"},
		{"gtx", store.OpEq, "gtx"},
		{"xx5", store.OpEq, "xx5"},
		{"ge", store.OpEq, "ge"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			op, rest := cutPrefix(tc.in)
			if op != tc.op || rest != tc.rest {
				t.Errorf("cutPrefix(%q) = %v, %q; want %v, %q", tc.in, op, rest, tc.op, tc.rest)
			}
		})
	}
}
