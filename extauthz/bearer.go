package extauthz

import "strings"

// credentialResult classifies the Authorization header of a request.
type credentialResult uint8

const (
	// credentialBearer is one well-formed Bearer credential.
	credentialBearer credentialResult = iota
	// credentialNone is a request with no Authorization header, or one with
	// another scheme. RFC 6750 §3.1 challenges it without an error code.
	credentialNone
	// credentialMalformed is a Bearer credential that breaks the RFC 6750
	// §2.1 syntax, or an empty header.
	credentialMalformed
	// credentialMultiple is two Authorization headers, or one header value
	// that joins two credentials with a comma (as Envoy joins repeated
	// headers).
	credentialMultiple
)

// parseAuthorization extracts the bearer token from the value of the only
// Authorization header. count is the number of Authorization headers the
// request carried. The token is a substring of value, so nothing is copied.
func parseAuthorization(value string, count int) (string, credentialResult) {
	if count == 0 {
		return "", credentialNone
	}
	if count > 1 {
		return "", credentialMultiple
	}
	value = strings.Trim(value, " \t")
	scheme, rest, _ := strings.Cut(value, " ")
	if !validHeaderName(scheme) {
		// The auth-scheme is an RFC 9110 token, like a field name.
		return "", credentialMalformed
	}
	if !strings.EqualFold(scheme, "bearer") {
		return "", classifyOtherScheme(value)
	}
	token := strings.TrimLeft(rest, " ")
	if strings.IndexByte(token, ',') >= 0 {
		return "", credentialMultiple
	}
	if !isB64Token(token) {
		return "", credentialMalformed
	}
	return token, credentialBearer
}

// classifyOtherScheme looks at a header whose first scheme is not Bearer. A
// Bearer credential joined after a comma ("Basic x, Bearer y") is a second
// credential. Anything else carries no bearer token.
func classifyOtherScheme(value string) credentialResult {
	_, rest, found := strings.Cut(value, ",")
	for found {
		var part string
		part, rest, found = strings.Cut(rest, ",")
		scheme, _, _ := strings.Cut(strings.TrimLeft(part, " \t"), " ")
		if strings.EqualFold(scheme, "bearer") {
			return credentialMultiple
		}
	}
	return credentialNone
}

// isB64Token reports whether s matches RFC 6750 §2.1:
//
//	b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
func isB64Token(s string) bool {
	end := len(s)
	for end > 0 && s[end-1] == '=' {
		end--
	}
	if end == 0 {
		return false
	}
	for i := 0; i < end; i++ {
		if !b64TokenChars[s[i]] {
			return false
		}
	}
	return true
}

// b64TokenChars marks the bytes allowed before the "=" padding of a
// b64token. A table lookup keeps the scan of a long token cheap.
var b64TokenChars = func() (table [256]bool) {
	for c := range 256 {
		b := byte(c)
		table[c] = b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' ||
			b == '-' || b == '.' || b == '_' || b == '~' || b == '+' || b == '/'
	}
	return table
}()
