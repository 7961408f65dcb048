package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"
)

// Hash is the SHA-256 digest of a refresh token, the only form in which a
// store keeps it.
type Hash [sha256.Size]byte

// HashToken returns the Hash of the refresh token as the client presents it.
func HashToken(token string) Hash {
	return sha256.Sum256([]byte(token))
}

// Errors that RefreshStore methods return, wrapped or as they are. Callers
// test for them with errors.Is.
var (
	// ErrNotFound reports a token that the store does not have: never
	// issued, expired and removed, or revoked with its family.
	ErrNotFound = errors.New("refresh token not found")
	// ErrReused reports a token that was already rotated. The store has
	// revoked its family before returning it.
	ErrReused = errors.New("refresh token reused")
	// ErrExpired reports a token past its expiry.
	ErrExpired = errors.New("refresh token expired")
	// ErrDuplicate reports a Put or Rotate of a hash that the store
	// already has. A correct issuer never causes it, because refresh
	// tokens are random.
	ErrDuplicate = errors.New("refresh token hash already stored")
	// ErrFamilyMismatch reports a Rotate whose next token names another
	// family than the token it replaces.
	ErrFamilyMismatch = errors.New("rotated refresh token must stay in its family")
	// ErrUnavailable reports a store that cannot be reached, such as a
	// Redis server that is down. The request may succeed later.
	ErrUnavailable = errors.New("store unavailable")
	// ErrInvalidArgument reports an empty key, jti or subject, or a
	// window or expiry that is not positive.
	ErrInvalidArgument = errors.New("invalid store argument")
)

// RefreshToken is the stored record of one refresh token.
type RefreshToken struct {
	// Hash identifies the token.
	Hash Hash
	// FamilyID is shared by every token that one login produced.
	FamilyID string
	// ClientID is the client that the token was issued to. No other client
	// may use it.
	ClientID string
	// Username and Subject identify the user. The issuer looks the user up
	// again on refresh and requires the same subject.
	Username string
	Subject  string
	// Scope is the scope that the login granted. Refreshed access tokens
	// may narrow it but never widen it.
	Scope []string
	// AuthTime is when the user entered their password.
	AuthTime time.Time
	// IssuedAt is when this token was issued. Put also takes it as the
	// current time, so that the store follows the issuer's clock.
	IssuedAt time.Time
	// ExpiresAt ends the token's validity: the absolute expiry, which
	// rotation copies from the login's first token.
	ExpiresAt time.Time
	// IdleExpiresAt, when set, ends the token's validity earlier if the
	// client does not rotate it before then: the idle expiry. Zero means
	// no idle limit.
	IdleExpiresAt time.Time
}

// Expiry returns the instant at which the token stops working: the
// earlier of ExpiresAt and a non-zero IdleExpiresAt.
func (t RefreshToken) Expiry() time.Time {
	if t.IdleExpiresAt.IsZero() || t.ExpiresAt.Before(t.IdleExpiresAt) {
		return t.ExpiresAt
	}
	return t.IdleExpiresAt
}

// RefreshStore keeps refresh tokens. Implementations are safe for
// concurrent use, and each method is atomic.
type RefreshStore interface {
	// Put stores the first token of a new family. Storing a hash that the
	// store already has is an error.
	Put(ctx context.Context, token RefreshToken) error
	// Get returns the record of an unused token without using it up, so
	// that the caller can check the request before it rotates the token.
	// A token that was already rotated makes Get revoke its family and
	// return ErrReused with the token's record, whose FamilyID lets the
	// caller revoke the access tokens of the family too. An unknown or revoked token returns ErrNotFound,
	// and an expired one ErrExpired.
	Get(ctx context.Context, hash Hash, now time.Time) (RefreshToken, error)
	// Rotate marks the token with hash old as used and stores next, in
	// one step, and returns the old record. It fails like Get when old
	// cannot be used, including with ErrReused when a concurrent request
	// rotated it first. next must carry the old token's FamilyID, and its
	// IssuedAt is taken as the current time.
	Rotate(ctx context.Context, old Hash, next RefreshToken) (RefreshToken, error)
	// RevokeFamily removes every token of the family, used or not.
	// Revoking an unknown family is not an error.
	RevokeFamily(ctx context.Context, familyID string) error
}

// Revocation records a revoked access token by its "jti" claim.
type Revocation struct {
	// Cursor orders revocations. The store assigns it, and each new
	// revocation gets a larger one than every earlier revocation.
	Cursor uint64
	// JTI is the "jti" claim of the revoked access token.
	JTI string
	// RevokedAt is when the token was revoked.
	RevokedAt time.Time
	// ExpiresAt is the token's own "exp". The store drops the record
	// after it, because the token no longer validates anyway.
	ExpiresAt time.Time
}

// SubjectRevocation is the merged record of a subject's revocations.
type SubjectRevocation struct {
	// RevokedAt is the time of the latest revocation. The record covers the
	// access tokens issued at or before it.
	RevokedAt time.Time
	// ExpiresAt is the latest expiry of the revocations. The store drops
	// the record after it.
	ExpiresAt time.Time
}

// Merge returns the record of r and other together: the later RevokedAt
// and the later ExpiresAt.
func (r SubjectRevocation) Merge(other SubjectRevocation) SubjectRevocation {
	if other.RevokedAt.After(r.RevokedAt) {
		r.RevokedAt = other.RevokedAt
	}
	if other.ExpiresAt.After(r.ExpiresAt) {
		r.ExpiresAt = other.ExpiresAt
	}
	return r
}

// Covers reports whether r, at now, revokes an access token issued at
// issuedAt: r has not expired and was recorded at or after issuedAt.
func (r SubjectRevocation) Covers(issuedAt, now time.Time) bool {
	return now.Before(r.ExpiresAt) && !r.RevokedAt.Before(issuedAt)
}

// RevocationStore keeps revoked access tokens until they expire, so that
// a feed can pass them on to the token checks.
type RevocationStore interface {
	// RevokeAccessToken records the jti as revoked at now until
	// expiresAt. Revoking a jti again keeps the first record. A token
	// that expired already is not recorded, because it fails validation
	// anyway.
	RevokeAccessToken(ctx context.Context, jti string, expiresAt, now time.Time) error
	// AccessTokenRevoked reports whether a revocation of jti is stored
	// and not yet expired at now.
	AccessTokenRevoked(ctx context.Context, jti string, now time.Time) (bool, error)
	// ListRevocations returns at most limit unexpired revocations with a
	// Cursor greater than after, in Cursor order. A reader passes the last
	// Cursor it received to get only newer records, and 0 to start.
	ListRevocations(ctx context.Context, after uint64, now time.Time, limit int) ([]Revocation, error)
}

// SubjectRevocationStore keeps the revocations of all access tokens of a
// subject, so that introspection can find them by subject and a feed can
// pass them on. An access token of the subject is revoked when it was
// issued at or before the revocation.
//
// A store keeps one merged record per subject: the latest revocation time
// and the latest expiry of its revocations. The ext_authz deny list merges
// a subject's feed entries the same way, so both reach the same decision.
type SubjectRevocationStore interface {
	// RevokeSubjectAccessTokens records that the access tokens subject
	// received up to now are revoked until expiresAt. In one step it adds
	// a Revocation under SubjectRevocationKey(subject, now) for the feed
	// and merges the subject's record. When that key is already recorded,
	// because the subject was revoked in the same second, it changes
	// nothing. A revocation that expired already is not recorded.
	RevokeSubjectAccessTokens(ctx context.Context, subject string, expiresAt, now time.Time) error
	// SubjectRevokedSince reports whether subject has a revocation
	// recorded at or after since that has not expired at now. An access
	// token is revoked when this holds for since set to its "iat".
	SubjectRevokedSince(ctx context.Context, subject string, since, now time.Time) (bool, error)
}

// FailureCounter counts failed logins per key, such as a username or a
// client address, in fixed windows. A window starts at the first failure
// after the previous window ended, and its count is dropped when it ends.
type FailureCounter interface {
	// RecordFailure adds one failure for key at now and returns the count
	// of the current window, this failure included. A new window lasts
	// window.
	RecordFailure(ctx context.Context, key string, window time.Duration, now time.Time) (int, error)
	// Failures returns the count of key's window at now, or 0 when the
	// window has ended or none started.
	Failures(ctx context.Context, key string, now time.Time) (int, error)
	// ResetFailures drops key's count, for example after a successful
	// login.
	ResetFailures(ctx context.Context, key string) error
}

// Store is all the state of the token lifecycle: refresh tokens,
// access-token revocations of tokens, logins and subjects, and
// login-failure counters. Memory, bolt.Store and redis.Store implement it.
// Implementations are safe for concurrent use, and each method is atomic.
type Store interface {
	RefreshStore
	RevocationStore
	SubjectRevocationStore
	FailureCounter
	// RevokeSubject revokes every refresh token family of the subject,
	// for example when the user logs out everywhere or is disabled.
	// Families that start while it runs may survive.
	RevokeSubject(ctx context.Context, subject string) error
}
