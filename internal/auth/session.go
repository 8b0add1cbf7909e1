package auth

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// sessionDoc is a session item's document.
type sessionDoc struct {
	Session
	UserKey string `json:"user"`
}

// touchEvery is how stale LastSeen may get before Session writes it: one
// write a minute per active session, not one per request. The idle timeout
// is therefore exact to within a minute.
const touchEvery = time.Minute

func signedOut() error {
	return errs.E("session", errs.Unauthenticated, "You are signed out: sign in again.")
}

func (s *Service) newSession(ctx context.Context, tx store.Tx, rec *userRecord, m Meta) (string, *Session, error) {
	token := randomToken()
	id, err := uuid.NewV7()
	if err != nil {
		return "", nil, errs.E("sign in", errs.Internal, err)
	}
	now := s.now()
	d := sessionDoc{UserKey: userKey(rec.Username), Session: Session{
		ID: id.String(), UserID: rec.ID, CSRF: randomToken(), Created: now, LastSeen: now,
		Expires: now.Add(s.opts.SessionLifetime), Source: m.Source, UserAgent: clip(m.UserAgent, 300),
	}}
	if len(rec.Memberships) > 0 {
		d.Organization = rec.Memberships[0].Organization
	}
	if len(rec.Patients) > 0 {
		d.Patient = rec.Patients[0]
	}
	it := &store.Item{Kind: kindSession, Key: tokenKey(token), Owner: rec.ID, Expires: s.sessionEnd(&d.Session)}
	if err := putJSON(ctx, tx, it, d); err != nil {
		return "", nil, err
	}
	sess := d.Session
	return token, &sess, nil
}

// sessionEnd is when a session ends unless it is used again.
func (s *Service) sessionEnd(sess *Session) time.Time {
	end := sess.LastSeen.Add(s.opts.IdleTimeout)
	if sess.Expires.Before(end) {
		end = sess.Expires
	}
	return end
}

// Session returns the session of a token and its user. A session idle for
// longer than the idle timeout, past its absolute lifetime, or of an
// account disabled since, ends (audited as a logout) and the answer is
// errs.Unauthenticated. LastSeen is written at most once a minute.
func (s *Service) Session(ctx context.Context, token string) (*Session, *User, error) {
	var d sessionDoc
	it, err := getJSON(ctx, s.st, kindSession, tokenKey(token), &d)
	if errs.KindOf(err) == errs.NotFound {
		return nil, nil, signedOut()
	}
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	rec, _, err := s.userByKey(ctx, s.st, d.UserKey)
	if errs.KindOf(err) == errs.NotFound {
		return nil, nil, signedOut()
	}
	if err != nil {
		return nil, nil, err
	}
	switch {
	case now.After(d.Expires):
		return nil, nil, s.endSession(ctx, it.Key, "session lifetime reached")
	case now.After(d.LastSeen.Add(s.opts.IdleTimeout)):
		return nil, nil, s.endSession(ctx, it.Key, "idle timeout")
	case rec.Disabled:
		return nil, nil, s.endSession(ctx, it.Key, "account disabled")
	}
	if now.Sub(d.LastSeen) >= touchEvery {
		d.LastSeen = now
		it.Expires = s.sessionEnd(&d.Session)
		err := s.st.InTx(ctx, func(tx store.Tx) error { return putJSON(ctx, tx, it, d) })
		// Another request touched it first, or signed it out: either way
		// this request was made while the session was valid.
		if err != nil && errs.KindOf(err) != errs.Conflict && errs.KindOf(err) != errs.NotFound {
			return nil, nil, err
		}
	}
	sess, u := d.Session, rec.User
	return &sess, &u, nil
}

// endSession deletes an expired session and audits the automatic
// sign-out, once (whoever deletes it records it).
func (s *Service) endSession(ctx context.Context, key, why string) error {
	err := s.inTx(ctx, func(tx store.Tx) error {
		var d sessionDoc
		if _, err := getJSON(ctx, tx, kindSession, key, &d); err != nil {
			if errs.KindOf(err) == errs.NotFound {
				return nil
			}
			return err
		}
		if err := tx.DeleteItem(ctx, kindSession, key); err != nil {
			return err
		}
		return s.auditLogout(ctx, tx, &d, why)
	})
	if err != nil {
		return err
	}
	return signedOut()
}

func (s *Service) auditLogout(ctx context.Context, tx store.Tx, d *sessionDoc, why string) error {
	agent := audit.Agent{Kind: access.User.String(), UserID: d.UserID, Source: d.Source, Organization: d.Organization, Patient: d.Patient}
	if rec, _, err := s.userByKey(ctx, tx, d.UserKey); err == nil {
		agent = userAgent(&rec.User, d.Source)
		agent.Organization, agent.Roles, agent.Patient = d.Organization, rolesIn(&rec.User, d.Organization), d.Patient
	}
	e := entry(audit.InteractionLogout, agent)
	e.Entities = []audit.Entity{userEntity(d.UserID)}
	e.OutcomeDesc = why
	return appendAudit(ctx, tx, e)
}

// Logout ends the session of a token (audited). An unknown or ended
// session is not an error.
func (s *Service) Logout(ctx context.Context, token string) error {
	key := tokenKey(token)
	return s.inTx(ctx, func(tx store.Tx) error {
		var d sessionDoc
		if _, err := getJSON(ctx, tx, kindSession, key, &d); err != nil {
			if errs.KindOf(err) == errs.NotFound {
				return nil
			}
			return err
		}
		if err := tx.DeleteItem(ctx, kindSession, key); err != nil {
			return err
		}
		return s.auditLogout(ctx, tx, &d, "signed out")
	})
}

// LogoutEverywhere ends every session of a user, and any sign-in waiting
// for its second factor, and reports how many sessions there were.
// Audited, with the principal of ctx as the agent (the user, or an
// administrator).
func (s *Service) LogoutEverywhere(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx store.Tx) error {
		rec, _, err := s.userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := s.maySelfOrManage(ctx, tx, rec); err != nil {
			return err
		}
		if n, err = tx.DeleteOwned(ctx, kindSession, userID); err != nil {
			return err
		}
		if _, err := tx.DeleteOwned(ctx, kindChallenge, userID); err != nil {
			return err
		}
		e := entry(audit.InteractionLogout, actor(ctx))
		e.Entities = []audit.Entity{userEntity(userID)}
		e.OutcomeDesc = fmt.Sprintf("signed out everywhere (%d sessions)", n)
		return appendAudit(ctx, tx, e)
	})
	return n, err
}

// ListSessions lists a user's live sessions, newest first.
func (s *Service) ListSessions(ctx context.Context, userID string) ([]*Session, error) {
	items, err := s.st.ListItems(ctx, store.ItemQuery{Kind: kindSession, Owner: userID, Limit: 1000})
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []*Session
	for _, it := range items {
		var d sessionDoc
		if _, err := decodeItem(it, &d); err != nil {
			return nil, err
		}
		if now.After(d.Expires) || now.After(d.LastSeen.Add(s.opts.IdleTimeout)) {
			continue
		}
		sess := d.Session
		out = append(out, &sess)
	}
	slices.SortFunc(out, func(a, b *Session) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// RevokeSession ends one of a user's sessions by its ID (a "sign out that
// device" button). Audited as a logout.
func (s *Service) RevokeSession(ctx context.Context, userID, sessionID string) error {
	return s.inTx(ctx, func(tx store.Tx) error {
		items, err := tx.ListItems(ctx, store.ItemQuery{Kind: kindSession, Owner: userID, Limit: 1000})
		if err != nil {
			return err
		}
		for _, it := range items {
			var d sessionDoc
			if _, err := decodeItem(it, &d); err != nil {
				return err
			}
			if d.ID == sessionID {
				if err := tx.DeleteItem(ctx, kindSession, it.Key); err != nil {
					return err
				}
				return s.auditLogout(ctx, tx, &d, "session revoked")
			}
		}
		return errs.E("revoke session", errs.NotFound, "No such session.")
	})
}

// SwitchOrganization makes a session act for another organization of the
// user's memberships (errs.Permission for any other).
func (s *Service) SwitchOrganization(ctx context.Context, token, org string) error {
	org, err := orgRef(org)
	if err != nil {
		return err
	}
	return s.updateSession(ctx, token, func(d *sessionDoc, u *User) error {
		if !slices.ContainsFunc(u.Memberships, func(m Membership) bool { return m.Organization == org }) {
			return errs.E("switch organization", errs.Permission, "You are not a member of "+org+".")
		}
		d.Organization = org
		return nil
	})
}

// SwitchPatient makes a patient or proxy session act for another of the
// user's patients (errs.Permission for any other).
func (s *Service) SwitchPatient(ctx context.Context, token, patient string) error {
	id, err := patientID(patient)
	if err != nil {
		return err
	}
	return s.updateSession(ctx, token, func(d *sessionDoc, u *User) error {
		if !slices.Contains(u.Patients, id) {
			return errs.E("switch patient", errs.Permission, "You may not act for this patient.")
		}
		d.Patient = id
		return nil
	})
}

func (s *Service) updateSession(ctx context.Context, token string, fn func(*sessionDoc, *User) error) error {
	if _, _, err := s.Session(ctx, token); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx store.Tx) error {
		var d sessionDoc
		it, err := getJSON(ctx, tx, kindSession, tokenKey(token), &d)
		if errs.KindOf(err) == errs.NotFound {
			return signedOut()
		}
		if err != nil {
			return err
		}
		rec, _, err := s.userByKey(ctx, tx, d.UserKey)
		if err != nil {
			return err
		}
		if err := fn(&d, &rec.User); err != nil {
			return err
		}
		return putJSON(ctx, tx, it, d)
	})
}

// CheckCSRF reports whether token is the session's CSRF secret, compared
// in constant time.
func CheckCSRF(sess *Session, token string) bool {
	return sess != nil && sess.CSRF != "" && subtle.ConstantTimeCompare([]byte(sess.CSRF), []byte(token)) == 1
}

// rolesIn are a user's roles in an organization.
func rolesIn(u *User, org string) []string {
	for _, m := range u.Memberships {
		if m.Organization == org {
			return slices.Clone(m.Roles)
		}
	}
	return nil
}

// Principal is the actor of a request made with a session: the user, the
// organization acted for now and the roles held there, the patient acted
// for (patient and proxy users) and all those they may act for, the
// break-the-glass grants still in force (from Grants), and the request's
// source address.
func (s *Service) Principal(sess *Session, u *User, grants []access.BreakGlass, source string) *access.Principal {
	p := &access.Principal{Kind: access.User, UserID: u.ID, Username: u.Username, FHIRUser: u.FHIRUser,
		Organization: sess.Organization, Roles: rolesIn(u, sess.Organization), Patient: sess.Patient,
		Patients: slices.Clone(u.Patients), Source: source, SystemAdmin: u.SystemAdmin}
	now := s.now()
	for _, g := range grants {
		if g.Until.After(now) {
			p.BreakGlass = append(p.BreakGlass, g)
		}
	}
	return p
}
