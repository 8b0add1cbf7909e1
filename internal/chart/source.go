package chart

import "github.com/openchart/openchart/internal/fhir"

// Source says where a piece of the record came from, so that data from
// other organizations can be marked as such (docs/CHART.md, "Source").
type Source struct {
	// System is the resource's meta.source: the system that sent it, as
	// the sender recorded it.
	System string
	// Organization is the organization responsible for the data: the
	// Encounter's serviceProvider (for an Encounter, and for a resource
	// recorded in an Encounter), else the first Organization among the
	// resource's performer, recorder, asserter or requester.
	Organization Ref
	// External is set when Organization is known and differs from this
	// deployment's organization (Config.Organization, or the patient's
	// managingOrganization when that is not configured).
	External bool
}

// sourcer computes the Source of resources of one record.
type sourcer struct {
	home      string         // the home organization reference, or ""
	providers map[string]Ref // Encounter id -> serviceProvider
}

func newSourcer(home string, patient map[string]any, encounters []record) *sourcer {
	if home == "" && patient != nil {
		home = ref(fhir.Obj(patient["managingOrganization"])).Reference
	}
	s := &sourcer{home: home, providers: map[string]Ref{}}
	for _, e := range encounters {
		if sp := ref(fhir.Obj(e.Res["serviceProvider"])); sp.Reference != "" || sp.Display != "" {
			s.providers[e.ID] = sp
		}
	}
	return s
}

// of computes the Source of one resource.
func (s *sourcer) of(r record) Source {
	src := Source{System: fhir.Str(fhir.Obj(r.Res["meta"])["source"])}
	switch {
	case r.Type == "Encounter":
		src.Organization = ref(fhir.Obj(r.Res["serviceProvider"]))
	default:
		if enc := refID(ref(fhir.Obj(r.Res["encounter"])).Reference, "Encounter"); enc != "" {
			src.Organization = s.providers[enc]
		}
	}
	if src.Organization.Reference == "" {
		src.Organization = actorOrganization(r.Res)
	}
	src.External = s.home != "" && src.Organization.Reference != "" && src.Organization.Reference != s.home
	return src
}

// actorOrganization returns the first Organization among the actors of a
// resource.
func actorOrganization(res map[string]any) Ref {
	for _, k := range []string{"performer", "recorder", "asserter", "requester", "informationSource"} {
		var cands []map[string]any
		if o := fhir.Obj(res[k]); o != nil {
			cands = append(cands, o)
		}
		for _, o := range objs(res, k) {
			if a := fhir.Obj(o["actor"]); a != nil { // Procedure.performer.actor, Immunization.performer.actor
				o = a
			}
			cands = append(cands, o)
		}
		for _, c := range cands {
			if r := ref(c); refType(r.Reference) == "Organization" {
				return r
			}
		}
	}
	return Ref{}
}
