package terminology

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// ICD10CMCodes is the ICD-10-CM FY2026 code set in tabular order: 74,719
// billable codes and the 23,467 headers above them.
type ICD10CMCodes struct {
	concepts []Concept        // in rank order: billable first, then fewer words, then tabular order
	byCode   map[string]int32 // undotted code -> concept
	codes    []string         // undotted codes, sorted, for prefix search
	codeIDs  []int32          // concept of codes[i]
	ix       *wordIndex
}

var icd10cm = sync.OnceValues(loadICD10CM)

// ICD10CM returns the embedded ICD-10-CM code set, loading and indexing it
// on first use (about a quarter of a second).
func ICD10CM() *ICD10CMCodes { return must(icd10cm()) }

func loadICD10CM() (*ICD10CMCodes, error) {
	type row struct {
		c     Concept
		order int
		words []string
	}
	var rows []row
	err := readTSV("icd10cm_order_2026.tsv.gz", func(_ int, cols []string) error {
		if len(cols) != 6 {
			return fmt.Errorf("want 6 columns, have %d", len(cols))
		}
		rows = append(rows, row{
			c:     Concept{System: SystemICD10CM, Code: cols[2], Display: cols[5], Billable: cols[3] == "1"},
			order: len(rows),
			words: words(cols[5]),
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(rows, func(a, b row) int {
		if a.c.Billable != b.c.Billable {
			if a.c.Billable {
				return -1
			}
			return 1
		}
		if len(a.words) != len(b.words) {
			return len(a.words) - len(b.words)
		}
		return a.order - b.order
	})
	s := &ICD10CMCodes{concepts: make([]Concept, len(rows)), byCode: make(map[string]int32, len(rows))}
	toks := make([][]string, len(rows))
	for i, r := range rows {
		s.concepts[i] = r.c
		s.byCode[undot(r.c.Code)] = int32(i)
		toks[i] = r.words
	}
	s.codes = make([]string, 0, len(rows))
	for c := range s.byCode {
		s.codes = append(s.codes, c)
	}
	sort.Strings(s.codes)
	s.codeIDs = make([]int32, len(s.codes))
	for i, c := range s.codes {
		s.codeIDs[i] = s.byCode[c]
	}
	s.ix = newTokenIndex(toks)
	return s, nil
}

// undot normalizes a code as typed: upper case, without dots or spaces.
func undot(code string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' || r == ' ' {
			return -1
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, strings.TrimSpace(code))
}

// Len returns the number of codes, billable and headers.
func (s *ICD10CMCodes) Len() int { return len(s.concepts) }

// Lookup returns the concept of code, given with or without its dot and in
// any case ("E11.9", "e119").
func (s *ICD10CMCodes) Lookup(code string) (Concept, bool) {
	i, ok := s.byCode[undot(code)]
	if !ok {
		return Concept{}, false
	}
	return s.concepts[i], true
}

var icdCodeLike = regexp.MustCompile(`^[A-Z][0-9][0-9A-Z]{0,5}$`)

// Search returns up to limit concepts for what a user typed: codes that
// start with the query when it looks like a code (the exact code first,
// then billable codes), then concepts whose display has, for every word of
// the query, a word starting with it ("diab typ 2" finds "Type 2 diabetes
// mellitus ..."), billable first and shorter displays first.
func (s *ICD10CMCodes) Search(query string, limit int) []Concept {
	if limit <= 0 {
		return nil
	}
	var out []Concept
	taken := map[int32]bool{}
	if cq := undot(query); icdCodeLike.MatchString(cq) {
		for _, id := range s.codePrefix(cq, limit) {
			taken[id] = true
			out = append(out, s.concepts[id])
		}
	}
	if len(out) < limit {
		keep := func(d int32) bool { return !taken[d] }
		for _, id := range s.ix.search(words(query), limit-len(out), keep) {
			out = append(out, s.concepts[id])
		}
	}
	return out
}

// codePrefix returns the codes starting with p: p itself, then billable
// codes in code order, then headers.
func (s *ICD10CMCodes) codePrefix(p string, limit int) []int32 {
	lo := sort.SearchStrings(s.codes, p)
	hi := lo
	for hi < len(s.codes) && strings.HasPrefix(s.codes[hi], p) {
		hi++
	}
	var out []int32
	if lo < hi && s.codes[lo] == p {
		out = append(out, s.codeIDs[lo])
		lo++
	}
	for _, billable := range []bool{true, false} {
		for i := lo; i < hi && len(out) < limit; i++ {
			if id := s.codeIDs[i]; s.concepts[id].Billable == billable {
				out = append(out, id)
			}
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}
