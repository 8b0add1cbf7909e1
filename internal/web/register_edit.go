package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

// The demographics page edits a registered Patient with the registration
// form. The form carries the version it was read at; the update is made
// only on that version (repo.UpdateOptions.IfMatch), so that someone
// else's change made meanwhile is never overwritten silently.

// readPatient reads a Patient with the user's principal; one the user may
// not see is not found.
func (s *server) deskReadPatient(ctx context.Context, id string) (*store.Record, map[string]any, error) {
	if !validID(id) {
		return nil, nil, notFound
	}
	rec, err := s.cfg.Repo.Read(ctx, "Patient", id)
	if err != nil {
		return nil, nil, err
	}
	var res map[string]any
	if err := json.Unmarshal(rec.JSON, &res); err != nil {
		return nil, nil, err
	}
	return rec, res, nil
}

// activeCoverage is the patient's active Coverage (nil when none).
func (s *server) deskActiveCoverage(ctx context.Context, tx *repo.Tx, patientID string) (*store.Record, map[string]any, error) {
	c, err := s.cfg.Search.Compile("Coverage", url.Values{"beneficiary": {"Patient/" + patientID}, "status": {"active"}, "_count": {"1"}, "_sort": {"-_lastUpdated"}}, true)
	if err != nil {
		return nil, nil, err
	}
	var res *store.Result
	if tx != nil {
		res, err = tx.Search(ctx, c.Query)
	} else {
		res, err = s.cfg.Repo.Search(ctx, c.Query)
	}
	if err != nil {
		return nil, nil, err
	}
	for _, rec := range res.Records {
		if rec.Type == "Coverage" && !rec.Deleted {
			var m map[string]any
			if err := json.Unmarshal(rec.JSON, &m); err != nil {
				return nil, nil, err
			}
			return rec, m, nil
		}
	}
	return nil, nil, nil
}

// demographicsForm is the form of a stored Patient and its Coverage.
func deskDemographicsForm(pat, cov map[string]any, version int64) url.Values {
	f := url.Values{}
	for _, n := range deskList(pat["name"]) {
		m := deskObj(n)
		if u := deskStr(m["use"]); u == "official" || u == "" {
			f.Set("family", deskStr(m["family"]))
			var given []string
			for _, g := range deskList(m["given"]) {
				given = append(given, deskStr(g))
			}
			f.Set("given", strings.Join(given, " "))
			break
		}
	}
	f.Set("sex", deskStr(pat["gender"]))
	f.Set("birthdate", deskStr(pat["birthDate"]))
	for _, t := range deskList(pat["telecom"]) {
		m := deskObj(t)
		if k := deskStr(m["system"]); (k == "phone" || k == "email") && f.Get(k) == "" {
			f.Set(k, deskStr(m["value"]))
		}
	}
	if a := deskList(pat["address"]); len(a) > 0 {
		m := deskObj(a[0])
		var lines []string
		for _, l := range deskList(m["line"]) {
			lines = append(lines, deskStr(l))
		}
		f.Set("line", strings.Join(lines, ", "))
		f.Set("city", deskStr(m["city"]))
		f.Set("state", deskStr(m["state"]))
		f.Set("postal", deskStr(m["postalCode"]))
		f.Set("country", deskStr(m["country"]))
	}
	for _, c := range deskList(pat["communication"]) {
		m := deskObj(c)
		if m["preferred"] == true {
			for _, cd := range deskList(deskObj(m["language"])["coding"]) {
				if deskStr(deskObj(cd)["system"]) == deskBCP47 {
					f.Set("language", deskStr(deskObj(cd)["code"]))
				}
			}
		}
	}
	if c := deskList(pat["contact"]); len(c) > 0 {
		m := deskObj(c[0])
		f.Set("contact_name", deskStr(deskObj(m["name"])["text"]))
		for _, rel := range deskList(m["relationship"]) {
			for _, cd := range deskList(deskObj(rel)["coding"]) {
				if deskStr(deskObj(cd)["system"]) == deskV20131 {
					f.Set("contact_relationship", deskStr(deskObj(cd)["code"]))
				}
			}
		}
		for _, t := range deskList(m["telecom"]) {
			if deskStr(deskObj(t)["system"]) == "phone" {
				f.Set("contact_phone", deskStr(deskObj(t)["value"]))
			}
		}
	}
	if cov != nil {
		if p := deskList(cov["payor"]); len(p) > 0 {
			f.Set("payer", deskStr(deskObj(p[0])["display"]))
		}
		f.Set("member_id", deskStr(cov["subscriberId"]))
		if c := deskList(cov["class"]); len(c) > 0 {
			f.Set("plan", deskStr(deskObj(c[0])["value"]))
		}
	}
	f.Set("version", strconv.FormatInt(version, 10))
	return f
}

// mrnOf is the patient's medical record number.
func deskMRN(rec *store.Record) string { return patientRowOf(rec).MRN }

func (s *server) deskEditPage(w http.ResponseWriter, r *http.Request) error {
	rec, pat, err := s.deskReadPatient(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	_, cov, err := s.deskActiveCoverage(r.Context(), nil, rec.ID)
	if err != nil && errs.KindOf(err) != errs.Permission {
		return err
	}
	v := s.deskRegisterView(true)
	v.ID, v.MRN = rec.ID, deskMRN(rec)
	s.render(w, r, http.StatusOK, "register", page{Title: "Demographics: " + patientRowOf(rec).Name, Data: v,
		Form: deskDemographicsForm(pat, cov, rec.Version)})
	return nil
}

func (s *server) deskEditSubmit(w http.ResponseWriter, r *http.Request) error {
	rec, _, err := s.deskReadPatient(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	f, fe := deskReadRegisterForm(r, time.Now())
	version, verr := strconv.ParseInt(f.Get("version"), 10, 64)
	if verr != nil || version < 1 {
		return errs.E(errs.Invalid, "The form is missing the record's version: reload the page and try again.")
	}
	v := s.deskRegisterView(true)
	v.ID, v.MRN = rec.ID, deskMRN(rec)
	if len(fe) == 0 {
		err := s.cfg.Repo.InTx(r.Context(), func(tx *repo.Tx) error {
			cur, err := tx.Read(r.Context(), "Patient", rec.ID)
			if err != nil {
				return err
			}
			var pat map[string]any
			if err := json.Unmarshal(cur.JSON, &pat); err != nil {
				return err
			}
			deskSetDemographics(pat, f)
			if _, err := tx.Update(r.Context(), "Patient", rec.ID, pat, repo.UpdateOptions{IfMatch: version}); err != nil {
				return err
			}
			covRec, cov, err := s.deskActiveCoverage(r.Context(), tx, rec.ID)
			if err != nil {
				return err
			}
			if nc := deskCoverageOf(cov, "Patient/"+rec.ID, f); nc != nil {
				if covRec != nil {
					_, err = tx.Update(r.Context(), "Coverage", covRec.ID, nc, repo.UpdateOptions{IfMatch: covRec.Version})
				} else {
					_, err = tx.Create(r.Context(), nc, repo.CreateOptions{})
				}
			}
			return err
		})
		if err == nil {
			s.flash(w, "The demographics of "+f.Get("given")+" "+f.Get("family")+" were saved.")
			http.Redirect(w, r, "/patients/"+rec.ID+"/edit", http.StatusSeeOther)
			return nil
		}
		if errs.KindOf(err) == errs.Precondition {
			// Someone saved this record after the form was opened: show
			// the current record, and nothing of this form is stored.
			_, pat, rerr := s.deskReadPatient(r.Context(), rec.ID)
			if rerr != nil {
				return rerr
			}
			cur, _ := s.cfg.Repo.Read(r.Context(), "Patient", rec.ID)
			_, cov, _ := s.deskActiveCoverage(r.Context(), nil, rec.ID)
			form := deskDemographicsForm(pat, cov, cur.Version)
			s.render(w, r, http.StatusConflict, "register", page{Title: "Demographics", Data: v, Form: form,
				Error: "Someone else changed this patient's record after you opened it, so your changes were not saved. The form now shows the current record: make your changes again."})
			return nil
		}
		if !deskFieldErrors(err, fe) {
			return err
		}
	}
	msg := "The changes were not saved: see the messages below."
	if m := fe[""]; m != "" {
		msg = "The changes were not saved: " + m
	}
	s.render(w, r, http.StatusBadRequest, "register", page{Title: "Demographics", Data: v, Form: f, Errors: fe, Error: msg})
	return nil
}
