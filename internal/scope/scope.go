// Package scope parses and compares OAuth 2.0 scope values (RFC 6749 §3.3),
// which the issuer reads from token requests and the ext_authz server reads
// from the "scope" claim of access tokens.
package scope

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid reports a scope string that breaks the RFC 6749 §3.3 syntax.
var ErrInvalid = errors.New("invalid scope")

// Parse splits a space-delimited scope string into its tokens, in order and
// without duplicates. Each token must be one or more of the characters
// %x21 / %x23-5B / %x5D-7E, and tokens are separated by single spaces.
// An empty string yields an empty set.
func Parse(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, " ")
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if !Valid(p) {
			return nil, fmt.Errorf("%w: %q", ErrInvalid, p)
		}
		if !Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// Valid reports whether token is a single scope-token of RFC 6749 §3.3.
func Valid(token string) bool {
	if token == "" {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Contains reports whether set has token.
func Contains(set []string, token string) bool {
	for _, s := range set {
		if s == token {
			return true
		}
	}
	return false
}

// Subset reports whether every token of sub is in set.
func Subset(sub, set []string) bool {
	for _, s := range sub {
		if !Contains(set, s) {
			return false
		}
	}
	return true
}

// Missing returns the tokens of required that have is missing, in order.
func Missing(required, have []string) []string {
	var missing []string
	for _, r := range required {
		if !Contains(have, r) {
			missing = append(missing, r)
		}
	}
	return missing
}

// Join is the inverse of Parse.
func Join(set []string) string {
	return strings.Join(set, " ")
}
