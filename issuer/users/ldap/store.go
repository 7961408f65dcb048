package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/gatehouse-dev/gatehouse/issuer/users"
)

// ErrAmbiguousUser reports a user search that matched more than one entry,
// which means the filter or the directory needs fixing. Authenticate wraps
// it together with users.ErrInvalidCredentials, so the login fails like a
// wrong password. Lookup returns it alone.
var ErrAmbiguousUser = errors.New("user search matched more than one entry")

// Store is a users.Store backed by an LDAP directory. It is safe for
// concurrent use.
type Store struct {
	cfg    Config
	tls    *tls.Config
	slots  chan struct{}
	logger *slog.Logger
}

var _ users.Store = (*Store)(nil)

// New checks cfg, sets its defaults and returns a Store. It does not
// contact the directory, so the issuer can start while the directory is
// down. It logs a warning when certificate verification is off or when
// passwords would cross the network in clear text.
func New(cfg Config, logger *slog.Logger) (*Store, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if cfg.ServicePasswordFile != "" {
		if _, err := readSecretFile(cfg.ServicePasswordFile); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
	}
	tc, err := newTLSConfig(&cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	s := &Store{cfg: cfg, tls: tc, slots: make(chan struct{}, cfg.MaxConnections), logger: logger}
	s.warnInsecure()
	return s, nil
}

func (s *Store) warnInsecure() {
	if s.cfg.InsecureSkipVerify {
		s.logger.Warn("LDAP server certificate verification is disabled, so passwords can be intercepted", "url", s.cfg.URL)
	}
	u, _ := url.Parse(s.cfg.URL)
	if u.Scheme == "ldap" && !s.cfg.StartTLS && !isLoopback(u.Hostname()) {
		s.logger.Warn("LDAP connection is not encrypted, so passwords cross the network in clear text; use ldaps:// or StartTLS", "url", s.cfg.URL)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Authenticate implements users.Store. It binds as the user with password
// and returns the claims of the user's entry. An empty password is
// rejected before any connection is made, because LDAP treats a simple
// bind with an empty password as an unauthenticated bind, which a server
// may accept (OpenLDAP does with "allow bind_anon_dn").
func (s *Store) Authenticate(ctx context.Context, username, password string) (users.User, error) {
	if password == "" || checkUsername(username) != nil {
		return users.User{}, users.ErrInvalidCredentials
	}
	conn, release, err := s.connect(ctx)
	if err != nil {
		return users.User{}, err
	}
	defer release()

	if s.cfg.SearchFilter != "" {
		return s.searchThenBind(ctx, conn, username, password)
	}
	return s.directBind(ctx, conn, username, password)
}

// searchThenBind finds the user's entry as the service account, reads its
// groups, then proves the password with a bind as the entry's DN.
func (s *Store) searchThenBind(ctx context.Context, conn *goldap.Conn, username, password string) (users.User, error) {
	if err := s.bindService(ctx, conn); err != nil {
		return users.User{}, err
	}
	entry, err := s.searchUser(ctx, conn, username)
	if errors.Is(err, users.ErrNotFound) {
		// NOTE: an unknown user skips the user bind below, so it fails
		// one round trip sooner than a wrong password does.
		return users.User{}, users.ErrInvalidCredentials
	}
	if errors.Is(err, ErrAmbiguousUser) {
		s.logger.Warn("LDAP user search matched more than one entry", "username", username, "searchBase", s.cfg.SearchBase)
		return users.User{}, fmt.Errorf("%w: %w", users.ErrInvalidCredentials, err)
	}
	if err != nil {
		return users.User{}, err
	}
	u, err := s.userFromEntry(ctx, conn, entry, username)
	if err != nil {
		return users.User{}, err
	}
	if err := s.bindUser(ctx, conn, entry.DN, password); err != nil {
		return users.User{}, err
	}
	return u, nil
}

// directBind proves the password with a bind as the DN from the template,
// then reads the entry as the service account, if there is one, or as the
// user.
func (s *Store) directBind(ctx context.Context, conn *goldap.Conn, username, password string) (users.User, error) {
	dn := fillTemplate(s.cfg.BindDNTemplate, escapeDNValue(username))
	if err := s.bindUser(ctx, conn, dn, password); err != nil {
		return users.User{}, err
	}
	if s.cfg.ServiceDN != "" {
		if err := s.bindService(ctx, conn); err != nil {
			return users.User{}, err
		}
	}
	entry, err := s.readEntry(ctx, conn, dn)
	if err != nil {
		return users.User{}, err
	}
	return s.userFromEntry(ctx, conn, entry, username)
}

// bindUser binds as dn and maps a rejected bind to
// users.ErrInvalidCredentials. OpenLDAP returns invalidCredentials both
// for a wrong password and for a DN that does not exist.
func (s *Store) bindUser(ctx context.Context, conn *goldap.Conn, dn, password string) error {
	err := conn.Bind(dn, password)
	if err == nil {
		return nil
	}
	if goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) ||
		goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidDNSyntax) {
		return users.ErrInvalidCredentials
	}
	return classify(ctx, "bind as user", err)
}

// Lookup implements users.Store. It binds as the service account when
// there is one, and otherwise reads anonymously, which direct bind allows
// only when the directory grants anonymous read access to user entries.
func (s *Store) Lookup(ctx context.Context, username string) (users.User, error) {
	if err := checkUsername(username); err != nil {
		return users.User{}, fmt.Errorf("%w: %w", users.ErrNotFound, err)
	}
	conn, release, err := s.connect(ctx)
	if err != nil {
		return users.User{}, err
	}
	defer release()

	if s.cfg.ServiceDN != "" {
		if err := s.bindService(ctx, conn); err != nil {
			return users.User{}, err
		}
	}
	entry, err := s.findEntry(ctx, conn, username)
	if err != nil {
		return users.User{}, err
	}
	return s.userFromEntry(ctx, conn, entry, username)
}

// findEntry returns the user's entry by search or by its templated DN.
func (s *Store) findEntry(ctx context.Context, conn *goldap.Conn, username string) (*goldap.Entry, error) {
	if s.cfg.SearchFilter != "" {
		return s.searchUser(ctx, conn, username)
	}
	return s.readEntry(ctx, conn, fillTemplate(s.cfg.BindDNTemplate, escapeDNValue(username)))
}
