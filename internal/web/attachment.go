package web

import (
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/inbox"
)

// The files sent with messages (inbox.Attachment) are served by one code
// path, whoever may read the thread.

// attachmentTypes are the types the inbox accepts for attachments (and
// checks against the content when a message is sent), with the extension
// a downloaded file is given. Anything else stored in a Communication (one
// written through the FHIR API) is served as application/octet-stream.
var attachmentTypes = map[string]string{
	"image/jpeg":      ".jpg",
	"image/png":       ".png",
	"application/pdf": ".pdf",
}

// threadOf reads the thread named by the path's {id} with the user's
// principal: a malformed id, or a thread that does not exist or that the
// user may not see, is the 404 page.
func (s *server) threadOf(r *http.Request) (*inbox.Thread, error) {
	id := r.PathValue("id")
	if !validID(id) {
		return nil, notFound
	}
	t, err := s.cfg.Inbox.Thread(r.Context(), id)
	if err != nil {
		if k := errs.KindOf(err); k == errs.NotFound || k == errs.Permission || k == errs.Invalid || k == errs.Gone {
			return nil, notFound
		}
		return nil, err
	}
	return t, nil
}

// threadAttachment finds attachment index (decimal, from 0) of the message
// msgID of a thread.
func threadAttachment(t *inbox.Thread, msgID, index string) (inbox.Attachment, bool) {
	n, err := strconv.Atoi(index)
	if err != nil || n < 0 || strconv.Itoa(n) != index {
		return inbox.Attachment{}, false
	}
	for _, m := range t.Messages {
		if m.ID == msgID {
			if n < len(m.Attachments) {
				return m.Attachments[n], true
			}
			return inbox.Attachment{}, false
		}
	}
	return inbox.Attachment{}, false
}

// serveAttachment writes an attachment as a download: its type if it is
// one the inbox accepts, else application/octet-stream; always as an
// attachment (never shown inline by the browser) under a sanitized file
// name; never sniffed; never cached.
func serveAttachment(w http.ResponseWriter, a inbox.Attachment) {
	ct, ext := "application/octet-stream", ""
	if e, ok := attachmentTypes[a.ContentType]; ok {
		ct, ext = a.ContentType, e
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": attachmentName(a.Title, ext)}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(a.Data)))
	w.WriteHeader(http.StatusOK)
	w.Write(a.Data)
}

// attachmentName makes a file name safe to offer: the last path element
// of the title, without control characters, quotes or path separators,
// white space collapsed, at most 100 characters, with the extension of its type when it lacks
// it; "attachment" when nothing is left.
func attachmentName(title, ext string) string {
	title = strings.ReplaceAll(title, "\\", "/")
	name := strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r), r == '"', r == '/', r == '\\', r == unicode.ReplacementChar:
			return -1
		}
		return r
	}, path.Base("/"+title))
	name = strings.Trim(strings.Join(strings.Fields(name), " "), ".")
	if r := []rune(name); len(r) > 100 {
		name = string(r[:100])
	}
	if name == "" {
		name = "attachment"
	}
	if ext != "" && !strings.EqualFold(path.Ext(name), ext) && !(ext == ".jpg" && strings.EqualFold(path.Ext(name), ".jpeg")) {
		name += ext
	}
	return name
}
