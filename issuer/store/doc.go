// Package store keeps the state of the issuer's token lifecycle: the Store
// interface, its parts RefreshStore, RevocationStore,
// SubjectRevocationStore and FailureCounter, and Memory, an in-process
// implementation. The subpackages bolt (one
// file, one replica) and redis (shared by replicas) implement Store too,
// and storetest is the contract suite that all three pass.
//
// Refresh tokens. A store never receives a refresh token itself, only its
// SHA-256 hash, so a copy of the store cannot be used to mint tokens. Every
// token belongs to a family: the chain of tokens that one login produced
// through rotation. Presenting a token that was already rotated means that
// two parties hold the same family, so the store revokes the whole family
// and returns ErrReused. This is refresh token rotation with reuse
// detection. Of two concurrent rotations of one token exactly one
// succeeds, and the other is reuse. A token stops working at ExpiresAt,
// the absolute expiry of the login, or earlier at IdleExpiresAt when the
// issuer sets one. RevokeSubject revokes every family of a user.
//
// Revocations. RevokeAccessToken records an access token's "jti" until the
// token's own expiry, after which the record is dropped because the token
// fails validation anyway. Each record gets a Cursor that grows with every
// revocation, so a feed reads ListRevocations after the last Cursor it saw.
// RevokeSubjectAccessTokens records such a record for a subject, under
// SubjectRevocationKey, and also merges it into a record per subject that
// SubjectRevokedSince reads, so that introspection finds it by subject.
//
// Failure counters. RecordFailure counts failed logins per key, such as a
// username or a client address, in a fixed window that starts with the
// first failure. The count is dropped when the window ends.
//
// Time. Every method that depends on time takes the current time from the
// caller (now, or IssuedAt of the token being stored), so that the stores
// follow the issuer's clock and tests can move it.
//
// Errors. Methods return the sentinel errors of this package, wrapped or
// as they are, and callers test for them with errors.Is. Any other error
// is a failure of the backend.
//
// This package must not import the issuer package, extauthz or any
// Kubernetes package.
package store
