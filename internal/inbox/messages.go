package inbox

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/fhir"
	"github.com/openchart/openchart/internal/repo"
	"github.com/openchart/openchart/internal/store"
)

// Representation of messages (docs/INBOX.md).
const (
	// CategorySystem and CategoryMessage mark the Communications that are
	// patient messages (Communication.category), so other Communications
	// (alerts, letters) never enter a message inbox.
	CategorySystem  = "http://openchart.org/fhir/CodeSystem/communication-category"
	CategoryMessage = "patient-message"
	// ReadByURL is the extension on Communication naming who read it
	// (valueReference): Communication.received says when the addressee
	// read it, the extension which user that was (for a shared inbox).
	ReadByURL = "http://openchart.org/fhir/StructureDefinition/read-by"
)

// MaxTextLength bounds a message's text, in characters.
const MaxTextLength = 10000

// MaxTopicLength bounds a thread's subject, in characters.
const MaxTopicLength = 200

// allowedTypes are the attachment types a message may carry, each with the
// bytes its content must start with: the declared type is checked against
// the content, so a renamed file is refused.
var allowedTypes = map[string][]byte{
	"image/jpeg":      {0xFF, 0xD8, 0xFF},
	"image/png":       {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'},
	"application/pdf": []byte("%PDF-"),
}

// Attachment is a file sent with a message.
type Attachment struct {
	ContentType string // image/jpeg, image/png or application/pdf
	Title       string // the file name to show
	Data        []byte
}

// NewMessage is a message to send.
type NewMessage struct {
	From        string   // the sender: "Patient/1", "Practitioner/2", "RelatedPerson/3"...
	To          []string // recipients: a Practitioner, the care team (Organization, CareTeam), the Patient...
	Patient     string   // whom the message is about: "Patient/1"
	Topic       string   // the thread's subject
	Text        string
	Attachments []Attachment
}

// Message is the view of one message.
type Message struct {
	ID           string
	Thread       string // the id of the thread's first message (its own id for the first)
	InResponseTo string // the id of the message it answers
	Patient      string
	Sender       string
	SenderName   string
	Recipients   []string
	Topic        string
	Text         string
	Attachments  []Attachment
	Sent         time.Time
	Received     time.Time // zero while unread
	ReadBy       string
}

// Unread reports whether the addressee has not read the message.
func (m *Message) Unread() bool { return m.Received.IsZero() }

// AddressedTo reports whether the message is addressed to one of refs.
func (m *Message) AddressedTo(refs []string) bool {
	for _, r := range m.Recipients {
		if slices.Contains(refs, r) {
			return true
		}
	}
	return false
}

var senderTypes = []string{"Patient", "Practitioner", "PractitionerRole", "RelatedPerson", "Organization", "HealthcareService"}
var recipientTypes = []string{"Patient", "Practitioner", "PractitionerRole", "RelatedPerson", "Organization", "CareTeam", "Group", "HealthcareService"}

// checkAttachments enforces the type and size limits.
func (ib *Inbox) checkAttachments(op string, atts []Attachment) error {
	if len(atts) > ib.maxAttach {
		return errs.E(op, errs.TooLarge, fmt.Sprintf("a message can carry at most %d attachments", ib.maxAttach),
			errs.Issue{Severity: "error", Code: "too-costly", Diagnostics: "too many attachments", Expression: []string{"attachments"}})
	}
	for i, a := range atts {
		field := fmt.Sprintf("attachments[%d]", i)
		name := a.Title
		if name == "" {
			name = fmt.Sprintf("attachment %d", i+1)
		}
		magic, ok := allowedTypes[a.ContentType]
		switch {
		case !ok:
			return invalid(op, field, fmt.Sprintf("%s: only photos (JPEG, PNG) and PDF documents can be attached, not %q", name, a.ContentType))
		case len(a.Data) == 0:
			return invalid(op, field, fmt.Sprintf("%s is empty", name))
		case len(a.Data) > ib.maxBytes:
			return errs.E(op, errs.TooLarge, fmt.Sprintf("%s is %.1f MB; each attachment is limited to %.0f MB", name, float64(len(a.Data))/(1<<20), float64(ib.maxBytes)/(1<<20)),
				errs.Issue{Severity: "error", Code: "too-costly", Diagnostics: "attachment too large", Expression: []string{field}})
		case !bytes.HasPrefix(a.Data, magic):
			return invalid(op, field, fmt.Sprintf("%s is not a %s file", name, a.ContentType))
		case len(a.Title) > 255 || !utf8.ValidString(a.Title):
			return invalid(op, field+".title", "the file name is limited to 255 characters")
		}
	}
	return nil
}

func (ib *Inbox) checkText(op, text string, atts int) (string, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "" && atts == 0:
		return "", invalid(op, "text", "the message is empty")
	case utf8.RuneCountInString(text) > MaxTextLength:
		return "", invalid(op, "text", fmt.Sprintf("a message is limited to %d characters", MaxTextLength))
	case !utf8.ValidString(text):
		return "", invalid(op, "text", "the message is not valid text")
	}
	return text, nil
}

// communication builds the Communication of a message.
func (ib *Inbox) communication(m NewMessage, text, root, inResponseTo string, now time.Time) map[string]any {
	var payload []any
	if text != "" {
		payload = append(payload, map[string]any{"contentString": text})
	}
	for _, a := range m.Attachments {
		sum := sha1.Sum(a.Data)
		att := map[string]any{
			"contentType": a.ContentType,
			"data":        base64.StdEncoding.EncodeToString(a.Data),
			"size":        len(a.Data),
			"hash":        base64.StdEncoding.EncodeToString(sum[:]),
			"creation":    stamp(now),
		}
		if a.Title != "" {
			att["title"] = a.Title
		}
		payload = append(payload, map[string]any{"contentAttachment": att})
	}
	var to []any
	for _, r := range m.To {
		to = append(to, fhir.Reference(r))
	}
	res := map[string]any{
		"resourceType": "Communication",
		"status":       "completed",
		"category":     []any{map[string]any{"coding": []any{map[string]any{"system": CategorySystem, "code": CategoryMessage, "display": "Patient message"}}}},
		"subject":      fhir.Reference(m.Patient),
		"topic":        map[string]any{"text": m.Topic},
		"sent":         stamp(now),
		"recipient":    to,
		"sender":       fhir.Reference(m.From),
		"payload":      payload,
	}
	if root != "" {
		res["partOf"] = []any{fhir.Reference("Communication/" + root)}
		res["inResponseTo"] = []any{fhir.Reference("Communication/" + inResponseTo)}
	}
	return res
}

// Send starts a new thread. Attachments are checked first: a message with
// an attachment of another type, a content that does not match its type,
// or over the size limit is refused and nothing is stored.
func (ib *Inbox) Send(ctx context.Context, m NewMessage) (*Message, error) {
	const op = "send message"
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if _, err := checkRef(op, "from", m.From, senderTypes...); err != nil {
		return nil, err
	}
	if _, err := checkRef(op, "patient", m.Patient, "Patient"); err != nil {
		return nil, err
	}
	if len(m.To) == 0 {
		return nil, invalid(op, "to", "choose whom to send the message to")
	}
	for i, r := range m.To {
		if _, err := checkRef(op, fmt.Sprintf("to[%d]", i), r, recipientTypes...); err != nil {
			return nil, err
		}
	}
	m.Topic = strings.TrimSpace(m.Topic)
	if m.Topic == "" {
		return nil, invalid(op, "topic", "give the message a subject")
	}
	if utf8.RuneCountInString(m.Topic) > MaxTopicLength {
		return nil, invalid(op, "topic", fmt.Sprintf("the subject is limited to %d characters", MaxTopicLength))
	}
	if err := checkPatientSender(ctx, op, m.From, m.Patient); err != nil {
		return nil, err
	}
	text, err := ib.checkText(op, m.Text, len(m.Attachments))
	if err != nil {
		return nil, err
	}
	if err := ib.checkAttachments(op, m.Attachments); err != nil {
		return nil, err
	}
	return ib.store(ctx, m, text, "", "")
}

func (ib *Inbox) store(ctx context.Context, m NewMessage, text, root, inResponseTo string) (*Message, error) {
	var out *Message
	err := ib.repo.InTx(ctx, func(tx *repo.Tx) error {
		msg, err := fhir.Normalize(ib.communication(m, text, root, inResponseTo, tx.Now()))
		if err != nil {
			return err
		}
		o, err := tx.Create(ctx, msg, repo.CreateOptions{})
		if err != nil {
			return err
		}
		res, err := parse(o.Record)
		if err != nil {
			return err
		}
		out = messageOf(o.Record, res)
		return nil
	})
	return out, err
}

// Reply answers a message in its thread: the reply goes to the message's
// sender (or, when the one replying sent it, to its recipients again),
// about the same patient and topic, partOf the thread's first message and
// inResponseTo the message answered.
func (ib *Inbox) Reply(ctx context.Context, messageID, from, text string, atts []Attachment) (*Message, error) {
	const op = "reply"
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if err := checkID(op, "message", messageID); err != nil {
		return nil, err
	}
	if _, err := checkRef(op, "from", from, senderTypes...); err != nil {
		return nil, err
	}
	text, err := ib.checkText(op, text, len(atts))
	if err != nil {
		return nil, err
	}
	if err := ib.checkAttachments(op, atts); err != nil {
		return nil, err
	}
	orig, err := ib.message(ctx, op, messageID)
	if err != nil {
		return nil, err
	}
	if err := checkPatientSender(ctx, op, from, orig.Patient); err != nil {
		return nil, err
	}
	to := []string{orig.Sender}
	if orig.Sender == from {
		to = orig.Recipients
	}
	m := NewMessage{From: from, To: to, Patient: orig.Patient, Topic: orig.Topic, Attachments: atts}
	return ib.store(ctx, m, text, orig.Thread, orig.ID)
}

func (ib *Inbox) message(ctx context.Context, op, id string) (*Message, error) {
	rec, err := ib.repo.Read(ctx, "Communication", id)
	if err != nil {
		return nil, err
	}
	res, err := parse(rec)
	if err != nil {
		return nil, err
	}
	if !isMessage(res) {
		return nil, errs.E(op, errs.NotFound, "there is no such message")
	}
	return messageOf(rec, res), nil
}

func isMessage(res map[string]any) bool {
	for _, c := range fhir.List(res["category"]) {
		for _, cd := range fhir.List(fhir.Obj(c)["coding"]) {
			if fhir.Str(fhir.Obj(cd)["system"]) == CategorySystem && fhir.Str(fhir.Obj(cd)["code"]) == CategoryMessage {
				return true
			}
		}
	}
	return false
}

func messageOf(rec *store.Record, res map[string]any) *Message {
	m := &Message{ID: rec.ID, Thread: rec.ID, Patient: fhir.RefOf(res["subject"]), Sender: fhir.RefOf(res["sender"]),
		Topic: fhir.Str(fhir.Obj(res["topic"])["text"]), Sent: parseTime(res["sent"]), Received: parseTime(res["received"])}
	if p := fhir.List(res["partOf"]); len(p) > 0 {
		m.Thread = strings.TrimPrefix(fhir.RefOf(p[0]), "Communication/")
	}
	if p := fhir.List(res["inResponseTo"]); len(p) > 0 {
		m.InResponseTo = strings.TrimPrefix(fhir.RefOf(p[0]), "Communication/")
	}
	for _, r := range fhir.List(res["recipient"]) {
		m.Recipients = append(m.Recipients, fhir.RefOf(r))
	}
	for _, p := range fhir.List(res["payload"]) {
		pm := fhir.Obj(p)
		if s, ok := pm["contentString"].(string); ok {
			if m.Text != "" {
				m.Text += "\n"
			}
			m.Text += s
		}
		if a := fhir.Obj(pm["contentAttachment"]); a != nil {
			data, _ := base64.StdEncoding.DecodeString(fhir.Str(a["data"]))
			m.Attachments = append(m.Attachments, Attachment{ContentType: fhir.Str(a["contentType"]), Title: fhir.Str(a["title"]), Data: data})
		}
	}
	for _, e := range fhir.List(res["extension"]) {
		if fhir.Str(fhir.Obj(e)["url"]) == ReadByURL {
			m.ReadBy = fhir.RefOf(fhir.Obj(e)["valueReference"])
		}
	}
	return m
}

// Thread is a conversation: its first message and its replies, by time.
type Thread struct {
	ID       string // the first message's id
	Patient  string
	Topic    string
	Messages []*Message
	// Unread counts the messages addressed to the reader not read yet
	// (filled by Threads and by ThreadFor).
	Unread int
}

// Last is the thread's latest message.
func (t *Thread) Last() *Message { return t.Messages[len(t.Messages)-1] }

// Thread reads a whole thread, given the id of any of its messages.
func (ib *Inbox) Thread(ctx context.Context, id string) (*Thread, error) {
	const op = "read thread"
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if err := checkID(op, "thread", id); err != nil {
		return nil, err
	}
	m, err := ib.message(ctx, op, id)
	if err != nil {
		return nil, err
	}
	threads, err := ib.threads(ctx, []string{m.Thread})
	if err != nil {
		return nil, err
	}
	if len(threads) == 0 {
		return nil, errs.E(op, errs.NotFound, "there is no such thread")
	}
	return threads[0], nil
}

// threads reads whole threads by root id (two searches: the roots and
// their replies), in the order of ids, and fills in the senders' names.
func (ib *Inbox) threads(ctx context.Context, roots []string) ([]*Thread, error) {
	if len(roots) == 0 {
		return nil, nil
	}
	recs, err := ib.search(ctx, "Communication", url.Values{"_id": {strings.Join(roots, ",")}}, 0)
	if err != nil {
		return nil, err
	}
	parts := make([]string, len(roots))
	for i, r := range roots {
		parts[i] = "Communication/" + r
	}
	replies, err := ib.search(ctx, "Communication", url.Values{"part-of": {strings.Join(parts, ",")}}, 0)
	if err != nil {
		return nil, err
	}
	byID := map[string]*Thread{}
	var senders []string
	for _, rec := range append(recs, replies...) {
		res, err := parse(rec)
		if err != nil {
			return nil, err
		}
		if !isMessage(res) {
			continue
		}
		m := messageOf(rec, res)
		t := byID[m.Thread]
		if t == nil {
			t = &Thread{ID: m.Thread}
			byID[m.Thread] = t
		}
		if m.ID == m.Thread {
			t.Patient, t.Topic = m.Patient, m.Topic
		}
		t.Messages = append(t.Messages, m)
		senders = append(senders, m.Sender)
	}
	names, err := ib.names(ctx, senders)
	if err != nil {
		return nil, err
	}
	var out []*Thread
	for _, r := range roots {
		t := byID[r]
		if t == nil || t.Topic == "" && t.Patient == "" {
			continue // the root is gone or not a message
		}
		slices.SortStableFunc(t.Messages, func(a, b *Message) int {
			if c := a.Sent.Compare(b.Sent); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		for _, m := range t.Messages {
			m.SenderName = names[m.Sender]
		}
		out = append(out, t)
	}
	return out, nil
}

// ThreadQuery selects threads: those about a patient (the portal), or
// those with a message from or to any of a reader's references (the
// clinic's inbox). Threads come newest activity first, Count (default 20)
// from Offset.
type ThreadQuery struct {
	Patient string // "Patient/id"
	Reader  Reader // whose unread messages are counted; with no Patient, whose threads
	Offset  int
	Count   int
}

// ThreadPage is a page of threads.
type ThreadPage struct {
	Threads []*Thread
	More    bool
}

// Threads lists threads, newest activity first, each with its unread
// count for the reader.
func (ib *Inbox) Threads(ctx context.Context, q ThreadQuery) (*ThreadPage, error) {
	const op = "list threads"
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if err := q.Reader.check(op); err != nil {
		return nil, err
	}
	if q.Count <= 0 {
		q.Count = 20
	}
	if q.Offset < 0 {
		return nil, invalid(op, "offset", "the page offset cannot be negative")
	}
	base := url.Values{"category": {CategorySystem + "|" + CategoryMessage}, "_sort": {"-sent"}}
	var searches []url.Values
	if q.Patient != "" {
		if _, err := checkRef(op, "patient", q.Patient, "Patient"); err != nil {
			return nil, err
		}
		p := cloneValues(base)
		p.Set("subject", q.Patient)
		searches = append(searches, p)
	} else {
		refs := strings.Join(q.Reader.refs(), ",")
		for _, param := range []string{"recipient", "sender"} {
			p := cloneValues(base)
			p.Set(param, refs)
			searches = append(searches, p)
		}
	}
	ids, err := ib.threadsByActivity(ctx, searches)
	if err != nil {
		return nil, err
	}
	page := &ThreadPage{}
	if q.Offset >= len(ids) {
		return page, nil
	}
	end := min(len(ids), q.Offset+q.Count)
	page.More = end < len(ids)
	threads, err := ib.threads(ctx, ids[q.Offset:end])
	if err != nil {
		return nil, err
	}
	refs := q.Reader.refs()
	for _, t := range threads {
		for _, m := range t.Messages {
			if m.Unread() && m.AddressedTo(refs) {
				t.Unread++
			}
		}
	}
	page.Threads = threads
	return page, nil
}

// MaxThreadScan bounds how many of the latest messages Threads reads per
// search to find and order the threads: older threads than those drop out
// of the list (they stay readable by id).
const MaxThreadScan = 2000

// threadsByActivity runs the message searches and returns the ids of the
// threads their messages belong to, latest activity first.
func (ib *Inbox) threadsByActivity(ctx context.Context, searches []url.Values) ([]string, error) {
	latest := map[string]time.Time{}
	for _, p := range searches {
		recs, err := ib.search(ctx, "Communication", p, MaxThreadScan)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			res, err := parse(rec)
			if err != nil {
				return nil, err
			}
			m := messageOf(rec, res)
			if last, ok := latest[m.Thread]; !ok || m.Sent.After(last) {
				latest[m.Thread] = m.Sent
			}
		}
	}
	ids := make([]string, 0, len(latest))
	for id := range latest {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		if c := latest[b].Compare(latest[a]); c != 0 {
			return c
		}
		return strings.Compare(b, a) // server ids grow with time
	})
	return ids, nil
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// MarkRead marks the messages of a thread that are addressed to the
// reader (the user or one of their groups) and not read yet as read:
// Communication.received is set to now and the read-by extension names
// the user, all in one transaction. It returns how many it marked.
func (ib *Inbox) MarkRead(ctx context.Context, threadID string, r Reader) (int, error) {
	const op = "mark read"
	if err := principal(ctx, op); err != nil {
		return 0, err
	}
	if err := r.check(op); err != nil {
		return 0, err
	}
	wctx, err := readerCtx(ctx, op, r)
	if err != nil {
		return 0, err
	}
	t, err := ib.Thread(ctx, threadID)
	if err != nil {
		return 0, err
	}
	refs := r.refs()
	var todo []string
	for _, m := range t.Messages {
		if m.Unread() && m.AddressedTo(refs) {
			todo = append(todo, m.ID)
		}
	}
	if len(todo) == 0 {
		return 0, nil
	}
	n := 0
	err = ib.repo.InTx(wctx, func(tx *repo.Tx) error {
		n = 0
		for _, id := range todo {
			out, err := tx.Patch(wctx, "Communication", id, func(cur map[string]any) (map[string]any, error) {
				if _, done := cur["received"]; done {
					return cur, nil // read meanwhile by another member of the group
				}
				cur["received"] = stamp(tx.Now())
				cur["extension"] = append(fhir.List(cur["extension"]), map[string]any{"url": ReadByURL, "valueReference": fhir.Reference(r.User)})
				return cur, nil
			}, repo.UpdateOptions{})
			if err != nil {
				return err
			}
			if !out.Unchanged {
				n++
			}
		}
		return nil
	})
	return n, err
}

func unreadParams(refs []string) url.Values {
	return url.Values{
		"category":         {CategorySystem + "|" + CategoryMessage},
		"recipient":        {strings.Join(refs, ",")},
		"received:missing": {"true"},
		"status":           {"completed"},
	}
}

// Unread counts the unread messages addressed to the reader or their
// groups (one count-only search).
func (ib *Inbox) Unread(ctx context.Context, r Reader) (int, error) {
	const op = "unread messages"
	if err := principal(ctx, op); err != nil {
		return 0, err
	}
	if err := r.check(op); err != nil {
		return 0, err
	}
	return ib.count(ctx, "Communication", unreadParams(r.refs()))
}

// UnreadByPatient counts the unread messages addressed to the reader or
// their groups, per patient ("Patient/id" -> count).
func (ib *Inbox) UnreadByPatient(ctx context.Context, r Reader) (map[string]int, error) {
	const op = "unread messages by patient"
	if err := principal(ctx, op); err != nil {
		return nil, err
	}
	if err := r.check(op); err != nil {
		return nil, err
	}
	recs, err := ib.search(ctx, "Communication", unreadParams(r.refs()), 0)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, rec := range recs {
		res, err := parse(rec)
		if err != nil {
			return nil, err
		}
		out[fhir.RefOf(res["subject"])]++
	}
	return out, nil
}
