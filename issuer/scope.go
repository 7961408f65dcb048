package issuer

import (
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/scope"
)

// resolveScope returns the scope to grant for the request's scope parameter.
// An empty request grants all of allowed. Otherwise every requested token
// must be in allowed, or the request fails with invalid_scope (RFC 6749
// §3.3 and §5.2).
func resolveScope(requested string, allowed []string) ([]string, *tokenError) {
	if requested == "" {
		return slices.Clone(allowed), nil
	}
	scopes, err := scope.Parse(requested)
	if err != nil {
		return nil, errInvalidScope("scope is malformed")
	}
	if missing := scope.Missing(scopes, allowed); len(missing) > 0 {
		// A scope token contains only characters that error_description
		// allows, so it can be named.
		return nil, errInvalidScope("scope " + missing[0] + " is not allowed")
	}
	return scopes, nil
}

// intersectScopes returns the tokens of a that are also in b, in the order
// of a.
func intersectScopes(a, b []string) []string {
	var out []string
	for _, s := range a {
		if scope.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}
