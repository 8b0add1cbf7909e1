package smart

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// TokenSpec describes an access token an operator issues directly
// (openchart token), without a client or a user at a browser.
type TokenSpec struct {
	// Scopes are granted as given (the operator is trusted like the data
	// directory); the Repository still bounds a user's token by the
	// user's roles.
	Scopes []string
	// Username makes a token that acts for that user; without it the token
	// acts as a client of its own (system/ scopes, or patient/ scopes with
	// Patient).
	Username string
	// Patient is the patient context (required for patient/ scopes unless
	// the user acts for exactly one patient).
	Patient string
	// ClientID names a registered client the token is issued to; default
	// "openchart-token".
	ClientID string
	// TTL is the token's lifetime (default: the server's access token
	// lifetime).
	TTL time.Duration
}

// OperatorClient is the client id of tokens issued by IssueToken without
// a registered client.
const OperatorClient = "openchart-token"

// IssueToken issues an access token directly into the store, recorded in
// the audit trail as an action of the principal in ctx (the operator). It
// returns the token and its expiry.
func (s *Server) IssueToken(ctx context.Context, spec TokenSpec) (string, time.Time, error) {
	bad := func(format string, a ...any) (string, time.Time, error) {
		return "", time.Time{}, errs.E("issue token", errs.Invalid, fmt.Sprintf(format, a...))
	}
	scopes, err := parseScopes(spec.Scopes)
	if err != nil {
		return bad("%v", err)
	}
	if !slices.ContainsFunc(scopes, func(sc scope) bool { return sc.Res != nil }) {
		return bad("give at least one resource scope (patient/..., user/... or system/...)")
	}
	ttl := spec.TTL
	if ttl <= 0 {
		ttl = s.cfg.AccessTTL
	}
	clientID := spec.ClientID
	if clientID == "" {
		clientID = OperatorClient
	} else if _, err := s.GetClient(ctx, clientID); err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return bad("no client %q is registered", clientID)
		}
		return "", time.Time{}, err
	}
	g := &grantDoc{ID: randomID(), ClientID: clientID, Patient: spec.Patient, Created: s.now().UTC()}
	for _, sc := range scopes {
		g.Scopes = append(g.Scopes, sc.raw)
	}
	hasContext := func(c string) bool {
		return slices.ContainsFunc(scopes, func(sc scope) bool { return sc.Res != nil && sc.Res.Context == c })
	}
	if spec.Username != "" {
		u, err := s.cfg.Auth.UserByName(ctx, spec.Username)
		if errs.KindOf(err) == errs.NotFound {
			return bad("no user %q", spec.Username)
		} else if err != nil {
			return "", time.Time{}, err
		}
		if u.Disabled {
			return bad("user %q is disabled", spec.Username)
		}
		if hasContext(access.ContextSystem) {
			return bad("system/ scopes are for tokens without a user")
		}
		sess := &auth.Session{UserID: u.ID}
		if len(u.Memberships) > 0 {
			sess.Organization = u.Memberships[0].Organization
		}
		if g.Patient == "" && isPatientUser(u) && len(u.Patients) == 1 {
			g.Patient = u.Patients[0]
		}
		if isPatientUser(u) && g.Patient != "" && !slices.Contains(u.Patients, g.Patient) {
			return bad("user %q does not act for patient %q", spec.Username, g.Patient)
		}
		sess.Patient = g.Patient
		p := s.cfg.Auth.Principal(sess, u, nil, "")
		p.BreakGlass = nil
		g.UserID, g.Principal = u.ID, *p
	} else {
		if hasContext(access.ContextUser) {
			return bad("user/ scopes need --user")
		}
		g.Principal = access.Principal{Kind: access.Client, ClientID: clientID}
	}
	if hasContext(access.ContextPatient) && g.Patient == "" {
		return bad("patient/ scopes need a patient (--patient)")
	}
	var tok string
	var exp time.Time
	err = s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		is, err := s.issueTokensTTL(ctx, tx, g, 0, false, ttl)
		if err != nil {
			return err
		}
		tok, exp = is.access, is.expires
		who := "as client " + clientID
		if spec.Username != "" {
			who = "for user " + spec.Username
		}
		desc := "access token issued by an operator " + who + ": " + strings.Join(g.Scopes, " ")
		return tx.AppendAudit(ctx, s.securityEntry(ctx, audit.InteractionLogin, desc, g.Patient))
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return tok, exp, nil
}
