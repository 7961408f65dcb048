package ldap

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults of the Config fields that are left zero.
const (
	DefaultDialTimeout    = 5 * time.Second
	DefaultRequestTimeout = 10 * time.Second
	DefaultMaxConnections = 16
	DefaultMaxGroups      = 256
)

// maxUsernameBytes bounds the usernames sent to the directory.
const maxUsernameBytes = 256

// ErrInvalidConfig reports a Config that New rejects.
var ErrInvalidConfig = errors.New("invalid LDAP config")

// Config configures a Store. Exactly one of BindDNTemplate (direct bind)
// and SearchFilter (search-then-bind) must be set.
type Config struct {
	// URL is the address of the directory server, "ldap://host[:port]" or
	// "ldaps://host[:port]".
	URL string
	// StartTLS upgrades an ldap:// connection to TLS before the first bind.
	// It is invalid with ldaps://.
	StartTLS bool
	// CAFile is a PEM file of the CA certificates that the server's
	// certificate must chain to. Empty means the system roots.
	CAFile string
	// InsecureSkipVerify turns off verification of the server certificate.
	// Off by default. New logs a warning when it is on, because anyone on
	// the network path can then read every password.
	InsecureSkipVerify bool

	// DialTimeout bounds connecting, including the TLS handshake. Default
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// RequestTimeout bounds each LDAP request (bind, search, StartTLS).
	// Default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// MaxConnections bounds the connections open at once. Calls beyond it
	// wait for a free slot until their context ends. Default
	// DefaultMaxConnections.
	MaxConnections int

	// BindDNTemplate selects direct bind: the user's DN is this template
	// with its one "%s" replaced by the username, escaped as RFC 4514
	// requires, for example "uid=%s,ou=people,dc=example,dc=org".
	BindDNTemplate string

	// ServiceDN is the account that searches for users and groups. It is
	// required with SearchFilter. With BindDNTemplate it is optional: when
	// set, Lookup and the reading of claims bind as it instead of
	// anonymously or as the user.
	ServiceDN string
	// ServicePasswordFile is the file that holds ServiceDN's password.
	// Trailing newlines are removed. It is read on every use, so a rotated
	// Kubernetes Secret takes effect without a restart.
	ServicePasswordFile string
	// SearchBase is the subtree that SearchFilter searches.
	SearchBase string
	// SearchFilter selects search-then-bind: a filter with one "%s" that is
	// replaced by the username, escaped as RFC 4515 requires, for example
	// "(&(objectClass=inetOrgPerson)(uid=%s))". Exactly one entry must
	// match.
	SearchFilter string

	// Attributes maps the user's entry to claims.
	Attributes Attributes
	// GroupSearch, when its Filter is set, finds the user's groups by a
	// search instead of Attributes.Groups.
	GroupSearch GroupSearch
	// MaxGroups bounds the groups of one user. A user with more fails to
	// log in, so that the limit never silently drops a group. Default
	// DefaultMaxGroups.
	MaxGroups int
}

// Attributes names the attributes of a user's entry that become claims.
type Attributes struct {
	// Username is the user's login name. Default "uid". When the entry
	// has it, its value replaces the name that the user typed, so that
	// tokens carry the directory's spelling.
	Username string
	// Subject is the stable "sub" claim. Default "entryUUID" (RFC 4530),
	// which survives renames. The entry must have it.
	Subject string
	// Email is the "email" claim. Default "mail". Optional on the entry.
	Email string
	// Groups is a multi-valued attribute of group DNs, such as "memberOf".
	// Each group's name is the value of the first RDN of its DN. Empty
	// means no groups unless GroupSearch is set.
	Groups string
}

// GroupSearch finds the groups that list a user as a member.
type GroupSearch struct {
	// Base is the subtree to search.
	Base string
	// Filter has one "%s" that is replaced by the user's DN, escaped as RFC
	// 4515 requires, for example "(&(objectClass=groupOfNames)(member=%s))".
	Filter string
	// NameAttribute is the attribute of a group entry that holds its name.
	// Default "cn".
	NameAttribute string
}

// withDefaults returns c with every zero field that has a default set.
func (c Config) withDefaults() Config {
	c.DialTimeout = cmpOr(c.DialTimeout, DefaultDialTimeout)
	c.RequestTimeout = cmpOr(c.RequestTimeout, DefaultRequestTimeout)
	c.MaxConnections = cmpOr(c.MaxConnections, DefaultMaxConnections)
	c.MaxGroups = cmpOr(c.MaxGroups, DefaultMaxGroups)
	c.Attributes.Username = cmpOr(c.Attributes.Username, "uid")
	c.Attributes.Subject = cmpOr(c.Attributes.Subject, "entryUUID")
	c.Attributes.Email = cmpOr(c.Attributes.Email, "mail")
	c.GroupSearch.NameAttribute = cmpOr(c.GroupSearch.NameAttribute, "cn")
	return c
}

func cmpOr[T comparable](v, fallback T) T {
	var zero T
	if v == zero {
		return fallback
	}
	return v
}

// validate checks a Config that has its defaults set.
func (c *Config) validate() error {
	if err := c.validateURL(); err != nil {
		return err
	}
	if err := c.validateBindMode(); err != nil {
		return err
	}
	if c.GroupSearch.Filter != "" {
		if err := checkTemplate("GroupSearch.Filter", c.GroupSearch.Filter); err != nil {
			return err
		}
		if c.GroupSearch.Base == "" {
			return errors.New("GroupSearch.Base: missing, but GroupSearch.Filter is set")
		}
	}
	if c.DialTimeout < 0 || c.RequestTimeout < 0 || c.MaxConnections < 0 || c.MaxGroups < 0 {
		return errors.New("DialTimeout, RequestTimeout, MaxConnections and MaxGroups must not be negative")
	}
	return nil
}

func (c *Config) validateURL() error {
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("URL: %w", err)
	}
	if u.Scheme != "ldap" && u.Scheme != "ldaps" {
		return fmt.Errorf("URL %q: scheme must be ldap or ldaps", c.URL)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("URL %q: missing host", c.URL)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("URL %q: has a path, query or user info; give only the scheme, host and port", c.URL)
	}
	if c.StartTLS && u.Scheme == "ldaps" {
		return fmt.Errorf("URL %q: StartTLS needs ldap://, because ldaps:// is already TLS", c.URL)
	}
	return nil
}

func (c *Config) validateBindMode() error {
	direct, search := c.BindDNTemplate != "", c.SearchFilter != ""
	if direct == search {
		return errors.New("set exactly one of BindDNTemplate (direct bind) and SearchFilter (search-then-bind)")
	}
	if (c.ServiceDN == "") != (c.ServicePasswordFile == "") {
		return errors.New("ServiceDN and ServicePasswordFile must be set together")
	}
	if direct {
		return checkTemplate("BindDNTemplate", c.BindDNTemplate)
	}
	if c.ServiceDN == "" {
		return errors.New("ServiceDN: missing, but search-then-bind needs a service account")
	}
	if c.SearchBase == "" {
		return errors.New("SearchBase: missing, but SearchFilter is set")
	}
	return checkTemplate("SearchFilter", c.SearchFilter)
}

// checkTemplate requires exactly one "%s" and no other '%' verb, so that a
// template cannot be misread as a format string.
func checkTemplate(field, template string) error {
	if strings.Count(template, "%s") != 1 || strings.Count(template, "%") != 1 {
		return fmt.Errorf("%s %q: must contain exactly one %%s and no other %%", field, template)
	}
	return nil
}
