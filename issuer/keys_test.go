package issuer

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/accesstoken"
	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

// swappableKeys is a KeySource whose set a test replaces.
type swappableKeys struct {
	current atomic.Pointer[KeySet]
}

func (s *swappableKeys) SigningKeys() *KeySet { return s.current.Load() }

// withKeys makes the test issuer read its keys from src.
func withKeys(src KeySource) envOption {
	return func(c *Config) {
		c.Signer = nil
		c.Keys = src
	}
}

func generateKey(t *testing.T, alg jose.Algorithm) *jose.SigningKey {
	t.Helper()
	key, err := jose.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func newKeySet(t *testing.T, active *jose.SigningKey, published ...*jose.SigningKey) *KeySet {
	t.Helper()
	var pubs []jose.PublicKey
	for _, k := range published {
		pubs = append(pubs, k.Public())
	}
	set, err := NewKeySet(active, pubs)
	if err != nil {
		t.Fatalf("NewKeySet: %v", err)
	}
	return set
}

// tokenKeyID returns the "kid" header of a JWS without verifying it.
func tokenKeyID(t *testing.T, raw string) string {
	t.Helper()
	token, _, err := jwt.NewParser().ParseUnverified(raw, &accesstoken.Claims{})
	if err != nil {
		t.Fatalf("parse token header: %v", err)
	}
	kid, _ := token.Header["kid"].(string)
	return kid
}

// jwksKeyIDs returns the key IDs of the published JWKS in order.
func (e *testEnv) jwksKeyIDs(t *testing.T) []string {
	t.Helper()
	var ids []string
	for _, k := range e.fetchJWKS(t) {
		ids = append(ids, k.ID)
	}
	return ids
}

func (e *testEnv) clientCredentialsToken(t *testing.T) string {
	t.Helper()
	return e.issue(t, tokenRequest{body: form("grant_type", "client_credentials"), authorization: basic("conf", confSecret)}).AccessToken
}

func (e *testEnv) introspectionActive(t *testing.T, token string) bool {
	t.Helper()
	rec := e.do(t, introspectRequest("conf", confSecret, token))
	var body struct {
		Active bool `json:"active"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("decode introspection response %s: %v", rec.Body, err)
	}
	return body.Active
}

func TestNoSigningKeysYet(t *testing.T) {
	env := newTestEnv(t, jose.ES256, withKeys(&swappableKeys{}))
	rec := env.do(t, tokenRequest{body: form("grant_type", "client_credentials"), authorization: basic("conf", confSecret)})
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("token request: got status %d, want 503", rec.Code)
	}
	const wantBody = `{"error":"temporarily_unavailable","error_description":"the issuer has no signing key yet, try again later"}`
	if got := rec.Body.String(); got != wantBody {
		t.Errorf("token request: got body %s, want %s", got, wantBody)
	}
	if diff := cmp.Diff(tokenHeaders("Retry-After", retryAfterSeconds), rec.Header()); diff != "" {
		t.Errorf("token request: header mismatch (-want +got):\n%s", diff)
	}

	for _, path := range []string{"/oauth2/jwks", "/.well-known/openid-configuration"} {
		rec := env.do(t, tokenRequest{method: http.MethodGet, path: path, contentType: "-"})
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("GET %s: got status %d, want 503", path, rec.Code)
		}
		if got := rec.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s: Cache-Control = %q, want no-store", path, got)
		}
	}
	if rec := env.do(t, tokenRequest{method: http.MethodGet, path: "/.well-known/oauth-authorization-server", contentType: "-"}); rec.Code != http.StatusOK {
		t.Errorf("GET RFC 8414 metadata: got status %d, want 200 (it lists no keys)", rec.Code)
	}
}

func TestKeyRotation(t *testing.T) {
	first, second, third := generateKey(t, jose.ES256), generateKey(t, jose.ES256), generateKey(t, jose.EdDSA)
	keys := &swappableKeys{}
	env := newTestEnv(t, jose.ES256, withKeys(keys))

	// first is active and second is published as the next key.
	keys.current.Store(newKeySet(t, first, second, first))
	oldToken := env.clientCredentialsToken(t)
	if got := tokenKeyID(t, oldToken); got != first.ID {
		t.Errorf("token kid = %q, want the active key %q", got, first.ID)
	}
	if diff := cmp.Diff([]string{second.ID, first.ID}, env.jwksKeyIDs(t)); diff != "" {
		t.Errorf("JWKS key IDs with next and active (-want +got):\n%s", diff)
	}

	// second signs, first is retiring, and third, of another algorithm,
	// is next.
	keys.current.Store(newKeySet(t, second, third, second, first))
	newToken := env.clientCredentialsToken(t)
	if got := tokenKeyID(t, newToken); got != second.ID {
		t.Errorf("token kid after rotation = %q, want %q", got, second.ID)
	}
	if diff := cmp.Diff([]string{third.ID, second.ID, first.ID}, env.jwksKeyIDs(t)); diff != "" {
		t.Errorf("JWKS key IDs with next, active and retiring (-want +got):\n%s", diff)
	}
	if !env.introspectionActive(t, oldToken) {
		t.Error("token of the retiring key introspects as inactive, want active")
	}
	if !env.introspectionActive(t, newToken) {
		t.Error("token of the active key introspects as inactive, want active")
	}
	var meta struct {
		Algorithms []string `json:"id_token_signing_alg_values_supported"`
	}
	rec := env.do(t, tokenRequest{method: http.MethodGet, path: "/.well-known/openid-configuration", contentType: "-"})
	if err := json.Unmarshal(rec.Body.Bytes(), &meta); err != nil {
		t.Fatalf("decode OpenID metadata: %v", err)
	}
	if diff := cmp.Diff([]string{"ES256", "EdDSA"}, meta.Algorithms); diff != "" {
		t.Errorf("OpenID metadata algorithms (-want +got):\n%s", diff)
	}

	// first is dropped: its tokens stop verifying.
	keys.current.Store(newKeySet(t, second, third, second))
	if env.introspectionActive(t, oldToken) {
		t.Error("token of a dropped key introspects as active, want inactive")
	}
	if !env.introspectionActive(t, newToken) {
		t.Error("token of the active key introspects as inactive after the drop, want active")
	}
}

func TestTokenAlgorithmMustMatchKey(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	other := generateKey(t, jose.RS256)
	// Signed with a real RSA key, but under the kid of the ES256 key.
	token := forgeToken(t, env, forgedToken{method: jwt.SigningMethodRS256, key: other.Signer, typ: accesstoken.Type, jti: "forged-jti"})
	_, err := env.server.parseAccessToken(token)
	if !errors.Is(err, errWrongAlgorithm) {
		t.Errorf("got error %v, want errWrongAlgorithm", err)
	}
}

func TestNewKeySetRejects(t *testing.T) {
	active, other := generateKey(t, jose.ES256), generateKey(t, jose.ES256)
	impostor := other.Public()
	impostor.ID = active.ID
	relabelled := active.Public()
	relabelled.Algorithm = jose.RS256
	unnamed := other.Public()
	unnamed.ID = ""
	many := make([]jose.PublicKey, jose.MaxKeys+1)
	for i := range many {
		many[i] = generateKey(t, jose.EdDSA).Public()
	}
	many[0] = active.Public()

	tests := []struct {
		name      string
		active    *jose.SigningKey
		published []jose.PublicKey
		wantText  string
	}{
		{name: "no active key", published: []jose.PublicKey{other.Public()}, wantText: "signing key: missing"},
		{name: "active not published", active: active, published: []jose.PublicKey{other.Public()}, wantText: "is not among them"},
		{name: "other key under the active kid", active: active, published: []jose.PublicKey{impostor}, wantText: "differs from the active key"},
		{name: "active kid with another algorithm", active: active, published: []jose.PublicKey{relabelled}, wantText: "differs from the active key"},
		{name: "duplicate kid", active: active, published: []jose.PublicKey{active.Public(), active.Public()}, wantText: "duplicate key ID"},
		{name: "missing kid", active: active, published: []jose.PublicKey{active.Public(), unnamed}, wantText: "missing key ID"},
		{name: "too many keys", active: active, published: many, wantText: "at most 64 allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewKeySet(tt.active, tt.published)
			if err == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("got error %v, want one containing %q", err, tt.wantText)
			}
		})
	}
}

func TestNewRejectsSignerAndKeys(t *testing.T) {
	key := generateKey(t, jose.ES256)
	_, err := New(Config{Issuer: testIssuer, Signer: key, Keys: &swappableKeys{}, Clients: testClients(t), Users: &swappableUsers{}})
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "both Signer and Keys are set") {
		t.Errorf("got error %v, want ErrInvalidConfig naming Signer and Keys", err)
	}
}
