package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// Item kinds of the package's server state.
const (
	kindPrefs  = "notify-prefs"  // key and owner: the user id
	kindState  = "notify-state"  // key: "checkpoint"
	kindMarker = "notify-marker" // key: the event ("Communication/1/_history/1", "reminder/Appointment/2@...")
	kindOutbox = "notify-outbox" // key: a time-ordered id; owner: the user id
)

// Event is a kind of thing a user may be told about.
type Event string

const (
	EventMessage     Event = "message"     // a new message from the care team
	EventResult      Event = "result"      // a test result became available
	EventAppointment Event = "appointment" // an appointment booked, moved or cancelled
	EventReminder    Event = "reminder"    // an appointment starts within 24 hours
)

// Events lists every event, in the order the preferences form shows them.
var Events = []Event{EventMessage, EventResult, EventAppointment, EventReminder}

// Prefs are a portal user's notification preferences. Nothing is sent
// until the user has given an address and agreed to emails (Consent).
type Prefs struct {
	Email   string `json:"email,omitempty"`
	Consent bool   `json:"consent,omitempty"`
	// Events are the events the user wants to be told about.
	Events  []Event   `json:"events,omitempty"`
	Updated time.Time `json:"updated"`
}

// Wants reports whether the preferences ask for emails about ev.
func (p *Prefs) Wants(ev Event) bool {
	if p == nil || !p.Consent || p.Email == "" {
		return false
	}
	for _, e := range p.Events {
		if e == ev {
			return true
		}
	}
	return false
}

// Active reports whether the preferences ask for any email at all.
func (p *Prefs) Active() bool {
	for _, e := range Events {
		if p.Wants(e) {
			return true
		}
	}
	return false
}

// MaxEmailLength bounds an address (RFC 5321's limit on a path).
const MaxEmailLength = 254

// fieldError is an invalid preference, with the form field it concerns.
func fieldError(field, msg string) error {
	return errs.E("notification preferences", errs.Invalid, msg,
		errs.Issue{Severity: "error", Code: "value", Diagnostics: msg, Expression: []string{field}})
}

// CheckEmail checks an email address and returns it cleaned: a plain
// address (user@example.org), without a display name.
func CheckEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	const msg = "Enter an email address such as name@example.org."
	if s == "" {
		return "", fieldError("email", "Enter the email address to send notifications to.")
	}
	if len(s) > MaxEmailLength || !utf8.ValidString(s) || strings.ContainsAny(s, " <>\"\r\n\t,;") {
		return "", fieldError("email", msg)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", fieldError("email", msg)
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", fieldError("email", msg)
	}
	return s, nil
}

// normalize checks preferences and cleans them. Turning everything off
// (no consent, no events) needs no address.
func normalize(p *Prefs) error {
	var evs []Event
	for _, e := range p.Events {
		known := false
		for _, k := range Events {
			known = known || k == e
		}
		if !known {
			return fieldError("events", fmt.Sprintf("Unknown notification %q.", e))
		}
		dup := false
		for _, x := range evs {
			dup = dup || x == e
		}
		if !dup {
			evs = append(evs, e)
		}
	}
	p.Events = evs
	p.Email = strings.TrimSpace(p.Email)
	if p.Email == "" && !p.Consent && len(p.Events) == 0 {
		return nil
	}
	email, err := CheckEmail(p.Email)
	if err != nil {
		return err
	}
	p.Email = email
	if len(p.Events) > 0 && !p.Consent {
		return fieldError("consent", "Tick the box to agree to notification emails, or clear the choices above.")
	}
	return nil
}

// Prefs returns a user's preferences; a user who never set any gets the
// defaults: everything off.
func (s *Service) Prefs(ctx context.Context, userID string) (*Prefs, error) {
	return getPrefs(ctx, s.store, userID)
}

func getPrefs(ctx context.Context, r store.ItemReader, userID string) (*Prefs, error) {
	if userID == "" {
		return nil, errs.E("notification preferences", errs.Invalid, "no user")
	}
	it, err := r.GetItem(ctx, kindPrefs, userID)
	if errs.KindOf(err) == errs.NotFound {
		return &Prefs{}, nil
	}
	if err != nil {
		return nil, err
	}
	p := &Prefs{}
	if err := json.Unmarshal(it.Value, p); err != nil {
		return nil, errs.E("notification preferences", errs.Internal, fmt.Errorf("decoding the preferences of %s: %w", userID, err))
	}
	return p, nil
}

// SavePrefs checks and stores a user's preferences. An invalid address,
// or events chosen without agreeing to emails, is errs.Invalid with the
// form field named in the issue's expression ("email", "consent").
// Saving everything off removes the preferences.
func (s *Service) SavePrefs(ctx context.Context, userID string, p Prefs) (*Prefs, error) {
	if userID == "" {
		return nil, errs.E("notification preferences", errs.Invalid, "no user")
	}
	if err := normalize(&p); err != nil {
		return nil, err
	}
	p.Updated = s.now().UTC()
	b, err := json.Marshal(p)
	if err != nil {
		return nil, errs.E("notification preferences", errs.Internal, err)
	}
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		if p.Email == "" && !p.Consent && len(p.Events) == 0 {
			return tx.DeleteItem(ctx, kindPrefs, userID)
		}
		it := &store.Item{Kind: kindPrefs, Key: userID, Owner: userID, Value: b}
		if cur, err := tx.GetItem(ctx, kindPrefs, userID); err == nil {
			it.Version = cur.Version
		} else if errs.KindOf(err) != errs.NotFound {
			return err
		}
		return tx.PutItem(ctx, it)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}
