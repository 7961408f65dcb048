package issuer

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
)

// OAuth 2.0 error codes of the token endpoint (RFC 6749 §5.2), plus
// server_error for a failure on the issuer's side.
const (
	codeInvalidRequest         = "invalid_request"
	codeInvalidClient          = "invalid_client"
	codeInvalidGrant           = "invalid_grant"
	codeUnauthorizedClient     = "unauthorized_client"
	codeUnsupportedGrantType   = "unsupported_grant_type"
	codeInvalidScope           = "invalid_scope"
	codeServerError            = "server_error"
	codeTemporarilyUnavailable = "temporarily_unavailable"
)

// tokenError describes a failed token request. It contains the OAuth 2.0
// error sent to the client and the detail that is only logged.
type tokenError struct {
	// code is the "error" member.
	code string
	// description is the "error_description" member. It must contain only
	// the characters RFC 6749 §5.2 allows (%x20-21 / %x23-5B / %x5D-7E),
	// and never a secret, password or token.
	description string
	// status is the HTTP status code.
	status int
	// basicChallenge adds WWW-Authenticate: Basic, for a client that
	// authenticated with an Authorization header (RFC 6749 §5.2).
	basicChallenge bool
	// reason is logged and never sent to the client.
	reason string
	// cause is a store or user store failure, logged only.
	cause error
}

func (e *tokenError) Error() string {
	return e.code + ": " + e.reason
}

func errInvalidRequest(description string) *tokenError {
	return &tokenError{code: codeInvalidRequest, description: description, status: http.StatusBadRequest, reason: description}
}

// errInvalidClient is a failed client authentication. The description is
// the same for every cause, which goes to reason.
func errInvalidClient(reason string, usedBasic bool) *tokenError {
	return &tokenError{
		code:           codeInvalidClient,
		description:    "client authentication failed",
		status:         http.StatusUnauthorized,
		basicChallenge: usedBasic,
		reason:         reason,
	}
}

func errInvalidGrant(description, reason string) *tokenError {
	return &tokenError{code: codeInvalidGrant, description: description, status: http.StatusBadRequest, reason: reason}
}

func errInvalidScope(description string) *tokenError {
	return &tokenError{code: codeInvalidScope, description: description, status: http.StatusBadRequest, reason: description}
}

func errUnauthorizedClient(description string) *tokenError {
	return &tokenError{code: codeUnauthorizedClient, description: description, status: http.StatusBadRequest, reason: description}
}

func errUnsupportedGrantType() *tokenError {
	const description = "grant_type is not supported"
	return &tokenError{code: codeUnsupportedGrantType, description: description, status: http.StatusBadRequest, reason: description}
}

func errServer(reason string, cause error) *tokenError {
	return &tokenError{code: codeServerError, description: "internal error", status: http.StatusInternalServerError, reason: reason, cause: cause}
}

// errMethodNotAllowed rejects a method other than POST at the endpoint
// named by endpoint, such as "token".
func errMethodNotAllowed(endpoint string) *tokenError {
	description := "the " + endpoint + " endpoint accepts POST only"
	return &tokenError{code: codeInvalidRequest, description: description, status: http.StatusMethodNotAllowed, reason: description}
}

// errUnavailable is a store failure at the revocation endpoint. RFC 7009
// §2.2.1 defines 503 to mean that the token still exists and the client
// may retry later.
func errUnavailable(reason string, cause error) *tokenError {
	return &tokenError{code: codeServerError, description: "internal error", status: http.StatusServiceUnavailable, reason: reason, cause: cause}
}

// errDirectoryUnavailable reports a user store that cannot be reached, such
// as an LDAP server that is down. The request may succeed later, so it gets
// 503 with "temporarily_unavailable" (RFC 6749 §4.1.2.1), never a token.
func errDirectoryUnavailable(cause error) *tokenError {
	return &tokenError{
		code:        codeTemporarilyUnavailable,
		description: "the user directory is unavailable, try again later",
		status:      http.StatusServiceUnavailable,
		reason:      "user store unavailable",
		cause:       cause,
	}
}

// errStore maps a failed store call: 503 temporarily_unavailable when the
// store cannot be reached, so clients retry, and 500 otherwise.
func errStore(reason string, err error) *tokenError {
	if errors.Is(err, store.ErrUnavailable) {
		return &tokenError{
			code:        codeTemporarilyUnavailable,
			description: "the token store is unavailable, try again later",
			status:      http.StatusServiceUnavailable,
			reason:      reason,
			cause:       err,
		}
	}
	return errServer(reason, err)
}

// retryAfterSeconds is the Retry-After of a 503: long enough for a
// directory or store to come back from a restart, short for a client.
const retryAfterSeconds = "5"

// errorBody is the JSON error response of RFC 6749 §5.2.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// writeTokenError sends e as the token endpoint's JSON error response.
func (s *Server) writeTokenError(w http.ResponseWriter, e *tokenError) {
	h := w.Header()
	setTokenHeaders(h)
	if e.basicChallenge {
		h.Set("WWW-Authenticate", s.basicChallenge)
	}
	if e.status == http.StatusMethodNotAllowed {
		h.Set("Allow", http.MethodPost)
	}
	if e.status == http.StatusServiceUnavailable {
		h.Set("Retry-After", retryAfterSeconds)
	}
	body, _ := json.Marshal(errorBody{Error: e.code, Description: e.description})
	w.WriteHeader(e.status)
	w.Write(body)
}

// setTokenHeaders sets the headers of every token endpoint response. RFC
// 6749 §5.1 requires that no cache stores them.
func setTokenHeaders(h http.Header) {
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}
