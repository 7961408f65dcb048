package issuer

import (
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/issuer/clients"
)

// Server is the OAuth 2.0 authorization server. Create it with New.
type Server struct {
	cfg Config
	// keys supplies the signing keys: Config.Keys, or Config.Signer alone.
	keys KeySource
	// parser verifies the issuer's own access tokens for introspection and
	// revocation.
	parser *jwt.Parser
	grants map[clients.GrantType]grantHandler
	// metrics is nil when Config.Metrics is nil.
	metrics *metrics
	// issuerOrigin is the scheme and host of the issuer, and paths the
	// request paths of the endpoints, which start with the issuer's path.
	issuerOrigin string
	paths        endpointPaths
	// basicChallenge is the WWW-Authenticate value of invalid_client.
	basicChallenge string
	// oauthMetadata is the RFC 8414 response body, built once. The OpenID
	// one lists the signing algorithms, so it is built again for each key
	// set, and the JWKS body is part of the KeySet.
	oauthMetadata []byte
	oidcMetadata  atomic.Pointer[keyedDocument]
	// feed serves the revocation feed that ext_authz servers follow.
	feed *revocationFeed
	// lockout is nil when Config.Lockout is disabled.
	lockout *lockout
}

// endpointPaths are the request paths that the Server serves.
type endpointPaths struct {
	token         string
	introspection string
	revocation    string
	feed          string
	jwks          string
	oauthMetadata string
	oidcMetadata  string
}

// newEndpointPaths places the endpoints under the issuer's path. RFC 8414
// §3.1 puts the authorization server metadata between the host and that
// path, and OpenID Connect Discovery §4 appends its document to the issuer.
func newEndpointPaths(issuerPath string) endpointPaths {
	return endpointPaths{
		token:         issuerPath + "/oauth2/token",
		introspection: issuerPath + "/oauth2/introspect",
		revocation:    issuerPath + "/oauth2/revoke",
		feed:          issuerPath + "/oauth2/revocations",
		jwks:          issuerPath + "/oauth2/jwks",
		oauthMetadata: "/.well-known/oauth-authorization-server" + issuerPath,
		oidcMetadata:  issuerPath + "/.well-known/openid-configuration",
	}
}

// New checks cfg, fills its defaults and returns a Server. It registers the
// metrics with cfg.Metrics, so it fails if they are already registered there.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	keys, err := cfg.keySource()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	s := &Server{
		cfg:            cfg,
		keys:           keys,
		metrics:        m,
		issuerOrigin:   u.Scheme + "://" + u.Host,
		paths:          newEndpointPaths(u.Path),
		basicChallenge: fmt.Sprintf("Basic realm=%q", cfg.Issuer),
		parser:         newAccessTokenParser(cfg),
	}
	s.grants = s.grantHandlers()
	s.feed = newRevocationFeed(cfg.Revocations, cfg.Now, cfg.Logger)
	if !cfg.Lockout.Disabled {
		s.lockout = &lockout{policy: cfg.Lockout, counter: cfg.Failures, now: cfg.Now, sleep: sleepContext}
	}
	if s.oauthMetadata, err = s.buildMetadata(nil); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the handler of every issuer endpoint. Other paths get
// 404.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.route)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch r.URL.Path {
	case s.paths.token:
		s.serveToken(w, r)
	case s.paths.introspection:
		s.serveIntrospection(w, r)
	case s.paths.revocation:
		s.serveRevocation(w, r)
	case s.paths.feed:
		s.serveFeed(w, r)
	case s.paths.jwks:
		s.serveJWKS(w, r)
	case s.paths.oauthMetadata:
		serveDocument(w, r, s.oauthMetadata, MetadataCacheControl)
	case s.paths.oidcMetadata:
		s.serveOpenIDMetadata(w, r)
	default:
		http.NotFound(w, r)
	}
}

// serveFeed serves the revocation feed to GET requests.
func (s *Server) serveFeed(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed: use GET", http.StatusMethodNotAllowed)
		return
	}
	s.feed.ServeHTTP(w, r)
}

// CloseStreams ends the open revocation feed responses, so that a graceful
// shutdown need not wait for them. Call it when the HTTP server starts to
// shut down; readers reconnect elsewhere.
func (s *Server) CloseStreams() {
	s.feed.close()
}
