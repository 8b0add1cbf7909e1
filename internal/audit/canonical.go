package audit

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// header is the first line of every canonical entry; a later format gets a
// new version number and both stay verifiable.
const header = "openchart-audit 1"

// timeLayout is the canonical form of Recorded: UTC, six fractional digits.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// HashSize is the size of a chain hash (SHA-256, 170.315(d)(8)).
const HashSize = sha256.Size

// Genesis is the "previous hash" of the first entry: 32 zero bytes.
var Genesis = make([]byte, HashSize)

// Encode returns the canonical bytes of e: what the chain hashes. They are
// UTF-8 text, one field per line ("name value\n"), fields in a fixed order,
// empty fields left out, list fields repeated in their order, values
// percent-encoded (see escape) so a value never holds a space or a line
// break. docs/AUDIT.md is the specification.
func Encode(e *Entry) []byte {
	var b bytes.Buffer
	b.Grow(256)
	b.WriteString(header)
	b.WriteByte('\n')
	field := func(name string, vals ...string) {
		b.WriteString(name)
		for _, v := range vals {
			b.WriteByte(' ')
			escape(&b, v)
		}
		b.WriteByte('\n')
	}
	opt := func(name, v string) {
		if v != "" {
			field(name, v)
		}
	}
	field("seq", strconv.FormatInt(e.Seq, 10))
	field("recorded", e.Recorded.UTC().Format(timeLayout))
	field("action", string(e.Action))
	field("interaction", e.Interaction)
	field("outcome", strconv.Itoa(int(e.Outcome)))
	opt("outcome-desc", e.OutcomeDesc)
	a := &e.Agent
	field("agent-kind", a.Kind)
	opt("user-id", a.UserID)
	opt("username", a.Username)
	opt("fhir-user", a.FHIRUser)
	opt("client", a.ClientID)
	opt("organization", a.Organization)
	for _, r := range a.Roles {
		field("role", r)
	}
	opt("patient-context", a.Patient)
	opt("break-glass-patient", a.BreakGlassPatient)
	opt("break-glass-reason", a.BreakGlassReason)
	opt("source", a.Source)
	for _, en := range e.Entities {
		field("entity", en.Type, en.ID, strconv.FormatInt(en.Version, 10))
	}
	for _, p := range e.Patients {
		field("patient", p)
	}
	for _, q := range e.Query {
		field("query", q.Name, q.Value)
	}
	return b.Bytes()
}

// Hash is the chain hash of an entry: SHA-256(prev || data), where data is
// the entry's canonical bytes and prev the hash of the entry before it
// (Genesis for the first).
func Hash(prev, data []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(data)
	return h.Sum(nil)
}

// Seal numbers e as entry seq after an entry whose hash is prev, and
// returns its canonical bytes and hash. Stores call it while they hold the
// chain head.
func Seal(e *Entry, seq int64, prev []byte) (data, hash []byte) {
	e.Seq = seq
	data = Encode(e)
	return data, Hash(prev, data)
}

// Escape returns v as the canonical bytes spell a value (see escape); ""
// stays "" (a field left out).
func Escape(v string) string {
	plainAll := true
	for i := 0; i < len(v) && plainAll; i++ {
		plainAll = plain(v[i])
	}
	if plainAll { // "" included
		return v
	}
	var b bytes.Buffer
	escape(&b, v)
	return b.String()
}

// escape writes v with every byte outside [A-Za-z0-9] and "-._~:/@|=,+*!'()"
// as %HH (upper-case hex): deterministic, and free of the space and line
// feed that separate values and fields.
func escape(b *bytes.Buffer, v string) {
	const hex = "0123456789ABCDEF"
	if v == "" {
		// An empty value within a list field (an entity without id) is "%".
		b.WriteByte('%')
		return
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if plain(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
}

func plain(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~:/@|=,+*!'()", c) >= 0
}

func unescape(s string) (string, error) {
	if s == "%" {
		return "", nil
	}
	if !strings.Contains(s, "%") {
		for i := 0; i < len(s); i++ {
			if !plain(s[i]) {
				return "", fmt.Errorf("byte %q must be escaped", s[i])
			}
		}
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) {
				return "", errors.New("truncated escape")
			}
			n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil || strings.ToUpper(s[i+1:i+3]) != s[i+1:i+3] || plain(byte(n)) {
				return "", fmt.Errorf("invalid escape %q", s[i:i+3])
			}
			b.WriteByte(byte(n))
			i += 2
		case plain(c):
			b.WriteByte(c)
		default:
			return "", fmt.Errorf("byte %q must be escaped", c)
		}
	}
	return b.String(), nil
}

// Decode parses canonical bytes. It accepts only the canonical form:
// Encode(Decode(data)) == data for every data it accepts.
func Decode(data []byte) (*Entry, error) {
	s := string(data)
	if !strings.HasPrefix(s, header+"\n") {
		return nil, errors.New("not an audit entry (bad header)")
	}
	e := &Entry{}
	for _, line := range strings.Split(strings.TrimSuffix(s[len(header)+1:], "\n"), "\n") {
		name, rest, _ := strings.Cut(line, " ")
		var vals []string
		for _, raw := range strings.Split(rest, " ") {
			v, err := unescape(raw)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", name, err)
			}
			vals = append(vals, v)
		}
		if err := e.set(name, vals); err != nil {
			return nil, err
		}
	}
	if !bytes.Equal(Encode(e), data) {
		return nil, errors.New("not in canonical form")
	}
	return e, nil
}

func (e *Entry) set(name string, v []string) error {
	want := 1
	switch name {
	case "entity":
		want = 3
	case "query":
		want = 2
	}
	if len(v) != want {
		return fmt.Errorf("field %s: %d values, want %d", name, len(v), want)
	}
	var err error
	a := &e.Agent
	switch name {
	case "seq":
		e.Seq, err = strconv.ParseInt(v[0], 10, 64)
	case "recorded":
		e.Recorded, err = time.Parse(timeLayout, v[0])
	case "action":
		e.Action = Action(v[0])
	case "interaction":
		e.Interaction = v[0]
	case "outcome":
		var n int
		n, err = strconv.Atoi(v[0])
		e.Outcome = Outcome(n)
	case "outcome-desc":
		e.OutcomeDesc = v[0]
	case "agent-kind":
		a.Kind = v[0]
	case "user-id":
		a.UserID = v[0]
	case "username":
		a.Username = v[0]
	case "fhir-user":
		a.FHIRUser = v[0]
	case "client":
		a.ClientID = v[0]
	case "organization":
		a.Organization = v[0]
	case "role":
		a.Roles = append(a.Roles, v[0])
	case "patient-context":
		a.Patient = v[0]
	case "break-glass-patient":
		a.BreakGlassPatient = v[0]
	case "break-glass-reason":
		a.BreakGlassReason = v[0]
	case "source":
		a.Source = v[0]
	case "entity":
		var ver int64
		ver, err = strconv.ParseInt(v[2], 10, 64)
		e.Entities = append(e.Entities, Entity{Type: v[0], ID: v[1], Version: ver})
	case "patient":
		e.Patients = append(e.Patients, v[0])
	case "query":
		e.Query = append(e.Query, Param{Name: v[0], Value: v[1]})
	default:
		return fmt.Errorf("unknown field %q", name)
	}
	if err != nil {
		return fmt.Errorf("field %s: %w", name, err)
	}
	return nil
}
