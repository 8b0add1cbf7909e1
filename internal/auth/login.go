package auth

import (
	"context"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// badCredentials is the one answer to every failed sign-in: a wrong
// password, an unknown username, a locked or disabled account all look
// the same to the caller (the audit trail says which it was).
func badCredentials() error {
	return errs.E("sign in", errs.Unauthenticated, "Wrong username or password.")
}

// throttle is a throttle item's document: failed sign-ins of one account
// ("user:<id>") or from one address ("ip:<address>").
type throttle struct {
	Failures    int       `json:"failures"`
	First       time.Time `json:"first"` // start of the address's window
	Last        time.Time `json:"last"`  // the latest failure
	LockedUntil time.Time `json:"lockedUntil,omitzero"`
}

func (s *Service) readThrottle(ctx context.Context, r store.ItemReader, key string) (*throttle, *store.Item, error) {
	th := &throttle{}
	it, err := getJSON(ctx, r, kindThrottle, key, th)
	switch {
	case errs.KindOf(err) == errs.NotFound:
		return th, &store.Item{Kind: kindThrottle, Key: key}, nil
	case err != nil:
		return nil, nil, err
	}
	return th, it, nil
}

// sourceBlocked reports whether the address made too many failed
// attempts in the current window.
func (s *Service) sourceBlocked(th *throttle, now time.Time) bool {
	return windowLeft(th, s.opts.SourceFailures, s.opts.SourceWindow, now) > 0
}

// countSourceFailure records a failed attempt from an address.
func (s *Service) countSourceFailure(ctx context.Context, tx store.Tx, source string) error {
	if source == "" {
		return nil
	}
	return s.countWindowFailure(ctx, tx, "ip:"+source, s.opts.SourceWindow)
}

// countUserFailure records a failed attempt on an account and locks it at
// the limit. It reports whether this failure locked it.
func (s *Service) countUserFailure(ctx context.Context, tx store.Tx, userID string) (bool, error) {
	th, it, err := s.readThrottle(ctx, tx, "user:"+userID)
	if err != nil {
		return false, err
	}
	now := s.now()
	if now.After(th.Last.Add(s.opts.LockoutDuration)) {
		th.Failures = 0 // failures long ago are forgotten
	}
	th.Failures++
	th.Last = now
	locked := false
	if th.Failures >= s.opts.MaxFailures {
		th.Failures, th.LockedUntil, locked = 0, now.Add(s.opts.LockoutDuration), true
	}
	it.Expires = now.Add(s.opts.LockoutDuration)
	if th.LockedUntil.After(it.Expires) {
		it.Expires = th.LockedUntil
	}
	return locked, putJSON(ctx, tx, it, th)
}

// locked reports whether an account is locked now.
func (s *Service) locked(ctx context.Context, r store.ItemReader, userID string) (bool, error) {
	th, _, err := s.readThrottle(ctx, r, "user:"+userID)
	if err != nil {
		return false, err
	}
	return th.LockedUntil.After(s.now()), nil
}

// failLogin records a failed sign-in: the counters and an audit entry
// with the reason. The caller answers badCredentials whatever the reason.
func (s *Service) failLogin(ctx context.Context, rec *userRecord, username, reason string, m Meta, count bool) error {
	err := s.inTx(ctx, func(tx store.Tx) error {
		if err := s.countSourceFailure(ctx, tx, m.Source); err != nil {
			return err
		}
		why := reason
		agent := audit.Agent{Kind: access.Anonymous.String(), Username: clip(username, 64), Source: m.Source}
		if rec != nil {
			agent = userAgent(&rec.User, m.Source)
			if count {
				locked, err := s.countUserFailure(ctx, tx, rec.ID)
				if err != nil {
					return err
				}
				if locked {
					why += "; account locked for " + s.opts.LockoutDuration.String()
				}
			}
		}
		e := entry(audit.InteractionLoginFailed, agent)
		e.Outcome, e.OutcomeDesc = audit.MinorFailure, why
		if rec != nil {
			e.Entities = []audit.Entity{userEntity(rec.ID)}
		}
		return appendAudit(ctx, tx, e)
	})
	if err != nil {
		return err
	}
	return badCredentials()
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Login checks a username and password. It answers a session (Token set)
// or, for an account with a second factor, a challenge for SecondFactor.
// Every failure answers the same errs.Unauthenticated error, takes about
// as long (an unknown username is checked against a dummy hash), counts
// towards the account's lockout and the address's limit, and is audited
// as login-failed with its real reason.
func (s *Service) Login(ctx context.Context, username, password string, m Meta) (*LoginStep, error) {
	if m.Source != "" {
		src, _, err := s.readThrottle(ctx, s.st, "ip:"+m.Source)
		if err != nil {
			return nil, err
		}
		if s.sourceBlocked(src, s.now()) {
			verifyPassword(s.dummyHash(), password, s.opts.Argon2)
			return nil, s.failLogin(ctx, nil, username, "too many failed sign-ins from this address", m, false)
		}
	}
	rec, _, err := s.userByKey(ctx, s.st, userKey(username))
	if errs.KindOf(err) == errs.NotFound {
		verifyPassword(s.dummyHash(), password, s.opts.Argon2)
		return nil, s.failLogin(ctx, nil, username, "unknown username", m, false)
	}
	if err != nil {
		return nil, err
	}
	hash := rec.Password
	if hash == "" {
		hash = s.dummyHash()
	}
	ok, stale := verifyPassword(hash, password, s.opts.Argon2)
	locked, err := s.locked(ctx, s.st, rec.ID)
	switch {
	case err != nil:
		return nil, err
	case locked:
		return nil, s.failLogin(ctx, rec, username, "account locked", m, false)
	case rec.Disabled:
		return nil, s.failLogin(ctx, rec, username, "account disabled", m, false)
	case rec.Password == "":
		return nil, s.failLogin(ctx, rec, username, "no password set", m, true)
	case !ok:
		return nil, s.failLogin(ctx, rec, username, "wrong password", m, true)
	}
	if rec.TOTPEnabled {
		return s.challenge(ctx, rec, m)
	}
	var step *LoginStep
	err = s.inTx(ctx, func(tx store.Tx) error {
		cur, it, err := s.userByKey(ctx, tx, userKey(rec.Username))
		if err != nil {
			return err
		}
		if stale {
			cur.Password = hashPassword(password, s.opts.Argon2)
			if err := putJSON(ctx, tx, it, cur); err != nil {
				return err
			}
		}
		step, err = s.signIn(ctx, tx, cur, m, "password")
		return err
	})
	if err != nil {
		return nil, err
	}
	return step, nil
}

// challenge starts the second step of a sign-in.
func (s *Service) challenge(ctx context.Context, rec *userRecord, m Meta) (*LoginStep, error) {
	token := randomToken()
	now := s.now()
	c := challengeDoc{UserKey: userKey(rec.Username), Created: now, Source: m.Source}
	err := s.inTx(ctx, func(tx store.Tx) error {
		it := &store.Item{Kind: kindChallenge, Key: tokenKey(token), Owner: rec.ID, Expires: now.Add(s.opts.ChallengeTTL)}
		return putJSON(ctx, tx, it, c)
	})
	if err != nil {
		return nil, err
	}
	u := rec.User
	return &LoginStep{Challenge: token, User: &u}, nil
}

type challengeDoc struct {
	UserKey  string    `json:"user"`
	Created  time.Time `json:"created"`
	Source   string    `json:"source,omitempty"`
	Attempts int       `json:"attempts,omitempty"`
}

// maxChallengeAttempts wrong codes end a challenge: the user signs in
// again (and the account's lockout counts each of them too).
const maxChallengeAttempts = 5

// SecondFactor answers a challenge with a TOTP code or an unused recovery
// code. A TOTP code is accepted once (a replay within its validity is
// refused); a recovery code is spent. Failures count towards the lockout
// and are audited like those of Login.
func (s *Service) SecondFactor(ctx context.Context, challenge, code string, m Meta) (*LoginStep, error) {
	expired := errs.E("sign in", errs.Unauthenticated, "The sign-in has expired: enter your username and password again.")
	var (
		step   *LoginStep
		rec    *userRecord
		reason string
	)
	err := s.inTx(ctx, func(tx store.Tx) error {
		step, rec, reason = nil, nil, ""
		var c challengeDoc
		cit, err := getJSON(ctx, tx, kindChallenge, tokenKey(challenge), &c)
		if errs.KindOf(err) == errs.NotFound {
			return expired
		}
		if err != nil {
			return err
		}
		var it *store.Item
		rec, it, err = s.userByKey(ctx, tx, c.UserKey)
		if err != nil {
			return err
		}
		if s.now().After(c.Created.Add(s.opts.ChallengeTTL)) {
			reason = "second factor too late"
			return tx.DeleteItem(ctx, kindChallenge, cit.Key)
		}
		if locked, err := s.locked(ctx, tx, rec.ID); err != nil {
			return err
		} else if locked {
			reason = "account locked"
			return tx.DeleteItem(ctx, kindChallenge, cit.Key)
		}
		if rec.Disabled || !rec.TOTPEnabled {
			reason = "account disabled"
			return tx.DeleteItem(ctx, kindChallenge, cit.Key)
		}
		how, ok := s.checkSecondFactor(rec, code)
		if !ok {
			reason = "wrong second factor"
			c.Attempts++
			if c.Attempts >= maxChallengeAttempts {
				return tx.DeleteItem(ctx, kindChallenge, cit.Key)
			}
			return putJSON(ctx, tx, cit, c)
		}
		if err := putJSON(ctx, tx, it, rec); err != nil {
			return err
		}
		if err := tx.DeleteItem(ctx, kindChallenge, cit.Key); err != nil {
			return err
		}
		step, err = s.signIn(ctx, tx, rec, m, how)
		return err
	})
	switch {
	case err != nil:
		return nil, err
	case reason != "":
		return nil, s.failLogin(ctx, rec, "", reason, m, reason == "wrong second factor")
	}
	return step, nil
}

// checkSecondFactor verifies a TOTP or recovery code and marks it used in
// rec (the caller stores rec). It reports which kind was used.
func (s *Service) checkSecondFactor(rec *userRecord, code string) (string, bool) {
	code = normalizeCode(code)
	if len(code) == totpDigits && isDigits(code) {
		step, ok := verifyTOTP(rec.TOTPSecret, code, s.now(), rec.TOTPStep)
		if ok {
			rec.TOTPStep = step
			return "totp", true
		}
		return "", false
	}
	if i := matchRecovery(rec.Recovery, code); i >= 0 {
		rec.Recovery = append(rec.Recovery[:i:i], rec.Recovery[i+1:]...)
		return "recovery code", true
	}
	return "", false
}

// signIn creates a session for rec and audits the sign-in, in tx.
func (s *Service) signIn(ctx context.Context, tx store.Tx, rec *userRecord, m Meta, how string) (*LoginStep, error) {
	if err := tx.DeleteItem(ctx, kindThrottle, "user:"+rec.ID); err != nil {
		return nil, err
	}
	token, sess, err := s.newSession(ctx, tx, rec, m)
	if err != nil {
		return nil, err
	}
	agent := userAgent(&rec.User, m.Source)
	agent.Organization = sess.Organization
	agent.Roles = rolesIn(&rec.User, sess.Organization)
	agent.Patient = sess.Patient
	e := entry(audit.InteractionLogin, agent)
	e.Entities = []audit.Entity{userEntity(rec.ID)}
	e.OutcomeDesc = "signed in with " + how
	if err := appendAudit(ctx, tx, e); err != nil {
		return nil, err
	}
	u := rec.User
	return &LoginStep{Token: token, Session: sess, User: &u}, nil
}

// CheckPassword verifies a signed-in user's current password before a
// sensitive change (a new password, say) without signing in again. It is
// throttled like Login: a wrong password counts towards the lockout and
// is audited as a failed sign-in; a locked account fails. The answer to a
// wrong password is errs.Unauthenticated with a message for the form.
func (s *Service) CheckPassword(ctx context.Context, userID, password string) error {
	wrong := errs.E("check password", errs.Unauthenticated, "The current password is not right.")
	rec, _, err := s.userByID(ctx, s.st, userID)
	if err != nil {
		return err
	}
	hash := rec.Password
	if hash == "" {
		hash = s.dummyHash()
	}
	ok, _ := verifyPassword(hash, password, s.opts.Argon2)
	m := Meta{}
	if p := access.From(ctx); p != nil {
		m.Source = p.Source
	}
	locked, err := s.locked(ctx, s.st, rec.ID)
	switch {
	case err != nil:
		return err
	case locked:
		s.failLogin(ctx, rec, "", "account locked (password check)", m, false)
		return wrong
	case rec.Disabled:
		s.failLogin(ctx, rec, "", "account disabled (password check)", m, false)
		return wrong
	case rec.Password == "" || !ok:
		if err := s.failLogin(ctx, rec, "", "wrong password (password check)", m, true); errs.KindOf(err) != errs.Unauthenticated {
			return err
		}
		return wrong
	}
	return nil
}
