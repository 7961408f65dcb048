package issuer

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/internal/accesstoken"
	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
)

// tokenSigner signs access tokens with one key.
type tokenSigner struct {
	key    *jose.SigningKey
	method jwt.SigningMethod
}

// newTokenSigner binds key to the golang-jwt signing method of its
// algorithm. golang-jwt needs the concrete key types that jose.GenerateKey
// and jose.ParsePrivateKeyPEM produce, so other crypto.Signers fail here.
func newTokenSigner(key *jose.SigningKey) (*tokenSigner, error) {
	var (
		method jwt.SigningMethod
		ok     bool
	)
	switch key.Algorithm {
	case jose.ES256:
		method = jwt.SigningMethodES256
		_, ok = key.Signer.(*ecdsa.PrivateKey)
	case jose.RS256:
		method = jwt.SigningMethodRS256
		_, ok = key.Signer.(*rsa.PrivateKey)
	case jose.EdDSA:
		method = jwt.SigningMethodEdDSA
		_, ok = key.Signer.(ed25519.PrivateKey)
	default:
		return nil, fmt.Errorf("signing key: %w: %q", jose.ErrUnsupportedAlgorithm, key.Algorithm)
	}
	if !ok {
		return nil, fmt.Errorf("signing key: %T cannot sign %s", key.Signer, key.Algorithm)
	}
	if key.ID == "" {
		return nil, fmt.Errorf("signing key: missing key ID")
	}
	return &tokenSigner{key: key, method: method}, nil
}

// sign returns the compact JWS of claims, with the RFC 9068 "typ" header
// and the key's "kid".
func (s *tokenSigner) sign(claims *accesstoken.Claims) (string, error) {
	token := jwt.NewWithClaims(s.method, claims)
	token.Header["typ"] = accesstoken.Type
	token.Header["kid"] = s.key.ID
	signed, err := token.SignedString(s.key.Signer)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return signed, nil
}

// accessTokenSubject is who an access token is about.
type accessTokenSubject struct {
	// subject is the "sub" claim: the user's subject, or the client ID for
	// client_credentials.
	subject  string
	username string
	email    string
	groups   []string
	// authTime is when the user entered their password. Zero for
	// client_credentials.
	authTime time.Time
	// sessionID is the refresh token family, the "sid" claim. Empty when
	// the token starts no family.
	sessionID string
}

// newClaims builds the claims of an access token issued at now.
func (s *Server) newClaims(client clients.Client, who accessTokenSubject, scopes string, now time.Time, ttl time.Duration) (*accesstoken.Claims, error) {
	jti, err := randomString(jtiBytes)
	if err != nil {
		return nil, err
	}
	issued := jwt.NewNumericDate(now)
	claims := &accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.cfg.Issuer,
			Subject:   who.subject,
			Audience:  jwt.ClaimStrings(client.Audiences),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			NotBefore: issued,
			IssuedAt:  issued,
			ID:        jti,
		},
		ClientID:          client.ID,
		Scope:             scopes,
		SessionID:         who.sessionID,
		PreferredUsername: who.username,
		Email:             who.email,
		Groups:            who.groups,
	}
	if !who.authTime.IsZero() {
		claims.AuthTime = who.authTime.Unix()
	}
	return claims, nil
}
