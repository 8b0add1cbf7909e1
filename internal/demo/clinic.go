package demo

import (
	"fmt"
	"math/rand/v2"
	"time"
)

const orgID = "demo-riverside-fm"

var clinicAddr = address{"1200 Main Street", "Riverside", "IL", "60546"}

// clinician is one of the clinic's practitioners.
type clinician struct {
	key            string // id suffix, e.g. "okafor"
	given, family  string
	prefix, suffix string
	gender         string
	npiBase        string // the first nine digits; the tenth is the Luhn check digit
	taxonomy       code   // NUCC specialty
	role           code   // practitioner-role
	location       string // location key
	pm             bool   // also sees patients in the afternoon
}

var clinicians = []clinician{
	{"okafor", "Sarah", "Okafor", "Dr.", "MD", "female", "172049318", code{sysNUCC, "207Q00000X", "Family Medicine Physician"}, code{tho + "practitioner-role", "doctor", "Doctor"}, "main", true},
	{"whitfield", "James", "Whitfield", "Dr.", "MD", "male", "184126573", code{sysNUCC, "207R00000X", "Internal Medicine Physician"}, code{tho + "practitioner-role", "doctor", "Doctor"}, "eastside", true},
	{"delgado", "Rosa", "Delgado", "", "FNP-C", "female", "196352840", code{sysNUCC, "363LF0000X", "Family Nurse Practitioner"}, code{tho + "practitioner-role", "nurse", "Nurse"}, "main", false},
}

func clinicianByKey(key string) clinician {
	for _, c := range clinicians {
		if c.key == key {
			return c
		}
	}
	panic("demo: no clinician " + key)
}

func (c clinician) id() string { return "demo-" + c.key }

func (c clinician) name() string {
	n := c.given + " " + c.family
	if c.prefix != "" {
		n = c.prefix + " " + n
	}
	return n + ", " + c.suffix
}

func (c clinician) ref() map[string]any { return ref("Practitioner", c.id(), c.name()) }

// site is one of the clinic's two locations.
type site struct {
	key, name string
	typ       code
	addr      address
	phone     string
}

var sites = map[string]site{
	"main":     {"main", "Riverside Family Medicine - Main Street", code{tho + "v3-RoleCode", "FMC", "Family medicine clinic"}, clinicAddr, "(708) 555-0140"},
	"eastside": {"eastside", "Riverside Family Medicine - Eastside", code{tho + "v3-RoleCode", "PC", "Primary care clinic"}, address{"85 Harlem Avenue, Suite 2", "Riverside", "IL", "60546"}, "(708) 555-0188"},
}

func (s site) id() string             { return "demo-loc-" + s.key }
func (s site) ref() map[string]any    { return ref("Location", s.id(), s.name) }
func orgRef() map[string]any          { return ref("Organization", orgID, "Riverside Family Medicine") }
func payerRef(p payer) map[string]any { return ref("Organization", p.id, p.name) }

// payer is an insurer the demo patients' coverage points to.
type payer struct {
	id, name string
	typ      code
}

var payers = map[string]payer{
	"commercial": {"demo-payer-riverbend", "Riverbend Health Plan", code{tho + "organization-type", "pay", "Payer"}},
	"medicare":   {"demo-payer-medicare", "Medicare", code{tho + "organization-type", "govt", "Government"}},
	"medicaid":   {"demo-payer-medicaid", "Illinois Medicaid", code{tho + "organization-type", "govt", "Government"}},
}

// npi completes a 9-digit base into a valid National Provider Identifier:
// the Luhn check digit over the base prefixed with 80840 (CMS, NPI check
// digit rules).
func npi(base string) string {
	digits := "80840" + base
	sum := 0
	double := true // from the rightmost digit of the base
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return base + fmt.Sprint((10-sum%10)%10)
}

func organization() map[string]any {
	r := resource("Organization", orgID)
	r["identifier"] = arr(map[string]any{"system": sysNPI, "value": npi("158866763")})
	r["active"] = true
	r["type"] = concepts(concept("", code{tho + "organization-type", "prov", "Healthcare Provider"}))
	r["name"] = "Riverside Family Medicine"
	r["telecom"] = arr(telecom("phone", "(708) 555-0140", "work"), telecom("email", "frontdesk@riverside-fm.example.org", "work"))
	r["address"] = arr(clinicAddr.json("work"))
	return r
}

func payerOrg(p payer) map[string]any {
	r := resource("Organization", p.id)
	r["active"] = true
	r["type"] = concepts(concept("", p.typ))
	r["name"] = p.name
	return r
}

func location(s site) map[string]any {
	r := resource("Location", s.id())
	r["status"] = "active"
	r["name"] = s.name
	r["mode"] = "instance"
	r["type"] = concepts(concept("", s.typ))
	r["telecom"] = arr(telecom("phone", s.phone, "work"))
	r["address"] = s.addr.json("work")
	r["managingOrganization"] = orgRef()
	return r
}

func practitioner(c clinician) map[string]any {
	r := resource("Practitioner", c.id())
	r["identifier"] = arr(map[string]any{"system": sysNPI, "value": npi(c.npiBase)})
	r["active"] = true
	name := map[string]any{"use": "official", "family": c.family, "given": arr(c.given), "suffix": arr(c.suffix)}
	if c.prefix != "" {
		name["prefix"] = arr(c.prefix)
	}
	r["name"] = arr(name)
	r["gender"] = c.gender
	r["telecom"] = arr(telecom("phone", sites[c.location].phone, "work"))
	r["address"] = arr(sites[c.location].addr.json("work"))
	return r
}

func practitionerRole(c clinician) map[string]any {
	r := resource("PractitionerRole", c.id()+"-role")
	r["active"] = true
	r["practitioner"] = c.ref()
	r["organization"] = orgRef()
	r["code"] = concepts(concept("", c.role))
	r["specialty"] = concepts(concept("", c.taxonomy))
	r["location"] = arr(sites[c.location].ref())
	r["telecom"] = arr(telecom("phone", sites[c.location].phone, "work"))
	days := arr("mon", "tue", "wed", "thu", "fri")
	hours := arr(map[string]any{"daysOfWeek": days, "availableStartTime": "08:00:00", "availableEndTime": "12:00:00"})
	if c.pm {
		hours = append(hours, map[string]any{"daysOfWeek": days, "availableStartTime": "13:00:00", "availableEndTime": "17:00:00"})
	}
	r["availableTime"] = hours
	return r
}

var (
	generalPractice = code{tho + "service-type", "124", "General Practice"}
	gpCategory      = code{tho + "service-category", "17", "General Practice"}
)

func schedule(c clinician, from, to time.Time) map[string]any {
	r := resource("Schedule", c.id()+"-schedule")
	r["active"] = true
	r["serviceCategory"] = concepts(concept("", gpCategory))
	r["serviceType"] = concepts(concept("", generalPractice))
	r["specialty"] = concepts(concept("", c.taxonomy))
	r["actor"] = arr(c.ref(), sites[c.location].ref())
	r["planningHorizon"] = period(from, to)
	r["comment"] = "20-minute visits, weekdays"
	return r
}

// slot is one bookable 20-minute interval of a clinician's schedule.
type slot struct {
	id         string
	clinician  string
	start, end time.Time
	busy       bool
}

// calendar holds the bookable slots of the next two weeks.
type calendar struct {
	from, to time.Time
	slots    []*slot
}

const slotMinutes = 20

// newCalendar lays out every clinician's slots for the open days of the two
// weeks after day0 and marks about a third of them busy, as other patients
// (not in the demo) have booked them.
func newCalendar(day0 time.Time, rng *rand.Rand) *calendar {
	cal := &calendar{from: day0.AddDate(0, 0, 1), to: day0.AddDate(0, 0, 15)}
	for _, c := range clinicians {
		n := 0
		for d := 1; d <= 14; d++ {
			day := day0.AddDate(0, 0, d)
			if !open(day) {
				continue
			}
			n++
			blocks := [][2]int{{8, 12}}
			if c.pm {
				blocks = append(blocks, [2]int{13, 17})
			}
			k := 0
			for _, b := range blocks {
				for m := b[0] * 60; m < b[1]*60; m += slotMinutes {
					k++
					start := day.Add(time.Duration(m) * time.Minute)
					cal.slots = append(cal.slots, &slot{
						id:        fmt.Sprintf("demo-slot-%s-d%02d-%02d", c.key, n, k),
						clinician: c.key,
						start:     start,
						end:       start.Add(slotMinutes * time.Minute),
						busy:      rng.IntN(3) == 0,
					})
				}
			}
		}
	}
	return cal
}

// book takes the first free slot of clinician on the given weekday offset
// (1 = the next weekday) at or after hour; it wraps to the next weekday when
// that day is full.
func (cal *calendar) book(clinicianKey string, weekday, hour int) *slot {
	for tries := 0; tries < 10; tries++ {
		n := 0
		lastDay := ""
		for _, s := range cal.slots {
			if s.clinician != clinicianKey {
				continue
			}
			if d := date(s.start); d != lastDay {
				n++
				lastDay = d
			}
			if n == weekday && !s.busy && s.start.Hour() >= hour {
				s.busy = true
				return s
			}
		}
		weekday, hour = weekday%10+1, 8
	}
	panic("demo: no free slot for " + clinicianKey)
}

func (cal *calendar) resources() []map[string]any {
	out := make([]map[string]any, 0, len(cal.slots))
	for _, s := range cal.slots {
		r := resource("Slot", s.id)
		r["schedule"] = ref("Schedule", "demo-"+s.clinician+"-schedule", "")
		r["serviceCategory"] = concepts(concept("", gpCategory))
		r["serviceType"] = concepts(concept("", generalPractice))
		r["status"] = "free"
		if s.busy {
			r["status"] = "busy"
		}
		r["start"] = dateTime(s.start)
		r["end"] = dateTime(s.end)
		out = append(out, r)
	}
	return out
}

// clinicResources lists the organization, payers, locations, practitioners,
// roles, schedules and slots.
func clinicResources(cal *calendar) []map[string]any {
	out := []map[string]any{organization()}
	for _, k := range []string{"commercial", "medicare", "medicaid"} {
		out = append(out, payerOrg(payers[k]))
	}
	for _, k := range []string{"main", "eastside"} {
		out = append(out, location(sites[k]))
	}
	for _, c := range clinicians {
		out = append(out, practitioner(c), practitionerRole(c), schedule(c, cal.from, cal.to))
	}
	return append(out, cal.resources()...)
}
