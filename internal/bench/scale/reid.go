package scale

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/openchart/openchart/internal/fhir"
)

// idSpace is the namespace of the UUIDv5-style ids of copies.
var idSpace = uuid.MustParse("3c1f6a52-8d0e-4b7a-9f61-2a5e7d40c9b3")

// copier re-identifies one copy of a patient Bundle.
type copier struct {
	seed      uint64
	index     int
	rng       *rand.Rand
	shiftDays int
	ids       map[string]string // old resource id -> new id
	tokens    map[string]string // old name/identifier/address text -> new
	pairs     []string          // tokens in the order they were made, for a Replacer
	replacer  *strings.Replacer
}

func newCopier(seed uint64, index int) *copier {
	c := &copier{
		seed:   seed,
		index:  index,
		rng:    rand.New(rand.NewPCG(seed, uint64(index)^0x9e3779b97f4a7c15)),
		ids:    map[string]string{},
		tokens: map[string]string{},
	}
	// Up to five years back or four forward; never zero, so every copy
	// differs from its source. Whole days keep precision and zone intact.
	c.shiftDays = c.rng.IntN(3285) - 1825
	if c.shiftDays == 0 {
		c.shiftDays = 1
	}
	return c
}

// newID derives a copy's id from the old one.
func (c *copier) newID(old string) string {
	return uuid.NewSHA1(idSpace, []byte(fmt.Sprintf("%d/%d/%s", c.seed, c.index, old))).String()
}

// reidentify rewrites a patient Bundle in place and returns the new
// patient id.
func (c *copier) reidentify(b map[string]any) (string, error) {
	entries, _ := b["entry"].([]any)
	var patient map[string]any
	for _, e := range entries {
		entry, _ := e.(map[string]any)
		if fu, ok := entry["fullUrl"].(string); ok {
			if old, ok := strings.CutPrefix(fu, "urn:uuid:"); ok {
				c.ids[old] = c.newID(old)
			}
		}
		r, _ := entry["resource"].(map[string]any)
		if id := fhir.IDOf(r); id != "" {
			c.ids[id] = c.newID(id)
		}
		if fhir.TypeOf(r) == "Patient" && patient == nil {
			patient = r
		}
	}
	if patient == nil {
		return "", errors.New("the Bundle holds no Patient")
	}
	c.reidentifyPatient(patient)
	c.replacer = strings.NewReplacer(c.pairs...)
	for i, e := range entries {
		entries[i] = c.walk("", e)
	}
	return fhir.IDOf(patient), nil
}

// token maps an old text to its replacement, making one with gen the first
// time it is seen.
func (c *copier) token(old string, gen func() string) string {
	if old == "" {
		return old
	}
	if nw, ok := c.tokens[old]; ok {
		return nw
	}
	nw := gen()
	c.tokens[old] = nw
	c.pairs = append(c.pairs, old, nw)
	return nw
}

func (c *copier) pick(list []string) string {
	return list[c.rng.IntN(len(list))] + strconv.Itoa(100+c.rng.IntN(900))
}

func (c *copier) reidentifyPatient(p map[string]any) {
	given := maleNames
	if p["gender"] == "female" {
		given = femaleNames
	}
	names, _ := p["name"].([]any)
	for _, n := range names {
		name, _ := n.(map[string]any)
		if f, ok := name["family"].(string); ok {
			name["family"] = c.token(f, func() string { return c.pick(familyNames) })
		}
		gs, _ := name["given"].([]any)
		for i, g := range gs {
			if s, ok := g.(string); ok {
				gs[i] = c.token(s, func() string { return c.pick(given) })
			}
		}
	}
	exts, _ := p["extension"].([]any)
	for _, e := range exts {
		ext, _ := e.(map[string]any)
		if ext["url"] == "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName" {
			if s, ok := ext["valueString"].(string); ok {
				ext["valueString"] = c.token(s, func() string { return c.pick(femaleNames) + " " + c.pick(familyNames) })
			}
		}
	}
	ids, _ := p["identifier"].([]any)
	for _, x := range ids {
		id, _ := x.(map[string]any)
		v, ok := id["value"].(string)
		if !ok {
			continue
		}
		switch identifierKind(id) {
		case "SS":
			id["value"] = c.token(v, func() string { return fmt.Sprintf("999-%02d-%04d", c.rng.IntN(100), c.rng.IntN(10000)) })
		case "DL":
			id["value"] = c.token(v, func() string { return fmt.Sprintf("S99%07d", c.rng.IntN(10000000)) })
		case "PPN":
			id["value"] = c.token(v, func() string { return fmt.Sprintf("X%08dX", c.rng.IntN(100000000)) })
		}
	}
	tels, _ := p["telecom"].([]any)
	for _, t := range tels {
		tel, _ := t.(map[string]any)
		if v, ok := tel["value"].(string); ok && tel["system"] == "phone" {
			tel["value"] = c.token(v, func() string { return fmt.Sprintf("555-%03d-%04d", c.rng.IntN(1000), c.rng.IntN(10000)) })
		}
	}
	addrs, _ := p["address"].([]any)
	for _, a := range addrs {
		addr, _ := a.(map[string]any)
		lines, _ := addr["line"].([]any)
		for i, l := range lines {
			if s, ok := l.(string); ok {
				lines[i] = c.token(s, func() string {
					return fmt.Sprintf("%d %s %s", 1+c.rng.IntN(9999),
						streetNames[c.rng.IntN(len(streetNames))], streetKinds[c.rng.IntN(len(streetKinds))])
				})
			}
		}
	}
}

// identifierKind returns the v2-0203 code of an identifier's type.
func identifierKind(id map[string]any) string {
	typ, _ := id["type"].(map[string]any)
	codings, _ := typ["coding"].([]any)
	for _, x := range codings {
		cd, _ := x.(map[string]any)
		if s, ok := cd["code"].(string); ok {
			return s
		}
	}
	return ""
}

// walk rewrites every string below v: old ids, dates, name tokens.
func (c *copier) walk(key string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = c.walk(k, e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = c.walk(key, e)
		}
		return x
	case string:
		return c.rewrite(key, x)
	default:
		return v
	}
}

func (c *copier) rewrite(key, s string) string {
	if shifted, ok := shiftDate(s, c.shiftDays); ok {
		return shifted
	}
	if key == "data" {
		// Attachment contents (clinical notes) carry the names too.
		if raw, err := base64.StdEncoding.DecodeString(s); err == nil {
			return base64.StdEncoding.EncodeToString([]byte(c.text(string(raw))))
		}
	}
	return c.text(s)
}

func (c *copier) text(s string) string {
	return c.replacer.Replace(c.replaceIDs(s))
}

// replaceIDs replaces every UUID in s that is an id of this Bundle.
func (c *copier) replaceIDs(s string) string {
	if len(s) < 36 || strings.IndexByte(s, '-') < 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i+36 <= len(s); i++ {
		if !isUUID(s[i : i+36]) {
			continue
		}
		if nw, ok := c.ids[s[i:i+36]]; ok {
			b.WriteString(s[last:i])
			b.WriteString(nw)
			last = i + 36
		}
		i += 35
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isUUID(s string) bool {
	for i := 0; i < 36; i++ {
		ch := s[i]
		switch i {
		case 8, 13, 18, 23:
			if ch != '-' {
				return false
			}
		default:
			if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F') {
				return false
			}
		}
	}
	return true
}

// shiftDate moves a FHIR date, dateTime or instant (of month precision or
// finer) by whole days. The time of day and zone are kept as written, so
// precision and time zone do not change.
func shiftDate(s string, days int) (string, bool) {
	if !isDateLike(s) {
		return s, false
	}
	if len(s) == 7 {
		t, err := time.Parse("2006-01", s)
		if err != nil {
			return s, false
		}
		return t.AddDate(0, 0, days).Format("2006-01"), true
	}
	t, err := time.Parse("2006-01-02", s[:10])
	if err != nil {
		return s, false
	}
	out := t.AddDate(0, 0, days)
	if out.Year() < 1 || out.Year() > 9999 {
		return s, false
	}
	return out.Format("2006-01-02") + s[10:], true
}

func isDateLike(s string) bool {
	digits := func(from, to int) bool {
		for i := from; i < to; i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return true
	}
	switch {
	case len(s) < 7 || !digits(0, 4) || s[4] != '-' || !digits(5, 7):
		return false
	case len(s) == 7:
		return true
	case len(s) < 10 || s[7] != '-' || !digits(8, 10):
		return false
	case len(s) == 10:
		return true
	case s[10] != 'T' || len(s) < 16:
		return false
	}
	for i := 11; i < len(s); i++ {
		if !strings.ContainsRune("0123456789:.+-Z", rune(s[i])) {
			return false
		}
	}
	return true
}
