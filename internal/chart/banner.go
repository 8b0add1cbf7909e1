package chart

import (
	"fmt"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/fhir"
)

// Banner is what every page of the chart shows at the top.
type Banner struct {
	PatientID string
	Name      string
	BirthDate Date
	// Age is the age at the summary's time (or at death), "" without a
	// birth date: "47 y", "8 mo", "12 d".
	Age          string
	AgeYears     int // -1 without a birth date
	Sex          string
	MRN          string
	Deceased     bool
	DeceasedDate Date
	Language     string
	// Allergies are the substances of the recorded allergies, for the banner.
	Allergies []string
	// AllergyStatus is AllergiesRecorded, NoKnownAllergies or AllergiesNotRecorded.
	AllergyStatus string
	Alerts        []Alert
}

// Allergy statuses of the banner.
const (
	AllergiesRecorded    = "recorded"
	NoKnownAllergies     = "no-known-allergies"
	AllergiesNotRecorded = "not-recorded"
)

// Alert is a banner alert: an active Flag, or the allergy status the
// chart itself states ("No known allergies", "Allergies not recorded").
type Alert struct {
	Text     string
	Category string
	Since    Date
	FlagID   string // the Flag, "" for the chart's own alerts
}

func banner(p map[string]any, id string, now time.Time) Banner {
	b := Banner{PatientID: id, Name: humanName(objs(p, "name")), BirthDate: parseDate(fhir.Str(p["birthDate"])),
		Sex: fhir.Str(p["gender"]), MRN: mrn(objs(p, "identifier")), AgeYears: -1}
	if d, ok := boolean(p, "deceasedBoolean"); ok {
		b.Deceased = d
	}
	if s := fhir.Str(p["deceasedDateTime"]); s != "" {
		b.Deceased, b.DeceasedDate = true, parseDate(s)
	}
	at := now
	if !b.DeceasedDate.Time.IsZero() {
		at = b.DeceasedDate.Time
	}
	if !b.BirthDate.Time.IsZero() {
		b.Age, b.AgeYears = age(b.BirthDate.Time, at)
	}
	b.Language = language(objs(p, "communication"))
	return b
}

// humanName picks the official (else usual, else first) name that is not
// over, and writes it "Given Family".
func humanName(names []map[string]any) string {
	var pick map[string]any
	for _, use := range []string{"official", "usual", ""} {
		for _, n := range names {
			if use == "" || fhir.Str(n["use"]) == use {
				if _, end := period(fhir.Obj(n["period"])); !end.IsZero() && use != "" {
					continue
				}
				pick = n
				break
			}
		}
		if pick != nil {
			break
		}
	}
	if pick == nil {
		return ""
	}
	if t := fhir.Str(pick["text"]); t != "" {
		return t
	}
	var parts []string
	for _, g := range fhir.List(pick["given"]) {
		if s, ok := g.(string); ok {
			parts = append(parts, s)
		}
	}
	if f := fhir.Str(pick["family"]); f != "" {
		parts = append(parts, f)
	}
	return strings.Join(parts, " ")
}

// mrn returns the value of the identifier typed MR (HL7 v2 table 0203,
// "Medical record number"), as US Core and Synthea type it.
func mrn(ids []map[string]any) string {
	for _, id := range ids {
		if concept(fhir.Obj(id["type"])).Has("http://terminology.hl7.org/CodeSystem/v2-0203", "MR") {
			return fhir.Str(id["value"])
		}
	}
	return ""
}

// language returns the preferred communication language (or the first).
func language(comms []map[string]any) string {
	var first string
	for _, c := range comms {
		l := concept(fhir.Obj(c["language"])).Text
		if pref, _ := boolean(c, "preferred"); pref {
			return l
		}
		if first == "" {
			first = l
		}
	}
	return first
}

// age computes completed years (months under two years, days under two
// months) between birth and at, by calendar.
func age(birth, at time.Time) (string, int) {
	by, bm, bd := birth.Date()
	ay, am, ad := at.Date()
	years := ay - by
	if am < bm || (am == bm && ad < bd) {
		years--
	}
	if years < 0 {
		return "", -1
	}
	if years >= 2 {
		return fmt.Sprintf("%d y", years), years
	}
	months := (ay-by)*12 + int(am-bm)
	if ad < bd {
		months--
	}
	if months >= 2 {
		return fmt.Sprintf("%d mo", months), years
	}
	days := int(at.Sub(time.Date(by, bm, bd, 0, 0, 0, 0, at.Location())).Hours() / 24)
	return fmt.Sprintf("%d d", max(days, 0)), years
}

// flags lists the active Flags (status active, period not over).
func flags(recs []record, now time.Time) []Alert {
	var out []Alert
	for _, r := range recs {
		if fhir.Str(r.Res["status"]) != "active" {
			continue
		}
		start, end := period(fhir.Obj(r.Res["period"]))
		if !end.Time.IsZero() && end.Time.Before(now) {
			continue
		}
		cat := ""
		if cs := concepts(r.Res, "category"); len(cs) > 0 {
			cat = cs[0].Text
		}
		out = append(out, Alert{Text: concept(fhir.Obj(r.Res["code"])).Text, Category: cat, Since: start, FlagID: r.ID})
	}
	return out
}
