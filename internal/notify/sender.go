package notify

import (
	"context"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Mail is one email to send: plain text.
type Mail struct {
	To, Subject, Body string
}

// Sender delivers email.
type Sender interface {
	Send(ctx context.Context, m Mail) error
}

// SMTP sends email through an SMTP server (a submission service). With
// the scheme smtp it uses STARTTLS when the server offers it; with smtps
// it speaks TLS from the start. With a user in the URL it authenticates
// with the strongest mechanism the server offers; passwords are never sent
// over a connection without TLS.
type SMTP struct {
	host     string
	port     int
	implicit bool
	user     string
	password string
	from     string
	timeout  time.Duration
}

// NewSMTP configures an SMTP sender from a URL
// (smtp://user:password@host:port, smtps://...; default ports 587 and 465)
// and the From address.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("the SMTP URL is not a URL (smtp://user:password@host:port)")
	}
	s := &SMTP{timeout: 30 * time.Second}
	switch u.Scheme {
	case "smtp":
		s.port = 587
	case "smtps":
		s.port, s.implicit = 465, true
	default:
		return nil, fmt.Errorf("the SMTP URL must start with smtp:// or smtps://, not %q", u.Scheme+"://")
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, fmt.Errorf("the SMTP URL names no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("the SMTP URL's port %q is not a port number", p)
		}
		s.port = n
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return nil, fmt.Errorf("the SMTP URL takes no path or query")
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.password, _ = u.User.Password()
	}
	a, err := mail.ParseAddress(from)
	if err != nil || from == "" {
		return nil, fmt.Errorf("the From address %q is not an email address", from)
	}
	s.from = a.String()
	return s, nil
}

// Addr is the server's host:port, for messages.
func (s *SMTP) Addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// Send sends one email.
func (s *SMTP) Send(ctx context.Context, m Mail) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("from address: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("recipient address: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)
	opts := []gomail.Option{gomail.WithPort(s.port), gomail.WithTimeout(s.timeout)}
	if s.implicit {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.user != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.user), gomail.WithPassword(s.password))
	}
	c, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return err
	}
	return c.DialAndSendWithContext(ctx, msg)
}
