package issuer

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/issuer/clients"
)

// Cache lifetimes of the GET endpoints.
const (
	// JWKSCacheControl lets verifiers cache the key set for five minutes. A
	// new key must be published at least this long before it signs.
	JWKSCacheControl = "public, max-age=300"
	// MetadataCacheControl lets clients cache the metadata for an hour. It
	// changes only with the issuer URL or the signing algorithm.
	MetadataCacheControl = "public, max-age=3600"
)

// metadata is the authorization server metadata of RFC 8414 §2, and with
// the OpenID fields set, the OpenID Provider Metadata of OpenID Connect
// Discovery 1.0 §3.
//
// scopes_supported is left out: each client has its own scopes, and the
// union of all of them would tell anonymous callers about every client and
// change with every client file reload. RFC 8414 only recommends the field.
//
// NOTE: the issuer has no authorization endpoint, so authorization_endpoint
// is absent and response_types_supported is empty. RFC 8414 allows that,
// but OpenID Connect Discovery requires both, so strict OIDC libraries may
// reject the openid-configuration document.
type metadata struct {
	Issuer                            string   `json:"issuer"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	// The introspection endpoint leaves out "none": public clients cannot
	// introspect.
	IntrospectionEndpoint                     string   `json:"introspection_endpoint"`
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpoint                        string   `json:"revocation_endpoint"`
	RevocationEndpointAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported"`
	SubjectTypesSupported                     []string `json:"subject_types_supported,omitempty"`
	IDTokenSigningAlgValuesSupported          []string `json:"id_token_signing_alg_values_supported,omitempty"`
}

// buildMetadata returns the RFC 8414 document when algorithms is nil, and
// otherwise the OpenID Connect one, which lists algorithms, those of the
// current signing keys.
func (s *Server) buildMetadata(algorithms []string) ([]byte, error) {
	grants := make([]string, len(clients.GrantTypes))
	for i, g := range clients.GrantTypes {
		grants[i] = string(g)
	}
	doc := metadata{
		Issuer:                            s.cfg.Issuer,
		TokenEndpoint:                     s.issuerOrigin + s.paths.token,
		JWKSURI:                           s.issuerOrigin + s.paths.jwks,
		ResponseTypesSupported:            []string{},
		GrantTypesSupported:               grants,
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post", "none"},
		IntrospectionEndpoint:             s.issuerOrigin + s.paths.introspection,
		IntrospectionEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post"},
		RevocationEndpoint:                        s.issuerOrigin + s.paths.revocation,
		RevocationEndpointAuthMethodsSupported:    []string{"client_secret_basic", "client_secret_post", "none"},
	}
	if algorithms != nil {
		doc.SubjectTypesSupported = []string{"public"}
		// The issuer signs no ID tokens yet. The access token algorithms
		// are the ones an ID token would use.
		doc.IDTokenSigningAlgValuesSupported = algorithms
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	return body, nil
}

// keyedDocument is a response body built for one key set.
type keyedDocument struct {
	keys *KeySet
	body []byte
}

// serveJWKS serves the published keys of the current key set, encoded when
// the set was created.
func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	keys := s.keys.SigningKeys()
	if keys == nil {
		serveUnavailable(w, r)
		return
	}
	serveDocument(w, r, keys.jwks, JWKSCacheControl)
}

// serveOpenIDMetadata serves the OpenID Connect document. It lists the
// signing algorithms, so it is built again when the key set changes.
func (s *Server) serveOpenIDMetadata(w http.ResponseWriter, r *http.Request) {
	keys := s.keys.SigningKeys()
	if keys == nil {
		serveUnavailable(w, r)
		return
	}
	doc := s.oidcMetadata.Load()
	if doc == nil || doc.keys != keys {
		body, err := s.buildMetadata(keys.algorithms)
		if err != nil {
			s.cfg.Logger.Error("build OpenID metadata failed", "error", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		doc = &keyedDocument{keys: keys, body: body}
		s.oidcMetadata.Store(doc)
	}
	serveDocument(w, r, doc.body, MetadataCacheControl)
}

// serveDocument responds to GET and HEAD with a fixed JSON body.
func serveDocument(w http.ResponseWriter, r *http.Request, body []byte, cacheControl string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", cacheControl)
	w.Write(body)
}
