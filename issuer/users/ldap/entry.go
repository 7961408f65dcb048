package ldap

import (
	"context"
	"fmt"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/gatehouse-dev/gatehouse/issuer/users"
)

// userAttributes returns the attributes to request for a user entry.
// entryUUID and other operational attributes are returned only on request.
func (s *Store) userAttributes() []string {
	a := s.cfg.Attributes
	attrs := []string{a.Username, a.Subject, a.Email}
	if a.Groups != "" {
		attrs = append(attrs, a.Groups)
	}
	return attrs
}

// searchUser returns the one entry that SearchFilter matches for username.
// No match is users.ErrNotFound and more than one is ErrAmbiguousUser.
func (s *Store) searchUser(ctx context.Context, conn *goldap.Conn, username string) (*goldap.Entry, error) {
	req := goldap.NewSearchRequest(
		s.cfg.SearchBase, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		2, int(s.cfg.RequestTimeout.Seconds()), false,
		fillTemplate(s.cfg.SearchFilter, escapeFilterValue(username)),
		s.userAttributes(), nil)
	res, err := conn.Search(req)
	if goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
		return nil, ErrAmbiguousUser
	}
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		return nil, fmt.Errorf("search base %q: %w", s.cfg.SearchBase, err)
	}
	if err != nil {
		return nil, classify(ctx, "search user", err)
	}
	switch len(res.Entries) {
	case 0:
		return nil, users.ErrNotFound
	case 1:
		return res.Entries[0], nil
	default:
		return nil, ErrAmbiguousUser
	}
}

// readEntry returns the entry at dn, or users.ErrNotFound when there is none.
func (s *Store) readEntry(ctx context.Context, conn *goldap.Conn, dn string) (*goldap.Entry, error) {
	req := goldap.NewSearchRequest(
		dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases,
		1, int(s.cfg.RequestTimeout.Seconds()), false,
		"(objectClass=*)", s.userAttributes(), nil)
	res, err := conn.Search(req)
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) || goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidDNSyntax) {
		return nil, users.ErrNotFound
	}
	if err != nil {
		return nil, classify(ctx, "read user entry", err)
	}
	if len(res.Entries) != 1 {
		return nil, users.ErrNotFound
	}
	return res.Entries[0], nil
}

// userFromEntry maps entry to a users.User, with typed as the username
// when the entry lacks the username attribute.
func (s *Store) userFromEntry(ctx context.Context, conn *goldap.Conn, entry *goldap.Entry, typed string) (users.User, error) {
	a := s.cfg.Attributes
	u := users.User{
		Username: cmpOr(entry.GetAttributeValue(a.Username), typed),
		Subject:  entry.GetAttributeValue(a.Subject),
		Email:    entry.GetAttributeValue(a.Email),
	}
	if u.Subject == "" {
		return users.User{}, fmt.Errorf("user entry %q has no %s attribute for the subject", entry.DN, a.Subject)
	}
	groups, err := s.groups(ctx, conn, entry)
	if err != nil {
		return users.User{}, err
	}
	u.Groups = groups
	return u, nil
}

// groups returns the names of the user's groups, from GroupSearch when it
// is set and from Attributes.Groups otherwise.
func (s *Store) groups(ctx context.Context, conn *goldap.Conn, entry *goldap.Entry) ([]string, error) {
	if s.cfg.GroupSearch.Filter != "" {
		return s.searchGroups(ctx, conn, entry.DN)
	}
	if s.cfg.Attributes.Groups == "" {
		return nil, nil
	}
	dns := entry.GetAttributeValues(s.cfg.Attributes.Groups)
	if len(dns) > s.cfg.MaxGroups {
		return nil, fmt.Errorf("user entry %q: %d groups, more than the limit of %d", entry.DN, len(dns), s.cfg.MaxGroups)
	}
	var names []string
	for _, dn := range dns {
		names = append(names, groupName(dn))
	}
	return names, nil
}

// groupName returns the value of the first RDN of dn, such as "admins" for
// "cn=admins,ou=groups,dc=example,dc=org", or dn itself when it does not
// parse as a DN.
func groupName(dn string) string {
	parsed, err := goldap.ParseDN(dn)
	if err != nil || len(parsed.RDNs) == 0 || len(parsed.RDNs[0].Attributes) == 0 {
		return dn
	}
	return parsed.RDNs[0].Attributes[0].Value
}

func (s *Store) searchGroups(ctx context.Context, conn *goldap.Conn, userDN string) ([]string, error) {
	gs := s.cfg.GroupSearch
	req := goldap.NewSearchRequest(
		gs.Base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		s.cfg.MaxGroups+1, int(s.cfg.RequestTimeout.Seconds()), false,
		fillTemplate(gs.Filter, escapeFilterValue(userDN)),
		[]string{gs.NameAttribute}, nil)
	res, err := conn.Search(req)
	if goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) || err == nil && len(res.Entries) > s.cfg.MaxGroups {
		return nil, fmt.Errorf("user %q is in more than the limit of %d groups", userDN, s.cfg.MaxGroups)
	}
	if err != nil {
		return nil, classify(ctx, "search groups", err)
	}
	var names []string
	for _, e := range res.Entries {
		if name := e.GetAttributeValue(gs.NameAttribute); name != "" {
			names = append(names, name)
		}
	}
	return names, nil
}
