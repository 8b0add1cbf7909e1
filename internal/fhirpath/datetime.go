package fhirpath

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Precision is how much of a date/time value is known.
type Precision uint8

// Date/time precisions, coarse to fine (FHIRPath §2.1.20 "partial" dates and times).
const (
	PrecYear Precision = iota + 1
	PrecMonth
	PrecDay
	PrecHour
	PrecMinute
	PrecSecond
	PrecMillisecond
)

// DateTime is a FHIRPath Date, DateTime or Time with its precision and
// optional timezone offset. Fields below the precision are zero.
type DateTime struct {
	Kind                              Kind // KindDate, KindDateTime or KindTime
	Year, Month, Day                  int
	Hour, Minute, Second, Millisecond int
	Precision                         Precision
	HasTZ                             bool
	TZOffset                          int // minutes east of UTC
}

// ParseDate parses a FHIR/FHIRPath date ("2020", "2020-01", "2020-01-31").
func ParseDate(s string) (DateTime, error) {
	d, rest, err := parseDatePart(s)
	if err != nil || rest != "" {
		return DateTime{}, fmt.Errorf("invalid date %q", s)
	}
	d.Kind = KindDate
	return d, nil
}

// ParseDateTime parses a date-time; a bare date is accepted as a DateTime of
// day (or coarser) precision. A trailing "T" (FHIRPath literal "@2015T") is allowed.
func ParseDateTime(s string) (DateTime, error) {
	d, rest, err := parseDatePart(s)
	if err != nil {
		return DateTime{}, fmt.Errorf("invalid dateTime %q", s)
	}
	d.Kind = KindDateTime
	if rest == "" {
		return d, nil
	}
	if rest[0] != 'T' {
		return DateTime{}, fmt.Errorf("invalid dateTime %q", s)
	}
	rest = rest[1:]
	if rest == "" {
		return d, nil
	}
	if d.Precision != PrecDay {
		return DateTime{}, fmt.Errorf("invalid dateTime %q", s)
	}
	t, rest, err := parseTimePart(rest)
	if err != nil {
		return DateTime{}, fmt.Errorf("invalid dateTime %q", s)
	}
	d.Hour, d.Minute, d.Second, d.Millisecond, d.Precision = t.Hour, t.Minute, t.Second, t.Millisecond, t.Precision
	if rest != "" {
		off, ok := parseTZ(rest)
		if !ok {
			return DateTime{}, fmt.Errorf("invalid dateTime %q", s)
		}
		d.HasTZ, d.TZOffset = true, off
	}
	return d, nil
}

// ParseTime parses a time of day "hh[:mm[:ss[.fff]]]" without timezone.
func ParseTime(s string) (DateTime, error) {
	t, rest, err := parseTimePart(s)
	if err != nil || rest != "" {
		return DateTime{}, fmt.Errorf("invalid time %q", s)
	}
	t.Kind = KindTime
	return t, nil
}

func num(s string, n int) (int, string, bool) {
	if len(s) < n || !allDigits(s[:n]) {
		return 0, s, false
	}
	v, _ := strconv.Atoi(s[:n])
	return v, s[n:], true
}

func parseDatePart(s string) (DateTime, string, error) {
	var d DateTime
	var ok bool
	bad := fmt.Errorf("bad date")
	if d.Year, s, ok = num(s, 4); !ok {
		return d, s, bad
	}
	d.Precision = PrecYear
	if len(s) < 1 || s[0] != '-' {
		return d, s, nil
	}
	if d.Month, s, ok = num(s[1:], 2); !ok || d.Month < 1 || d.Month > 12 {
		return d, s, bad
	}
	d.Precision = PrecMonth
	if len(s) < 1 || s[0] != '-' {
		return d, s, nil
	}
	if d.Day, s, ok = num(s[1:], 2); !ok || d.Day < 1 || d.Day > daysIn(d.Year, d.Month) {
		return d, s, bad
	}
	d.Precision = PrecDay
	return d, s, nil
}

func parseTimePart(s string) (DateTime, string, error) {
	var t DateTime
	var ok bool
	bad := fmt.Errorf("bad time")
	if t.Hour, s, ok = num(s, 2); !ok || t.Hour > 23 {
		return t, s, bad
	}
	t.Precision = PrecHour
	if len(s) < 1 || s[0] != ':' {
		return t, s, nil
	}
	if t.Minute, s, ok = num(s[1:], 2); !ok || t.Minute > 59 {
		return t, s, bad
	}
	t.Precision = PrecMinute
	if len(s) < 1 || s[0] != ':' {
		return t, s, nil
	}
	if t.Second, s, ok = num(s[1:], 2); !ok || t.Second > 59 {
		return t, s, bad
	}
	t.Precision = PrecSecond
	if len(s) < 1 || s[0] != '.' {
		return t, s, nil
	}
	i := 1
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 1 {
		return t, s, bad
	}
	frac := (s[1:i] + "00")[:3]
	t.Millisecond, _ = strconv.Atoi(frac)
	t.Precision = PrecMillisecond
	return t, s[i:], nil
}

func parseTZ(s string) (int, bool) {
	if s == "Z" {
		return 0, true
	}
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return 0, false
	}
	h, _, ok1 := num(s[1:3], 2)
	m, _, ok2 := num(s[4:6], 2)
	if !ok1 || !ok2 || h > 14 || m > 59 || h == 14 && m > 0 {
		return 0, false
	}
	off := h*60 + m
	if s[0] == '-' {
		off = -off
	}
	return off, true
}

func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// String formats the value as FHIR text, without the FHIRPath '@' prefix.
func (d DateTime) String() string {
	var b strings.Builder
	if d.Kind != KindTime {
		fmt.Fprintf(&b, "%04d", d.Year)
		if d.Precision >= PrecMonth {
			fmt.Fprintf(&b, "-%02d", d.Month)
		}
		if d.Precision >= PrecDay {
			fmt.Fprintf(&b, "-%02d", d.Day)
		}
		if d.Kind == KindDate || d.Precision <= PrecDay {
			if d.Kind == KindDateTime && d.Precision < PrecDay {
				return b.String()
			}
			return b.String()
		}
		b.WriteByte('T')
	}
	fmt.Fprintf(&b, "%02d", d.Hour)
	if d.Precision >= PrecMinute {
		fmt.Fprintf(&b, ":%02d", d.Minute)
	}
	if d.Precision >= PrecSecond {
		fmt.Fprintf(&b, ":%02d", d.Second)
	}
	if d.Precision >= PrecMillisecond {
		fmt.Fprintf(&b, ".%03d", d.Millisecond)
	}
	if d.Kind == KindDateTime && d.HasTZ {
		if d.TZOffset == 0 {
			b.WriteByte('Z')
		} else {
			off := d.TZOffset
			sign := byte('+')
			if off < 0 {
				sign, off = '-', -off
			}
			fmt.Fprintf(&b, "%c%02d:%02d", sign, off/60, off%60)
		}
	}
	return b.String()
}

// Time converts to a time.Time (missing parts take their lowest value; no
// timezone means UTC).
func (d DateTime) Time() time.Time {
	loc := time.UTC
	if d.HasTZ && d.TZOffset != 0 {
		loc = time.FixedZone("", d.TZOffset*60)
	}
	y, mo, day := d.Year, d.Month, d.Day
	if d.Kind == KindTime {
		y, mo, day = 1970, 1, 1
	}
	mo, day = max(mo, 1), max(day, 1)
	return time.Date(y, time.Month(mo), day, d.Hour, d.Minute, d.Second, d.Millisecond*1e6, loc)
}

func fromTime(t time.Time, like DateTime) DateTime {
	r := like
	if like.Kind != KindTime {
		r.Year, r.Month, r.Day = t.Year(), int(t.Month()), t.Day()
	}
	r.Hour, r.Minute, r.Second, r.Millisecond = t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1e6
	r.clearBelow()
	return r
}

func (d *DateTime) clearBelow() {
	p := d.Precision
	if d.Kind == KindTime {
		p = max(p, PrecHour)
	}
	if p < PrecMonth && d.Kind != KindTime {
		d.Month = 0
	}
	if p < PrecDay && d.Kind != KindTime {
		d.Day = 0
	}
	if p < PrecHour {
		d.Hour = 0
	}
	if p < PrecMinute {
		d.Minute = 0
	}
	if p < PrecSecond {
		d.Second = 0
	}
	if p < PrecMillisecond {
		d.Millisecond = 0
	}
}

// fields lists the comparable components, seconds and milliseconds merged
// into one (FHIRPath §6.2: seconds and milliseconds are a single precision).
func (d DateTime) fields() ([6]int, int) {
	p := int(d.Precision)
	if d.Kind == KindTime {
		f := [6]int{d.Hour, d.Minute, d.Second*1000 + d.Millisecond}
		n := p - int(PrecHour) + 1
		if n > 3 {
			n = 3
		}
		return f, n
	}
	f := [6]int{d.Year, d.Month, d.Day, d.Hour, d.Minute, d.Second*1000 + d.Millisecond}
	if p > 6 {
		p = 6
	}
	return f, p
}

// compareDateTimes orders a and b. ok is false when the answer depends on
// digits one side does not have (FHIRPath §6.2 comparison of partial dates).
func compareDateTimes(a, b DateTime) (cmp int, ok bool) {
	if a.HasTZ && b.HasTZ && a.Kind != KindTime && a.Precision >= PrecHour && b.Precision >= PrecHour {
		a = fromTime(a.Time().UTC(), a)
		b = fromTime(b.Time().UTC(), b)
	}
	fa, na := a.fields()
	fb, nb := b.fields()
	n := min(na, nb)
	for i := 0; i < n; i++ {
		if fa[i] != fb[i] {
			if fa[i] < fb[i] {
				return -1, true
			}
			return 1, true
		}
	}
	if na != nb {
		return 0, false
	}
	return 0, true
}

// addDuration adds n units of a calendar duration to d (FHIRPath §6.6.1 date
// arithmetic). Months and years clamp to the end of the month.
func (d DateTime) addDuration(n int64, unit string) (DateTime, error) {
	t := d.Time()
	switch unit {
	case "year":
		t = addMonths(t, int(n)*12)
	case "month":
		t = addMonths(t, int(n))
	case "week":
		t = t.AddDate(0, 0, int(n)*7)
	case "day":
		t = t.AddDate(0, 0, int(n))
	case "hour":
		t = t.Add(time.Duration(n) * time.Hour)
	case "minute":
		t = t.Add(time.Duration(n) * time.Minute)
	case "second":
		t = t.Add(time.Duration(n) * time.Second)
	case "millisecond":
		t = t.Add(time.Duration(n) * time.Millisecond)
	default:
		return d, fmt.Errorf("cannot add %s to a date/time", unit)
	}
	if d.Kind == KindTime && (unit == "year" || unit == "month" || unit == "week" || unit == "day") {
		return d, fmt.Errorf("cannot add %s to a time", unit)
	}
	return fromTime(t, d), nil
}

func addMonths(t time.Time, n int) time.Time {
	y, m, day := t.Date()
	total := int(m) - 1 + n
	ny := y + total/12
	nm := total % 12
	if nm < 0 {
		nm += 12
		ny--
	}
	if dm := daysIn(ny, nm+1); day > dm {
		day = dm
	}
	h, mi, s := t.Clock()
	return time.Date(ny, time.Month(nm+1), day, h, mi, s, t.Nanosecond(), t.Location())
}
