package web

import (
	"context"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/auth"
)

// Identity is the part of the identity service (*auth.Service) the pages
// use.
type Identity interface {
	Login(ctx context.Context, username, password string, m auth.Meta) (*auth.LoginStep, error)
	SecondFactor(ctx context.Context, challenge, code string, m auth.Meta) (*auth.LoginStep, error)
	Session(ctx context.Context, token string) (*auth.Session, *auth.User, error)
	SwitchOrganization(ctx context.Context, token, org string) error
	Logout(ctx context.Context, token string) error
	LogoutEverywhere(ctx context.Context, userID string) (int, error)
	ListSessions(ctx context.Context, userID string) ([]*auth.Session, error)
	RevokeSession(ctx context.Context, userID, sessionID string) error

	BeginTOTP(ctx context.Context, userID string) (secret, otpauthURL string, err error)
	ConfirmTOTP(ctx context.Context, userID, code string) ([]string, error)
	DisableTOTP(ctx context.Context, userID string) error
	SetPassword(ctx context.Context, userID, password string) error
	ResetLink(ctx context.Context, userID string, ttl time.Duration) (string, error)
	UseResetLink(ctx context.Context, code, newPassword string) error
	UseSetupCode(ctx context.Context, code string, admin auth.User, password string) (*auth.User, error)

	CreateUser(ctx context.Context, u auth.User, password string) (*auth.User, error)
	UpdateUser(ctx context.Context, u auth.User) (*auth.User, error)
	GetUser(ctx context.Context, id string) (*auth.User, error)
	ListUsers(ctx context.Context, q auth.UserQuery) ([]*auth.User, error)

	BreakGlass(ctx context.Context, userID, patient, reason string) (*access.BreakGlass, error)
	Grants(ctx context.Context, userID string) ([]access.BreakGlass, error)
	Principal(s *auth.Session, u *auth.User, grants []access.BreakGlass, source string) *access.Principal
}
