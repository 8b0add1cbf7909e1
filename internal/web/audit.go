package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/store"
)

// The audit report page (45 CFR 170.315(d)(3)): filters by time range,
// user, patient, action and outcome, sorts by any of them, pages by 50.

const auditPageSize = 50

var auditActions = []option{{"", "Any"}, {"C", "Create"}, {"R", "Read or search"}, {"U", "Update"},
	{"D", "Delete"}, {"E", "Execute (sign-in, export, ...)"}}
var auditOutcomes = []option{{"", "Any"}, {"0", "Success"}, {"4", "Refused (minor failure)"},
	{"8", "Failed (serious failure)"}, {"12", "Major failure"}}
var auditSorts = []option{{"date", "Time"}, {"user", "User"}, {"patient", "Patient"}, {"action", "Action"}, {"outcome", "Outcome"}}

type option struct{ Value, Label string }

type auditView struct {
	Rows               []auditRow
	Actions, Outcomes  []option
	Sorts              []option
	Prev, Next         string // links to the neighbouring pages
	Offset             int
	FromValue, ToValue string
	// Scope says which part of the trail the report covers: all of it for
	// a system administrator, else the organization acted for.
	Scope string
	// AllOrganizations: the reader sees every organization's entries, so
	// the page filters by organization and shows each entry's.
	AllOrganizations bool
}

type auditRow struct {
	Seq         int64
	Recorded    time.Time
	User        string
	Action      string
	Interaction string
	Outcome     string
	Patients    string
	What        string
	// Organization is the one the agent acted for.
	Organization string
}

// timeLayouts are what the date-time inputs send (datetime-local).
var timeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02"}

func parseTime(s string) (time.Time, bool) {
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (s *server) auditPage(w http.ResponseWriter, r *http.Request) error {
	in := r.URL.Query()
	q := store.AuditQuery{Count: auditPageSize}
	fe := map[string]string{}
	form := url.Values{}
	for _, k := range []string{"from", "to", "user", "patient", "organization", "action", "outcome", "sort", "order"} {
		form.Set(k, strings.TrimSpace(in.Get(k)))
	}
	if v := form.Get("from"); v != "" {
		if t, ok := parseTime(v); ok {
			q.From = t
		} else {
			fe["from"] = "Enter a date and time (YYYY-MM-DD HH:MM, UTC)."
		}
	}
	if v := form.Get("to"); v != "" {
		if t, ok := parseTime(v); ok {
			if len(v) == len("2006-01-02") {
				t = t.Add(24*time.Hour - time.Microsecond) // the whole day
			}
			q.To = t
		} else {
			fe["to"] = "Enter a date and time (YYYY-MM-DD HH:MM, UTC)."
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		fe["to"] = "The end is before the start."
	}
	q.User = form.Get("user")
	if o := form.Get("organization"); o != "" {
		// A system administrator narrows the report; for anyone else the
		// Repository sets the organization whatever is asked.
		if !strings.HasPrefix(o, "Organization/") {
			o = "Organization/" + o
		}
		q.Organization = o
	}
	q.Patient = strings.TrimPrefix(form.Get("patient"), "Patient/")
	if a := form.Get("action"); a != "" {
		if !hasOption(auditActions, a) {
			fe["action"] = "Choose an action from the list."
		} else {
			q.Actions = []audit.Action{audit.Action(a)}
		}
	}
	if o := form.Get("outcome"); o != "" {
		n, err := strconv.Atoi(o)
		if err != nil || !hasOption(auditOutcomes, o) {
			fe["outcome"] = "Choose an outcome from the list."
		} else {
			q.Outcomes = []audit.Outcome{audit.Outcome(n)}
		}
	}
	sortKey := form.Get("sort")
	if sortKey == "" {
		sortKey = "date"
		form.Set("sort", sortKey)
	}
	if !hasOption(auditSorts, sortKey) {
		fe["sort"] = "Choose a sort order from the list."
	}
	// Newest first unless asked otherwise: a report is read from the end.
	desc := form.Get("order") != "asc"
	q.Sort = []store.AuditSort{{Key: store.AuditKey(sortKey), Desc: desc}}
	if sortKey != "date" {
		q.Sort = append(q.Sort, store.AuditSort{Key: store.AuditByTime, Desc: true})
	}
	offset, _ := strconv.Atoi(in.Get("offset"))
	q.Offset = max(offset, 0)

	v := auditView{Actions: auditActions, Outcomes: auditOutcomes, Sorts: auditSorts, Offset: q.Offset,
		Scope: "All entries: you administer the system."}
	if st := stateOf(r); !st.user.SystemAdmin {
		v.Scope = "Entries of everyone acting for " + s.orgNames(r.Context(), st.user).name(st.session.Organization) +
			", the organization you administer."
	} else {
		v.AllOrganizations = true
	}
	p := page{Title: "Audit report", Form: form, Errors: fe}
	status := http.StatusOK
	if len(fe) > 0 {
		p.Error = "Correct the filters: see the messages below."
		status = http.StatusBadRequest
	} else {
		res, err := s.cfg.Repo.AuditReport(r.Context(), q)
		if err != nil {
			return err
		}
		for _, row := range res.Rows {
			v.Rows = append(v.Rows, auditRowOf(row))
		}
		link := func(off int) string {
			l := url.Values{}
			for k, vs := range form {
				if vs[0] != "" {
					l.Set(k, vs[0])
				}
			}
			l.Set("offset", strconv.Itoa(off))
			return "/admin/audit?" + l.Encode()
		}
		if q.Offset > 0 {
			v.Prev = link(max(q.Offset-auditPageSize, 0))
		}
		if res.More {
			v.Next = link(q.Offset + auditPageSize)
		}
	}
	p.Data = v
	s.render(w, r, status, "audit", p)
	return nil
}

func hasOption(opts []option, v string) bool {
	for _, o := range opts {
		if o.Value == v && v != "" {
			return true
		}
	}
	return false
}

func auditRowOf(row *audit.Row) auditRow {
	out := auditRow{Seq: row.Seq, Recorded: row.Recorded, User: row.User, Action: row.Action,
		Interaction: row.Interaction, Patients: strings.Join(row.Patients, ", ")}
	for _, o := range auditOutcomes {
		if o.Value == strconv.Itoa(row.Outcome) {
			out.Outcome = o.Label
		}
	}
	if e, err := row.Entry(); err == nil {
		var what []string
		for _, en := range e.Entities {
			w := en.Type
			if en.ID != "" {
				w += "/" + en.ID
			}
			what = append(what, w)
		}
		out.What = strings.Join(what, ", ")
		out.Organization = e.Agent.Organization
		if e.OutcomeDesc != "" && row.Outcome != 0 {
			out.Outcome += ": " + e.OutcomeDesc
		}
	}
	return out
}
