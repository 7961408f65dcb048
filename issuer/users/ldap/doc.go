// Package ldap is a users.Store backed by an LDAP directory, so that the
// password grant can authenticate the accounts an enterprise already keeps
// in OpenLDAP, 389 Directory Server or Active Directory.
//
// A login proves the password with an LDAP simple bind as the user. The
// user's DN comes either from a template (direct bind) or from a search
// made as a service account (search-then-bind). Claims come from the
// user's entry: the username, a stable subject, an email address and
// groups, read from a memberOf-style attribute or found by a group search.
//
// Each call opens its own connection and closes it before returning. A
// bind changes the identity of a connection, so a pooled connection would
// have to be rebound and could leak one user's identity into the next
// request after a partial failure. The password grant runs at login rate,
// so the extra TCP and TLS handshake is cheap next to the bind itself.
// Config.MaxConnections bounds how many connections are open at once.
//
// This package must not import the issuer package, extauthz or any
// Kubernetes package.
package ldap
