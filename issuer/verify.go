package issuer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/internal/accesstoken"
)

// Errors of parseAccessToken besides those of golang-jwt.
var (
	errUnknownKey     = errors.New("token is not signed with the issuer's key")
	errNotAccessToken = errors.New("token type is not " + accesstoken.Type)
	errMissingJTI     = errors.New("token has no jti")
)

// newAccessTokenParser returns a parser that accepts only tokens this issuer
// signed: the signing key's algorithm, the issuer's "iss" and a required
// "exp", checked against cfg.Now with no leeway, because the issuer
// compares its own clock with itself. golang-jwt also checks "nbf" and
// "iat" when present.
func newAccessTokenParser(cfg Config) *jwt.Parser {
	return jwt.NewParser(
		jwt.WithValidMethods([]string{string(cfg.Signer.Algorithm)}),
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
// returns its claims. It fails for a token signed by another key, of
// another "typ", without "jti", or that golang-jwt rejects, such as an
// expired one.
func (s *Server) parseAccessToken(raw string) (*accesstoken.Claims, error) {
	key := s.cfg.Signer.Public()
	claims := &accesstoken.Claims{}
	token, err := s.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		// NOTE: only the current signing key verifies, so tokens signed
		// before a key change are inactive at once.
		if kid, _ := t.Header["kid"].(string); kid != key.ID {
			return nil, errUnknownKey
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
