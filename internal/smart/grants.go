package smart

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/openchart/openchart/internal/audit"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// GrantInfo is one app a user has authorized, for the user's own list of
// connected apps.
type GrantInfo struct {
	ID         string
	ClientID   string
	ClientName string
	// Scopes are the granted scopes; Described says each in plain words
	// (as the consent screen did), in the same order.
	Scopes    []string
	Described []string
	Patient   string
	// Authorized is when the user approved the app; LastUsed is when a
	// token was last issued under the grant (zero when none is left).
	Authorized time.Time
	LastUsed   time.Time
	// Offline reports whether the app keeps access while the user is
	// away (offline_access).
	Offline bool
}

// ListGrants lists the grants a user has made to apps, newest first.
func (s *Server) ListGrants(ctx context.Context, userID string) ([]GrantInfo, error) {
	if userID == "" {
		return nil, nil
	}
	var out []GrantInfo
	names := map[string]string{}
	after := ""
	for {
		items, err := s.cfg.Store.ListItems(ctx, store.ItemQuery{Kind: kindGrant, Owner: userID, After: after, Limit: 100})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			var g grantDoc
			if err := json.Unmarshal(it.Value, &g); err != nil {
				return nil, errs.E("smart", errs.Internal, "decoding grant item", err)
			}
			if g.UserID != userID {
				continue
			}
			name, ok := names[g.ClientID]
			if !ok {
				name = g.ClientID
				if c, err := s.GetClient(ctx, g.ClientID); err == nil && c.Name != "" {
					name = c.Name
				}
				names[g.ClientID] = name
			}
			gi := GrantInfo{ID: g.ID, ClientID: g.ClientID, ClientName: name, Scopes: g.Scopes,
				Patient: g.Patient, Authorized: g.Created, Offline: g.offline()}
			for _, sc := range g.Scopes {
				gi.Described = append(gi.Described, describe(sc))
			}
			if gi.LastUsed, err = s.lastIssued(ctx, g.ID); err != nil {
				return nil, err
			}
			out = append(out, gi)
		}
		if len(items) < 100 {
			break
		}
		after = items[len(items)-1].Key
	}
	slices.SortStableFunc(out, func(a, b GrantInfo) int { return b.Authorized.Compare(a.Authorized) })
	return out, nil
}

// lastIssued is when the newest unexpired access token of a grant was
// issued.
func (s *Server) lastIssued(ctx context.Context, grantID string) (time.Time, error) {
	var last time.Time
	after := ""
	for {
		items, err := s.cfg.Store.ListItems(ctx, store.ItemQuery{Kind: kindToken, Owner: grantID, After: after, Limit: 100})
		if err != nil {
			return time.Time{}, err
		}
		for _, it := range items {
			var t tokenDoc
			if json.Unmarshal(it.Value, &t) == nil && t.Issued.After(last) {
				last = t.Issued
			}
		}
		if len(items) < 100 {
			return last, nil
		}
		after = items[len(items)-1].Key
	}
}

// RevokeGrant revokes one of a user's grants and every token issued under
// it (the user disconnecting an app). A grant that does not exist or is
// not the user's is errs.NotFound. Recorded as a logout by the principal
// of ctx.
func (s *Server) RevokeGrant(ctx context.Context, userID, grantID string) error {
	notFound := errs.E("revoke grant", errs.NotFound, "no such connected app")
	if userID == "" || grantID == "" {
		return notFound
	}
	var g grantDoc
	err := s.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		it, err := getDoc(ctx, tx, kindGrant, grantID, &g)
		if errs.Is(err, errs.NotFound) {
			return notFound
		}
		if err != nil {
			return err
		}
		if it.Owner != userID || g.UserID != userID {
			return notFound
		}
		if err := deleteGrant(ctx, tx, grantID); err != nil {
			return err
		}
		e := s.securityEntry(ctx, audit.InteractionLogout,
			fmt.Sprintf("OAuth grant %s of user %s to client %s revoked", grantID, userID, g.ClientID), g.Patient)
		return tx.AppendAudit(ctx, e)
	})
	if err != nil {
		return err
	}
	s.dropCached(func(t *tokenDoc) bool { return t.GrantID == grantID })
	return nil
}
