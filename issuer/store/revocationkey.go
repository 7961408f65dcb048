package store

import (
	"strconv"
	"strings"
	"time"
)

// A RevocationStore keeps each revocation under one string key. An access
// token's "jti" is the key as it is: the issuer's jti values are base64url
// and never hold a colon. A whole login or a whole subject is revoked under
// a key with a prefix, so that the stores stay unaware of the kinds.
const (
	sessionKeyPrefix = "sid:"
	subjectKeyPrefix = "sub:"
)

// RevocationKind is the set of access tokens that a revocation covers.
type RevocationKind int

// The kinds of revocation keys.
const (
	// RevokedToken covers the access token with that "jti".
	RevokedToken RevocationKind = iota
	// RevokedSession covers the access tokens whose "sid" claim names the
	// refresh token family.
	RevokedSession
	// RevokedSubject covers the access tokens of the subject issued at or
	// before the revocation.
	RevokedSubject
)

// SessionRevocationKey returns the key that revokes the access tokens of a
// refresh token family.
func SessionRevocationKey(familyID string) string { return sessionKeyPrefix + familyID }

// SubjectRevocationKey returns the key that revokes the access tokens that
// subject received up to at. The time is part of the key, because a store
// keeps the first record of a key and a later revocation must not be lost.
func SubjectRevocationKey(subject string, at time.Time) string {
	return subjectKeyPrefix + strconv.FormatInt(at.Unix(), 10) + ":" + subject
}

// ParseRevocationKey returns the kind of key and what it names: a jti, a
// family ID or a subject.
func ParseRevocationKey(key string) (RevocationKind, string) {
	if rest, ok := strings.CutPrefix(key, sessionKeyPrefix); ok {
		return RevokedSession, rest
	}
	if rest, ok := strings.CutPrefix(key, subjectKeyPrefix); ok {
		if _, subject, ok := strings.Cut(rest, ":"); ok {
			return RevokedSubject, subject
		}
	}
	return RevokedToken, key
}
