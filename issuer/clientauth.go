package issuer

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/issuer/clients"
)

// errMalformedBasic reports an Authorization header that is not valid
// client_secret_basic credentials.
var errMalformedBasic = errors.New("malformed Basic credentials")

// parseBasic decodes client_secret_basic credentials (RFC 6749 §2.3.1).
// The client form-encodes its ID and secret before it joins them with a
// colon and encodes them in base64 (RFC 7617), so the ID and secret are
// split at the first colon and then form-decoded.
func parseBasic(header string) (id, secret string, err error) {
	scheme, credentials, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", "", errMalformedBasic
	}
	decoded, err := base64.StdEncoding.Strict().DecodeString(strings.TrimLeft(credentials, " "))
	if err != nil {
		return "", "", errMalformedBasic
	}
	rawID, rawSecret, ok := strings.Cut(string(decoded), ":")
	if !ok {
		return "", "", errMalformedBasic
	}
	if id, err = url.QueryUnescape(rawID); err != nil || id == "" {
		return "", "", errMalformedBasic
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		return "", "", errMalformedBasic
	}
	return id, secret, nil
}

// presentedClient holds the client credentials of a token request, not yet
// verified.
type presentedClient struct {
	id        string
	secret    string
	hasSecret bool
	usedBasic bool
}

// readClientCredentials extracts the client's credentials from the
// Authorization header or the body. Using both is invalid_request
// (RFC 6749 §2.3: one authentication method per request).
func readClientCredentials(r *http.Request, form tokenForm) (presentedClient, *tokenError) {
	headers := r.Header.Values("Authorization")
	if len(headers) > 1 {
		return presentedClient{}, errInvalidRequest("Authorization header is repeated")
	}
	if len(headers) == 0 {
		secret, hasSecret := form["client_secret"]
		p := presentedClient{id: form["client_id"], secret: secret, hasSecret: hasSecret}
		if p.id == "" && hasSecret {
			return presentedClient{}, errInvalidRequest("client_secret requires client_id")
		}
		return p, nil
	}
	id, secret, err := parseBasic(headers[0])
	if err != nil {
		return presentedClient{}, errInvalidClient(err.Error(), true)
	}
	if _, ok := form["client_secret"]; ok {
		return presentedClient{}, errInvalidRequest("use either HTTP Basic or client_secret in the body, not both")
	}
	if bodyID, ok := form["client_id"]; ok && bodyID != id {
		return presentedClient{}, errInvalidRequest("client_id does not match the Authorization header")
	}
	return presentedClient{id: id, secret: secret, hasSecret: true, usedBasic: true}, nil
}

// authenticateClient returns the client that the request authenticates as.
// Every failure is the same invalid_client response. Only the logged
// reason distinguishes the causes.
func (s *Server) authenticateClient(p presentedClient) (clients.Client, *tokenError) {
	if p.id == "" {
		return clients.Client{}, errInvalidClient("no client authentication", false)
	}
	client, ok := s.cfg.Clients.Client(p.id)
	if !ok {
		return clients.Client{}, errInvalidClient("unknown client", p.usedBasic)
	}
	if client.Public {
		if p.hasSecret {
			return clients.Client{}, errInvalidClient("public client sent a secret", p.usedBasic)
		}
		return client, nil
	}
	if !p.hasSecret {
		return clients.Client{}, errInvalidClient("confidential client sent no secret", false)
	}
	if !client.VerifySecret(p.secret) {
		return clients.Client{}, errInvalidClient("wrong client secret", p.usedBasic)
	}
	return client, nil
}
