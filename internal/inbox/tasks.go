package inbox

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

// openStatuses are the Task statuses of work still to do.
var openStatuses = []string{"requested", "received", "accepted", "ready", "in-progress", "on-hold"}

func openTaskParams(owners []string) url.Values {
	return url.Values{"owner": {strings.Join(owners, ",")}, "status": {strings.Join(openStatuses, ",")}}
}

// Task is the view of a Task.
type Task struct {
	ID          string
	Status      string
	Priority    string // routine, urgent, asap, stat
	Description string
	Owner       string
	Patient     string
	Focus       string
	Due         time.Time // restriction.period.end
	Authored    time.Time
	Note        string
}

// Open reports whether the task is still to do.
func (t *Task) Open() bool { return slices.Contains(openStatuses, t.Status) }

func taskOf(rec *store.Record, res map[string]any) *Task {
	t := &Task{ID: rec.ID, Status: fhir.Str(res["status"]), Priority: fhir.Str(res["priority"]), Description: fhir.Str(res["description"]),
		Owner: fhir.RefOf(res["owner"]), Patient: fhir.RefOf(res["for"]), Focus: fhir.RefOf(res["focus"]),
		Due: parseTime(fhir.Obj(fhir.Obj(res["restriction"])["period"])["end"]), Authored: parseTime(res["authoredOn"])}
	if t.Description == "" {
		t.Description = label(res["code"])
	}
	if n := fhir.List(res["note"]); len(n) > 0 {
		t.Note = fhir.Str(fhir.Obj(n[len(n)-1])["text"])
	}
	return t
}

// NewTask is a task to create.
type NewTask struct {
	Owner       string // who is to do it: "Practitioner/1", "Organization/2"...
	Requester   string // optional: who asks
	Patient     string // optional: "Patient/id"
	Focus       string // optional: what it is about ("ServiceRequest/1")
	Description string
	Priority    string    // routine (default), urgent, asap, stat
	Due         time.Time // optional
}

// CreateTask creates a task (status requested, intent order).
func (ib *Inbox) CreateTask(ctx context.Context, n NewTask) (*Task, error) {
	const op = "create task"
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if _, err := checkRef(op, "owner", n.Owner, "Practitioner", "PractitionerRole", "Organization", "CareTeam", "Patient", "RelatedPerson", "HealthcareService"); err != nil {
		return nil, err
	}
	n.Description = strings.TrimSpace(n.Description)
	if n.Description == "" {
		return nil, invalid(op, "description", "say what is to be done")
	}
	if len(n.Description) > MaxTextLength {
		return nil, invalid(op, "description", fmt.Sprintf("the description is limited to %d characters", MaxTextLength))
	}
	if n.Priority == "" {
		n.Priority = "routine"
	}
	if !slices.Contains([]string{"routine", "urgent", "asap", "stat"}, n.Priority) {
		return nil, invalid(op, "priority", "the priority is routine, urgent, asap or stat")
	}
	now := ib.now()
	res := map[string]any{
		"resourceType": "Task",
		"status":       "requested",
		"intent":       "order",
		"priority":     n.Priority,
		"description":  n.Description,
		"authoredOn":   stamp(now),
		"lastModified": stamp(now),
		"owner":        fhir.Reference(n.Owner),
	}
	if n.Patient != "" {
		if _, err := checkRef(op, "patient", n.Patient, "Patient"); err != nil {
			return nil, err
		}
		res["for"] = fhir.Reference(n.Patient)
	}
	if n.Focus != "" {
		if _, _, ok := splitRef(n.Focus); !ok {
			return nil, invalid(op, "focus", fmt.Sprintf("%q is not a reference Type/id", n.Focus))
		}
		res["focus"] = fhir.Reference(n.Focus)
	}
	if n.Requester != "" {
		if _, err := checkRef(op, "requester", n.Requester, "Practitioner", "PractitionerRole", "Organization", "Patient", "RelatedPerson", "Device"); err != nil {
			return nil, err
		}
		res["requester"] = fhir.Reference(n.Requester)
	}
	if !n.Due.IsZero() {
		res["restriction"] = map[string]any{"period": map[string]any{"end": stamp(n.Due)}}
	}
	var out *Task
	err := ib.repo.InTx(ctx, func(tx *repo.Tx) error {
		task, err := fhir.Normalize(res)
		if err != nil {
			return err
		}
		o, err := tx.Create(ctx, task, repo.CreateOptions{})
		if err != nil {
			return err
		}
		r, err := parse(o.Record)
		if err == nil {
			out = taskOf(o.Record, r)
		}
		return err
	})
	return out, err
}

// Tasks lists the open tasks owned by the reader or their groups: the
// most urgent first, then by due date, then oldest first.
func (ib *Inbox) Tasks(ctx context.Context, r Reader) ([]*Task, error) {
	const op = "open tasks"
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if err := r.check(op); err != nil {
		return nil, err
	}
	recs, err := ib.search(ctx, "Task", openTaskParams(r.refs()), ib.queueLimit)
	if err != nil {
		return nil, err
	}
	var out []*Task
	for _, rec := range recs {
		res, err := parse(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, taskOf(rec, res))
	}
	rank := map[string]int{"stat": 0, "asap": 1, "urgent": 2, "routine": 3, "": 3}
	slices.SortStableFunc(out, func(a, b *Task) int {
		if c := rank[a.Priority] - rank[b.Priority]; c != 0 {
			return c
		}
		switch {
		case a.Due.IsZero() != b.Due.IsZero():
			return boolFirst(!a.Due.IsZero())
		case !a.Due.Equal(b.Due):
			return a.Due.Compare(b.Due)
		}
		return a.Authored.Compare(b.Authored)
	})
	return out, nil
}

// CompleteTask marks an open task completed, with an optional note by who
// did it.
func (ib *Inbox) CompleteTask(ctx context.Context, id, by, note string) (*Task, error) {
	return ib.closeTask(ctx, "complete task", id, "completed", by, note)
}

// CancelTask cancels an open task, with the reason as a note.
func (ib *Inbox) CancelTask(ctx context.Context, id, by, reason string) (*Task, error) {
	return ib.closeTask(ctx, "cancel task", id, "cancelled", by, reason)
}

func (ib *Inbox) closeTask(ctx context.Context, op, id, status, by, note string) (*Task, error) {
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if err := checkID(op, "task", id); err != nil {
		return nil, err
	}
	if _, err := checkRef(op, "by", by, "Practitioner", "PractitionerRole", "Organization", "Patient", "RelatedPerson"); err != nil {
		return nil, err
	}
	note = strings.TrimSpace(note)
	var out *Task
	err := ib.repo.InTx(ctx, func(tx *repo.Tx) error {
		rec, err := tx.Read(ctx, "Task", id)
		if err != nil {
			return err
		}
		res, err := parse(rec)
		if err != nil {
			return err
		}
		if cur := taskOf(rec, res); !cur.Open() {
			return errs.E(op, errs.Conflict, fmt.Sprintf("This task is already %s.", cur.Status))
		}
		now := stamp(tx.Now())
		res["status"] = status
		res["lastModified"] = now
		ep := fhir.Obj(res["executionPeriod"])
		if ep == nil {
			ep = map[string]any{}
			res["executionPeriod"] = ep
		}
		ep["end"] = now
		if note != "" {
			res["note"] = append(fhir.List(res["note"]), map[string]any{"authorReference": fhir.Reference(by), "time": now, "text": note})
		}
		if res, err = fhir.Normalize(res); err != nil {
			return err
		}
		o, err := tx.Update(ctx, "Task", id, res, repo.UpdateOptions{IfMatch: rec.Version})
		if err != nil {
			return err
		}
		r, err := parse(o.Record)
		if err == nil {
			out = taskOf(o.Record, r)
		}
		return err
	})
	return out, err
}
