package fhirpath

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF        tokKind = iota
	tIdent              // identifier or keyword
	tDelimIdent         // `identifier`
	tString             // 'text' (value unescaped)
	tNumber             // 12 or 1.5
	tLong               // 12L
	tDateTime           // @2020-01-01T10:00 (text without @)
	tTime               // @T10:00 (text without @T)
	tExtConst           // %name, %`name`, %'name' (text without %)
	tSpecial            // $this $index $total
	tOp                 // punctuation and operators
)

type token struct {
	kind tokKind
	text string
	pos  int // byte offset in the expression
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tString:
		return "'" + t.text + "'"
	case tDelimIdent:
		return "`" + t.text + "`"
	case tDateTime:
		return "@" + t.text
	case tTime:
		return "@T" + t.text
	case tExtConst:
		return "%" + t.text
	}
	return "'" + t.text + "'"
}

// SyntaxError reports where an expression failed to parse.
type SyntaxError struct {
	Expr    string
	Pos     int // byte offset
	Line    int
	Column  int
	Message string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("fhirpath: %d:%d: %s", e.Line, e.Column, e.Message)
}

func newSyntaxError(expr string, pos int, format string, args ...any) *SyntaxError {
	if pos > len(expr) {
		pos = len(expr)
	}
	line := 1 + strings.Count(expr[:pos], "\n")
	col := pos - strings.LastIndexByte(expr[:pos], '\n')
	return &SyntaxError{Expr: expr, Pos: pos, Line: line, Column: col, Message: fmt.Sprintf(format, args...)}
}

// lex splits expr into tokens (FHIRPath grammar, lexical rules).
func lex(expr string) ([]token, error) {
	var toks []token
	i := 0
	for {
		// skip white space and comments
		for i < len(expr) {
			c := expr[i]
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' {
				i++
			} else if strings.HasPrefix(expr[i:], "//") {
				end := strings.IndexByte(expr[i:], '\n')
				if end < 0 {
					i = len(expr)
				} else {
					i += end
				}
			} else if strings.HasPrefix(expr[i:], "/*") {
				end := strings.Index(expr[i+2:], "*/")
				if end < 0 {
					return nil, newSyntaxError(expr, i, "unterminated comment")
				}
				i += end + 4
			} else {
				break
			}
		}
		if i >= len(expr) {
			toks = append(toks, token{kind: tEOF, pos: i})
			return toks, nil
		}
		start := i
		c := expr[i]
		switch {
		case isIdentStart(c):
			for i < len(expr) && isIdentPart(expr[i]) {
				i++
			}
			toks = append(toks, token{kind: tIdent, text: expr[start:i], pos: start})
		case c >= '0' && c <= '9':
			for i < len(expr) && isDigit(expr[i]) {
				i++
			}
			if i+1 < len(expr) && expr[i] == '.' && isDigit(expr[i+1]) {
				i++
				for i < len(expr) && isDigit(expr[i]) {
					i++
				}
			} else if i < len(expr) && expr[i] == 'L' && (i+1 >= len(expr) || !isIdentPart(expr[i+1])) {
				toks = append(toks, token{kind: tLong, text: expr[start:i], pos: start})
				i++
				continue
			}
			toks = append(toks, token{kind: tNumber, text: expr[start:i], pos: start})
		case c == '\'' || c == '`':
			s, n, err := unquote(expr, i)
			if err != nil {
				return nil, err
			}
			i = n
			k := tString
			if c == '`' {
				k = tDelimIdent
			}
			toks = append(toks, token{kind: k, text: s, pos: start})
		case c == '@':
			t, n, err := lexDateTime(expr, i)
			if err != nil {
				return nil, err
			}
			i = n
			toks = append(toks, t)
		case c == '%':
			i++
			if i < len(expr) && (expr[i] == '`' || expr[i] == '\'') {
				s, n, err := unquote(expr, i)
				if err != nil {
					return nil, err
				}
				i = n
				toks = append(toks, token{kind: tExtConst, text: s, pos: start})
			} else {
				j := i
				for j < len(expr) && isIdentPart(expr[j]) {
					j++
				}
				if j == i || !isIdentStart(expr[i]) {
					return nil, newSyntaxError(expr, start, "expected a name after %%")
				}
				toks = append(toks, token{kind: tExtConst, text: expr[i:j], pos: start})
				i = j
			}
		case c == '$':
			i++
			for i < len(expr) && isIdentPart(expr[i]) {
				i++
			}
			name := expr[start:i]
			if name != "$this" && name != "$index" && name != "$total" {
				return nil, newSyntaxError(expr, start, "unknown special variable %q (expected $this, $index or $total)", name)
			}
			toks = append(toks, token{kind: tSpecial, text: name, pos: start})
		default:
			op := ""
			for _, cand := range []string{"<=", ">=", "!=", "!~"} {
				if strings.HasPrefix(expr[i:], cand) {
					op = cand
					break
				}
			}
			if op == "" && strings.IndexByte(".,()[]{}+-*/|&=~<>", c) >= 0 {
				op = expr[i : i+1]
			}
			if op == "" {
				r, _ := utf8.DecodeRuneInString(expr[i:])
				return nil, newSyntaxError(expr, i, "unexpected character %q", r)
			}
			i += len(op)
			toks = append(toks, token{kind: tOp, text: op, pos: start})
		}
	}
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }

// unquote reads a '...' or `...` literal starting at i and returns its value
// and the offset after the closing quote (FHIRPath §3.3 escapes).
func unquote(expr string, i int) (string, int, error) {
	q := expr[i]
	var b strings.Builder
	j := i + 1
	for j < len(expr) {
		c := expr[j]
		if c == q {
			return b.String(), j + 1, nil
		}
		if c != '\\' {
			b.WriteByte(c)
			j++
			continue
		}
		if j+1 >= len(expr) {
			break
		}
		e := expr[j+1]
		j += 2
		switch e {
		case '\'', '"', '`', '\\', '/':
			b.WriteByte(e)
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			if j+4 > len(expr) {
				return "", 0, newSyntaxError(expr, j-2, "incomplete \\u escape")
			}
			n, err := strconv.ParseUint(expr[j:j+4], 16, 32)
			if err != nil {
				return "", 0, newSyntaxError(expr, j-2, "invalid \\u escape")
			}
			b.WriteRune(rune(n))
			j += 4
		default:
			return "", 0, newSyntaxError(expr, j-2, "invalid escape \\%c", e)
		}
	}
	return "", 0, newSyntaxError(expr, i, "unterminated %c literal", q)
}

// lexDateTime reads @date[Ttime[tz]] or @Ttime.
func lexDateTime(expr string, i int) (token, int, error) {
	start := i
	i++
	j := i
	for j < len(expr) && (isDigit(expr[j]) || strings.IndexByte("-:.TZ+", expr[j]) >= 0) {
		// a '+' or '-' only continues the literal as a timezone after a time part
		if (expr[j] == '+' || expr[j] == '-') && strings.IndexByte(expr[i:j], 'T') < 0 && expr[j] == '+' {
			break
		}
		if expr[j] == '.' && (j+1 >= len(expr) || !isDigit(expr[j+1])) {
			break
		}
		j++
	}
	text := expr[i:j]
	if strings.HasPrefix(text, "T") {
		t := text[1:]
		if _, err := ParseTime(t); err != nil {
			return token{}, 0, newSyntaxError(expr, start, "invalid time literal @%s", text)
		}
		return token{kind: tTime, text: t, pos: start}, j, nil
	}
	if strings.Contains(text, "T") {
		if _, err := ParseDateTime(text); err != nil {
			return token{}, 0, newSyntaxError(expr, start, "invalid date/time literal @%s", text)
		}
		return token{kind: tDateTime, text: text, pos: start}, j, nil
	}
	if _, err := ParseDate(text); err != nil {
		return token{}, 0, newSyntaxError(expr, start, "invalid date literal @%s", text)
	}
	return token{kind: tDateTime, text: text, pos: start}, j, nil
}
