package issuer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/internal/accesstoken"
	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

// Errors of parseAccessToken besides those of golang-jwt.
var (
	errUnknownKey     = errors.New("token is not signed with a published key of the issuer")
	errWrongAlgorithm = errors.New("token algorithm is not the one of its key")
	errNotAccessToken = errors.New("token type is not " + accesstoken.Type)
	errMissingJTI     = errors.New("token has no jti")
)

// newAccessTokenParser returns a parser that accepts only tokens this issuer
// signed: an algorithm the issuer signs with, the issuer's "iss" and a
// required "exp", checked against cfg.Now with no leeway, because the
// issuer compares its own clock with itself. golang-jwt also checks "nbf"
// and "iat" when present. The key function of parseAccessToken then
// requires the algorithm of the key that "kid" names.
func newAccessTokenParser(cfg Config) *jwt.Parser {
	return jwt.NewParser(
		jwt.WithValidMethods([]string{string(jose.ES256), string(jose.RS256), string(jose.EdDSA)}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(cfg.Now),
	)
}

// looksLikeJWT reports whether raw has the three dot-separated parts of a
// compact JWS. Refresh tokens are unpadded base64url, which has no dot, so
// the two kinds of token cannot be confused.
func looksLikeJWT(raw string) bool {
	return strings.Count(raw, ".") == 2
}

// parseAccessToken verifies an access token that this issuer signed and
// returns its claims. It fails for a token whose "kid" names no published
// key or whose algorithm is not that key's, of another "typ", without
// "jti", or that golang-jwt rejects, such as an expired one. Every
// published key verifies: the next key, the active one and the retiring
// ones, so tokens signed before a rotation stay valid until they expire.
func (s *Server) parseAccessToken(raw string) (*accesstoken.Claims, error) {
	keys := s.keys.SigningKeys()
	claims := &accesstoken.Claims{}
	token, err := s.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		if keys == nil {
			return nil, errUnknownKey
		}
		kid, _ := t.Header["kid"].(string)
		key, ok := keys.verificationKey(kid)
		if !ok {
			return nil, errUnknownKey
		}
		if t.Method.Alg() != string(key.Algorithm) {
			return nil, errWrongAlgorithm
		}
		return key.Key, nil
	})
	if err != nil {
		return nil, fmt.Errorf("parse access token: %w", err)
	}
	if typ, _ := token.Header["typ"].(string); typ != accesstoken.Type {
		return nil, errNotAccessToken
	}
	if claims.ID == "" {
		return nil, errMissingJTI
	}
	return claims, nil
}
