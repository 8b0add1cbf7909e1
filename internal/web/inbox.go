package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/inbox"
)

// The inbox of a clinician (physicians and nurses): the practice's
// results to review, patient messages, and tasks. Messages and tasks are
// those addressed to the user's Practitioner or to the organization the
// user acts for; results are the organization's queue (results of its
// patients, inbox.Results("Organization/…")), which also holds what the
// user ordered for them.

func (s *server) inboxRoutes(mux *http.ServeMux) {
	mux.Handle("GET /inbox", s.user(s.deskInboxOnly(s.deskInboxPage)))
	mux.Handle("GET /inbox/results/{type}/{id}", s.user(s.deskInboxOnly(s.inboxResultPage)))
	mux.Handle("POST /inbox/results/{type}/{id}/signoff", s.user(s.deskInboxOnly(s.inboxSignOff)))
	mux.Handle("GET /inbox/messages/{id}", s.user(s.deskInboxOnly(s.inboxThreadPage)))
	mux.Handle("GET /inbox/messages/{id}/attachments/{msg}/{n}", s.user(s.deskInboxOnly(s.inboxAttachment)))
	mux.Handle("POST /inbox/messages/{id}/reply", s.user(s.deskInboxOnly(s.inboxReply)))
	mux.Handle("POST /inbox/messages/{id}/read", s.user(s.deskInboxOnly(s.inboxMarkRead)))
	mux.Handle("POST /inbox/tasks/{id}/{action}", s.user(s.deskInboxOnly(s.inboxTaskAction)))
}

// inboxOnly wraps the inbox's pages: clinicians acting for an
// organization, when the inbox service is configured.
func (s *server) deskInboxOnly(fn handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.cfg.Inbox == nil {
			return notFound
		}
		st := stateOf(r)
		if !deskClinician(st) || !strings.HasPrefix(st.session.Organization, "Organization/") {
			return errs.E(errs.Permission, "The inbox is for the clinic's physicians and nurses.")
		}
		return fn(w, r)
	}
}

// me is who the user acts as in the inbox: their Practitioner, else the
// organization.
func inboxMe(st *state) string {
	if f := st.user.FHIRUser; strings.HasPrefix(f, "Practitioner/") || strings.HasPrefix(f, "PractitionerRole/") {
		return f
	}
	return st.session.Organization
}

type deskInboxView struct {
	Tab     string
	Tabs    []deskInboxTab
	Counts  inbox.Counts
	Results *inbox.Queue
	Threads []*inbox.Thread
	More    bool
	Tasks   []*inbox.Task
}

type deskInboxTab struct {
	Key, Label string
	Count      int
	Current    bool
}

func (s *server) deskInboxPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st := stateOf(r)
	rd := inboxReader(st)
	tab := r.URL.Query().Get("tab")
	if tab != "messages" && tab != "tasks" {
		tab = "results"
	}
	c, err := s.cfg.Inbox.Counts(ctx, rd)
	if err != nil {
		return err
	}
	v := deskInboxView{Tab: tab, Counts: c}
	for _, t := range []deskInboxTab{{"results", "Results to review", c.Results, false}, {"messages", "Messages", c.Unread, false},
		{"tasks", "Tasks", c.Tasks, false}} {
		t.Current = t.Key == tab
		v.Tabs = append(v.Tabs, t)
	}
	switch tab {
	case "results":
		v.Results, err = s.cfg.Inbox.Results(ctx, st.session.Organization)
	case "messages":
		var tp *inbox.ThreadPage
		tp, err = s.cfg.Inbox.Threads(ctx, inbox.ThreadQuery{Reader: rd, Count: 50})
		if err == nil {
			v.Threads, v.More = tp.Threads, tp.More
		}
	case "tasks":
		v.Tasks, err = s.cfg.Inbox.Tasks(ctx, rd)
	}
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "inbox", page{Title: "Inbox", Data: v})
	return nil
}

// threadView is one conversation.
type inboxThreadView struct {
	T       *inbox.Thread
	Me      []string
	Patient string
}

// Kind names an attachment's type for people.
func (v inboxThreadView) Kind(contentType string) string {
	switch contentType {
	case "image/jpeg":
		return "JPEG image"
	case "image/png":
		return "PNG image"
	case "application/pdf":
		return "PDF document"
	}
	return "file"
}

// Size writes an attachment's size in KB (or MB from 1 MB up).
func (v inboxThreadView) Size(a inbox.Attachment) string {
	n := len(a.Data)
	if n >= 1<<20 {
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	}
	return strconv.Itoa((n+1023)>>10) + " KB"
}

func (s *server) inboxThreadPage(w http.ResponseWriter, r *http.Request) error {
	return s.inboxRenderThread(w, r, http.StatusOK, page{Form: url.Values{}})
}

func (s *server) inboxRenderThread(w http.ResponseWriter, r *http.Request, status int, p page) error {
	id := r.PathValue("id")
	if !validID(id) {
		return notFound
	}
	t, err := s.cfg.Inbox.Thread(r.Context(), id)
	if err != nil {
		return err
	}
	rd := inboxReader(stateOf(r))
	v := inboxThreadView{T: t, Me: append([]string{rd.User}, rd.Groups...), Patient: strings.TrimPrefix(t.Patient, "Patient/")}
	for _, m := range t.Messages {
		if m.Unread() && m.AddressedTo(v.Me) {
			t.Unread++
		}
	}
	p.Title, p.Data = "Message: "+t.Topic, v
	s.render(w, r, status, "inbox_thread", p)
	return nil
}

// inboxAttachment serves attachment n (from 0) of message msg of the
// thread id. The thread is read with the user's principal, so the access
// policy decides; a thread the user may not see, a message outside the
// thread and an index out of range all answer 404.
func (s *server) inboxAttachment(w http.ResponseWriter, r *http.Request) error {
	t, err := s.threadOf(r)
	if err != nil {
		return err
	}
	a, ok := threadAttachment(t, r.PathValue("msg"), r.PathValue("n"))
	if !ok {
		return notFound
	}
	serveAttachment(w, a)
	return nil
}

func (s *server) inboxReply(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !validID(id) {
		return notFound
	}
	st := stateOf(r)
	text := strings.TrimSpace(r.PostForm.Get("text"))
	fe := map[string]string{}
	if text == "" {
		fe["text"] = "Write the reply."
	}
	if len(fe) == 0 {
		t, err := s.cfg.Inbox.Thread(r.Context(), id)
		if err != nil {
			return err
		}
		_, err = s.cfg.Inbox.Reply(r.Context(), t.Last().ID, inboxMe(st), text, nil)
		if err == nil {
			if _, err := s.cfg.Inbox.MarkRead(r.Context(), t.ID, inboxReader(st)); err != nil {
				return err
			}
			s.flash(w, "Your reply was sent.")
			http.Redirect(w, r, "/inbox/messages/"+t.ID, http.StatusSeeOther)
			return nil
		}
		if errs.KindOf(err) != errs.Invalid && errs.KindOf(err) != errs.TooLarge {
			return err
		}
		fe["text"] = messageOf(err)
	}
	return s.inboxRenderThread(w, r, http.StatusBadRequest, page{Form: url.Values{"text": {text}}, Errors: fe,
		Error: "The reply was not sent: see the messages below."})
}

func (s *server) inboxMarkRead(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !validID(id) {
		return notFound
	}
	if _, err := s.cfg.Inbox.MarkRead(r.Context(), id, inboxReader(stateOf(r))); err != nil {
		return err
	}
	s.flash(w, "The conversation is marked as read.")
	http.Redirect(w, r, "/inbox?tab=messages", http.StatusSeeOther)
	return nil
}

func (s *server) inboxTaskAction(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !validID(id) {
		return notFound
	}
	note := strings.TrimSpace(r.PostForm.Get("note"))
	if len(note) > 2000 {
		return errs.E(errs.Invalid, "Keep the note under 2,000 characters.")
	}
	by := inboxMe(stateOf(r))
	var err error
	var msg string
	switch r.PathValue("action") {
	case "complete":
		_, err = s.cfg.Inbox.CompleteTask(r.Context(), id, by, note)
		msg = "The task is done."
	case "cancel":
		_, err = s.cfg.Inbox.CancelTask(r.Context(), id, by, note)
		msg = "The task is cancelled."
	default:
		return notFound
	}
	if err != nil {
		if errs.KindOf(err) == errs.Conflict {
			s.flash(w, "Nothing was changed: "+messageOf(err))
			http.Redirect(w, r, "/inbox?tab=tasks", http.StatusSeeOther)
			return nil
		}
		return err
	}
	s.flash(w, msg)
	http.Redirect(w, r, "/inbox?tab=tasks", http.StatusSeeOther)
	return nil
}
