package auth

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// Purposes of the one-time codes this package issues itself.
const (
	PurposeSetup  = "setup"  // first start: create the first administrator
	PurposeReset  = "reset"  // set a new password
	PurposeInvite = "invite" // a new account's first password (patient invitations)
)

// DefaultResetTTL is how long a password-reset code is valid when no
// duration is given.
const DefaultResetTTL = 24 * time.Hour

type oneTimeDoc struct {
	Purpose string    `json:"purpose"`
	Subject string    `json:"subject"`
	Until   time.Time `json:"until"`
	Used    bool      `json:"used,omitempty"`
}

func badCode() error {
	return errs.E("one-time code", errs.Invalid, "This code is not valid: it may have expired or been used already.")
}

// OneTime issues a code for purpose and subject (a user id, say), valid
// for ttl and good for one use: ConsumeOneTime returns the subject. A new
// code for the same purpose and subject replaces the previous one. The
// store keeps only the code's hash.
func (s *Service) OneTime(ctx context.Context, purpose, subject string, ttl time.Duration) (string, error) {
	var code string
	err := s.inTx(ctx, func(tx store.Tx) error {
		var err error
		code, err = s.oneTime(ctx, tx, purpose, subject, ttl)
		return err
	})
	return code, err
}

func (s *Service) oneTime(ctx context.Context, tx store.Tx, purpose, subject string, ttl time.Duration) (string, error) {
	if purpose == "" || ttl <= 0 {
		return "", errs.E("one-time code", errs.Invalid, "A one-time code needs a purpose and a validity.")
	}
	owner := purpose + ":" + subject
	if _, err := tx.DeleteOwned(ctx, kindOneTime, owner); err != nil {
		return "", err
	}
	code := randomToken()
	until := s.now().Add(ttl)
	it := &store.Item{Kind: kindOneTime, Key: tokenKey(code), Owner: owner, Expires: until}
	if err := putJSON(ctx, tx, it, oneTimeDoc{Purpose: purpose, Subject: subject, Until: until}); err != nil {
		return "", err
	}
	return code, nil
}

// ConsumeOneTime spends a code issued for purpose and returns its subject.
// An unknown, expired or spent code, or one issued for another purpose,
// is an errs.Invalid error.
func (s *Service) ConsumeOneTime(ctx context.Context, purpose, code string) (string, error) {
	var subject string
	err := s.inTx(ctx, func(tx store.Tx) error {
		var err error
		subject, err = s.consume(ctx, tx, purpose, code)
		return err
	})
	return subject, err
}

// consume spends a code inside tx. Marking it used with a version check
// before deleting it makes two transactions spending the same code
// conflict: only one succeeds (the other runs again and finds no code).
func (s *Service) consume(ctx context.Context, tx store.Tx, purpose, code string) (string, error) {
	var d oneTimeDoc
	it, err := getJSON(ctx, tx, kindOneTime, tokenKey(code), &d)
	if errs.KindOf(err) == errs.NotFound {
		return "", badCode()
	}
	if err != nil {
		return "", err
	}
	if d.Purpose != purpose || d.Used || !s.now().Before(d.Until) {
		return "", badCode()
	}
	d.Used = true
	if err := putJSON(ctx, tx, it, d); err != nil {
		return "", err
	}
	if err := tx.DeleteItem(ctx, kindOneTime, it.Key); err != nil {
		return "", err
	}
	return d.Subject, nil
}

// ResetLink issues a one-time code with which the user sets a new
// password (UseResetLink); ttl 0 is DefaultResetTTL. It replaces any
// earlier code of the user. Only those who may manage the account may
// issue it; audited as a permission change.
func (s *Service) ResetLink(ctx context.Context, userID string, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		ttl = DefaultResetTTL
	}
	var code string
	err := s.inTx(ctx, func(tx store.Tx) error {
		rec, _, err := s.userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := s.mayManage(ctx, tx, &rec.User, &rec.User); err != nil {
			return err
		}
		if code, err = s.oneTime(ctx, tx, PurposeReset, rec.ID, ttl); err != nil {
			return err
		}
		e := entry(audit.InteractionPermissionChange, actor(ctx))
		e.Entities = []audit.Entity{userEntity(rec.ID)}
		e.OutcomeDesc = "password reset code issued for " + rec.Username + ", valid " + ttl.String()
		return appendAudit(ctx, tx, e)
	})
	return code, err
}

// UseResetLink sets a new password with a reset code. A weak password is
// refused and the code stays valid; otherwise the code is spent, the
// lockout lifted and every session of the user ended. Audited as a
// permission change by the user.
func (s *Service) UseResetLink(ctx context.Context, code, newPassword string) error {
	return s.inTx(ctx, func(tx store.Tx) error {
		userID, err := s.consume(ctx, tx, PurposeReset, code)
		if err != nil {
			return err
		}
		rec, it, err := s.userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := CheckPassword(rec.Username, newPassword); err != nil {
			return err
		}
		if _, err := tx.DeleteOwned(ctx, kindSession, rec.ID); err != nil {
			return err
		}
		return s.setPassword(ctx, tx, rec, it, newPassword, userAgent(&rec.User, ""), "password reset with a one-time code")
	})
}

// SetupCode returns a one-time code for the first start: while there is
// no account at all, the code lets UseSetupCode create the first
// administrator. Each call replaces the pending code with a fresh one
// (valid Options.SetupTTL); created is false, with no code, once an
// account exists.
func (s *Service) SetupCode(ctx context.Context) (code string, created bool, err error) {
	err = s.inTx(ctx, func(tx store.Tx) error {
		code, created = "", false
		users, err := tx.ListItems(ctx, store.ItemQuery{Kind: kindUser, Limit: 1})
		if err != nil || len(users) > 0 {
			return err
		}
		if code, err = s.oneTime(ctx, tx, PurposeSetup, "", s.opts.SetupTTL); err != nil {
			return err
		}
		created = true
		e := entry(audit.InteractionPermissionChange, actor(ctx))
		e.OutcomeDesc = "first-start setup code issued, valid " + s.opts.SetupTTL.String()
		return appendAudit(ctx, tx, e)
	})
	return code, created, err
}

// UseSetupCode spends the first-start code and creates the first account,
// a system administrator, with its password. It fails (errs.Invalid) when
// the code is wrong or spent, or accounts exist already.
func (s *Service) UseSetupCode(ctx context.Context, code string, admin User, password string) (*User, error) {
	if err := normalize(&admin); err != nil {
		return nil, err
	}
	if err := CheckPassword(admin.Username, password); err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, errs.E("setup", errs.Internal, err)
	}
	admin.ID, admin.SystemAdmin, admin.Disabled, admin.TOTPEnabled = id.String(), true, false, false
	rec := &userRecord{User: admin, Password: hashPassword(password, s.opts.Argon2)}
	err = s.inTx(ctx, func(tx store.Tx) error {
		if _, err := s.consume(ctx, tx, PurposeSetup, code); err != nil {
			return err
		}
		users, err := tx.ListItems(ctx, store.ItemQuery{Kind: kindUser, Limit: 1})
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return errs.E("setup", errs.Invalid, "OpenChart is set up already: sign in instead.")
		}
		rec.Created, rec.Updated = s.now(), s.now()
		if err := s.insertUser(ctx, tx, rec); err != nil {
			return err
		}
		e := entry(audit.InteractionPermissionChange, userAgent(&rec.User, ""))
		e.Entities = []audit.Entity{userEntity(rec.ID)}
		e.OutcomeDesc = "first administrator created with the setup code: " + rec.Username + describeAccess(&rec.User)
		return appendAudit(ctx, tx, e)
	})
	if err != nil {
		return nil, err
	}
	u := rec.User
	return &u, nil
}
