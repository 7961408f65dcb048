package extauthz

import (
	"net/http"

	"google.golang.org/grpc/codes"
)

// reason is the cause of a decision. Each reason has a fixed metric label,
// HTTP status and RFC 6750 error, so the set of metric series is bounded and
// the deny responses can be built once.
type reason uint8

const (
	reasonAllowToken reason = iota
	reasonAllowAnonymous
	reasonMissingToken
	reasonMalformedHeader
	reasonMultipleCredentials
	reasonTokenTooLarge
	reasonMalformedToken
	reasonUnsupportedAlgorithm
	reasonAlgorithmMismatch
	reasonForbiddenHeader
	reasonInvalidType
	reasonUntrustedIssuer
	reasonUnknownKey
	reasonInvalidSignature
	reasonExpired
	reasonRevoked
	reasonNotYetValid
	reasonIssuedInFuture
	reasonMissingClaim
	reasonInvalidClaim
	reasonInvalidAudience
	reasonInsufficientScope
	reasonKeysUnavailable
	reasonHeadersTooLarge
	reasonInternal
	reasonCount
)

// RFC 6750 §3.1 error codes.
const (
	errorInvalidRequest    = "invalid_request"
	errorInvalidToken      = "invalid_token"
	errorInsufficientScope = "insufficient_scope"
)

// reasonInfo describes a reason. description is the error_description of
// the challenge: short, fixed, and free of anything from the request.
type reasonInfo struct {
	label       string
	status      int
	errorCode   string
	description string
}

var reasons = [reasonCount]reasonInfo{
	reasonAllowToken:           {"token", http.StatusOK, "", ""},
	reasonAllowAnonymous:       {"anonymous", http.StatusOK, "", ""},
	reasonMissingToken:         {"missing_token", http.StatusUnauthorized, "", ""},
	reasonMalformedHeader:      {"malformed_header", http.StatusBadRequest, errorInvalidRequest, "malformed Authorization header"},
	reasonMultipleCredentials:  {"multiple_credentials", http.StatusBadRequest, errorInvalidRequest, "more than one credential"},
	reasonTokenTooLarge:        {"token_too_large", http.StatusUnauthorized, errorInvalidToken, "token too large"},
	reasonMalformedToken:       {"malformed_token", http.StatusUnauthorized, errorInvalidToken, "malformed token"},
	reasonUnsupportedAlgorithm: {"unsupported_algorithm", http.StatusUnauthorized, errorInvalidToken, "unsupported algorithm"},
	reasonAlgorithmMismatch:    {"algorithm_mismatch", http.StatusUnauthorized, errorInvalidToken, "algorithm does not match the key"},
	reasonForbiddenHeader:      {"forbidden_header", http.StatusUnauthorized, errorInvalidToken, "forbidden header parameter"},
	reasonInvalidType:          {"invalid_type", http.StatusUnauthorized, errorInvalidToken, "token type is not at+jwt"},
	reasonUntrustedIssuer:      {"untrusted_issuer", http.StatusUnauthorized, errorInvalidToken, "untrusted issuer"},
	reasonUnknownKey:           {"unknown_key", http.StatusUnauthorized, errorInvalidToken, "unknown signing key"},
	reasonInvalidSignature:     {"invalid_signature", http.StatusUnauthorized, errorInvalidToken, "invalid signature"},
	reasonExpired:              {"expired", http.StatusUnauthorized, errorInvalidToken, "token expired"},
	reasonRevoked:              {"revoked", http.StatusUnauthorized, errorInvalidToken, "token revoked"},
	reasonNotYetValid:          {"not_yet_valid", http.StatusUnauthorized, errorInvalidToken, "token not yet valid"},
	reasonIssuedInFuture:       {"issued_in_future", http.StatusUnauthorized, errorInvalidToken, "token issued in the future"},
	reasonMissingClaim:         {"missing_claim", http.StatusUnauthorized, errorInvalidToken, "missing required claim"},
	reasonInvalidClaim:         {"invalid_claim", http.StatusUnauthorized, errorInvalidToken, "invalid claim"},
	reasonInvalidAudience:      {"invalid_audience", http.StatusUnauthorized, errorInvalidToken, "invalid audience"},
	reasonInsufficientScope:    {"insufficient_scope", http.StatusForbidden, errorInsufficientScope, "missing required scope"},
	reasonKeysUnavailable:      {"keys_unavailable", http.StatusServiceUnavailable, "", ""},
	reasonHeadersTooLarge:      {"headers_too_large", http.StatusRequestHeaderFieldsTooLarge, "", ""},
	reasonInternal:             {"internal_error", http.StatusInternalServerError, "", ""},
}

func (r reason) allowed() bool { return r == reasonAllowToken || r == reasonAllowAnonymous }

func (r reason) info() reasonInfo { return reasons[r] }

// grpcCode is the CheckResponse status code of a decision. Envoy denies on
// any code other than OK, so the code only shows a reader of Envoy's logs
// what kind of denial it was.
func (r reason) grpcCode() codes.Code {
	switch r.info().status {
	case http.StatusOK:
		return codes.OK
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	}
	return codes.PermissionDenied
}

// hasChallenge reports whether the denial carries WWW-Authenticate. RFC 6750
// §3 defines the challenge for 400, 401 and 403, and a 5xx is not an
// authentication failure, so the client gets no challenge.
func (r reason) hasChallenge() bool {
	switch r.info().status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
		return true
	}
	return false
}
