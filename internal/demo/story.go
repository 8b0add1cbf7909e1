package demo

// person is one demo patient's story, as data: who they are and what
// happened to them, with every date counted in days before today. A chart
// turns it into FHIR resources.
type person struct {
	key       string // id suffix: Patient/demo-<key>
	given     []string
	family    string
	gender    string // FHIR administrative gender
	ageDays   int    // age today
	mrn       string
	langs     []code // preferred first
	race, eth code
	addr      address
	phone     string
	email     string
	pcp       string // clinician key
	team      []string
	coverage  *coverage
	guardian  *guardian
	bloodType [2]string // ABO, Rh as reported

	history   []dx      // diagnoses made before the chart begins
	meds      []med     // prescriptions older than the chart
	allergies []allergy // an empty list records "no known allergies"
	smoking   string    // key of smoking; "" for children
	atBirth   []string  // vaccines given in the birth hospital, reported to the clinic
	flu       bool      // a flu shot each season
	lmpAgo    int       // last menstrual period, for a current pregnancy
	warfarin  bool      // INR results get the therapeutic range
	curves    map[string]curve
	visits    []visit
	next      []appt
}

// dx is a diagnosis with its onset (and resolution, when resolvedAgo > 0).
type dx struct {
	key         string
	ago         int
	resolvedAgo int
}

// med is a prescription. Ongoing ones (days == 0) stay active until a visit
// stops them; courses complete after their days.
type med struct {
	key     string
	drug    string
	sig     string
	dose    float64
	freq    int     // administrations per period
	period  float64 // length of the period in unit
	unit    string  // UCUM time unit: "h", "d", "wk"
	prn     bool
	days    int
	reason  string // condition key
	refills int
	ago     int // for meds in person.meds: when prescribed
}

type allergy struct {
	substance code
	text      string
	kind      string // allergy | intolerance
	category  string // medication | food | environment | biologic
	critical  string // low | high | unable-to-assess
	reaction  code
	reactText string
	severity  string // mild | moderate | severe
	onsetAgo  int
}

type coverage struct {
	payer, plan, group string
	memberID           string
	sinceAgo           int
}

type guardian struct {
	key, given, family, gender, phone string
	relation                          code
}

// visit is one office visit. Routine visits come from a repeating series
// and give way to any scheduled (not acute) visit within a month of them,
// handing it their labs.
type visit struct {
	ago       int
	kind      string // key of visitKinds
	reason    string // condition key, or "" for the kind's usual reason
	by        string // clinician key; "" means the patient's PCP
	labs      []string
	vaccines  []string
	dx        []string // new diagnoses
	resolve   []string // problems resolved at this visit
	prescribe []med
	stop      map[string]string // med key -> why
	set       map[string]float64
	subj      string // the note: subjective
	plan      string // the note: assessment and plan (a note is written when set)
	routine   bool
	ord       int    // position among the story's visits, oldest first; 0 for flu-only visits
	season    string // the flu season whose shot is given at this visit
}

// appt is an upcoming appointment: weekday counts open clinic days ahead.
type appt struct {
	weekday, hour int
	kind, reason  string
	by            string
	typ           string // v2-0276 appointment type
	desc          string
}

// every repeats v every step days from fromAgo down to toAgo, as routine
// visits.
func every(fromAgo, toAgo, step int, v visit) []visit {
	var out []visit
	for ago := fromAgo; ago >= toAgo; ago -= step {
		w := v
		w.ago = ago
		w.routine = true
		out = append(out, w)
	}
	return out
}

// at is a planned visit; a fluent start for story tables.
func at(ago int, kind string, v visit) visit {
	v.ago, v.kind = ago, kind
	return v
}

// join concatenates visit lists.
func join(lists ...[]visit) []visit {
	var out []visit
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
