package validate

type dateMode uint8

const (
	dateOnly dateMode = iota
	dateOrDateTime
	instantOnly
)

// parseDateTime checks the date, dateTime and instant formats
// (https://hl7.org/fhir/R4/datatypes.html#dateTime): a partial date, or a
// full date with a time that must then carry seconds and a zone, and a
// calendar-valid day. Years run from 0001 to 9999.
func parseDateTime(s string, mode dateMode) bool {
	if len(s) < 4 || !digits(s[:4]) || s[:4] == "0000" {
		return false
	}
	year := atoi(s[:4])
	if len(s) == 4 {
		return mode != instantOnly
	}
	if len(s) < 7 || s[4] != '-' || !digits(s[5:7]) {
		return false
	}
	month := atoi(s[5:7])
	if month < 1 || month > 12 {
		return false
	}
	if len(s) == 7 {
		return mode != instantOnly
	}
	if len(s) < 10 || s[7] != '-' || !digits(s[8:10]) {
		return false
	}
	day := atoi(s[8:10])
	if day < 1 || day > daysIn(year, month) {
		return false
	}
	if len(s) == 10 {
		return mode != instantOnly
	}
	if mode == dateOnly || s[10] != 'T' {
		return false
	}
	rest := s[11:]
	n := timeLen(rest)
	if n == 0 {
		return false
	}
	return validZone(rest[n:])
}

// parseTime checks the time format: hh:mm:ss(.s+), no zone.
func parseTime(s string) bool {
	n := timeLen(s)
	return n > 0 && n == len(s)
}

// timeLen returns the length of the hh:mm:ss(.s+) prefix of s, or 0.
func timeLen(s string) int {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' || !digits(s[:2]) || !digits(s[3:5]) || !digits(s[6:8]) {
		return 0
	}
	if atoi(s[:2]) > 23 || atoi(s[3:5]) > 59 || atoi(s[6:8]) > 60 {
		return 0
	}
	n := 8
	if n < len(s) && s[n] == '.' {
		n++
		start := n
		for n < len(s) && isDigit(s[n]) {
			n++
		}
		if n == start {
			return 0
		}
	}
	return n
}

// validZone checks Z or ±hh:mm within -13:59..+14:00.
func validZone(z string) bool {
	if z == "Z" {
		return true
	}
	if len(z) != 6 || (z[0] != '+' && z[0] != '-') || z[3] != ':' || !digits(z[1:3]) || !digits(z[4:6]) {
		return false
	}
	h, m := atoi(z[1:3]), atoi(z[4:6])
	return m <= 59 && (h <= 13 || (h == 14 && m == 0))
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
