package fhirpath

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// String functions, FHIRPath §5.6. They apply to a single string input; an
// empty input gives empty and a non-string input is an error.

func inputString(in Collection) (string, bool, error) {
	if len(in) == 0 {
		return "", false, nil
	}
	if len(in) > 1 {
		return "", false, fmt.Errorf("expected a single string, found %d items", len(in))
	}
	if hasNoValue(in[0]) {
		return "", false, nil
	}
	s, _ := in[0].system()
	if s.kind != KindString {
		return "", false, fmt.Errorf("expected a string, found %s", in[0].Type())
	}
	return s.data.(string), true, nil
}

// stringFn registers a function of a string input and string arguments; an
// empty argument makes the result empty.
func stringFn(name string, nargs int, f func(s string, args []string) (Collection, error)) {
	register(name, nargs, nargs, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		s, ok, err := inputString(in)
		if err != nil || !ok {
			return nil, err
		}
		args := make([]string, nargs)
		for i := range args {
			a, ok, err := call.stringArg(c, e, i)
			if err != nil || !ok {
				return nil, err
			}
			args[i] = a
		}
		return f(s, args)
	})
}

var regexCache sync.Map // pattern → *regexp.Regexp

func cachedRegexp(pattern string) (*regexp.Regexp, error) {
	if r, ok := regexCache.Load(pattern); ok {
		return r.(*regexp.Regexp), nil
	}
	r, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %v", pattern, err)
	}
	regexCache.Store(pattern, r)
	return r, nil
}

// regexFn registers matches/matchesFull with the optional flags argument
// ("i" case-insensitive, "m" multi-line); "." always matches new lines.
func regexFn(name string, full bool) {
	register(name, 1, 2, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		s, ok, err := inputString(in)
		if err != nil || !ok {
			return nil, err
		}
		pat, ok, err := call.stringArg(c, e, 0)
		if err != nil || !ok {
			return nil, err
		}
		flags := "s"
		if len(call.args) > 1 {
			f, _, err := call.stringArg(c, e, 1)
			if err != nil {
				return nil, err
			}
			for _, r := range f {
				if r != 'i' && r != 'm' {
					return nil, fmt.Errorf("unsupported regular expression flag %q", r)
				}
				flags += string(r)
			}
		}
		if full {
			pat = "^(?:" + pat + ")$"
		}
		re, err := cachedRegexp("(?" + flags + ")" + pat)
		if err != nil {
			return nil, err
		}
		return boolResult(re.MatchString(s))
	})
}

func strResult(s string) (Collection, error) { return Collection{String(s)}, nil }

func init() {
	stringFn("indexOf", 1, func(s string, a []string) (Collection, error) {
		i := strings.Index(s, a[0])
		if i > 0 {
			i = utf8.RuneCountInString(s[:i])
		}
		return Collection{Integer(int64(i))}, nil
	})
	register("substring", 1, 2, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		s, ok, err := inputString(in)
		if err != nil || !ok {
			return nil, err
		}
		start, ok, err := call.intArg(c, e, 0)
		if err != nil || !ok {
			return nil, err
		}
		r := []rune(s)
		if start < 0 || int(start) >= len(r) {
			return nil, nil
		}
		end := int64(len(r))
		if len(call.args) > 1 {
			n, ok, err := call.intArg(c, e, 1)
			if err != nil {
				return nil, err
			}
			if ok {
				end = min(start+max(n, 0), end)
			}
		}
		return strResult(string(r[start:end]))
	})
	stringFn("startsWith", 1, func(s string, a []string) (Collection, error) { return boolResult(strings.HasPrefix(s, a[0])) })
	stringFn("endsWith", 1, func(s string, a []string) (Collection, error) { return boolResult(strings.HasSuffix(s, a[0])) })
	stringFn("contains", 1, func(s string, a []string) (Collection, error) { return boolResult(strings.Contains(s, a[0])) })
	stringFn("upper", 0, func(s string, a []string) (Collection, error) { return strResult(strings.ToUpper(s)) })
	stringFn("lower", 0, func(s string, a []string) (Collection, error) { return strResult(strings.ToLower(s)) })
	stringFn("replace", 2, func(s string, a []string) (Collection, error) { return strResult(strings.ReplaceAll(s, a[0], a[1])) })
	regexFn("matches", false)
	regexFn("matchesFull", true)
	stringFn("lastIndexOf", 1, func(s string, a []string) (Collection, error) {
		i := strings.LastIndex(s, a[0])
		if i > 0 {
			i = utf8.RuneCountInString(s[:i])
		}
		return Collection{Integer(int64(i))}, nil
	})
	stringFn("replaceMatches", 2, func(s string, a []string) (Collection, error) {
		if a[0] == "" {
			return strResult(s)
		}
		re, err := cachedRegexp("(?s)" + a[0])
		if err != nil {
			return nil, err
		}
		return strResult(re.ReplaceAllString(s, a[1]))
	})
	stringFn("length", 0, func(s string, a []string) (Collection, error) {
		return Collection{Integer(int64(utf8.RuneCountInString(s)))}, nil
	})
	stringFn("toChars", 0, func(s string, a []string) (Collection, error) {
		var out Collection
		for _, r := range s {
			out = append(out, String(string(r)))
		}
		return out, nil
	})
	stringFn("trim", 0, func(s string, a []string) (Collection, error) { return strResult(strings.TrimSpace(s)) })
	stringFn("split", 1, func(s string, a []string) (Collection, error) {
		parts := strings.Split(s, a[0])
		out := make(Collection, len(parts))
		for i, p := range parts {
			out[i] = String(p)
		}
		return out, nil
	})
	register("join", 0, 1, func(c *ctx, e *env, in Collection, call *callNode) (Collection, error) {
		if len(in) == 0 {
			return nil, nil
		}
		sep := ""
		if len(call.args) > 0 {
			s, ok, err := call.stringArg(c, e, 0)
			if err != nil {
				return nil, err
			}
			if ok {
				sep = s
			}
		}
		parts := make([]string, len(in))
		for i, v := range in {
			s, _ := v.system()
			if s.kind != KindString {
				return nil, fmt.Errorf("join() needs strings, found %s", v.Type())
			}
			parts[i] = s.data.(string)
		}
		return strResult(strings.Join(parts, sep))
	})
	stringFn("encode", 1, func(s string, a []string) (Collection, error) {
		switch a[0] {
		case "base64":
			return strResult(base64.StdEncoding.EncodeToString([]byte(s)))
		case "urlbase64":
			return strResult(base64.URLEncoding.EncodeToString([]byte(s)))
		case "hex":
			return strResult(hex.EncodeToString([]byte(s)))
		}
		return nil, fmt.Errorf("unknown encoding %q", a[0])
	})
	stringFn("decode", 1, func(s string, a []string) (Collection, error) {
		var b []byte
		var err error
		switch a[0] {
		case "base64":
			b, err = base64.StdEncoding.DecodeString(s)
		case "urlbase64":
			b, err = base64.URLEncoding.DecodeString(s)
		case "hex":
			b, err = hex.DecodeString(s)
		default:
			return nil, fmt.Errorf("unknown encoding %q", a[0])
		}
		if err != nil {
			return nil, fmt.Errorf("invalid %s text: %v", a[0], err)
		}
		return strResult(string(b))
	})
	stringFn("escape", 1, func(s string, a []string) (Collection, error) {
		switch a[0] {
		case "html":
			return strResult(htmlEscaper.Replace(s))
		case "json":
			q := strconv.Quote(s)
			return strResult(q[1 : len(q)-1])
		}
		return nil, fmt.Errorf("unknown escape target %q", a[0])
	})
	stringFn("unescape", 1, func(s string, a []string) (Collection, error) {
		switch a[0] {
		case "html":
			return strResult(html.UnescapeString(s))
		case "json":
			return strResult(unescapeJSON(s))
		}
		return nil, fmt.Errorf("unknown escape target %q", a[0])
	})
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

// unescapeJSON undoes JSON string escapes, leaving anything else as it is.
func unescapeJSON(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch c := s[i]; c {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+4 < len(s) {
				if n, err := strconv.ParseUint(s[i+1:i+5], 16, 32); err == nil {
					b.WriteRune(rune(n))
					i += 4
					continue
				}
			}
			b.WriteString("\\u")
		case '"', '\\', '/':
			b.WriteByte(c)
		default:
			b.WriteByte('\\')
			b.WriteByte(c)
		}
	}
	return b.String()
}
