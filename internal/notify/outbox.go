package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

// outboxDoc is an email waiting to be sent. The address is not kept: it
// is read from the user's preferences when the email goes, so a changed
// address or a change of mind applies to what is still queued.
type outboxDoc struct {
	User    string `json:"user"`
	Patient string `json:"patient"`
	Event   Event  `json:"event"`
	Ref     string `json:"ref"` // the resource the event was about (for the audit trail)
	Subject string `json:"subject"`
	Body    string `json:"body"`
	// Until, when set, is when the email stops being worth sending (a
	// reminder after the appointment started).
	Until     time.Time `json:"until,omitzero"`
	Created   time.Time `json:"created"`
	Attempts  int       `json:"attempts,omitempty"`
	Next      time.Time `json:"next"` // not before; a claim pushes it past the attempt
	LastError string    `json:"lastError,omitempty"`
}

// Lease is how long a claimed email is left to the server sending it;
// after that (the server stopped mid-way) another one sends it again.
const Lease = 2 * time.Minute

func putOutbox(ctx context.Context, tx store.Tx, it *store.Item, d *outboxDoc) error {
	b, err := json.Marshal(d)
	if err != nil {
		return errs.E("notification outbox", errs.Internal, err)
	}
	it.Value = b
	return tx.PutItem(ctx, it)
}

// newKey is an outbox key: time-ordered, so the outbox lists oldest first.
func newKey() string { return repo.NewID() }

// backoff is the pause after the n-th failed attempt: a minute, doubling,
// at most six hours.
func backoff(n int) time.Duration {
	d := time.Minute
	for i := 1; i < n && d < 6*time.Hour; i++ {
		d *= 2
	}
	return min(d, 6*time.Hour)
}

// DeliverStats says what one delivery round did.
type DeliverStats struct {
	Sent, Failed, Dropped int
}

// Pending counts the emails waiting in the outbox.
func (s *Service) Pending(ctx context.Context) (int, error) {
	n, after := 0, ""
	for {
		items, err := s.store.ListItems(ctx, store.ItemQuery{Kind: kindOutbox, After: after, Limit: 500})
		if err != nil {
			return 0, err
		}
		n += len(items)
		if len(items) < 500 {
			return n, nil
		}
		after = items[len(items)-1].Key
	}
}

// Deliver sends the emails that are due. Without a Sender it does
// nothing: the outbox keeps them until email is set up. Each email is
// claimed first (its version checked), so that two servers never send the
// same one; a failure is retried with backoff, up to MaxAttempts.
func (s *Service) Deliver(ctx context.Context) (DeliverStats, error) {
	var st DeliverStats
	if s.sender == nil {
		return st, nil
	}
	ctx = system(ctx)
	after := ""
	for {
		items, err := s.store.ListItems(ctx, store.ItemQuery{Kind: kindOutbox, After: after, Limit: 100})
		if err != nil {
			return st, err
		}
		for _, it := range items {
			if err := s.deliverOne(ctx, it, &st); err != nil {
				return st, err
			}
		}
		if len(items) < 100 {
			return st, nil
		}
		after = items[len(items)-1].Key
	}
}

func (s *Service) deliverOne(ctx context.Context, it *store.Item, st *DeliverStats) error {
	d := &outboxDoc{}
	if err := json.Unmarshal(it.Value, d); err != nil {
		return errs.E("notification outbox", errs.Internal, fmt.Errorf("decoding %s: %w", it.Key, err))
	}
	now := s.now().UTC()
	if d.Next.After(now) {
		return nil
	}
	prefs, err := s.Prefs(ctx, d.User)
	if err != nil {
		return err
	}
	u, uerr := s.users.GetUser(ctx, d.User)
	if uerr != nil && errs.KindOf(uerr) != errs.NotFound {
		return uerr
	}
	// What no longer should go: the user turned it off, the account is
	// gone or disabled or no longer acts for the patient, or the reminder
	// is past.
	if !prefs.Wants(d.Event) || uerr != nil || u.Disabled || !slices.Contains(u.Patients, d.Patient) ||
		(!d.Until.IsZero() && !d.Until.After(now)) {
		err := s.store.InTx(ctx, func(tx store.Tx) error {
			cur, err := tx.GetItem(ctx, kindOutbox, it.Key)
			if err != nil || cur.Version != it.Version {
				return nil
			}
			return tx.DeleteItem(ctx, kindOutbox, it.Key)
		})
		if err == nil {
			st.Dropped++
		}
		return err
	}
	// Claim it.
	claimed := *d
	claimed.Next = now.Add(Lease)
	claim := &store.Item{Kind: kindOutbox, Key: it.Key, Owner: it.Owner, Version: it.Version}
	err = s.store.InTx(ctx, func(tx store.Tx) error { return putOutbox(ctx, tx, claim, &claimed) })
	if k := errs.KindOf(err); k == errs.Conflict || k == errs.NotFound {
		return nil // another server has it
	}
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	sendErr := s.sender.Send(sctx, Mail{To: prefs.Email, Subject: d.Subject, Body: d.Body})
	cancel()
	if sendErr == nil {
		err := s.store.InTx(ctx, func(tx store.Tx) error {
			if err := tx.DeleteItem(ctx, kindOutbox, it.Key); err != nil {
				return err
			}
			return s.audit(ctx, tx, d, audit.Success, "")
		})
		if err != nil {
			return err
		}
		st.Sent++
		return nil
	}
	d.Attempts = claimed.Attempts + 1
	d.LastError = clip(sendErr.Error(), 300)
	giveUp := d.Attempts >= s.maxAttempts
	s.log.Warn("notifications: sending an email failed", "attempt", d.Attempts, "giving up", giveUp, "err", sendErr)
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		if giveUp {
			if err := tx.DeleteItem(ctx, kindOutbox, it.Key); err != nil {
				return err
			}
			return s.audit(ctx, tx, d, audit.SeriousFailure, fmt.Sprintf("email not delivered after %d attempts: %s", d.Attempts, d.LastError))
		}
		d.Next = now.Add(backoff(d.Attempts))
		return putOutbox(ctx, tx, claim, d)
	})
	if k := errs.KindOf(err); k == errs.Conflict || k == errs.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	st.Failed++
	return nil
}

// audit records an email sent (or given up) as an export by OpenChart to
// the user's account, naming the patient and the resource it was about,
// never the address or the text.
func (s *Service) audit(ctx context.Context, tx store.Tx, d *outboxDoc, outcome audit.Outcome, desc string) error {
	e := &audit.Entry{Recorded: tx.Now(), Action: audit.ActionOf(audit.InteractionExport), Interaction: audit.InteractionExport,
		Outcome: outcome, OutcomeDesc: desc, Agent: audit.AgentOf(access.From(ctx)),
		Entities: []audit.Entity{{Type: audit.UserEntity, ID: d.User}}, Patients: audit.SortPatients([]string{d.Patient})}
	if typ, id, _, ok := fhir.SplitReference(d.Ref); ok {
		e.Entities = append(e.Entities, audit.Entity{Type: typ, ID: id})
	}
	return tx.AppendAudit(ctx, []*audit.Entry{e})
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
