package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/inbox"
)

// portalReader is the inbox reader of a portal user: themselves and the
// patient acted for.
func portalReader(pc *portalCtx) inbox.Reader {
	rd := inbox.Reader{User: pc.User.FHIRUser}
	if rd.User == "" {
		rd.User = pc.Ref
	}
	if rd.User != pc.Ref {
		rd.Groups = []string{pc.Ref}
	}
	return rd
}

// careTeam is who a patient's messages go to: the organization that
// manages the patient (its shared inbox).
func (s *server) careTeam(r *http.Request, pc *portalCtx) string {
	rec, err := s.cfg.Repo.Read(r.Context(), "Patient", pc.Patient)
	if err != nil {
		return ""
	}
	var p map[string]any
	if json.Unmarshal(rec.JSON, &p) != nil {
		return ""
	}
	return pRef(p, "managingOrganization")
}

type portalMessagesView struct {
	Threads []*inbox.Thread
	CanSend bool
	MaxKB   int
}

func (s *server) portalMessages(w http.ResponseWriter, r *http.Request) error {
	return s.messagesPage(w, r, http.StatusOK, page{})
}

func (s *server) messagesPage(w http.ResponseWriter, r *http.Request, status int, p page) error {
	if s.cfg.Inbox == nil {
		return notFound
	}
	pc := portalOf(r)
	tp, err := s.cfg.Inbox.Threads(r.Context(), inbox.ThreadQuery{Patient: pc.Ref, Reader: portalReader(pc), Count: 50})
	if err != nil {
		return err
	}
	v := portalMessagesView{Threads: tp.Threads, CanSend: s.careTeam(r, pc) != "", MaxKB: inbox.DefaultMaxAttachmentBytes >> 10}
	s.renderPortal(w, r, status, "portal/messages", "Messages", "messages", p, v)
	return nil
}

// maxUpload bounds a message form (the inbox's attachment limits, with
// room for the text).
const maxUpload = inbox.DefaultMaxAttachments*inbox.DefaultMaxAttachmentBytes + 1<<20

// attachments reads the files of a message form.
func attachments(r *http.Request) ([]inbox.Attachment, error) {
	if r.MultipartForm == nil {
		return nil, nil
	}
	var out []inbox.Attachment
	for _, fh := range r.MultipartForm.File["attachment"] {
		if fh.Size == 0 && fh.Filename == "" {
			continue
		}
		data, err := readPart(fh)
		if err != nil {
			return nil, err
		}
		out = append(out, inbox.Attachment{ContentType: fh.Header.Get("Content-Type"), Title: fh.Filename, Data: data})
	}
	return out, nil
}

func readPart(fh *multipart.FileHeader) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// parseMessageForm reads a message form: multipart when it carries
// attachments (the middleware has parsed it already to check its CSRF
// token, within its size limit), else url-encoded.
func parseMessageForm(r *http.Request) error {
	if err := r.ParseMultipartForm(maxUpload); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return errs.E(errs.TooLarge, "The attachments are too large.")
	}
	return nil
}

func (s *server) portalSend(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Inbox == nil {
		return notFound
	}
	pc := portalOf(r)
	if err := parseMessageForm(r); err != nil {
		return err
	}
	topic, text := pForm(r, "topic"), pForm(r, "text")
	form := url.Values{"topic": {topic}, "text": {text}}
	fe := map[string]string{}
	if topic == "" {
		fe["topic"] = "Enter a subject."
	}
	if text == "" {
		fe["text"] = "Write your message."
	}
	atts, err := attachments(r)
	if err != nil {
		return err
	}
	to := s.careTeam(r, pc)
	if to == "" {
		return errs.E(errs.Permission, "Your clinic does not receive messages here yet.")
	}
	if len(fe) == 0 {
		from := pc.User.FHIRUser
		if from == "" {
			from = pc.Ref
		}
		m, err := s.cfg.Inbox.Send(r.Context(), inbox.NewMessage{From: from, To: []string{to}, Patient: pc.Ref,
			Topic: topic, Text: text, Attachments: atts})
		if err == nil {
			s.flash(w, "Your message was sent to your care team.")
			http.Redirect(w, r, "/portal/messages/"+m.Thread, http.StatusSeeOther)
			return nil
		}
		if errs.KindOf(err) != errs.Invalid {
			return err
		}
		fe["attachment"] = messageOf(err)
	}
	return s.messagesPage(w, r, http.StatusBadRequest, page{Form: form, Errors: fe,
		Error: "The message was not sent: see the messages below."})
}

// thread reads a thread of the patient acted for.
func (s *server) portalThreadOf(r *http.Request) (*inbox.Thread, error) {
	pc := portalOf(r)
	t, err := s.threadOf(r)
	if err != nil {
		return nil, err
	}
	if t.Patient != pc.Ref {
		return nil, notFound
	}
	return t, nil
}

// portalAttachment downloads a file sent with a message of one of the
// patient's threads (the same checks as the thread page).
func (s *server) portalAttachment(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Inbox == nil {
		return notFound
	}
	t, err := s.portalThreadOf(r)
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

type portalThreadView struct {
	Thread   *inbox.Thread
	Messages []portalMessage
}

// portalMessage is one message of a thread, marked when the portal user
// sent it.
type portalMessage struct {
	*inbox.Message
	Mine bool
}

func (s *server) portalThread(w http.ResponseWriter, r *http.Request) error {
	return s.threadPage(w, r, http.StatusOK, page{})
}

func (s *server) threadPage(w http.ResponseWriter, r *http.Request, status int, p page) error {
	if s.cfg.Inbox == nil {
		return notFound
	}
	pc := portalOf(r)
	t, err := s.portalThreadOf(r)
	if err != nil {
		return err
	}
	if r.Method == http.MethodGet {
		if _, err := s.cfg.Inbox.MarkRead(r.Context(), t.ID, portalReader(pc)); err != nil {
			return err
		}
	}
	rd := portalReader(pc)
	me := append([]string{rd.User}, rd.Groups...)
	v := portalThreadView{Thread: t}
	for _, m := range t.Messages {
		v.Messages = append(v.Messages, portalMessage{Message: m, Mine: mine(m, me)})
	}
	s.renderPortal(w, r, status, "portal/thread", t.Topic, "messages", p, v)
	return nil
}

func (s *server) portalReply(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Inbox == nil {
		return notFound
	}
	pc := portalOf(r)
	t, err := s.portalThreadOf(r)
	if err != nil {
		return err
	}
	if err := parseMessageForm(r); err != nil {
		return err
	}
	text := pForm(r, "text")
	fe := map[string]string{}
	atts, err := attachments(r)
	if err != nil {
		return err
	}
	if text == "" {
		fe["text"] = "Write your reply."
	} else {
		from := pc.User.FHIRUser
		if from == "" {
			from = pc.Ref
		}
		_, err := s.cfg.Inbox.Reply(r.Context(), t.Last().ID, from, text, atts)
		if err == nil {
			s.flash(w, "Your reply was sent.")
			http.Redirect(w, r, "/portal/messages/"+t.ID, http.StatusSeeOther)
			return nil
		}
		if errs.KindOf(err) != errs.Invalid {
			return err
		}
		fe["attachment"] = messageOf(err)
	}
	return s.threadPage(w, r, http.StatusBadRequest, page{Form: url.Values{"text": {text}}, Errors: fe,
		Error: "The reply was not sent: see the messages below."})
}

// mine reports whether a message was sent by the portal user.
func mine(m *inbox.Message, me []string) bool {
	for _, x := range me {
		if strings.EqualFold(m.Sender, x) {
			return true
		}
	}
	return false
}
