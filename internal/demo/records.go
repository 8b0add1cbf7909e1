package demo

import (
	"fmt"
	"strings"
	"time"
)

func (c *chart) patient() map[string]any {
	p := c.p
	r := resource("Patient", c.pid())
	r["extension"] = arr(
		omb("us-core-race", p.race),
		omb("us-core-ethnicity", p.eth),
		map[string]any{"url": usCore + "StructureDefinition/us-core-birthsex", "valueCode": strings.ToUpper(p.gender[:1])},
	)
	r["identifier"] = arr(map[string]any{
		"use":    "usual",
		"type":   concept("Medical Record Number", code{tho + "v2-0203", "MR", "Medical record number"}),
		"system": sysMRN,
		"value":  p.mrn,
	})
	r["active"] = true
	given := make([]any, len(p.given))
	for i, g := range p.given {
		given[i] = g
	}
	r["name"] = arr(map[string]any{"use": "official", "family": p.family, "given": given})
	tel := arr(telecom("phone", p.phone, "mobile"))
	if p.email != "" {
		tel = append(tel, telecom("email", p.email, "home"))
	}
	r["telecom"] = tel
	r["gender"] = p.gender
	r["birthDate"] = date(c.day0.AddDate(0, 0, -p.ageDays))
	r["address"] = arr(p.addr.json("home"))
	var comm []any
	for i, l := range p.langs {
		comm = append(comm, map[string]any{"language": concept("", l), "preferred": i == 0})
	}
	r["communication"] = comm
	r["generalPractitioner"] = arr(clinicianByKey(p.pcp).ref())
	r["managingOrganization"] = orgRef()
	if g := p.guardian; g != nil {
		r["contact"] = arr(map[string]any{
			"relationship": concepts(concept("", code{tho + "v2-0131", "N", "Next-of-Kin"}), concept("", g.relation)),
			"name":         map[string]any{"family": g.family, "given": arr(g.given)},
			"telecom":      arr(telecom("phone", g.phone, "mobile")),
			"gender":       g.gender,
		})
	}
	return r
}

// omb is a US Core race or ethnicity extension with its OMB category.
func omb(name string, c code) map[string]any {
	return map[string]any{
		"url": usCore + "StructureDefinition/" + name,
		"extension": arr(
			map[string]any{"url": "ombCategory", "valueCoding": c.coding()},
			map[string]any{"url": "text", "valueString": c.display},
		),
	}
}

func (c *chart) relatedPerson(g *guardian) map[string]any {
	r := resource("RelatedPerson", c.pid()+"-"+g.key)
	r["active"] = true
	r["patient"] = c.patientRef()
	r["relationship"] = concepts(concept("", g.relation))
	r["name"] = arr(map[string]any{"family": g.family, "given": arr(g.given)})
	r["telecom"] = arr(telecom("phone", g.phone, "mobile"))
	r["gender"] = g.gender
	r["address"] = arr(c.p.addr.json("home"))
	return r
}

var coverageTypes = map[string]code{
	"commercial": {sysSOPT, "3712", "PPO"},
	"medicare":   {sysSOPT, "1", "MEDICARE"},
	"medicaid":   {sysSOPT, "2", "MEDICAID"},
}

func (c *chart) coverage() map[string]any {
	cv := c.p.coverage
	py := payers[cv.payer]
	r := resource("Coverage", c.pid()+"-coverage")
	r["identifier"] = arr(map[string]any{
		"type":   concept("", code{tho + "v2-0203", "MB", "Member Number"}),
		"system": sysMember,
		"value":  cv.memberID,
	})
	r["status"] = "active"
	r["type"] = concept("", coverageTypes[cv.payer])
	r["subscriberId"] = cv.memberID
	r["beneficiary"] = c.patientRef()
	r["relationship"] = concept("Self", code{tho + "subscriber-relationship", "self", "Self"})
	r["period"] = map[string]any{"start": date(c.dayAt(cv.sinceAgo))}
	r["payor"] = arr(payerRef(py))
	r["class"] = arr(
		map[string]any{"type": concept("", code{tho + "coverage-class", "group", "Group"}), "value": cv.group, "name": cv.group},
		map[string]any{"type": concept("", code{tho + "coverage-class", "plan", "Plan"}), "value": strings.ToLower(strings.ReplaceAll(cv.plan, " ", "-")), "name": cv.plan},
	)
	return r
}

func (c *chart) allergies() {
	p := c.p
	recorder := clinicianByKey(p.pcp)
	first := c.now
	if len(c.encs) > 0 {
		first = c.encs[0].start
	}
	if len(p.allergies) == 0 {
		r := resource("AllergyIntolerance", c.pid()+"-nka")
		r["clinicalStatus"] = concept("", code{tho + "allergyintolerance-clinical", "active", "Active"})
		r["verificationStatus"] = concept("", code{tho + "allergyintolerance-verification", "confirmed", "Confirmed"})
		r["code"] = concept("No known allergies", code{sysSNOMED, "716186003", "No known allergy"})
		r["patient"] = c.patientRef()
		r["recordedDate"] = dateTime(first)
		r["recorder"] = recorder.ref()
		c.emit(r)
		return
	}
	for i, a := range p.allergies {
		r := resource("AllergyIntolerance", fmt.Sprintf("%s-allergy-%d", c.pid(), i+1))
		r["clinicalStatus"] = concept("", code{tho + "allergyintolerance-clinical", "active", "Active"})
		r["verificationStatus"] = concept("", code{tho + "allergyintolerance-verification", "confirmed", "Confirmed"})
		r["type"] = a.kind
		r["category"] = arr(a.category)
		r["criticality"] = a.critical
		r["code"] = concept(a.text, a.substance)
		r["patient"] = c.patientRef()
		r["onsetDateTime"] = date(c.day0.AddDate(0, 0, -a.onsetAgo))
		r["recordedDate"] = dateTime(first)
		r["recorder"] = recorder.ref()
		r["reaction"] = arr(map[string]any{
			"manifestation": concepts(concept(a.reactText, a.reaction)),
			"severity":      a.severity,
		})
		c.emit(r)
	}
}

func (c *chart) immunization(e *enc, key string, i int) {
	v := vaccines[key]
	id := e.id + "-" + key
	if strings.HasPrefix(key, "flu") {
		id = c.pid() + "-flu" + e.season // the season's shot, whichever visit gives it
	}
	r := resource("Immunization", id)
	r["status"] = "completed"
	r["vaccineCode"] = concept("", code{sysCVX, v.cvx, v.display})
	r["patient"] = c.patientRef()
	r["encounter"] = ref("Encounter", e.id, "")
	t := e.start.Add(time.Duration(15+5*i) * time.Minute)
	r["occurrenceDateTime"] = dateTime(t)
	r["recorded"] = dateTime(t)
	r["primarySource"] = true
	r["location"] = e.site.ref()
	r["lotNumber"] = fmt.Sprintf("%c%c%05d", 'A'+c.rng.IntN(26), 'A'+c.rng.IntN(26), c.rng.IntN(100000))
	r["expirationDate"] = date(t.AddDate(1, c.rng.IntN(6), 0))
	if v.route != routeOral {
		age := c.p.ageDays - e.ago
		sites := [][2]code{
			{{tho + "v3-ActSite", "LD", "left deltoid"}, {tho + "v3-ActSite", "RD", "right deltoid"}},
			{{tho + "v3-ActSite", "LT", "left thigh"}, {tho + "v3-ActSite", "RT", "right thigh"}},
		}
		s := sites[0]
		if age < years(3) {
			s = sites[1]
		}
		r["site"] = concept("", s[i%2])
	}
	r["route"] = concept("", v.route)
	r["doseQuantity"] = quantity(v.ml, 1, "mL", "mL")
	r["performer"] = arr(map[string]any{
		"function": concept("", code{tho + "v2-0443", "AP", "Administering Provider"}),
		"actor":    e.by.ref(),
	})
	c.emit(r)
}

// birthImmunization records a newborn dose given at the birth hospital:
// reported, not administered here (primarySource false).
func (c *chart) birthImmunization(key string) {
	v := vaccines[key]
	born := c.day0.AddDate(0, 0, -c.p.ageDays)
	r := resource("Immunization", c.pid()+"-"+key+"-birth")
	r["status"] = "completed"
	r["vaccineCode"] = concept("", code{sysCVX, v.cvx, v.display})
	r["patient"] = c.patientRef()
	r["occurrenceDateTime"] = date(born)
	r["primarySource"] = false
	r["reportOrigin"] = concept("", code{tho + "immunization-origin", "provider", "Other Provider"})
	r["route"] = concept("", v.route)
	r["doseQuantity"] = quantity(v.ml, 1, "mL", "mL")
	c.emit(r)
}

// note writes the visit's clinical note as a DocumentReference with a
// plain-text attachment (US Core DocumentReference, clinical-note).
func (c *chart) note(e *enc) {
	kind := visitKinds[e.kind]
	signed := e.end.Add(20 * time.Minute)
	if e.lastResult.After(signed) {
		signed = e.lastResult.Add(30 * time.Minute)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s - %s\n%s, %s\nPatient: %s (MRN %s)\n\n", kind.typ.display, e.start.Format("Jan 2, 2006"), e.by.name(), e.site.name, c.p.displayName(), c.p.mrn)
	fmt.Fprintf(&b, "S: %s\n\n", e.subj)
	if len(e.summary) > 0 {
		fmt.Fprintf(&b, "O: %s.\n", strings.Join(e.summary, ", "))
	}
	if len(e.results) > 0 {
		fmt.Fprintf(&b, "Results: %s.\n", strings.Join(e.results, "; "))
	}
	fmt.Fprintf(&b, "\nA/P: %s\n\nElectronically signed by %s on %s.\n", e.plan, e.by.name(), signed.Format("Jan 2, 2006 15:04"))
	r := resource("DocumentReference", e.id+"-note")
	r["status"] = "current"
	r["docStatus"] = "final"
	r["type"] = concept("", kind.note)
	r["category"] = concepts(concept("", code{usCore + "CodeSystem/us-core-documentreference-category", "clinical-note", "Clinical Note"}))
	r["subject"] = c.patientRef()
	r["date"] = dateTime(signed)
	r["author"] = arr(e.by.ref())
	r["authenticator"] = e.by.ref()
	r["custodian"] = orgRef()
	r["description"] = kind.typ.display + " note"
	r["content"] = arr(map[string]any{"attachment": map[string]any{
		"contentType": "text/plain",
		"language":    "en-US",
		"data":        b64(b.String()),
		"title":       kind.note.display,
		"creation":    dateTime(signed),
	}})
	r["context"] = map[string]any{
		"encounter":    arr(ref("Encounter", e.id, "")),
		"period":       period(e.start, e.end),
		"facilityType": concept("", e.site.typ),
	}
	c.emit(r)
}

func (c *chart) careTeam() map[string]any {
	r := resource("CareTeam", c.pid()+"-careteam")
	r["status"] = "active"
	r["name"] = c.p.displayName() + " primary care team"
	r["subject"] = c.patientRef()
	if len(c.encs) > 0 {
		r["period"] = map[string]any{"start": date(c.encs[0].start)}
	}
	pcp := clinicianByKey(c.p.pcp)
	parts := arr(map[string]any{
		"role":       concepts(concept("", code{sysSNOMED, "453231000124104", "Primary care provider"})),
		"member":     pcp.ref(),
		"onBehalfOf": orgRef(),
	})
	for _, k := range c.p.team {
		cl := clinicianByKey(k)
		parts = append(parts, map[string]any{"role": concepts(concept("", cl.taxonomy)), "member": cl.ref(), "onBehalfOf": orgRef()})
	}
	parts = append(parts, map[string]any{
		"role":   concepts(concept("", code{sysSNOMED, "116154003", "Patient"})),
		"member": c.patientRef(),
	})
	if g := c.p.guardian; g != nil {
		parts = append(parts, map[string]any{
			"role":   concepts(concept("", code{sysSNOMED, "133932002", "Caregiver"})),
			"member": ref("RelatedPerson", c.pid()+"-"+g.key, g.given+" "+g.family),
		})
	}
	r["participant"] = parts
	r["managingOrganization"] = arr(orgRef())
	return r
}

func (c *chart) appointment(n int, a appt, cal *calendar) map[string]any {
	by := a.by
	if by == "" {
		by = c.p.pcp
	}
	cl := clinicianByKey(by)
	s := cal.book(by, a.weekday, a.hour)
	r := resource("Appointment", fmt.Sprintf("%s-appt-%d", c.pid(), n))
	r["status"] = "booked"
	r["serviceCategory"] = concepts(concept("", gpCategory))
	r["serviceType"] = concepts(concept("", generalPractice))
	r["appointmentType"] = concept("", map[string]code{
		"ROUTINE":  {tho + "v2-0276", "ROUTINE", "Routine appointment - default if not valued"},
		"FOLLOWUP": {tho + "v2-0276", "FOLLOWUP", "A follow up visit from a previous appointment"},
		"CHECKUP":  {tho + "v2-0276", "CHECKUP", "A routine check-up, such as an annual physical"},
	}[a.typ])
	e := &enc{visit: visit{kind: a.kind, reason: a.reason}}
	r["reasonCode"] = concepts(c.reason(e))
	r["description"] = a.desc
	r["start"] = dateTime(s.start)
	r["end"] = dateTime(s.end)
	r["minutesDuration"] = integer(slotMinutes)
	r["slot"] = arr(ref("Slot", s.id, ""))
	r["created"] = dateTime(c.day0.AddDate(0, 0, -9-n).Add(11 * time.Hour))
	r["participant"] = arr(
		map[string]any{"actor": c.patientRef(), "required": "required", "status": "accepted"},
		map[string]any{"actor": cl.ref(), "required": "required", "status": "accepted"},
		map[string]any{"actor": sites[cl.location].ref(), "required": "required", "status": "accepted"},
	)
	return r
}
