package audit

import (
	"encoding/base64"
	"net/url"
	"strconv"
)

// Code systems of the AuditEvent view (https://hl7.org/fhir/R4/auditevent.html).
const (
	sysEventType   = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	sysDICOM       = "http://dicom.nema.org/resources/ontology/DCM"
	sysRESTful     = "http://hl7.org/fhir/restful-interaction"
	sysInteraction = "http://openchart.org/fhir/CodeSystem/audit-interaction"
	sysEntityType  = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	sysObjectRole  = "http://terminology.hl7.org/CodeSystem/object-role"
	sysSourceType  = "http://terminology.hl7.org/CodeSystem/security-source-type"
	sysActReason   = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	sysUserID      = "urn:openchart:user"
	sysClientID    = "urn:openchart:client"
)

// IDPrefix starts the logical id of every chain entry seen as an
// AuditEvent: "audit-<seq>".
const IDPrefix = "audit-"

// ID is the AuditEvent id of entry seq.
func ID(seq int64) string { return IDPrefix + strconv.FormatInt(seq, 10) }

// ParseID returns the sequence number an AuditEvent id names.
func ParseID(id string) (int64, bool) {
	if len(id) <= len(IDPrefix) || id[:len(IDPrefix)] != IDPrefix {
		return 0, false
	}
	n, err := strconv.ParseInt(id[len(IDPrefix):], 10, 64)
	return n, err == nil && n > 0 && ID(n) == id
}

func coding(system, code, display string) map[string]any {
	c := map[string]any{"system": system, "code": code}
	if display != "" {
		c["display"] = display
	}
	return c
}

// eventType is AuditEvent.type and .subtype: RESTful operations as FHIR
// codes them, security events with the DICOM codes the AuditEvent value set
// includes (login, logout, export, role change, emergency override).
func eventType(interaction string) (typ map[string]any, subtype map[string]any) {
	switch interaction {
	case InteractionLogin, InteractionLoginFailed:
		return coding(sysDICOM, "110114", "User Authentication"), coding(sysDICOM, "110122", "Login")
	case InteractionLogout:
		return coding(sysDICOM, "110114", "User Authentication"), coding(sysDICOM, "110123", "Logout")
	case InteractionExport:
		return coding(sysDICOM, "110106", "Export"), coding(sysInteraction, interaction, "")
	case InteractionPermissionChange:
		return coding(sysDICOM, "110136", "Security Roles Changed"), coding(sysInteraction, interaction, "")
	case InteractionBreakGlass:
		return coding(sysDICOM, "110113", "Security Alert"), coding(sysInteraction, interaction, "")
	}
	return coding(sysEventType, "rest", "RESTful Operation"), coding(sysRESTful, interaction, "")
}

// AuditEvent returns the entry as a FHIR R4 AuditEvent resource with id
// "audit-<seq>". serverName names this server as the observer.
func (e *Entry) AuditEvent(serverName string) map[string]any {
	typ, sub := eventType(e.Interaction)
	ev := map[string]any{
		"resourceType": "AuditEvent",
		"id":           ID(e.Seq),
		"type":         typ,
		"subtype":      []any{sub},
		"action":       string(e.Action),
		"recorded":     e.Recorded.UTC().Format("2006-01-02T15:04:05.000000Z"),
		"outcome":      strconv.Itoa(int(e.Outcome)),
		"agent":        e.agents(),
		"source": map[string]any{
			"observer": map[string]any{"display": serverName},
			"type":     []any{coding(sysSourceType, "4", "Application Server")},
		},
	}
	if e.OutcomeDesc != "" {
		ev["outcomeDesc"] = e.OutcomeDesc
	}
	if ents := e.entities(); len(ents) > 0 {
		ev["entity"] = ents
	}
	return ev
}

// agents: the person or client that asked (requestor), and the client
// application a user acted through.
func (e *Entry) agents() []any {
	a := &e.Agent
	who := map[string]any{}
	switch {
	case a.UserID != "" || a.Username != "":
		if a.FHIRUser != "" {
			who["reference"] = a.FHIRUser
		}
		if a.UserID != "" {
			who["identifier"] = map[string]any{"system": sysUserID, "value": a.UserID}
		}
		who["display"] = a.Name()
	case a.ClientID != "":
		who["identifier"] = map[string]any{"system": sysClientID, "value": a.ClientID}
		who["display"] = a.ClientID
	default:
		who["display"] = a.Kind
	}
	main := map[string]any{"who": who, "requestor": true}
	if a.UserID != "" {
		main["altId"] = a.UserID
	}
	if a.Username != "" {
		main["name"] = a.Username
	}
	var roles []any
	for _, r := range a.Roles {
		roles = append(roles, map[string]any{"text": r})
	}
	if a.Organization != "" {
		roles = append(roles, map[string]any{"text": "organization " + a.Organization})
	}
	if len(roles) > 0 {
		main["role"] = roles
	}
	if a.BreakGlassReason != "" || a.BreakGlassPatient != "" {
		// Emergency access: purpose of use "break the glass" (170.315(d)(6)).
		main["purposeOfUse"] = []any{map[string]any{
			"coding": []any{coding(sysActReason, "BTG", "break the glass")},
			"text":   a.BreakGlassReason,
		}}
	}
	if a.Source != "" {
		main["network"] = map[string]any{"address": a.Source, "type": "2"} // 2: IP address
	}
	out := []any{main}
	if a.ClientID != "" && (a.UserID != "" || a.Username != "") {
		out = append(out, map[string]any{
			"type":      map[string]any{"coding": []any{coding(sysDICOM, "110150", "Application")}},
			"who":       map[string]any{"identifier": map[string]any{"system": sysClientID, "value": a.ClientID}, "display": a.ClientID},
			"requestor": false,
		})
	}
	return out
}

func (e *Entry) entities() []any {
	var out []any
	for _, p := range e.Patients {
		out = append(out, map[string]any{
			"what": map[string]any{"reference": "Patient/" + p},
			"type": coding(sysEntityType, "1", "Person"),
			"role": coding(sysObjectRole, "1", "Patient"),
		})
	}
	for _, en := range e.Entities {
		if en.Type == "Patient" && en.ID != "" && en.Version == 0 && contains(e.Patients, en.ID) {
			continue // already listed as a patient
		}
		if en.Type == UserEntity {
			// A user account is no FHIR resource: named by identifier,
			// as a security resource.
			out = append(out, map[string]any{
				"what": map[string]any{"identifier": map[string]any{"system": sysUserID, "value": en.ID}},
				"type": coding(sysEntityType, "2", "System Object"),
				"role": coding(sysObjectRole, "11", "Security Resource"),
			})
			continue
		}
		what := map[string]any{}
		switch {
		case en.ID == "":
			what["display"] = en.Type
		case en.Version > 0:
			what["reference"] = en.Type + "/" + en.ID + "/_history/" + strconv.FormatInt(en.Version, 10)
		default:
			what["reference"] = en.Type + "/" + en.ID
		}
		out = append(out, map[string]any{
			"what": what,
			"type": coding(sysEntityType, "2", "System Object"),
			"role": coding(sysObjectRole, "4", "Domain Resource"),
		})
	}
	if len(e.Query) > 0 {
		// The search as the client sent it, base64 as AuditEvent.entity.query asks.
		q := url.Values{}
		for _, p := range e.Query {
			q.Add(p.Name, p.Value)
		}
		out = append(out, map[string]any{
			"type":  coding(sysEntityType, "2", "System Object"),
			"role":  coding(sysObjectRole, "24", "Query"),
			"query": base64.StdEncoding.EncodeToString([]byte(q.Encode())),
		})
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
