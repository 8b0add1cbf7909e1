package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

// watched are the resource types whose history is polled.
var watched = []string{"Communication", "DiagnosticReport", "Observation", "Appointment"}

// MarkerTTL is how long the marker of a handled event is kept: much longer
// than any overlap, so an event is never handled twice.
const MarkerTTL = 14 * 24 * time.Hour

// checkpointKey is the state item holding the history checkpoint.
const checkpointKey = "checkpoint"

type checkpoint struct {
	Since time.Time `json:"since"`
	// Start is when notifications first ran: polls never look earlier.
	Start time.Time `json:"start"`
}

// PollStats says what one poll did.
type PollStats struct {
	Versions int // versions of the watched types read from history
	Events   int // events that concern a patient with someone to tell
	Queued   int // emails queued
}

// resource holds the elements the rules read.
type resource struct {
	ResourceType string      `json:"resourceType"`
	ID           string      `json:"id"`
	Status       string      `json:"status"`
	Category     []concept   `json:"category"`
	Subject      *reference  `json:"subject"`
	Sender       *reference  `json:"sender"`
	Recipient    []reference `json:"recipient"`
	Start        string      `json:"start"`
	Participant  []struct {
		Actor *reference `json:"actor"`
	} `json:"participant"`
}

type concept struct {
	Coding []struct {
		System string `json:"system"`
		Code   string `json:"code"`
	} `json:"coding"`
}

type reference struct {
	Reference string `json:"reference"`
	Display   string `json:"display"`
}

func (r *reference) ref() string {
	if r == nil {
		return ""
	}
	return r.Reference
}

func (r *resource) hasCategory(system, code string) bool {
	for _, c := range r.Category {
		for _, cd := range c.Coding {
			if cd.System == system && cd.Code == code {
				return true
			}
		}
	}
	return false
}

// patient is the id of the patient a resource is about.
func (r *resource) patient() string {
	if r.ResourceType == "Appointment" {
		for _, p := range r.Participant {
			if id, ok := strings.CutPrefix(p.Actor.ref(), "Patient/"); ok {
				return id
			}
		}
		return ""
	}
	id, _ := strings.CutPrefix(r.Subject.ref(), "Patient/")
	return id
}

// laboratory reports whether a result is a laboratory one: an Observation
// of category laboratory, a DiagnosticReport of the v2 section LAB.
func (r *resource) laboratory() bool {
	const obsCat = "http://terminology.hl7.org/CodeSystem/observation-category"
	return r.hasCategory(obsCat, "laboratory") ||
		(r.ResourceType == "DiagnosticReport" && r.hasCategory("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB"))
}

func finalStatus(s string) bool {
	switch s {
	case "final", "amended", "corrected", "appended":
		return true
	}
	return false
}

var staffTypes = []string{"Practitioner", "PractitionerRole", "Organization", "CareTeam", "HealthcareService"}

func refType(ref string) string {
	t, _, _ := strings.Cut(ref, "/")
	return t
}

// event is something to tell the people acting for a patient about.
type event struct {
	kind    Event
	marker  string // the key of its marker item
	patient string // the patient's id
	ref     string // the resource, "Observation/1"
	// what for appointments: "booked", "moved", "cancelled", "reminder".
	what  string
	start time.Time // appointments
	place string    // appointments: the clinic
}

// Poll reads the history of the watched types since the last checkpoint
// (less Overlap), queues an email for each new event and each appointment
// starting within 24 hours to the users who asked for it, and moves the
// checkpoint. The first poll of a database only sets the checkpoint:
// what happened before notifications were running is not announced.
func (s *Service) Poll(ctx context.Context) (PollStats, error) {
	ctx = system(ctx)
	var st PollStats
	now := s.now().UTC()
	cp, cpItem, err := s.checkpoint(ctx)
	if err != nil {
		return st, err
	}
	if cpItem == nil {
		return st, s.saveCheckpoint(ctx, nil, checkpoint{Since: now, Start: now})
	}
	rc, err := s.recipients(ctx)
	if err != nil {
		return st, err
	}
	if len(rc) > 0 {
		since := cp.Since.Add(-s.overlap)
		if since.Before(cp.Start) {
			since = cp.Start
		}
		var recs []*store.Record
		for _, typ := range watched {
			got, err := s.history(ctx, typ, since, now)
			if err != nil {
				return st, err
			}
			recs = append(recs, got...)
		}
		st.Versions = len(recs)
		evs, err := s.events(ctx, recs, rc)
		if err != nil {
			return st, err
		}
		rem, err := s.reminders(ctx, now, rc)
		if err != nil {
			return st, err
		}
		evs = append(evs, rem...)
		st.Events = len(evs)
		n, err := s.queueAll(ctx, evs, rc)
		st.Queued = n
		if err != nil {
			return st, err
		}
	}
	return st, s.saveCheckpoint(ctx, cpItem, checkpoint{Since: now, Start: cp.Start})
}

func (s *Service) checkpoint(ctx context.Context) (*checkpoint, *store.Item, error) {
	it, err := s.store.GetItem(ctx, kindState, checkpointKey)
	if errs.KindOf(err) == errs.NotFound {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	cp := &checkpoint{}
	if err := json.Unmarshal(it.Value, cp); err != nil {
		return nil, nil, errs.E("notifications", errs.Internal, fmt.Errorf("decoding the checkpoint: %w", err))
	}
	return cp, it, nil
}

// saveCheckpoint moves the checkpoint to t. When another server moved it
// meanwhile, its checkpoint stays: both polled the same history.
func (s *Service) saveCheckpoint(ctx context.Context, read *store.Item, cp checkpoint) error {
	b, _ := json.Marshal(cp)
	it := &store.Item{Kind: kindState, Key: checkpointKey, Value: b}
	if read != nil {
		it.Version = read.Version
	}
	err := s.store.InTx(ctx, func(tx store.Tx) error { return tx.PutItem(ctx, it) })
	if k := errs.KindOf(err); k == errs.Conflict || k == errs.NotFound {
		return nil
	}
	return err
}

// history lists the versions of typ written in [since, at], oldest first.
func (s *Service) history(ctx context.Context, typ string, since, at time.Time) ([]*store.Record, error) {
	q := store.HistoryQuery{Type: typ, Since: since, At: at, Count: 200}
	var out []*store.Record
	for {
		page, err := s.repo.History(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Records...)
		if page.Next == "" || len(page.Records) == 0 {
			break
		}
		q.After = page.Next
	}
	slices.Reverse(out)
	return out, nil
}

// recipient is a portal user who asked for notifications.
type recipient struct {
	user  *auth.User
	prefs *Prefs
}

func (r *recipient) proxy(patient string) bool { return r.user.FHIRUser != "Patient/"+patient }

// recipients maps each patient's id to the portal users acting for them
// who asked for some notification.
func (s *Service) recipients(ctx context.Context) (map[string][]*recipient, error) {
	out := map[string][]*recipient{}
	after := ""
	for {
		items, err := s.store.ListItems(ctx, store.ItemQuery{Kind: kindPrefs, After: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			p := &Prefs{}
			if json.Unmarshal(it.Value, p) != nil || !p.Active() {
				continue
			}
			u, err := s.users.GetUser(ctx, it.Key)
			if errs.KindOf(err) == errs.NotFound {
				continue
			}
			if err != nil {
				return nil, err
			}
			if u.Disabled || len(u.Memberships) > 0 {
				continue
			}
			for _, pid := range u.Patients {
				out[pid] = append(out[pid], &recipient{user: u, prefs: p})
			}
		}
		if len(items) < 500 {
			return out, nil
		}
		after = items[len(items)-1].Key
	}
}

// events classifies history versions into events of patients with
// someone to tell.
func (s *Service) events(ctx context.Context, recs []*store.Record, rc map[string][]*recipient) ([]event, error) {
	byVersion := map[string]*store.Record{}
	for _, r := range recs {
		byVersion[versionKey(r.Type, r.ID, r.Version)] = r
	}
	previous := func(r *store.Record) (*store.Record, *resource, error) {
		if r.Version <= 1 {
			return nil, nil, nil
		}
		prev := byVersion[versionKey(r.Type, r.ID, r.Version-1)]
		if prev == nil {
			var err error
			prev, err = s.repo.VRead(ctx, r.Type, r.ID, r.Version-1)
			if err != nil {
				if k := errs.KindOf(err); k == errs.Gone || k == errs.NotFound {
					return nil, nil, nil
				}
				return nil, nil, err
			}
		}
		if prev.Deleted {
			return nil, nil, nil
		}
		res, err := decode(prev)
		return prev, res, err
	}
	var out []event
	places := map[string]string{}
	for _, rec := range recs {
		if rec.Deleted {
			continue
		}
		res, err := decode(rec)
		if err != nil {
			return nil, err
		}
		pid := res.patient()
		if pid == "" || len(rc[pid]) == 0 {
			continue
		}
		ev := event{patient: pid, ref: rec.Type + "/" + rec.ID, marker: versionKey(rec.Type, rec.ID, rec.Version)}
		switch rec.Type {
		case "Communication":
			if rec.Method != store.MethodCreate || res.Status != "completed" ||
				!slices.Contains(staffTypes, refType(res.Sender.ref())) ||
				!slices.ContainsFunc(res.Recipient, func(r reference) bool {
					t := refType(r.Reference)
					return t == "Patient" || t == "RelatedPerson"
				}) {
				continue
			}
			ev.kind = EventMessage
		case "Observation", "DiagnosticReport":
			if !res.laboratory() || !finalStatus(res.Status) {
				continue
			}
			prevRec, prev, err := previous(rec)
			if err != nil {
				return nil, err
			}
			// New to the patient: recorded final, become final (or
			// amended...), or released after being withheld from them.
			released := prevRec != nil && repo.WithholdingOf(prevRec.JSON) != nil && repo.WithholdingOf(rec.JSON) == nil
			if prev != nil && prev.Status == res.Status && !released {
				continue
			}
			ev.kind = EventResult
		case "Appointment":
			_, prev, err := previous(rec)
			if err != nil {
				return nil, err
			}
			switch {
			case res.Status == "booked" && (prev == nil || prev.Status != "booked"):
				ev.what = "booked"
			case res.Status == "booked" && prev.Start != res.Start:
				ev.what = "moved"
			case res.Status == "cancelled" && prev != nil && prev.Status != "cancelled":
				ev.what = "cancelled"
			default:
				continue
			}
			ev.kind = EventAppointment
			if ev.start, err = time.Parse(time.RFC3339, res.Start); err != nil {
				continue
			}
			ev.place = s.place(ctx, res, places)
		default:
			continue
		}
		out = append(out, ev)
	}
	return out, nil
}

func versionKey(typ, id string, v int64) string {
	return typ + "/" + id + "/_history/" + strconv.FormatInt(v, 10)
}

func decode(rec *store.Record) (*resource, error) {
	r := &resource{}
	if err := json.Unmarshal(rec.JSON, r); err != nil {
		return nil, errs.E("notifications", errs.Internal, fmt.Errorf("decoding %s/%s: %w", rec.Type, rec.ID, err))
	}
	return r, nil
}

// place names where an appointment is: its location's name, read as
// OpenChart (a clinic's name is not the patient's data).
func (s *Service) place(ctx context.Context, res *resource, cache map[string]string) string {
	for _, p := range res.Participant {
		ref := p.Actor.ref()
		if !strings.HasPrefix(ref, "Location/") {
			continue
		}
		if name, ok := cache[ref]; ok {
			return name
		}
		name := p.Actor.Display
		if name == "" {
			_, id, _ := strings.Cut(ref, "/")
			if rec, err := s.repo.Read(ctx, "Location", id); err == nil {
				var loc struct {
					Name string `json:"name"`
				}
				if json.Unmarshal(rec.JSON, &loc) == nil {
					name = loc.Name
				}
			}
		}
		cache[ref] = name
		return name
	}
	return ""
}

// reminders are the booked appointments starting within 24 hours.
func (s *Service) reminders(ctx context.Context, now time.Time, rc map[string][]*recipient) ([]event, error) {
	params := url.Values{"status": {"booked"}, "date": {"ge" + now.Format(time.RFC3339), "le" + now.Add(24*time.Hour).Format(time.RFC3339)}}
	c, err := s.compiler.Compile("Appointment", params, true)
	if err != nil {
		return nil, err
	}
	q := c.Query
	q.Count = 500
	var out []event
	places := map[string]string{}
	for {
		res, err := s.repo.Search(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, rec := range res.Records {
			a, err := decode(rec)
			if err != nil {
				return nil, err
			}
			pid := a.patient()
			start, perr := time.Parse(time.RFC3339, a.Start)
			if pid == "" || len(rc[pid]) == 0 || perr != nil || !start.After(now) {
				continue
			}
			out = append(out, event{kind: EventReminder, what: "reminder", patient: pid, ref: "Appointment/" + rec.ID,
				marker: "reminder/Appointment/" + rec.ID + "@" + start.UTC().Format(time.RFC3339), start: start, place: s.place(ctx, a, places)})
		}
		if !res.More || len(res.Records) == 0 {
			return out, nil
		}
		q.Offset += len(res.Records)
	}
}

// visible reports whether a portal user acting for patient may see the
// resource ref: it is read through the Repository with the user's own
// principal, so the access policy decides (and the read is audited, with
// the source "notification check").
func (s *Service) visible(ctx context.Context, r *recipient, patient, ref string) (bool, error) {
	u := r.user
	p := &access.Principal{Kind: access.User, UserID: u.ID, Username: u.Username, FHIRUser: u.FHIRUser,
		Patient: patient, Patients: slices.Clone(u.Patients), Source: "notification check"}
	typ, id, _ := strings.Cut(ref, "/")
	_, err := s.repo.Read(access.With(ctx, p), typ, id)
	if err == nil {
		return true, nil
	}
	switch errs.KindOf(err) {
	case errs.NotFound, errs.Gone, errs.Permission, errs.Unauthenticated:
		return false, nil
	}
	return false, err
}

// queueAll queues the emails of the events: one per event and recipient,
// except results, which are coalesced into one email per patient and
// recipient per poll.
func (s *Service) queueAll(ctx context.Context, evs []event, rc map[string][]*recipient) (int, error) {
	// Leave out what was handled before (the overlap, another server).
	var fresh []event
	for _, ev := range evs {
		_, err := s.store.GetItem(ctx, kindMarker, ev.marker)
		if err == nil {
			continue
		}
		if errs.KindOf(err) != errs.NotFound {
			return 0, err
		}
		fresh = append(fresh, ev)
	}
	queued := 0
	results := map[string][]event{}
	var order []string
	for _, ev := range fresh {
		if ev.kind == EventResult {
			if _, ok := results[ev.patient]; !ok {
				order = append(order, ev.patient)
			}
			results[ev.patient] = append(results[ev.patient], ev)
			continue
		}
		n, err := s.queueGroup(ctx, []event{ev}, rc[ev.patient])
		if err != nil {
			return queued, err
		}
		queued += n
	}
	for _, pid := range order {
		n, err := s.queueGroup(ctx, results[pid], rc[pid])
		if err != nil {
			return queued, err
		}
		queued += n
	}
	return queued, nil
}

// queueGroup claims the markers of a group of events of one patient and
// queues one email per recipient who wants that kind of event and may see
// at least one of them, in one transaction: the markers and the emails
// commit together, or, when another server claimed one of the markers
// first, neither does.
func (s *Service) queueGroup(ctx context.Context, group []event, rcs []*recipient) (int, error) {
	first := group[0]
	var mails []*outboxDoc
	for _, r := range rcs {
		if !r.prefs.Wants(first.kind) {
			continue
		}
		seen := false
		for _, ev := range group {
			ok, err := s.visible(ctx, r, ev.patient, ev.ref)
			if err != nil {
				return 0, err
			}
			if ok {
				seen = true
				break
			}
		}
		if !seen {
			continue
		}
		mails = append(mails, s.compose(first, r, len(group)))
	}
	now := s.now().UTC()
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		for _, ev := range group {
			exp := now.Add(MarkerTTL)
			if ev.kind == EventReminder && ev.start.Add(24*time.Hour).After(exp) {
				exp = ev.start.Add(24 * time.Hour)
			}
			if err := tx.PutItem(ctx, &store.Item{Kind: kindMarker, Key: ev.marker, Value: []byte(`{}`), Expires: exp}); err != nil {
				return err
			}
		}
		for _, m := range mails {
			m.Created, m.Next = now, now
			if err := putOutbox(ctx, tx, &store.Item{Kind: kindOutbox, Key: newKey(), Owner: m.User}, m); err != nil {
				return err
			}
		}
		return nil
	})
	if errs.KindOf(err) == errs.Conflict {
		return 0, nil // another server handled these events
	}
	if err != nil {
		return 0, err
	}
	return len(mails), nil
}
