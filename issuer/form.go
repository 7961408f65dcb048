package issuer

import (
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// MaxTokenRequestBytes is the largest token request body accepted. A
// request carries a handful of short parameters, so 64 KiB leaves a wide
// margin while bounding the memory one request can take.
const MaxTokenRequestBytes = 64 << 10

// formMediaType is the only Content-Type the token endpoint accepts
// (RFC 6749 §3.2).
const formMediaType = "application/x-www-form-urlencoded"

// knownParameters are the token request parameters that an error
// description may name. Other names come from the client and are not
// echoed.
var knownParameters = []string{
	"grant_type", "client_id", "client_secret", "scope", "username", "password", "refresh_token",
	"token", "token_type_hint",
}

// tokenForm is the parsed body of a token, introspection or revocation
// request: one value per parameter, with empty parameters left out as
// RFC 6749 §3.2 requires.
type tokenForm map[string]string

// parseTokenForm reads the parameters of a token request from its body.
// The query string is ignored, because credentials in a URL end up in
// access logs.
func parseTokenForm(r *http.Request) (tokenForm, *tokenError) {
	if err := checkFormContentType(r.Header.Values("Content-Type")); err != nil {
		return nil, err
	}
	if r.ContentLength > MaxTokenRequestBytes {
		return nil, errBodyTooLarge()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxTokenRequestBytes+1))
	if err != nil {
		return nil, errInvalidRequest("failed to read the request body")
	}
	if len(body) > MaxTokenRequestBytes {
		return nil, errBodyTooLarge()
	}
	return parseFormBody(string(body))
}

func errBodyTooLarge() *tokenError {
	return errInvalidRequest("request body is larger than " + strconv.Itoa(MaxTokenRequestBytes) + " bytes")
}

// checkFormContentType accepts application/x-www-form-urlencoded with any
// parameters. A charset other than UTF-8 is not converted: RFC 6749
// Appendix B defines the encoding as UTF-8.
func checkFormContentType(values []string) *tokenError {
	if len(values) != 1 {
		return errInvalidRequest("Content-Type must be " + formMediaType)
	}
	mediaType, _, err := mime.ParseMediaType(values[0])
	if err != nil || mediaType != formMediaType {
		return errInvalidRequest("Content-Type must be " + formMediaType)
	}
	return nil
}

// parseFormBody decodes a form body and rejects repeated parameters
// (RFC 6749 §3.2).
func parseFormBody(body string) (tokenForm, *tokenError) {
	values, err := url.ParseQuery(body)
	if err != nil {
		return nil, errInvalidRequest("request body is not valid form encoding")
	}
	// Sorted, so that the error for several repeated parameters is stable.
	names := slices.Sorted(maps.Keys(values))
	form := make(tokenForm, len(values))
	for _, name := range names {
		vs := values[name]
		if len(vs) > 1 {
			return nil, errRepeated(name)
		}
		if vs[0] != "" {
			form[name] = vs[0]
		}
	}
	return form, nil
}

func errRepeated(name string) *tokenError {
	if slices.Contains(knownParameters, name) {
		return errInvalidRequest("parameter " + name + " is repeated")
	}
	return errInvalidRequest("a parameter is repeated")
}
