package main

import (
	"flag"
	"log/slog"

	"github.com/gatehouse-dev/gatehouse/issuer/users/ldap"
)

// ldapOptions are the flags that make an LDAP directory the user store.
type ldapOptions struct {
	cfg ldap.Config
}

func (o *ldapOptions) addFlags(fs *flag.FlagSet) {
	c := &o.cfg
	fs.StringVar(&c.URL, "ldap-url", "", "LDAP directory for the password grant, ldap://host:port or ldaps://host:port; replaces --users-file")
	fs.BoolVar(&c.StartTLS, "ldap-start-tls", false, "upgrade an ldap:// connection with StartTLS")
	fs.StringVar(&c.CAFile, "ldap-ca-file", "", "PEM file of the CAs that sign the directory's certificate (default: the system's)")
	fs.StringVar(&c.BindDNTemplate, "ldap-bind-dn-template", "", `direct bind: the user's DN with %s for the username, such as uid=%s,ou=people,dc=example,dc=org`)
	fs.StringVar(&c.ServiceDN, "ldap-service-dn", "", "search-then-bind: the DN of the account that searches for users")
	fs.StringVar(&c.ServicePasswordFile, "ldap-service-password-file", "", "file holding the password of --ldap-service-dn, read again on each use")
	fs.StringVar(&c.SearchBase, "ldap-search-base", "", "search-then-bind: the subtree that holds the users")
	fs.StringVar(&c.SearchFilter, "ldap-search-filter", "", `search-then-bind: the filter with %s for the username, such as (&(objectClass=inetOrgPerson)(uid=%s))`)
	fs.StringVar(&c.Attributes.Subject, "ldap-subject-attribute", "", `attribute of the stable "sub" claim (default "entryUUID")`)
	fs.StringVar(&c.Attributes.Email, "ldap-email-attribute", "", `attribute of the "email" claim (default "mail")`)
	fs.StringVar(&c.Attributes.Groups, "ldap-groups-attribute", "", `attribute listing the user's group DNs, such as "memberOf"`)
	fs.StringVar(&c.GroupSearch.Base, "ldap-group-search-base", "", "subtree to search for the user's groups instead of --ldap-groups-attribute")
	fs.StringVar(&c.GroupSearch.Filter, "ldap-group-search-filter", "", `group filter with %s for the user's DN, such as (&(objectClass=groupOfNames)(member=%s))`)
}

// enabled reports whether the flags name a directory.
func (o *ldapOptions) enabled() bool { return o.cfg.URL != "" }

// open returns the LDAP user store. It does not connect, so the issuer
// starts while the directory is down and returns 503 until it is back.
func (o *ldapOptions) open(log *slog.Logger) (*ldap.Store, error) {
	return ldap.New(o.cfg, log)
}
