package sqlgen

import (
	"strings"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// AuditColumns are the columns audit statements return, in order.
const AuditColumns = "a.seq, a.prev_hash, a.hash, a.entry, a.recorded, a.action, a.interaction, a.outcome, a.username, a.user_id, a.fhir_user, " +
	"COALESCE((SELECT o.organization FROM audit_org o WHERE o.seq = a.seq), '')"

// The tables and columns an append inserts: one audit_log row per entry,
// one audit_patient row per patient of an entry (reports by patient), one
// audit_org row per entry whose agent acted for an organization (reports
// limited to one).
const (
	AuditLogTable     = "audit_log (seq, recorded, action, interaction, outcome, username, user_id, fhir_user, prev_hash, hash, entry)"
	AuditPatientTable = "audit_patient (patient, seq)"
	AuditOrgTable     = "audit_org (seq, organization)"
)

// auditKeys maps sort keys to expressions. The patient key is the
// smallest patient id of the entry (none sorts last).
var auditKeys = map[store.AuditKey]string{
	store.AuditByTime:    "a.seq",
	store.AuditByUser:    "a.username",
	store.AuditByPatient: "(SELECT min(p.patient) FROM audit_patient p WHERE p.seq = a.seq)",
	store.AuditByAction:  "a.action",
	store.AuditByOutcome: "a.outcome",
}

// AuditRange compiles a report query: one page of count+1 rows (the extra
// row tells whether more follow).
func AuditRange(d Dialect, q store.AuditQuery, count int) (Stmt, error) {
	b := &builder{d: d}
	var conds []string
	// Reports of one organization are driven by its audit_org rows, in
	// sequence order from its index (organization, seq): the first page is
	// found at once however few or many of the trail's entries are the
	// organization's, where a filter of the whole trail in sequence order
	// read most of it for a small organization and a list of the
	// organization's entries read all of them for a large one. Reports of
	// one patient (and no organization) are driven the same way by
	// audit_patient's key (patient, seq).
	from, seq := "audit_log a", "a.seq"
	switch {
	case q.Organization != "":
		from, seq = "audit_org o JOIN audit_log a ON a.seq = o.seq", "o.seq"
		conds = append(conds, "o.organization = "+b.arg(audit.Escape(q.Organization)))
	case q.Patient != "":
		from, seq = "audit_patient ap JOIN audit_log a ON a.seq = ap.seq", "ap.seq"
		conds = append(conds, "ap.patient = "+b.arg(q.Patient))
	}
	if q.Seq != 0 {
		conds = append(conds, "a.seq = "+b.arg(q.Seq))
	}
	if !q.From.IsZero() {
		conds = append(conds, "a.recorded >= "+b.arg(Micros(q.From)))
	}
	if !q.To.IsZero() {
		conds = append(conds, "a.recorded <= "+b.arg(Micros(q.To)))
	}
	if q.User != "" {
		u := b.arg(q.User)
		conds = append(conds, "(a.username = "+u+" OR a.user_id = "+u+" OR a.fhir_user = "+u+")")
	}
	if q.Patient != "" && q.Organization != "" {
		conds = append(conds, "a.seq IN (SELECT p.seq FROM audit_patient p WHERE p.patient = "+b.arg(q.Patient)+")")
	}
	switch {
	case q.OnlyPatients == nil:
	case len(q.OnlyPatients) == 0:
		conds = append(conds, "1 = 0") // no patient: nothing matches
	default:
		// Some patient of the set, and none outside it.
		conds = append(conds, "a.seq IN (SELECT p.seq FROM audit_patient p WHERE "+b.in("p.patient", q.OnlyPatients)+")",
			"NOT EXISTS (SELECT 1 FROM audit_patient p WHERE p.seq = a.seq AND NOT ("+b.in("p.patient", q.OnlyPatients)+"))")
	}
	in := func(col string, n int, v func(i int) any) {
		if n == 0 {
			return
		}
		ph := make([]string, n)
		for i := range ph {
			ph[i] = b.arg(v(i))
		}
		conds = append(conds, col+" IN ("+strings.Join(ph, ", ")+")")
	}
	in("a.action", len(q.Actions), func(i int) any { return string(q.Actions[i]) })
	in("a.interaction", len(q.Interactions), func(i int) any { return q.Interactions[i] })
	in("a.outcome", len(q.Outcomes), func(i int) any { return int64(q.Outcomes[i]) })
	var order []string
	for _, s := range q.Sort {
		expr, ok := auditKeys[s.Key]
		if !ok {
			return Stmt{}, errs.E("audit report", errs.Invalid, "unknown sort key "+string(s.Key))
		}
		if s.Key == store.AuditByTime {
			expr = seq
		}
		dir := " ASC NULLS LAST"
		if s.Desc {
			dir = " DESC NULLS LAST"
		}
		order = append(order, expr+dir)
	}
	order = append(order, seq)
	if len(q.Sort) > 0 && q.Sort[0].Key == store.AuditByTime && q.Sort[0].Desc {
		order[len(order)-1] = seq + " DESC"
	}
	sql := "SELECT " + AuditColumns + " FROM " + from
	if len(conds) > 0 {
		sql += " WHERE " + strings.Join(conds, " AND ")
	}
	sql += " ORDER BY " + strings.Join(order, ", ") + " LIMIT " + b.arg(int64(count+1)) + " OFFSET " + b.arg(int64(q.Offset))
	return Stmt{sql, b.args}, nil
}

// AuditPage runs a report query with run (a store's reader of audit
// rows): a page of q.Count entries (50 when not set), read with one more
// to tell whether more follow.
func AuditPage(d Dialect, q store.AuditQuery, run func(Stmt) ([]*audit.Row, error)) (*store.AuditPage, error) {
	count := q.Count
	if count <= 0 {
		count = 50
	}
	st, err := AuditRange(d, q, count)
	if err != nil {
		return nil, err
	}
	rows, err := run(st)
	if err != nil {
		return nil, err
	}
	page := &store.AuditPage{Rows: rows}
	if len(rows) > count {
		page.Rows, page.More = rows[:count], true
	}
	return page, nil
}

// AuditScan compiles a page of entries after a sequence number.
func AuditScan(d Dialect, after int64, limit int) Stmt {
	b := &builder{d: d}
	return Stmt{"SELECT " + AuditColumns + " FROM audit_log a WHERE a.seq > " + b.arg(after) +
		" ORDER BY a.seq LIMIT " + b.arg(int64(limit)), b.args}
}

// AuditPatients compiles the lookup of the patients of the given entries.
func AuditPatients(d Dialect, seqs []int64) Stmt {
	b := &builder{d: d}
	ph := make([]string, len(seqs))
	for i, s := range seqs {
		ph[i] = b.arg(s)
	}
	return Stmt{"SELECT seq, patient FROM audit_patient WHERE seq IN (" + strings.Join(ph, ", ") + ") ORDER BY seq, patient", b.args}
}
