package extauthz

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/internal/accesstoken"
	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/internal/scope"
)

// denyError carries a deny reason through the jwt key function.
type denyError reason

func (e denyError) Error() string { return reason(e).info().description }

// supportedAlgorithms are the only JWS algorithms a token may name. The key
// still decides: a token verifies only with the algorithm of its key.
var supportedAlgorithms = []string{string(jose.ES256), string(jose.RS256), string(jose.EdDSA)}

// forbiddenHeaders are JWS header parameters that would let a token choose
// its own key (jku, jwk, x5u, x5c) or demand extensions this verifier does
// not implement (crit, RFC 7515 §4.1.11).
var forbiddenHeaders = []string{"jku", "jwk", "x5u", "x5c", "crit"}

func newParser(leeway time.Duration, now func() time.Time) *jwt.Parser {
	return jwt.NewParser(
		jwt.WithValidMethods(supportedAlgorithms),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(now),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
	)
}

// hashToken returns the SHA-256 of a token, the key of the token cache.
func hashToken(token string) [sha256.Size]byte {
	// Hashing the string's bytes in place avoids copying the token.
	// sha256.Sum256 only reads its argument and keeps no reference to it.
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
}

// authenticate returns the verified token for a bearer token, from the
// cache when possible.
func (s *Server) authenticate(ctx context.Context, token string) (*verifiedToken, reason) {
	if len(token) > s.maxTokenBytes {
		return nil, reasonTokenTooLarge
	}
	sum := hashToken(token)
	now := s.now()
	if vt := s.cache.get(&sum, now.UnixNano()); vt != nil {
		return checkRevoked(vt, now.Unix())
	}
	vt, r := s.verify(ctx, token)
	if vt == nil {
		return nil, r
	}
	s.cache.put(&sum, vt, now.UnixNano())
	return checkRevoked(vt, now.Unix())
}

// keyPicker is the jwt key function of one verification. It records the
// issuer and key it chose.
type keyPicker struct {
	ctx    context.Context
	s      *Server
	issuer *issuerKeys
	key    *verifyKey
}

func (p *keyPicker) keyFor(t *jwt.Token) (any, error) {
	if r, ok := checkHeader(t.Header); !ok {
		return nil, denyError(r)
	}
	claims, _ := t.Claims.(*accesstoken.Claims)
	p.issuer = p.s.issuers[claims.Issuer]
	if p.issuer == nil {
		return nil, denyError(reasonUntrustedIssuer)
	}
	kid, _ := t.Header["kid"].(string)
	key, loaded := p.issuer.lookup(kid)
	if !loaded {
		return nil, denyError(reasonKeysUnavailable)
	}
	if key == nil && kid != "" {
		key = p.issuer.refetchForKid(p.ctx, kid)
	}
	if key == nil {
		return nil, denyError(reasonUnknownKey)
	}
	if t.Method.Alg() != string(key.Algorithm) {
		return nil, denyError(reasonAlgorithmMismatch)
	}
	p.key = key
	return key.Key, nil
}

// checkHeader checks the JOSE header parameters that do not depend on the key.
func checkHeader(h map[string]any) (reason, bool) {
	for _, name := range forbiddenHeaders {
		if _, ok := h[name]; ok {
			return reasonForbiddenHeader, false
		}
	}
	typ, _ := h["typ"].(string)
	if !strings.EqualFold(typ, accesstoken.Type) && !strings.EqualFold(typ, accesstoken.MediaType) {
		return reasonInvalidType, false
	}
	return 0, true
}

// verify parses and validates a token that is not in the cache.
func (s *Server) verify(ctx context.Context, token string) (*verifiedToken, reason) {
	claims := &accesstoken.Claims{}
	picker := &keyPicker{ctx: ctx, s: s}
	parsed, err := s.parser.ParseWithClaims(token, claims, picker.keyFor)
	if err != nil {
		return nil, parseErrorReason(err, parsed)
	}
	if r, ok := checkClaims(claims, picker.issuer); !ok {
		return nil, r
	}
	scopes, err := scope.Parse(claims.Scope)
	if err != nil {
		return nil, reasonInvalidClaim
	}
	vt := s.newVerifiedToken(claims, scopes, picker.key)
	vt.deny = picker.issuer.deny
	return vt, reasonAllowToken
}

// parseErrorReason maps a jwt parse error to a deny reason.
func parseErrorReason(err error, t *jwt.Token) reason {
	var de denyError
	switch {
	case errors.As(err, &de):
		return reason(de)
	case errors.Is(err, jwt.ErrTokenMalformed):
		return reasonMalformedToken
	case t != nil && !algorithmSupported(t.Header["alg"]):
		return reasonUnsupportedAlgorithm
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return reasonInvalidSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return reasonExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return reasonNotYetValid
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return reasonIssuedInFuture
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return reasonMissingClaim
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		return reasonInvalidClaim
	}
	return reasonMalformedToken
}

func algorithmSupported(alg any) bool {
	s, ok := alg.(string)
	for _, a := range supportedAlgorithms {
		if ok && s == a {
			return true
		}
	}
	return false
}

// checkClaims applies the RFC 9068 §4 checks that jwt.Parser does not: the
// required claims and the issuer's audiences. It also rejects values that
// cannot travel in an HTTP header.
func checkClaims(c *accesstoken.Claims, iss *issuerKeys) (reason, bool) {
	if c.Subject == "" || c.ClientID == "" || c.IssuedAt == nil {
		return reasonMissingClaim, false
	}
	if !anyAudience(c.Audience, iss.audiences) {
		return reasonInvalidAudience, false
	}
	if !headerSafe(c.Subject) || !headerSafe(c.ClientID) || !headerSafe(c.PreferredUsername) {
		return reasonInvalidClaim, false
	}
	return 0, true
}

// anyAudience reports whether have and want share a value.
func anyAudience(have, want []string) bool {
	for _, a := range have {
		for _, w := range want {
			if a == w {
				return true
			}
		}
	}
	return false
}

// headerSafe reports whether s can be an HTTP field value as it is: no
// control characters (RFC 9110 §5.5), so a claim cannot inject a header.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// checkRevoked denies a verified token that its issuer revoked. It runs on
// cache hits too, because a revocation can arrive after verification.
func checkRevoked(vt *verifiedToken, now int64) (*verifiedToken, reason) {
	if vt.deny != nil && vt.deny.denied(vt, now) {
		return nil, reasonRevoked
	}
	return vt, reasonAllowToken
}
