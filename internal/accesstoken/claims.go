// Package accesstoken defines the JWT access token that the issuer signs and
// the ext_authz server verifies: the RFC 9068 profile, with the user's name,
// email and groups added for the password grant.
package accesstoken

import "github.com/golang-jwt/jwt/v5"

// Type is the "typ" header of an RFC 9068 access token.
const Type = "at+jwt"

// MediaType is the long form of Type that RFC 9068 §2.1 also allows.
const MediaType = "application/at+jwt"

// Claims is the payload of a Gatehouse access token.
//
// The registered claims iss, sub, aud, exp, iat and jti are always set;
// client_id and scope too (scope empty when the client asked for none).
// PreferredUsername, Email and Groups come from the user store for the
// password and refresh_token grants and are empty for client_credentials.
type Claims struct {
	jwt.RegisteredClaims
	ClientID string `json:"client_id"`
	// SessionID names the login (the refresh token family) that the token
	// came from, so that revoking the family can revoke its access tokens.
	// It is empty for client_credentials.
	SessionID         string   `json:"sid,omitempty"`
	Scope             string   `json:"scope,omitempty"`
	AuthTime          int64    `json:"auth_time,omitempty"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	Email             string   `json:"email,omitempty"`
	Groups            []string `json:"groups,omitempty"`
}
