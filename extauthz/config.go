package extauthz

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/scope"
)

// Defaults and limits. Each one applies when the matching Config or
// IssuerConfig field is zero.
const (
	// DefaultRealm is the realm of the WWW-Authenticate challenge.
	DefaultRealm = "gatehouse"
	// DefaultLeeway is the allowed clock skew for exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// MaxLeeway bounds Leeway, because a large skew keeps expired tokens valid.
	MaxLeeway = 5 * time.Minute
	// DefaultMaxTokenBytes is the largest bearer token that is parsed at
	// all, and larger ones get 401. An ES256 Gatehouse token with a few
	// scopes is about 600 bytes, which leaves room for many groups.
	DefaultMaxTokenBytes = 8192
	// DefaultCacheSize is the number of verified tokens kept in memory.
	DefaultCacheSize = 10000
	// DefaultRefreshInterval is how often a key set is fetched again.
	DefaultRefreshInterval = 5 * time.Minute
	// MinRefreshInterval bounds RefreshInterval from below, to spare the issuer.
	MinRefreshInterval = time.Second
	// DefaultFetchTimeout is the timeout of the default HTTP client used for
	// metadata and JWKS requests.
	DefaultFetchTimeout = 5 * time.Second
	// MinForcedRefetchInterval is the shortest time between two key set
	// fetches that an unknown "kid" triggers for one issuer, so that a flood
	// of tokens with made-up key IDs cannot hammer the issuer.
	MinForcedRefetchInterval = 5 * time.Second
	// MaxJWKSBytes is the largest JWKS document accepted (file or HTTP).
	MaxJWKSBytes = 1 << 20
	// MaxMetadataBytes is the largest RFC 8414 metadata document accepted.
	MaxMetadataBytes = 64 << 10
	// MaxHeaderBytes is the largest total size of request headers that the
	// HTTP check handler accepts. Larger requests get 431.
	MaxHeaderBytes = 16 << 10
)

// Default identity header names.
const (
	DefaultSubjectHeader  = "x-auth-subject"
	DefaultClientIDHeader = "x-auth-client-id"
	DefaultScopeHeader    = "x-auth-scope"
	DefaultUsernameHeader = "x-auth-username"
)

// ErrInvalidConfig reports a configuration that New or ParseConfig rejects.
var ErrInvalidConfig = errors.New("invalid extauthz configuration")

// Config is the configuration of a Server. Zero fields take the defaults
// documented on each field.
type Config struct {
	// Issuers are the trusted token issuers. At least one is required.
	Issuers []IssuerConfig
	// Rules are the route requirements, checked in order. The first match
	// wins. With no rules, or when no rule matches, a route needs a valid
	// token and nothing more.
	Rules []Rule
	// Headers are the names of the identity headers set on allowed requests.
	Headers HeaderNames
	// Realm is the RFC 6750 realm, DefaultRealm when empty.
	Realm string
	// Leeway is the clock skew allowed for exp, nbf and iat, DefaultLeeway
	// when zero and at most MaxLeeway.
	Leeway time.Duration
	// MaxTokenBytes is the largest token accepted, DefaultMaxTokenBytes when zero.
	MaxTokenBytes int
	// CacheSize is the number of verified tokens cached, DefaultCacheSize
	// when zero. A negative value disables the cache.
	CacheSize int
	// Logger receives the server's logs, slog.Default() when nil.
	Logger *slog.Logger
	// Metrics registers the server's metrics when not nil.
	Metrics prometheus.Registerer
	// HTTPClient fetches metadata and key sets. When nil, a client with a
	// DefaultFetchTimeout timeout is used.
	HTTPClient *http.Client
	// Now returns the current time, time.Now when nil.
	Now func() time.Time
}

// IssuerConfig describes one trusted issuer.
type IssuerConfig struct {
	// Issuer is the exact "iss" value of its tokens and the base of its
	// metadata URL.
	Issuer string
	// Audiences are the accepted "aud" values. A token must carry at least one.
	Audiences []string
	// JWKSURI is the key set URL. When empty it is read from the RFC 8414
	// metadata of Issuer, or from its OpenID discovery document.
	JWKSURI string
	// JWKSFile is a local JWKS file used instead of fetching. It is read
	// again every RefreshInterval and on an unknown "kid".
	JWKSFile string
	// RefreshInterval is how often the key set is fetched again,
	// DefaultRefreshInterval when zero.
	RefreshInterval time.Duration
	// RevocationFeedURI is the issuer's revocation feed. When set, access
	// tokens that the issuer revokes are denied within moments, with no call
	// to the issuer per request. Empty means no revocations are followed.
	RevocationFeedURI string
}

// Rule is one route requirement. A rule matches a request when its host, path
// prefix and methods all match. Empty fields match anything.
type Rule struct {
	// Host is an exact host name or a "*.example.com" wildcard, compared
	// without the request's port.
	Host string `json:"host,omitempty"`
	// PathPrefix matches the request path, without the query, on segment
	// boundaries: "/api" matches "/api" and "/api/x" but not "/apix".
	PathPrefix string `json:"pathPrefix,omitempty"`
	// Methods are the HTTP methods the rule applies to.
	Methods []string `json:"methods,omitempty"`
	// Scopes must all be in the token's "scope" claim.
	Scopes []string `json:"scopes,omitempty"`
	// Audiences, when set, must include one of the token's "aud" values.
	Audiences []string `json:"audiences,omitempty"`
	// Anonymous lets requests without a token through, with no identity
	// headers. A request that carries an invalid token is still denied.
	Anonymous bool `json:"anonymous,omitempty"`
}

// HeaderNames are the names of the identity headers. Empty fields take the
// DefaultXHeader names.
type HeaderNames struct {
	// Subject carries the "sub" claim.
	Subject string `json:"subject,omitempty"`
	// ClientID carries the "client_id" claim.
	ClientID string `json:"clientID,omitempty"`
	// Scope carries the "scope" claim.
	Scope string `json:"scope,omitempty"`
	// Username carries the "preferred_username" claim.
	Username string `json:"username,omitempty"`
}

// withDefaults returns a copy of c with every zero field set to its default.
func (c Config) withDefaults() Config {
	c.Headers = c.Headers.withDefaults()
	c.Realm = orDefault(c.Realm, DefaultRealm)
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	}
	if c.MaxTokenBytes == 0 {
		c.MaxTokenBytes = DefaultMaxTokenBytes
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: DefaultFetchTimeout}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Issuers = append([]IssuerConfig(nil), c.Issuers...)
	for i := range c.Issuers {
		if c.Issuers[i].RefreshInterval == 0 {
			c.Issuers[i].RefreshInterval = DefaultRefreshInterval
		}
	}
	return c
}

func (h HeaderNames) withDefaults() HeaderNames {
	return HeaderNames{
		Subject:  strings.ToLower(orDefault(h.Subject, DefaultSubjectHeader)),
		ClientID: strings.ToLower(orDefault(h.ClientID, DefaultClientIDHeader)),
		Scope:    strings.ToLower(orDefault(h.Scope, DefaultScopeHeader)),
		Username: strings.ToLower(orDefault(h.Username, DefaultUsernameHeader)),
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// validate checks a configuration that withDefaults has filled in.
func (c Config) validate() error {
	if len(c.Issuers) == 0 {
		return fmt.Errorf("%w: no issuers configured", ErrInvalidConfig)
	}
	if c.Leeway < 0 || c.Leeway > MaxLeeway {
		return fmt.Errorf("%w: leeway %s is outside 0 to %s", ErrInvalidConfig, c.Leeway, MaxLeeway)
	}
	if c.MaxTokenBytes < 0 {
		return fmt.Errorf("%w: maxTokenBytes %d is negative", ErrInvalidConfig, c.MaxTokenBytes)
	}
	if err := validateRealm(c.Realm); err != nil {
		return err
	}
	if err := c.Headers.validate(); err != nil {
		return err
	}
	if err := validateIssuers(c.Issuers); err != nil {
		return err
	}
	for i, r := range c.Rules {
		if err := r.validate(); err != nil {
			return fmt.Errorf("rule %d: %w", i, err)
		}
	}
	return nil
}

func validateRealm(realm string) error {
	for i := 0; i < len(realm); i++ {
		if c := realm[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return fmt.Errorf("%w: realm %q must be printable ASCII without quotes or backslashes", ErrInvalidConfig, realm)
		}
	}
	return nil
}

func validateIssuers(issuers []IssuerConfig) error {
	seen := make(map[string]bool, len(issuers))
	for _, ic := range issuers {
		if err := ic.validate(); err != nil {
			return err
		}
		if seen[ic.Issuer] {
			return fmt.Errorf("%w: issuer %q is configured twice", ErrInvalidConfig, ic.Issuer)
		}
		seen[ic.Issuer] = true
	}
	return nil
}

func (ic IssuerConfig) validate() error {
	if err := validateHTTPURL(ic.Issuer); err != nil {
		return fmt.Errorf("%w: issuer %q: %w", ErrInvalidConfig, ic.Issuer, err)
	}
	if len(ic.Audiences) == 0 {
		return fmt.Errorf("%w: issuer %q has no audiences (RFC 9068 requires an aud check)", ErrInvalidConfig, ic.Issuer)
	}
	if slices.Contains(ic.Audiences, "") {
		return fmt.Errorf("%w: issuer %q has an empty audience", ErrInvalidConfig, ic.Issuer)
	}
	if ic.JWKSURI != "" && ic.JWKSFile != "" {
		return fmt.Errorf("%w: issuer %q sets both jwksURI and jwksFile, use one", ErrInvalidConfig, ic.Issuer)
	}
	if ic.JWKSURI != "" {
		if err := validateHTTPURL(ic.JWKSURI); err != nil {
			return fmt.Errorf("%w: issuer %q jwksURI: %w", ErrInvalidConfig, ic.Issuer, err)
		}
	}
	if ic.RefreshInterval < MinRefreshInterval {
		return fmt.Errorf("%w: issuer %q refresh interval %s is below %s", ErrInvalidConfig, ic.Issuer, ic.RefreshInterval, MinRefreshInterval)
	}
	return nil
}

// validateHTTPURL accepts an absolute http or https URL without a fragment
// or query, which RFC 8414 §2 requires of an issuer identifier.
func validateHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return errors.New("must be an http or https URL")
	}
	if u.Host == "" {
		return errors.New("missing host")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return errors.New("must not have a query, fragment or user info")
	}
	return nil
}

func (h HeaderNames) validate() error {
	names := []string{h.Subject, h.ClientID, h.Scope, h.Username}
	for i, n := range names {
		if !validHeaderName(n) {
			return fmt.Errorf("%w: header name %q is not a valid HTTP field name", ErrInvalidConfig, n)
		}
		if isReservedHeader(n) {
			return fmt.Errorf("%w: header name %q is reserved", ErrInvalidConfig, n)
		}
		if slices.Contains(names[:i], n) {
			return fmt.Errorf("%w: header name %q is used twice", ErrInvalidConfig, n)
		}
	}
	return nil
}

// isReservedHeader reports names that an identity header must not replace.
func isReservedHeader(name string) bool {
	switch name {
	case "authorization", "host", "cookie", "content-length", "transfer-encoding", "connection", "x-envoy-auth-headers-to-remove":
		return true
	}
	return strings.HasPrefix(name, ":")
}

func (r Rule) validate() error {
	if err := validateRuleHost(r.Host); err != nil {
		return err
	}
	if r.PathPrefix != "" && !strings.HasPrefix(r.PathPrefix, "/") {
		return fmt.Errorf("%w: path prefix %q must start with /", ErrInvalidConfig, r.PathPrefix)
	}
	for _, m := range r.Methods {
		if !validHeaderName(m) {
			return fmt.Errorf("%w: method %q is not an HTTP method token", ErrInvalidConfig, m)
		}
	}
	for _, s := range r.Scopes {
		if !scope.Valid(s) {
			return fmt.Errorf("%w: scope %q is not an RFC 6749 scope token", ErrInvalidConfig, s)
		}
	}
	if slices.Contains(r.Audiences, "") {
		return fmt.Errorf("%w: empty audience", ErrInvalidConfig)
	}
	if r.Anonymous && (len(r.Scopes) > 0 || len(r.Audiences) > 0) {
		return fmt.Errorf("%w: an anonymous rule cannot require scopes or audiences", ErrInvalidConfig)
	}
	return nil
}

func validateRuleHost(host string) error {
	if host == "" {
		return nil
	}
	name := strings.TrimPrefix(host, "*.")
	if name == "" || strings.ContainsAny(name, "*:/ ") || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") {
		return fmt.Errorf("%w: host %q must be a host name or *.domain, without a port", ErrInvalidConfig, host)
	}
	return nil
}

// validHeaderName reports whether s is an RFC 9110 token, which is the syntax
// of both field names and methods.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
