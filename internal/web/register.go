package web

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

// Registration writes a Patient (and, with insurance, a Coverage) in one
// Repository transaction with the user's principal.
//
// The medical record number rule: an identifier of type v2-0203 MR with
// system "urn:openchart:mrn:<organization id>" (the organization the user
// acts for) and a value of 8 random decimal digits, the first not 0,
// drawn again while a Patient already holds it (checked inside the
// transaction). Random numbers need no counter shared between servers and
// tell nothing about when or in which order patients were registered.

const (
	deskMRNSystem     = "urn:openchart:mrn:"
	deskV20203        = "http://terminology.hl7.org/CodeSystem/v2-0203"
	deskV20131        = "http://terminology.hl7.org/CodeSystem/v2-0131"
	deskBCP47         = "urn:ietf:bcp:47"
	deskCoverageClass = "http://terminology.hl7.org/CodeSystem/coverage-class"
)

// deskLanguages are the preferred deskLanguages offered (BCP-47 tags of the
// common-deskLanguages value set).
var deskLanguages = []option{
	{"", "Not recorded"},
	{"en", "English"}, {"es", "Spanish"}, {"fr", "French"}, {"de", "German"},
	{"pt", "Portuguese"}, {"it", "Italian"}, {"pl", "Polish"}, {"ru", "Russian"},
	{"ar", "Arabic"}, {"hi", "Hindi"}, {"zh", "Chinese"}, {"vi", "Vietnamese"},
	{"ko", "Korean"}, {"tl", "Tagalog"}, {"ht", "Haitian Creole"},
}

var deskSexes = []option{{"", "Choose"}, {"female", "Female"}, {"male", "Male"}, {"other", "Other"}, {"unknown", "Unknown"}}

// deskRelationships are the contact roles of v2-0131.
var deskRelationships = []option{
	{"", "Choose"}, {"C", "Emergency contact"}, {"N", "Next of kin"},
	{"E", "Employer"}, {"U", "Unknown"},
}

// registerFields are the form's inputs, in order.
var deskRegisterFields = []string{"family", "given", "birthdate", "sex", "phone", "email", "line", "city", "state",
	"postal", "country", "language", "contact_name", "contact_relationship", "contact_phone",
	"payer", "member_id", "plan", "duplicate_ok", "version"}

// registerView is the registration and demographics form.
type deskRegisterView struct {
	Edit          bool
	ID            string
	MRN           string
	Sexes         []option
	Languages     []option
	Relationships []option
	Duplicates    []patientRow
}

func (s *server) deskRegisterView(edit bool) deskRegisterView {
	return deskRegisterView{Edit: edit, Sexes: deskSexes, Languages: deskLanguages, Relationships: deskRelationships}
}

func (s *server) deskRegisterPage(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "register", page{Title: "Register a patient", Data: s.deskRegisterView(false), Form: url.Values{}})
	return nil
}

// readRegisterForm trims the submitted values and checks them, field by
// field.
func deskReadRegisterForm(r *http.Request, now time.Time) (url.Values, map[string]string) {
	f := url.Values{}
	for _, k := range deskRegisterFields {
		f.Set(k, strings.TrimSpace(r.PostForm.Get(k)))
	}
	fe := map[string]string{}
	if f.Get("family") == "" {
		fe["family"] = "Enter the family name."
	}
	if f.Get("given") == "" {
		fe["given"] = "Enter the given name."
	}
	for _, k := range []string{"family", "given", "line", "city", "state", "country", "contact_name", "payer", "plan", "member_id"} {
		if len(f.Get(k)) > 200 {
			fe[k] = "This is too long (200 characters at most)."
		}
	}
	if msg := deskCheckBirthDate(f.Get("birthdate"), now); msg != "" {
		fe["birthdate"] = msg
	}
	if !slices.ContainsFunc(deskSexes[1:], func(o option) bool { return o.Value == f.Get("sex") }) {
		fe["sex"] = "Choose the sex."
	}
	for _, k := range []string{"phone", "contact_phone"} {
		if v := f.Get(k); v != "" && !deskValidPhone(v) {
			fe[k] = "Enter a phone number of 7 to 15 digits (spaces, dashes, dots, brackets and a leading + are fine)."
		}
	}
	if v := f.Get("email"); v != "" {
		if a, err := mail.ParseAddress(v); err != nil || a.Address != v || !strings.Contains(v[strings.Index(v, "@"):], ".") {
			fe["email"] = "Enter an email address such as name@example.org."
		}
	}
	if v := f.Get("postal"); len(v) > 20 {
		fe["postal"] = "Enter a postal code of 20 characters at most."
	}
	if !slices.ContainsFunc(deskLanguages, func(o option) bool { return o.Value == f.Get("language") }) {
		fe["language"] = "Choose a language from the list."
	}
	if f.Get("contact_name") != "" || f.Get("contact_phone") != "" || f.Get("contact_relationship") != "" {
		if f.Get("contact_name") == "" {
			fe["contact_name"] = "Enter the contact's name, or clear the contact's fields."
		}
		if !slices.ContainsFunc(deskRelationships[1:], func(o option) bool { return o.Value == f.Get("contact_relationship") }) {
			fe["contact_relationship"] = "Choose how the contact is related."
		}
	}
	if f.Get("payer") != "" || f.Get("member_id") != "" || f.Get("plan") != "" {
		if f.Get("payer") == "" {
			fe["payer"] = "Enter the insurer, or clear the insurance fields."
		}
		if f.Get("member_id") == "" {
			fe["member_id"] = "Enter the member ID from the insurance card."
		}
	}
	return f, fe
}

// checkBirthDate refuses dates that do not exist, lie in the future or
// more than 130 years back.
func deskCheckBirthDate(v string, now time.Time) string {
	if v == "" {
		return "Enter the birth date as YYYY-MM-DD, for example 1984-03-27."
	}
	d, err := time.Parse("2006-01-02", v)
	if err != nil {
		if birthDate.MatchString(v) && len(v) == 10 {
			return "This date does not exist: check the day and the month."
		}
		return "Enter the birth date as YYYY-MM-DD, for example 1984-03-27."
	}
	if d.After(now) {
		return "The birth date cannot be in the future."
	}
	if d.Before(now.AddDate(-130, 0, 0)) {
		return "The birth date is more than 130 years ago: check the year."
	}
	return ""
}

func deskValidPhone(v string) bool {
	digits := 0
	for i, c := range v {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' && i == 0, c == ' ', c == '-', c == '.', c == '(', c == ')':
		default:
			return false
		}
	}
	return digits >= 7 && digits <= 15
}

// foldName lowers a name and removes its diacritics ("Müller" ->
// "muller"), so that likely duplicates are found whatever the spelling of
// accents.
func deskFold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.TrimSpace(s)) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// duplicates finds likely duplicates of a new patient among the patients
// the user may see: the same family name (accent- and case-insensitive)
// and birth date, or the same phone number.
func (s *server) deskDuplicates(ctx context.Context, f url.Values, self string) ([]patientRow, error) {
	var out []patientRow
	seen := map[string]bool{self: true}
	add := func(params url.Values, keep func(*store.Record) bool) error {
		params.Set("_count", "20")
		c, err := s.cfg.Search.Compile("Patient", params, true)
		if err != nil {
			return err
		}
		res, err := s.cfg.Repo.Search(ctx, c.Query)
		if err != nil {
			return err
		}
		for _, rec := range res.Records {
			if rec.Type != "Patient" || rec.Deleted || seen[rec.ID] || !keep(rec) {
				continue
			}
			seen[rec.ID] = true
			out = append(out, patientRowOf(rec))
		}
		return nil
	}
	family := deskFold(f.Get("family"))
	err := add(url.Values{"family": {f.Get("family")}, "birthdate": {f.Get("birthdate")}}, func(rec *store.Record) bool {
		var p struct {
			Name []struct {
				Family string `json:"family"`
			} `json:"name"`
		}
		_ = json.Unmarshal(rec.JSON, &p)
		return slices.ContainsFunc(p.Name, func(n struct {
			Family string `json:"family"`
		}) bool {
			return deskFold(n.Family) == family
		})
	})
	if err != nil {
		return nil, err
	}
	if phone := f.Get("phone"); phone != "" {
		if err := add(url.Values{"phone": {phone}}, func(*store.Record) bool { return true }); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *server) deskRegisterSubmit(w http.ResponseWriter, r *http.Request) error {
	st := stateOf(r)
	f, fe := deskReadRegisterForm(r, time.Now())
	v := s.deskRegisterView(false)
	p := page{Title: "Register a patient", Form: f, Errors: fe}
	if st.session == nil || !strings.HasPrefix(st.session.Organization, "Organization/") {
		return errs.E(errs.Permission, "Registering a patient needs an organization to act for.")
	}
	if len(fe) == 0 && f.Get("duplicate_ok") != "yes" {
		dups, err := s.deskDuplicates(r.Context(), f, "")
		if err != nil {
			return err
		}
		if len(dups) > 0 {
			v.Duplicates = dups
			fe["duplicate_ok"] = "Check the patients above: if none of them is this person, tick “Register anyway” and register again."
		}
	}
	if len(fe) == 0 {
		id, mrn, err := s.deskCreatePatient(r.Context(), st.session.Organization, f)
		if err == nil {
			s.flash(w, fmt.Sprintf("Registered %s %s, MRN %s.", f.Get("given"), f.Get("family"), mrn))
			http.Redirect(w, r, "/patients/"+id+"/edit", http.StatusSeeOther)
			return nil
		}
		if !deskFieldErrors(err, fe) {
			return err
		}
	}
	p.Data = v
	p.Error = "The patient was not registered: see the messages below."
	if len(v.Duplicates) > 0 && len(fe) == 1 {
		p.Error = "This may be a patient who is already registered. Nothing was saved."
	}
	if m := fe[""]; m != "" {
		p.Error = "The patient was not registered: " + m
	}
	s.render(w, r, http.StatusBadRequest, "register", p)
	return nil
}

// fieldErrors puts the Invalid issues of a service's refusal next to the
// fields they name (or on the form); it reports false for errors that are
// not the user's.
func deskFieldErrors(err error, fe map[string]string) bool {
	switch errs.KindOf(err) {
	case errs.Invalid:
	case errs.Conflict, errs.Precondition:
		fe[""] = messageOf(err)
		return true
	default:
		return false
	}
	fe[""] = messageOf(err)
	return true
}

// newMRN draws a medical record number (see the rule above).
func deskNewMRN() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(90000000))
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(n.Int64()+10000000, 10), nil
}

// createPatient stores the Patient and its Coverage in one transaction.
func (s *server) deskCreatePatient(ctx context.Context, org string, f url.Values) (id, mrn string, err error) {
	system := deskMRNSystem + strings.TrimPrefix(org, "Organization/")
	err = s.cfg.Repo.InTx(ctx, func(tx *repo.Tx) error {
		for range 5 {
			m, err := deskNewMRN()
			if err != nil {
				return err
			}
			c, err := s.cfg.Search.Compile("Patient", url.Values{"identifier": {system + "|" + m}, "_count": {"1"}}, true)
			if err != nil {
				return err
			}
			res, err := tx.Search(ctx, c.Query)
			if err != nil {
				return err
			}
			if len(res.Records) == 0 {
				mrn = m
				break
			}
		}
		if mrn == "" {
			return errs.E(errs.Conflict, "No free medical record number was found; try again.")
		}
		pat := map[string]any{"resourceType": "Patient", "active": true,
			"identifier": []any{map[string]any{"use": "usual",
				"type":   map[string]any{"coding": []any{map[string]any{"system": deskV20203, "code": "MR", "display": "Medical record number"}}},
				"system": system, "value": mrn}},
			"managingOrganization": map[string]any{"reference": org},
		}
		deskSetDemographics(pat, f)
		out, err := tx.Create(ctx, pat, repo.CreateOptions{})
		if err != nil {
			return err
		}
		id = out.Record.ID
		if cov := deskCoverageOf(nil, "Patient/"+id, f); cov != nil {
			if _, err := tx.Create(ctx, cov, repo.CreateOptions{}); err != nil {
				return err
			}
		}
		return nil
	})
	return id, mrn, err
}

// setDemographics writes the form's elements into a Patient, keeping
// everything else it holds (other names, telecoms, addresses, contacts,
// extensions): the form edits the official name, the first phone and
// email, the first address, the preferred language and the first contact.
func deskSetDemographics(pat map[string]any, f url.Values) {
	name := map[string]any{"use": "official", "family": f.Get("family"), "given": deskAny(strings.Fields(f.Get("given")))}
	pat["name"] = deskReplace(deskList(pat["name"]), func(m map[string]any) bool { return deskStr(m["use"]) == "official" || deskStr(m["use"]) == "" }, name)
	pat["gender"] = f.Get("sex")
	pat["birthDate"] = f.Get("birthdate")
	tel := deskList(pat["telecom"])
	for _, t := range []struct{ system, field, use string }{{"phone", "phone", "home"}, {"email", "email", ""}} {
		var nv map[string]any
		if v := f.Get(t.field); v != "" {
			nv = map[string]any{"system": t.system, "value": v}
			if t.use != "" {
				nv["use"] = t.use
			}
		}
		tel = deskReplace(tel, func(m map[string]any) bool { return deskStr(m["system"]) == t.system }, nv)
	}
	deskSetList(pat, "telecom", tel)
	var addr map[string]any
	if f.Get("line") != "" || f.Get("city") != "" || f.Get("state") != "" || f.Get("postal") != "" || f.Get("country") != "" {
		addr = map[string]any{"use": "home"}
		if v := f.Get("line"); v != "" {
			addr["line"] = []any{v}
		}
		for k, field := range map[string]string{"city": "city", "state": "state", "postalCode": "postal", "country": "country"} {
			if v := f.Get(field); v != "" {
				addr[k] = v
			}
		}
	}
	deskSetList(pat, "address", deskReplace(deskList(pat["address"]), func(map[string]any) bool { return true }, addr))
	var comm map[string]any
	if code := f.Get("language"); code != "" {
		comm = map[string]any{"language": map[string]any{
			"coding": []any{map[string]any{"system": deskBCP47, "code": code, "display": deskLabel(deskLanguages, code)}},
			"text":   deskLabel(deskLanguages, code)}, "preferred": true}
	}
	deskSetList(pat, "communication", deskReplace(deskList(pat["communication"]), func(m map[string]any) bool { return m["preferred"] == true }, comm))
	var contact map[string]any
	if f.Get("contact_name") != "" {
		contact = map[string]any{
			"relationship": []any{map[string]any{"coding": []any{map[string]any{"system": deskV20131,
				"code": f.Get("contact_relationship"), "display": deskLabel(deskRelationships, f.Get("contact_relationship"))}}}},
			"name": map[string]any{"text": f.Get("contact_name")},
		}
		if v := f.Get("contact_phone"); v != "" {
			contact["telecom"] = []any{map[string]any{"system": "phone", "value": v}}
		}
	}
	deskSetList(pat, "contact", deskReplace(deskList(pat["contact"]), func(map[string]any) bool { return true }, contact))
}

// coverageOf is the Coverage of the form's insurance: cur updated, or a
// new one (nil when the form has no insurance and there is none).
func deskCoverageOf(cur map[string]any, beneficiary string, f url.Values) map[string]any {
	if f.Get("payer") == "" {
		if cur != nil && deskStr(cur["status"]) == "active" {
			cur["status"] = "cancelled" // the insurance was cleared on the form
			return cur
		}
		return nil
	}
	cov := cur
	if cov == nil {
		cov = map[string]any{"resourceType": "Coverage", "beneficiary": map[string]any{"reference": beneficiary}}
	}
	cov["status"] = "active"
	// The payer is named, not referenced: the front desk types what the
	// card says, and may not create Organizations.
	cov["payor"] = []any{map[string]any{"display": f.Get("payer")}}
	cov["subscriberId"] = f.Get("member_id")
	delete(cov, "class")
	if v := f.Get("plan"); v != "" {
		cov["class"] = []any{map[string]any{"type": map[string]any{"coding": []any{map[string]any{"system": deskCoverageClass, "code": "plan"}}},
			"value": v, "name": v}}
	}
	return cov
}

func deskLabel(opts []option, v string) string {
	for _, o := range opts {
		if o.Value == v {
			return o.Label
		}
	}
	return v
}

func deskAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func deskList(v any) []any { l, _ := v.([]any); return l }

func deskStr(v any) string { s, _ := v.(string); return s }

func deskObj(v any) map[string]any { m, _ := v.(map[string]any); return m }

// replaceFirst replaces the first element matching with nv (removes it
// when nv is nil), or appends nv when none matches.
func deskReplace(l []any, match func(map[string]any) bool, nv map[string]any) []any {
	for i, e := range l {
		if m, ok := e.(map[string]any); ok && match(m) {
			if nv == nil {
				return slices.Delete(slices.Clone(l), i, i+1)
			}
			out := slices.Clone(l)
			out[i] = nv
			return out
		}
	}
	if nv == nil {
		return l
	}
	return append(slices.Clone(l), nv)
}

func deskSetList(m map[string]any, k string, l []any) {
	if len(l) == 0 {
		delete(m, k)
		return
	}
	m[k] = l
}
