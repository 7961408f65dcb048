package issuer

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/gatehouse-dev/gatehouse/issuer/users"
)

// Defaults for the token lifetimes of Config.
const (
	DefaultAccessTokenTTL  = 10 * time.Minute
	DefaultRefreshTokenTTL = 24 * time.Hour
)

// ClientSource looks up OAuth 2.0 clients. clients.FileSource and
// clients.Static implement it.
type ClientSource = clients.Source

// UserStore authenticates the users of the password grant. users.FileSource
// and users.Static implement it.
type UserStore = users.Store

// RefreshStore keeps refresh tokens. store.Memory implements it.
type RefreshStore = store.RefreshStore

// RevocationStore keeps revoked access tokens. store.Memory implements it.
type RevocationStore = store.RevocationStore

// ErrInvalidConfig reports a Config that New cannot use.
var ErrInvalidConfig = errors.New("invalid issuer configuration")

// Config configures a Server.
type Config struct {
	// Issuer is the issuer identifier: an http or https URL with no
	// trailing slash, query or fragment. It becomes the "iss" claim, and
	// its path, if any, prefixes every endpoint.
	Issuer string
	// Signer is a fixed key that signs access tokens and is the only key in
	// the JWKS, for development, files and tests. Set either Signer or
	// Keys.
	Signer *jose.SigningKey
	// Keys supplies signing keys that change while the issuer runs, such as
	// those of the key-set Secret. Set either Signer or Keys.
	Keys KeySource
	// Clients supplies the registered clients.
	Clients ClientSource
	// Users authenticates the password grant.
	Users UserStore
	// Store keeps refresh tokens. Nil means a new store.Memory.
	Store RefreshStore
	// Revocations keeps the access tokens revoked at the revocation
	// endpoint. Nil means Store, which must then implement RevocationStore
	// as store.Memory does, or New fails.
	Revocations RevocationStore
	// AccessTokenTTL is the access token lifetime of clients that set none.
	// Zero means DefaultAccessTokenTTL.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the refresh token lifetime of clients that set
	// none. Zero means DefaultRefreshTokenTTL.
	RefreshTokenTTL time.Duration
	// Failures counts failed password grants for Lockout. Nil means Store,
	// when it implements store.FailureCounter.
	Failures store.FailureCounter
	// Lockout slows down and locks out password guessing. It is on unless
	// Lockout.Disabled is set.
	Lockout LockoutPolicy
	// TrustedProxies are the address ranges of proxies, such as an ingress
	// controller, that append the address of their peer to
	// X-Forwarded-For. For a request from one of them, Lockout counts the
	// per-address failures under the client address in that header. Empty
	// means that the peer's own address is counted, which is right only
	// when clients connect to the issuer directly.
	TrustedProxies []netip.Prefix
	// Logger receives one line per failed request. Nil means
	// slog.Default().
	Logger *slog.Logger
	// Metrics registers the issuer's Prometheus metrics. Nil means none.
	Metrics prometheus.Registerer
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// withDefaults returns cfg with every zero optional field set.
func (cfg Config) withDefaults() Config {
	if cfg.Store == nil {
		cfg.Store = store.NewMemory()
	}
	if cfg.Revocations == nil {
		// A type assertion on a nil interface yields nil, which validate
		// reports.
		cfg.Revocations, _ = cfg.Store.(RevocationStore)
	}
	if cfg.Failures == nil {
		cfg.Failures, _ = cfg.Store.(store.FailureCounter)
	}
	cfg.Lockout = cfg.Lockout.withDefaults()
	if cfg.AccessTokenTTL == 0 {
		cfg.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if cfg.RefreshTokenTTL == 0 {
		cfg.RefreshTokenTTL = DefaultRefreshTokenTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}

func (cfg *Config) validate() error {
	if err := validateIssuer(cfg.Issuer); err != nil {
		return err
	}
	if cfg.Signer == nil && cfg.Keys == nil {
		return errors.New("missing signing key: set Signer or Keys")
	}
	if cfg.Signer != nil && cfg.Keys != nil {
		return errors.New("both Signer and Keys are set: use one")
	}
	if cfg.Clients == nil {
		return errors.New("missing client source")
	}
	if cfg.Users == nil {
		return errors.New("missing user store")
	}
	if cfg.Revocations == nil {
		return errors.New("missing revocation store: Store does not implement RevocationStore, so set Revocations")
	}
	if !cfg.Lockout.Disabled && cfg.Failures == nil {
		return errors.New("missing failure counter: Store does not implement store.FailureCounter, so set Failures or disable Lockout")
	}
	if err := validateTrustedProxies(cfg.TrustedProxies); err != nil {
		return err
	}
	if cfg.AccessTokenTTL < 0 || cfg.RefreshTokenTTL < 0 {
		return fmt.Errorf("token lifetimes must be positive, got access %v and refresh %v", cfg.AccessTokenTTL, cfg.RefreshTokenTTL)
	}
	return nil
}

// validateTrustedProxies rejects ranges that could never contain a peer
// address, which would silently leave the proxy untrusted.
func validateTrustedProxies(prefixes []netip.Prefix) error {
	for i, p := range prefixes {
		switch {
		case !p.IsValid():
			return fmt.Errorf("trusted proxy range %d is invalid: set a CIDR range such as 10.0.0.0/8", i)
		case p.Addr().Is4In6():
			return fmt.Errorf("trusted proxy range %s is IPv4-mapped IPv6, which matches no peer: write it as IPv4, such as 10.0.0.0/8", p)
		}
	}
	return nil
}

// keySource returns Keys, or a StaticKeys of Signer alone.
func (cfg *Config) keySource() (KeySource, error) {
	if cfg.Keys != nil {
		return cfg.Keys, nil
	}
	set, err := NewKeySet(cfg.Signer, nil)
	if err != nil {
		return nil, err
	}
	return StaticKeys{Set: set}, nil
}

// validateIssuer applies RFC 8414 §2 to the issuer identifier, except that
// it also accepts http: a mesh often terminates TLS in a sidecar.
func validateIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil {
		return fmt.Errorf("issuer %q: %w", issuer, err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("issuer %q: scheme must be https or http", issuer)
	case u.Host == "" || u.User != nil:
		return fmt.Errorf("issuer %q: want a host and no user information", issuer)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(issuer, "#"):
		return fmt.Errorf("issuer %q: must not have a query or fragment", issuer)
	case strings.HasSuffix(issuer, "/"):
		return fmt.Errorf("issuer %q: must not end with a slash", issuer)
	case u.RawPath != "" || u.Path != path.Clean("/"+u.Path) && u.Path != "":
		return fmt.Errorf("issuer %q: path must be clean and unescaped", issuer)
	}
	return nil
}
