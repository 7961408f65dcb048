// Package ldap is a users.Store backed by an LDAP directory, so that the
// password grant can authenticate the accounts that an enterprise already
// keeps in a directory. The tests run against OpenLDAP 2.5.
//
// NOTE: Active Directory is untested. Its objectGUID is binary, so
// Attributes.Subject must name a string attribute there instead.
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
// request after a partial failure. The password grant runs once per login,
// not once per API request, so a TCP and TLS handshake per login is an
// acceptable cost. Config.MaxConnections bounds the connections open at
// once.
//
// A wrong password, an unknown user and an empty password all return
// users.ErrInvalidCredentials, so that logins do not reveal which accounts
// exist. A directory that refuses connections, times out, reports itself
// busy or unavailable, or fails the TLS handshake returns
// users.ErrUnavailable. Passwords are never logged.
//
// This package must not import the issuer package, extauthz or any
// Kubernetes package.
package ldap
