package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NormalizeString folds s for string matching
// (https://hl7.org/fhir/R4/search.html#string: "case- and accent-
// insensitive"): lower case, accents removed (NFD decomposition with the
// combining marks dropped), a few letters without a decomposition folded to
// their base letter (ø→o, ł→l, ß→ss, æ→ae, œ→oe, đ→d), and runs of white
// space collapsed to one space with none at either end. The index and the
// query side both use it, so the stored String.Norm and a search value
// compare directly.
func NormalizeString(s string) string {
	if isPlainASCII(s) {
		return s // already folded: the common case costs no allocation
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		s = norm.NFD.String(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.Is(unicode.Mn, r):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if fold, ok := letterFolds[r]; ok {
			b.WriteString(fold)
			continue
		}
		if r < utf8.RuneSelf {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteByte(byte(r))
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// isPlainASCII reports whether s is ASCII without upper-case letters,
// control characters or white space other than single inner spaces, so
// that NormalizeString(s) == s.
func isPlainASCII(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return s == ""
	}
	prevSpace := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= utf8.RuneSelf, c < ' ', c == 0x7f, 'A' <= c && c <= 'Z':
			return false
		case c == ' ':
			if prevSpace {
				return false
			}
			prevSpace = true
		default:
			prevSpace = false
		}
	}
	return true
}

// letterFolds covers Latin letters that NFD does not decompose.
var letterFolds = map[rune]string{
	'ø': "o", 'Ø': "o", 'ł': "l", 'Ł': "l", 'ß': "ss", 'æ': "ae", 'Æ': "ae",
	'œ': "oe", 'Œ': "oe", 'đ': "d", 'Đ': "d", 'ı': "i", 'þ': "th", 'Þ': "th",
}
