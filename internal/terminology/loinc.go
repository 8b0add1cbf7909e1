package terminology

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// LabTest is a LOINC code of the Top 2000+ US lab results list.
type LabTest struct {
	Concept          // Display is the Long Common Name
	ShortName string // LOINC SHORTNAME
	Class     string // LOINC CLASS (Chem, HEM/BC, UA, ...)
	Rank      int    // rank by frequency of use in the Top 2000 list (1 = most used)
	// Units are UCUM units known for the code from the unit conversion
	// table; empty for most codes (the Top 2000 list carries no units).
	Units []string
}

// Conversion is one row of the LOINC unit conversion table: a value of
// FromCode in FromUnit times Factor is the value of ToCode in ToUnit.
type Conversion struct {
	FromCode, FromUnit string
	ToCode, ToUnit     string
	Factor             float64
}

// Quantity is a converted result: the value, its unit, and the LOINC code
// that reports the analyte in that unit.
type Quantity struct {
	Value float64
	Unit  string
	Code  string
}

// ErrNoConversion is returned by Convert when the table has no factor for
// the code and units asked.
var ErrNoConversion = errors.New("no unit conversion known")

// LOINCCodes is the LOINC Top 2000+ US lab results subset (v1.6) with the
// conversion factors between its mass and molar units.
type LOINCCodes struct {
	tests       []LabTest // rank order
	byCode      map[string]int32
	conversions []Conversion
	ix          *wordIndex
}

var loinc = sync.OnceValues(loadLOINC)

// LOINC returns the embedded LOINC subset, loading it on first use.
func LOINC() *LOINCCodes { return must(loinc()) }

func loadLOINC() (*LOINCCodes, error) {
	f, err := data.Open("data/LOINC_1.6_Top2000CommonLabResultsUS.csv")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	l := &LOINCCodes{byCode: map[string]int32{}}
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("LOINC top 2000: %w", err)
		}
		if line == 1 {
			continue
		}
		if len(rec) != 5 {
			return nil, fmt.Errorf("LOINC top 2000 line %d: want 5 columns, have %d", line, len(rec))
		}
		rank, err := strconv.Atoi(rec[4])
		if err != nil {
			return nil, fmt.Errorf("LOINC top 2000 line %d: rank: %w", line, err)
		}
		if _, dup := l.byCode[rec[0]]; dup {
			continue
		}
		l.byCode[rec[0]] = int32(len(l.tests))
		l.tests = append(l.tests, LabTest{
			Concept:   Concept{System: SystemLOINC, Code: rec[0], Display: rec[1]},
			ShortName: rec[2], Class: rec[3], Rank: rank,
		})
	}
	err = readTSV("loinc_unit_conversion.tsv", func(_ int, cols []string) error {
		if len(cols) != 5 {
			return fmt.Errorf("want 5 columns, have %d", len(cols))
		}
		factor, err := strconv.ParseFloat(cols[4], 64)
		if err != nil || factor == 0 {
			return fmt.Errorf("factor %q", cols[4])
		}
		l.conversions = append(l.conversions, Conversion{cols[0], cols[1], cols[2], cols[3], factor})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(l.tests, func(i, j int) bool { return l.tests[i].Rank < l.tests[j].Rank })
	texts := make([]string, len(l.tests))
	for i := range l.tests {
		t := &l.tests[i]
		l.byCode[t.Code] = int32(i)
		texts[i] = t.Display + " " + t.ShortName
	}
	for _, c := range l.conversions {
		l.addUnit(c.FromCode, c.FromUnit)
		l.addUnit(c.ToCode, c.ToUnit)
	}
	l.ix = newWordIndex(texts)
	return l, nil
}

func (l *LOINCCodes) addUnit(code, unit string) {
	i, ok := l.byCode[code]
	if !ok {
		return
	}
	for _, u := range l.tests[i].Units {
		if u == unit {
			return
		}
	}
	l.tests[i].Units = append(l.tests[i].Units, unit)
}

// Len returns the number of distinct codes.
func (l *LOINCCodes) Len() int { return len(l.tests) }

// Lookup returns the lab test of a LOINC code ("2160-0").
func (l *LOINCCodes) Lookup(code string) (LabTest, bool) {
	i, ok := l.byCode[strings.TrimSpace(code)]
	if !ok {
		return LabTest{}, false
	}
	return l.tests[i], true
}

// Search returns up to limit lab tests: the exact code first, then tests
// whose long or short name has a word starting with every query word, the
// most used first.
func (l *LOINCCodes) Search(query string, limit int) []LabTest {
	if limit <= 0 {
		return nil
	}
	var out []LabTest
	exact := int32(-1)
	if i, ok := l.byCode[strings.TrimSpace(query)]; ok {
		exact = i
		out = append(out, l.tests[i])
	}
	for _, d := range l.ix.search(words(query), limit-len(out), func(d int32) bool { return d != exact }) {
		out = append(out, l.tests[d])
	}
	return out
}

// Conversions returns the conversion rows that involve code, on either side.
func (l *LOINCCodes) Conversions(code string) []Conversion {
	var out []Conversion
	for _, c := range l.conversions {
		if c.FromCode == code || c.ToCode == code {
			out = append(out, c)
		}
	}
	return out
}

// Convert converts a value of the LOINC code code from one UCUM unit to
// another, with the factors of the conversion table. LOINC codes a mass
// and a molar result as two codes (creatinine 2160-0 in mg/dL, 14682-9 in
// umol/L), so the result carries the code that reports the converted
// unit. Converting a unit to itself returns the value unchanged; a pair the
// table does not hold is ErrNoConversion.
func (l *LOINCCodes) Convert(code string, value float64, fromUnit, toUnit string) (Quantity, error) {
	if fromUnit == toUnit {
		return Quantity{Value: value, Unit: toUnit, Code: code}, nil
	}
	for _, c := range l.conversions {
		switch {
		case c.FromCode == code && c.FromUnit == fromUnit && c.ToUnit == toUnit:
			return Quantity{Value: value * c.Factor, Unit: toUnit, Code: c.ToCode}, nil
		case c.ToCode == code && c.ToUnit == fromUnit && c.FromUnit == toUnit:
			return Quantity{Value: value / c.Factor, Unit: toUnit, Code: c.FromCode}, nil
		}
	}
	return Quantity{}, fmt.Errorf("converting LOINC %s from %q to %q: %w", code, fromUnit, toUnit, ErrNoConversion)
}
