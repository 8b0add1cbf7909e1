package auth

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// MinBreakGlassReason is the shortest reason accepted for an emergency
// access (in characters).
const MinBreakGlassReason = 10

type grantDoc struct {
	Patient string    `json:"patient"`
	Reason  string    `json:"reason"`
	Created time.Time `json:"created"`
	Until   time.Time `json:"until"`
}

// BreakGlass declares an emergency access (45 CFR 170.315(d)(6)): the
// user may open the patient's record for Options.BreakGlassTTL. Only
// clinicians (physician or nurse in a membership) may; the reason must
// say why (at least MinBreakGlassReason characters). The grant and its
// audit entry, which names the patient and carries the reason, commit
// together. The principal of ctx, when set, is recorded as the agent.
func (s *Service) BreakGlass(ctx context.Context, userID, patient, reason string) (*access.BreakGlass, error) {
	const op = "break the glass"
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) < MinBreakGlassReason {
		return nil, errs.E(op, errs.Invalid, "Give the reason for the emergency access (at least 10 characters).")
	}
	if len(reason) > 1000 {
		return nil, errs.E(op, errs.Invalid, "The reason must have at most 1000 characters.")
	}
	pid, err := patientID(patient)
	if err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	var g *access.BreakGlass
	err = s.inTx(ctx, func(tx store.Tx) error {
		rec, _, err := s.userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		if p := access.From(ctx); p != nil && p.Kind == access.User && p.UserID != userID {
			return errs.E(op, errs.Permission, "Only the clinicians themselves may break the glass.")
		}
		if rec.Disabled || !isClinician(&rec.User) {
			return errs.E(op, errs.Permission, "Only physicians and nurses may break the glass.")
		}
		now := s.now()
		d := grantDoc{Patient: pid, Reason: reason, Created: now, Until: now.Add(s.opts.BreakGlassTTL)}
		it := &store.Item{Kind: kindGrant, Key: id.String(), Owner: rec.ID, Expires: d.Until}
		if err := putJSON(ctx, tx, it, d); err != nil {
			return err
		}
		agent := actor(ctx)
		if access.From(ctx) == nil {
			agent = userAgent(&rec.User, "")
		}
		agent.BreakGlassPatient, agent.BreakGlassReason = pid, reason
		e := entry(audit.InteractionBreakGlass, agent)
		e.Entities = []audit.Entity{{Type: "Patient", ID: pid}}
		e.Patients = []string{pid}
		e.OutcomeDesc = "emergency access until " + d.Until.Format(time.RFC3339)
		g = &access.BreakGlass{Patient: pid, Reason: reason, Until: d.Until}
		return appendAudit(ctx, tx, e)
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

func isClinician(u *User) bool {
	for _, m := range u.Memberships {
		if slices.Contains(m.Roles, RolePhysician) || slices.Contains(m.Roles, RoleNurse) {
			return true
		}
	}
	return false
}

// Grants lists a user's break-the-glass grants still in force, oldest
// first.
func (s *Service) Grants(ctx context.Context, userID string) ([]access.BreakGlass, error) {
	items, err := s.st.ListItems(ctx, store.ItemQuery{Kind: kindGrant, Owner: userID, Limit: 1000})
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []access.BreakGlass
	for _, it := range items {
		var d grantDoc
		if _, err := decodeItem(it, &d); err != nil {
			return nil, err
		}
		if d.Until.After(now) {
			out = append(out, access.BreakGlass{Patient: d.Patient, Reason: d.Reason, Until: d.Until})
		}
	}
	return out, nil
}
