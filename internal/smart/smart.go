package smart

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/openchart/openchart/internal/access"
	"github.com/openchart/openchart/internal/auth"
	"github.com/openchart/openchart/internal/errs"
	"github.com/openchart/openchart/internal/store"
)

// Identity is what the authorization server needs of the identity service
// (*auth.Service): who is signed in, and the principal of a user.
type Identity interface {
	Session(ctx context.Context, token string) (*auth.Session, *auth.User, error)
	GetUser(ctx context.Context, id string) (*auth.User, error)
	UserByName(ctx context.Context, username string) (*auth.User, error)
	ListSessions(ctx context.Context, userID string) ([]*auth.Session, error)
	Principal(s *auth.Session, u *auth.User, grants []access.BreakGlass, source string) *access.Principal
}

// PatientSummary is one line of the patient picker.
type PatientSummary struct {
	ID        string
	Name      string
	BirthDate string
	Gender    string
}

// Patients finds patients for the picker, with the access of the principal
// in ctx (RepoPatients reads them through the Repository).
type Patients interface {
	// Find searches patients by name (any part of it).
	Find(ctx context.Context, name string) ([]PatientSummary, error)
	// Get returns one patient, or an errs.NotFound error.
	Get(ctx context.Context, id string) (*PatientSummary, error)
}

// Config configures a Server.
type Config struct {
	Store store.Store
	// Auth is the identity service (*auth.Service).
	Auth Identity
	// Patients serves the patient picker.
	Patients Patients
	// BaseURL is the public base URL of the server ("https://ehr.example.org"):
	// the issuer, and BaseURL+"/fhir" is the FHIR base (the audience tokens
	// are issued for).
	BaseURL string
	// AccessTTL is the lifetime of access tokens (default 1 hour).
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of an offline_access refresh token
	// (default 90 days); each refresh starts it again.
	RefreshTTL time.Duration
	// CacheTTL bounds how long Authenticate trusts a token it looked up
	// without looking again (default 5 seconds; negative disables the
	// cache). A revocation on another node takes effect here within it.
	CacheTTL time.Duration
	// StyleURL, when set, is sent as smart_style_url.
	StyleURL string
	// Proxies is the number of reverse proxies in front of the server
	// (clientip.Of): the client's address keys the token endpoint's limit
	// and is the audit trail's source.
	Proxies int
	Logger  *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Lifetimes that are not configurable: the spec's or RFC 6749's advice.
const (
	codeTTL          = 60 * time.Second // RFC 6749 §4.1.2: "a maximum authorization code lifetime of 10 minutes is RECOMMENDED"; SMART apps exchange at once
	requestTTL       = 10 * time.Minute // an authorization request waiting for the user
	launchTTL        = 5 * time.Minute  // an EHR launch waiting for the app
	maxAssertionLife = 5 * time.Minute  // SMART Backend Services: exp no more than five minutes in the future
)

// Item kinds of the server state this package keeps.
const (
	kindClient  = "oauth-client"
	kindKey     = "oauth-key"
	kindRequest = "oauth-request"
	kindCode    = "oauth-code"
	kindGrant   = "oauth-grant"
	kindToken   = "oauth-token"
	kindRefresh = "oauth-refresh"
	kindLaunch  = "oauth-launch"
	kindJTI     = "oauth-jti"
)

// Server is the authorization server.
type Server struct {
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	keys  *signingKey
	pages *template.Template

	mu    sync.Mutex
	cache map[string]cached // by token hash
}

type cached struct {
	tok     *tokenDoc
	fetched time.Time
}

//go:embed templates/*.html
var templateFS embed.FS

// New checks the configuration, loads (or creates, at first start) the
// signing key and returns the server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("smart: no store")
	}
	if cfg.Auth == nil {
		return nil, errors.New("smart: no identity service")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("smart: the base URL must be an absolute http(s) URL, got %q", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = time.Hour
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = 90 * 24 * time.Hour
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	pages, err := template.New("").Funcs(template.FuncMap{"describe": describe}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("smart: templates: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now, pages: pages, cache: map[string]cached{}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if s.keys, err = s.loadKey(ctx); err != nil {
		return nil, fmt.Errorf("smart: signing key: %w", err)
	}
	return s, nil
}

// FHIRBase is the FHIR base URL: the audience of the tokens.
func (s *Server) FHIRBase() string { return s.cfg.BaseURL + "/fhir" }

func (s *Server) tokenURL() string { return s.cfg.BaseURL + "/oauth/token" }

// Handler serves the endpoints (docs/SMART.md): mount it for the paths
// /.well-known/smart-configuration, /fhir/.well-known/smart-configuration,
// /.well-known/openid-configuration and /oauth/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/smart-configuration", s.smartConfiguration)
	mux.HandleFunc("GET /fhir/.well-known/smart-configuration", s.smartConfiguration)
	mux.HandleFunc("GET /.well-known/openid-configuration", s.openIDConfiguration)
	mux.HandleFunc("GET /oauth/jwks", s.jwks)
	mux.HandleFunc("GET /oauth/authorize", s.authorize)
	mux.HandleFunc("POST /oauth/authorize", s.authorize)
	mux.HandleFunc("GET /oauth/patient", s.pickerPage)
	mux.HandleFunc("POST /oauth/patient", s.pickPatient)
	mux.HandleFunc("GET /oauth/consent", s.consentPage)
	mux.HandleFunc("POST /oauth/consent", s.consent)
	mux.HandleFunc("POST /oauth/token", s.limitedToken)
	mux.HandleFunc("POST /oauth/introspect", s.introspect)
	mux.HandleFunc("POST /oauth/revoke", s.revoke)
	mux.HandleFunc("GET /oauth/userinfo", s.userinfo)
	withCORS := CORS(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if corsPath(r.URL.Path) {
			withCORS.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// randomToken returns 32 random bytes, base64url without padding.
func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// randomID returns a shorter random identifier (16 bytes, hex).
func randomID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// hashToken is the key a token is stored under: its SHA-256, hex. Tokens
// carry 256 random bits, so a fast hash is enough (no password stretching).
func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// getDoc reads an item and decodes its JSON into v.
func getDoc(ctx context.Context, r store.ItemReader, kind, key string, v any) (*store.Item, error) {
	it, err := r.GetItem(ctx, kind, key)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(it.Value, v); err != nil {
		return nil, errs.E("smart", errs.Internal, fmt.Sprintf("decoding %s item", kind), err)
	}
	return it, nil
}

// putDoc stores v as an item; version 0 creates it.
func putDoc(ctx context.Context, tx store.Tx, kind, key, owner string, version int64, expires time.Time, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.PutItem(ctx, &store.Item{Kind: kind, Key: key, Owner: owner, Value: b, Expires: expires, Version: version})
}

// oauthError is an error response of RFC 6749 §5.2 (token endpoint) or
// §4.1.2.1 (authorization endpoint).
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	status      int
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func oerr(code, desc string) *oauthError {
	st := http.StatusBadRequest
	if code == "invalid_client" {
		st = http.StatusUnauthorized
	}
	return &oauthError{Code: code, Description: desc, status: st}
}

// writeJSON writes a JSON response that must not be cached (RFC 6749 §5.1).
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError writes an OAuth error; errors that are not oauthErrors are
// server failures, logged and answered with server_error.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauthError
	if !errors.As(err, &oe) {
		s.log.Error("oauth request failed", "path", r.URL.Path, "err", err)
		oe = &oauthError{Code: "server_error", status: http.StatusInternalServerError}
	}
	if oe.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="OpenChart"`)
	}
	writeJSON(w, oe.status, oe)
}
