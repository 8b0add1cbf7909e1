package terminology

import (
	"bufio"
	"compress/gzip"
	"embed"
	"fmt"
	"io"
	"strings"
)

// data holds the embedded source files, as their publishers or the
// project's data notes give them (see docs/KNOWLEDGE.md for each one).
//
//go:embed data
var data embed.FS

// LOINCNotice is the notice the LOINC licence requires to accompany any
// LOINC content; the full licence text is LOINCLicense.
const LOINCNotice = "This material contains content from LOINC (http://loinc.org). " +
	"LOINC is copyright \u00a9 1995-2025, Regenstrief Institute, Inc. and the Logical Observation " +
	"Identifiers Names and Codes (LOINC) Committee and is available at no cost under the license at " +
	"http://loinc.org/license. LOINC\u00ae is a registered United States trademark of Regenstrief Institute, Inc."

// LOINCLicense returns the full text of the LOINC licence (version 5.5)
// that ships with the embedded LOINC subset.
func LOINCLicense() string {
	b, err := data.ReadFile("data/LoincLicense_5.5.txt")
	if err != nil {
		panic(fmt.Sprintf("terminology: embedded LOINC licence missing: %v", err))
	}
	return string(b)
}

// readTSV calls row for each line after the header of an embedded
// tab-separated file (gzipped when its name ends in .gz), with the line's
// number for messages.
func readTSV(name string, row func(line int, cols []string) error) error {
	f, err := data.Open("data/" + name)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(name, ".gz") {
		z, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		defer z.Close()
		r = z
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		if line == 1 || sc.Text() == "" {
			continue
		}
		if err := row(line, strings.Split(sc.Text(), "\t")); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// must turns a load error of embedded data into a panic: the files are
// part of the binary, so an error is a build defect the tests catch.
func must[T any](v T, err error) T {
	if err != nil {
		panic("terminology: " + err.Error())
	}
	return v
}
