package inbox

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/search"
	"github.com/openchart/openchart/internal/store"
)

// Config holds the inbox's dependencies and limits.
type Config struct {
	// Repo is the Repository every read and write goes through (required).
	Repo *repo.Repo
	// Compiler compiles the FHIR searches the inbox runs (required): the
	// compiler the FHIR API uses.
	Compiler *search.Compiler
	// Now gives the current time (default time.Now).
	Now func() time.Time
	// MaxAttachmentBytes bounds each attachment (default 5 MiB).
	MaxAttachmentBytes int
	// MaxAttachments bounds the attachments of one message (default 4).
	MaxAttachments int
	// QueueLimit bounds how many results a review queue reads to order
	// them (default 500); the count is always exact.
	QueueLimit int
}

// Defaults of Config.
const (
	DefaultMaxAttachmentBytes = 5 << 20
	DefaultMaxAttachments     = 4
	DefaultQueueLimit         = 500
)

// Inbox serves the inbox. It is safe for concurrent use.
type Inbox struct {
	repo       *repo.Repo
	compiler   *search.Compiler
	now        func() time.Time
	maxBytes   int
	maxAttach  int
	queueLimit int
}

// New checks the configuration and returns an Inbox.
func New(cfg Config) (*Inbox, error) {
	switch {
	case cfg.Repo == nil:
		return nil, errors.New("inbox: no repository")
	case cfg.Compiler == nil:
		return nil, errors.New("inbox: no search compiler")
	case cfg.MaxAttachmentBytes < 0, cfg.MaxAttachments < 0, cfg.QueueLimit < 0:
		return nil, errors.New("inbox: limits cannot be negative")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxAttachmentBytes == 0 {
		cfg.MaxAttachmentBytes = DefaultMaxAttachmentBytes
	}
	if cfg.MaxAttachments == 0 {
		cfg.MaxAttachments = DefaultMaxAttachments
	}
	if cfg.QueueLimit == 0 {
		cfg.QueueLimit = DefaultQueueLimit
	}
	return &Inbox{repo: cfg.Repo, compiler: cfg.Compiler, now: cfg.Now, maxBytes: cfg.MaxAttachmentBytes,
		maxAttach: cfg.MaxAttachments, queueLimit: cfg.QueueLimit}, nil
}

// Reader is who reads an inbox: a user, and the shared inboxes (an
// Organization, a CareTeam, a PractitionerRole...) they read for.
type Reader struct {
	User   string   // "Practitioner/1", "Patient/2", "RelatedPerson/3"
	Groups []string // "Organization/clinic", "CareTeam/cardio"
}

func (r Reader) refs() []string {
	out := []string{}
	if r.User != "" {
		out = append(out, r.User)
	}
	return append(out, r.Groups...)
}

func (r Reader) check(op string) error {
	if r.User == "" {
		return invalid(op, "user", "the reader is not known")
	}
	for i, ref := range r.refs() {
		if _, _, ok := splitRef(ref); !ok {
			return invalid(op, fmt.Sprintf("reader[%d]", i), fmt.Sprintf("%q is not a reference Type/id", ref))
		}
	}
	return nil
}

func principal(ctx context.Context, op string) error {
	if access.From(ctx) == nil {
		return errs.E(op, errs.Unauthenticated, "the inbox needs a signed-in user")
	}
	return nil
}

func invalid(op, field, msg string) error {
	return errs.E(op, errs.Invalid, msg, errs.Issue{Severity: "error", Code: "value", Diagnostics: msg, Expression: []string{field}})
}

func splitRef(r string) (typ, id string, ok bool) {
	typ, id, _, ok = fhir.SplitReference(r)
	if !ok || strings.Contains(r, "/_history/") {
		return "", "", false
	}
	return typ, id, true
}

// checkRef checks a reference "Type/id" to one of types.
func checkRef(op, field, ref string, types ...string) (string, error) {
	typ, id, ok := splitRef(ref)
	if ok {
		for _, t := range types {
			if t == typ {
				return id, nil
			}
		}
	}
	return "", invalid(op, field, fmt.Sprintf("%s must be a reference to a %s, not %q", field, strings.Join(types, ", "), ref))
}

func checkID(op, field, id string) error {
	if !fhir.ValidID(id) {
		return invalid(op, field, fmt.Sprintf("%q is not a valid id", id))
	}
	return nil
}

func parse(rec *store.Record) (map[string]any, error) {
	return fhir.ParseStored("inbox", rec.Type, rec.ID, rec.JSON)
}

// stamp formats a FHIR dateTime to the microsecond, so messages sent in
// one second still sort in order.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }

func parseTime(v any) time.Time {
	s := fhir.Str(v)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// label is the text of a CodeableConcept: its text, else its first
// coding's display, else its code.
func label(v any) string {
	cc := fhir.Obj(v)
	if t := fhir.Str(cc["text"]); t != "" {
		return t
	}
	for _, c := range fhir.List(cc["coding"]) {
		if d := fhir.Str(fhir.Obj(c)["display"]); d != "" {
			return d
		}
	}
	for _, c := range fhir.List(cc["coding"]) {
		if d := fhir.Str(fhir.Obj(c)["code"]); d != "" {
			return d
		}
	}
	return ""
}

func (ib *Inbox) query(typ string, params url.Values) (*store.Query, error) {
	c, err := ib.compiler.Compile(typ, params, true)
	if err != nil {
		return nil, err
	}
	return c.Query, nil
}

// count runs a search for its total only (_summary=count).
func (ib *Inbox) count(ctx context.Context, typ string, params url.Values) (int, error) {
	p := url.Values{}
	for k, v := range params {
		p[k] = v
	}
	p.Set("_summary", "count")
	q, err := ib.query(typ, p)
	if err != nil {
		return 0, err
	}
	res, err := ib.repo.Search(ctx, q)
	if err != nil {
		return 0, err
	}
	return res.Total, nil
}

// search runs a search for at most limit records (all of them when limit
// is 0), page by page.
func (ib *Inbox) search(ctx context.Context, typ string, params url.Values, limit int) ([]*store.Record, error) {
	q, err := ib.query(typ, params)
	if err != nil {
		return nil, err
	}
	const page = 500
	var out []*store.Record
	for {
		q.Count = page
		if limit > 0 {
			q.Count = min(page, limit-len(out))
		}
		res, err := ib.repo.Search(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, res.Records...)
		if !res.More || len(res.Records) == 0 || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
		q.Offset += len(res.Records)
	}
}

// names returns display names of people by reference, one search per type.
func (ib *Inbox) names(ctx context.Context, refs []string) (map[string]string, error) {
	byType := map[string][]string{}
	seen := map[string]bool{}
	for _, r := range refs {
		typ, id, ok := splitRef(r)
		if !ok || seen[r] {
			continue
		}
		switch typ {
		case "Patient", "Practitioner", "RelatedPerson", "Organization", "CareTeam":
			seen[r] = true
			byType[typ] = append(byType[typ], id)
		}
	}
	out := map[string]string{}
	for typ, ids := range byType {
		recs, err := ib.search(ctx, typ, url.Values{"_id": {strings.Join(ids, ",")}}, 0)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			res, err := parse(rec)
			if err != nil {
				return nil, err
			}
			out[typ+"/"+rec.ID] = displayName(res)
		}
	}
	return out, nil
}

// displayName is the name to show for a person or a group.
func displayName(res map[string]any) string {
	if n, ok := res["name"].(string); ok {
		return n
	}
	var pick map[string]any
	for _, n := range fhir.List(res["name"]) {
		m := fhir.Obj(n)
		if pick == nil || fhir.Str(m["use"]) == "official" && fhir.Str(pick["use"]) != "official" {
			pick = m
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
		parts = append(parts, fhir.Str(g))
	}
	if f := fhir.Str(pick["family"]); f != "" {
		parts = append(parts, f)
	}
	return strings.Join(parts, " ")
}

// Counts are the numbers of the navigation badges.
type Counts struct {
	Unread  int // unread messages addressed to the reader or their groups
	Results int // results waiting for the reader's review
	Tasks   int // open tasks owned by the reader or their groups
}

// Counts returns the badges of a reader with four count-only searches run
// concurrently (messages, tasks, and results: reports and observations).
func (ib *Inbox) Counts(ctx context.Context, r Reader) (Counts, error) {
	const op = "inbox counts"
	if err := principal(ctx, op); err != nil {
		return Counts{}, err
	}
	if err := r.check(op); err != nil {
		return Counts{}, err
	}
	var c Counts
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	run := func(dst *int, typ string, p url.Values) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := ib.count(ctx, typ, p)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			*dst += n
		}()
	}
	run(&c.Unread, "Communication", unreadParams(r.refs()))
	run(&c.Tasks, "Task", openTaskParams(r.refs()))
	if rp, ok := reviewParams(r.User); ok {
		run(&c.Results, "DiagnosticReport", rp.report)
		run(&c.Results, "Observation", rp.observation)
	}
	wg.Wait()
	return c, firstErr
}
