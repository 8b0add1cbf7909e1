package terminology

import (
	"math/bits"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// fold lowers s and removes diacritics ("Ménière" -> "meniere"), so that
// queries and displays compare accent- and case-insensitively.
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// words splits folded text into its words: runs of letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(fold(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// wordIndex is an inverted index from the words of documents to the
// documents, for queries in which every word must be the prefix of some
// word of a document. Documents are numbered by the caller in rank order,
// so the first matches found in document order are the best ones.
type wordIndex struct {
	words    []string  // distinct words, sorted
	postings [][]int32 // per word, the documents holding it, ascending
	docs     [][]int32 // per document, its distinct word numbers
}

func newWordIndex(texts []string) *wordIndex {
	toks := make([][]string, len(texts))
	for i, t := range texts {
		toks[i] = words(t)
	}
	return newTokenIndex(toks)
}

// newTokenIndex builds the index from documents already split into words.
func newTokenIndex(toks [][]string) *wordIndex {
	ids := map[string]int32{}
	var vocab []string
	docWords := make([][]int32, len(toks))
	for d, ws := range toks {
		doc := make([]int32, 0, len(ws))
	word:
		for _, w := range ws {
			id, ok := ids[w]
			if !ok {
				id = int32(len(vocab))
				ids[w] = id
				vocab = append(vocab, w)
			}
			for _, seen := range doc {
				if seen == id {
					continue word
				}
			}
			doc = append(doc, id)
		}
		docWords[d] = doc
	}
	// Renumber words in sorted order so that a prefix is a range of numbers.
	order := make([]int32, len(vocab))
	for i := range order {
		order[i] = int32(i)
	}
	sort.Slice(order, func(i, j int) bool { return vocab[order[i]] < vocab[order[j]] })
	renum := make([]int32, len(vocab))
	ix := &wordIndex{words: make([]string, len(vocab)), postings: make([][]int32, len(vocab)), docs: docWords}
	for newID, oldID := range order {
		renum[oldID] = int32(newID)
		ix.words[newID] = vocab[oldID]
	}
	for d, ws := range docWords {
		for i, w := range ws {
			ws[i] = renum[w]
			ix.postings[ws[i]] = append(ix.postings[ws[i]], int32(d))
		}
	}
	return ix
}

// prefixRange returns the numbers [lo, hi) of the words starting with p.
func (ix *wordIndex) prefixRange(p string) (int32, int32) {
	lo := sort.SearchStrings(ix.words, p)
	hi := lo
	for hi < len(ix.words) && strings.HasPrefix(ix.words[hi], p) {
		hi++
	}
	return int32(lo), int32(hi)
}

// span is the range of word numbers a query word is the prefix of.
type span struct{ lo, hi int32 }

// search returns, in document order, up to limit documents in which every
// query word is the prefix of a word; keep, when not nil, filters them.
func (ix *wordIndex) search(query []string, limit int, keep func(int32) bool) []int32 {
	if len(query) == 0 || limit <= 0 {
		return nil
	}
	spans := make([]span, len(query))
	best, bestCost := -1, 0
	for i, q := range query {
		lo, hi := ix.prefixRange(q)
		if lo == hi {
			return nil
		}
		spans[i] = span{lo, hi}
		cost := 0
		for w := lo; w < hi; w++ {
			cost += len(ix.postings[w])
		}
		if best < 0 || cost < bestCost {
			best, bestCost = i, cost
		}
	}
	// A query word as common as "a" matches a large share of the documents:
	// walking the documents in rank order finds the first limit sooner than
	// marking all of its postings.
	if bestCost > len(ix.docs)/8 {
		var out []int32
		for d := range ix.docs {
			if ix.matchesAll(int32(d), spans, -1) && (keep == nil || keep(int32(d))) {
				out = append(out, int32(d))
				if len(out) == limit {
					break
				}
			}
		}
		return out
	}
	// Candidates: the documents of the most selective query word, marked in
	// a bitmap so that they are visited in document (rank) order.
	marks := make([]uint64, (len(ix.docs)+63)/64)
	for w := spans[best].lo; w < spans[best].hi; w++ {
		for _, d := range ix.postings[w] {
			marks[d>>6] |= 1 << (uint(d) & 63)
		}
	}
	var out []int32
	for i, word := range marks {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &= word - 1
			d := int32(i*64 + b)
			if !ix.matchesAll(d, spans, best) || (keep != nil && !keep(d)) {
				continue
			}
			out = append(out, d)
			if len(out) == limit {
				return out
			}
		}
	}
	return out
}

func (ix *wordIndex) matchesAll(d int32, spans []span, skip int) bool {
	for i, s := range spans {
		if i == skip {
			continue
		}
		found := false
		for _, w := range ix.docs[d] {
			if w >= s.lo && w < s.hi {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
