package web

import (
	"context"
	"net/http"
	"time"

	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/smart"
)

// Grants are the SMART apps users have authorized (the authorization
// server, *smart.Server): the portal lists the signed-in user's and lets
// them disconnect one.
type Grants interface {
	ListGrants(ctx context.Context, userID string) ([]smart.GrantInfo, error)
	RevokeGrant(ctx context.Context, userID, grantID string) error
}

// pApp is one connected app on the My data page.
type pApp struct {
	ID, Name, Authorized, LastUsed string
	Scopes                         []string
	Offline                        bool
}

// portalApps lists the signed-in user's connected apps (none when the
// server has no authorization server).
func (s *server) portalApps(ctx context.Context, pc *portalCtx) ([]pApp, error) {
	if s.cfg.Grants == nil {
		return nil, nil
	}
	gs, err := s.cfg.Grants.ListGrants(ctx, pc.User.ID)
	if err != nil {
		return nil, err
	}
	var out []pApp
	for _, g := range gs {
		a := pApp{ID: g.ID, Name: g.ClientName, Authorized: appTime(g.Authorized), LastUsed: appTime(g.LastUsed),
			Offline: g.Offline}
		seen := map[string]bool{}
		for _, d := range g.Described {
			if !seen[d] {
				seen[d] = true
				a.Scopes = append(a.Scopes, d)
			}
		}
		out = append(out, a)
	}
	return out, nil
}

func appTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2 Jan 2006, 15:04")
}

// portalDisconnect revokes one of the user's app grants and every token
// the app holds under it. Another user's grant is a 404.
func (s *server) portalDisconnect(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Grants == nil {
		return notFound
	}
	pc := portalOf(r)
	id := r.PathValue("id")
	name := ""
	gs, err := s.cfg.Grants.ListGrants(r.Context(), pc.User.ID)
	if err != nil {
		return err
	}
	for _, g := range gs {
		if g.ID == id {
			name = g.ClientName
		}
	}
	if name == "" {
		return notFound
	}
	if err := s.cfg.Grants.RevokeGrant(r.Context(), pc.User.ID, id); err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return notFound
		}
		return err
	}
	s.flash(w, name+" is disconnected: it can no longer read your record.")
	http.Redirect(w, r, "/portal/data#h-apps", http.StatusSeeOther)
	return nil
}
