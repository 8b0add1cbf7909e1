package smart

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

// Compiler compiles FHIR search parameters into a store query
// (*search.Compiler).
type Compiler interface {
	Criteria(typ string, params url.Values) (*store.Query, error)
}

// RepoPatients serves the patient picker from the Repository, with the
// access of the principal in each call's context (so the picker lists only
// patients the user may see, and the reads are audited).
func RepoPatients(r *repo.Repo, c Compiler) Patients {
	return repoPatients{r: r, c: c}
}

type repoPatients struct {
	r *repo.Repo
	c Compiler
}

const pickerLimit = 20

func (p repoPatients) Find(ctx context.Context, name string) ([]PatientSummary, error) {
	q, err := p.c.Criteria("Patient", url.Values{"name": {name}, "_sort": {"family,given"}})
	if err != nil {
		return nil, err
	}
	q.Count = pickerLimit
	res, err := p.r.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []PatientSummary
	for _, rec := range res.Records {
		out = append(out, summarize(rec.ID, rec.JSON))
	}
	return out, nil
}

func (p repoPatients) Get(ctx context.Context, id string) (*PatientSummary, error) {
	rec, err := p.r.Read(ctx, "Patient", id)
	if err != nil {
		return nil, err
	}
	s := summarize(id, rec.JSON)
	return &s, nil
}

// summarize reads the picker's columns from a Patient's JSON.
func summarize(id string, raw []byte) PatientSummary {
	var pt struct {
		Name []struct {
			Use    string   `json:"use"`
			Text   string   `json:"text"`
			Family string   `json:"family"`
			Given  []string `json:"given"`
		} `json:"name"`
		BirthDate string `json:"birthDate"`
		Gender    string `json:"gender"`
	}
	json.Unmarshal(raw, &pt)
	s := PatientSummary{ID: id, BirthDate: pt.BirthDate, Gender: pt.Gender, Name: "Patient " + id}
	for i, n := range pt.Name {
		if i > 0 && n.Use != "official" {
			continue
		}
		switch {
		case n.Text != "":
			s.Name = n.Text
		case n.Family != "" || len(n.Given) > 0:
			s.Name = strings.TrimSpace(strings.Join(n.Given, " ") + " " + n.Family)
		}
	}
	return s
}
