package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/gatehouse-dev/gatehouse/issuer/users"
)

// newTLSConfig returns the TLS settings for ldaps:// and StartTLS.
func newTLSConfig(cfg *Config) (*tls.Config, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("URL: %w", err)
	}
	tc := &tls.Config{
		ServerName:         u.Hostname(),
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec // opt-in, and New logs a warning.
	}
	if cfg.CAFile == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	tc.RootCAs = x509.NewCertPool()
	if !tc.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %q: no PEM certificate found", cfg.CAFile)
	}
	return tc, nil
}

// connect opens a connection, upgrades it with StartTLS when configured,
// and closes it early when ctx ends. The caller must call the returned
// function, which closes the connection and releases its slot.
func (s *Store) connect(ctx context.Context) (*goldap.Conn, func(), error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("%w: wait for a free LDAP connection: %w", users.ErrUnavailable, context.Cause(ctx))
	}
	conn, err := s.dial(ctx)
	if err != nil {
		<-s.slots
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	release := func() {
		stop()
		conn.Close()
		<-s.slots
	}
	return conn, release, nil
}

func (s *Store) dial(ctx context.Context) (*goldap.Conn, error) {
	dialer := &net.Dialer{Timeout: s.cfg.DialTimeout}
	if deadline, ok := ctx.Deadline(); ok {
		dialer.Deadline = deadline
	}
	conn, err := goldap.DialURL(s.cfg.URL, goldap.DialWithDialer(dialer), goldap.DialWithTLSConfig(s.tls))
	if err != nil {
		return nil, fmt.Errorf("%w: connect to %s: %w", users.ErrUnavailable, s.cfg.URL, err)
	}
	conn.SetTimeout(s.cfg.RequestTimeout)
	if !s.cfg.StartTLS {
		return conn, nil
	}
	if err := conn.StartTLS(s.tls); err != nil {
		conn.Close()
		return nil, classify(ctx, "start TLS", err)
	}
	return conn, nil
}

// bindService binds conn as the service account.
func (s *Store) bindService(ctx context.Context, conn *goldap.Conn) error {
	password, err := readSecretFile(s.cfg.ServicePasswordFile)
	if err != nil {
		return err
	}
	if err := conn.Bind(s.cfg.ServiceDN, password); err != nil {
		return classify(ctx, "bind as service account "+s.cfg.ServiceDN, err)
	}
	return nil
}

// readSecretFile returns the content of path without trailing newlines.
// An empty secret is an error, because LDAP treats a bind with an empty
// password as an unauthenticated bind, which a server may accept.
func readSecretFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read service password file: %w", err)
	}
	password := strings.TrimRight(string(data), "\r\n")
	if password == "" {
		return "", fmt.Errorf("service password file %q: empty", path)
	}
	return password, nil
}

// unavailableCodes are the result codes that mean the directory could not
// serve the request at the moment, as opposed to a wrong request.
var unavailableCodes = []uint16{
	goldap.ErrorNetwork,
	goldap.LDAPResultBusy,
	goldap.LDAPResultUnavailable,
	goldap.LDAPResultServerDown,
	goldap.LDAPResultTimeout,
	goldap.LDAPResultTimeLimitExceeded,
	goldap.LDAPResultAdminLimitExceeded,
}

// classify wraps err from an LDAP operation with users.ErrUnavailable when
// the directory was unreachable, slow or overloaded, or when ctx ended
// (which closes the connection mid-request).
func classify(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %s: %w", users.ErrUnavailable, op, context.Cause(ctx))
	}
	for _, code := range unavailableCodes {
		if goldap.IsErrorWithCode(err, code) {
			return fmt.Errorf("%w: %s: %w", users.ErrUnavailable, op, err)
		}
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return fmt.Errorf("%w: %s: %w", users.ErrUnavailable, op, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
