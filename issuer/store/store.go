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
	// ExpiresAt ends the token's validity.
	ExpiresAt time.Time
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
	// return ErrReused. An unknown or revoked token returns ErrNotFound,
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
