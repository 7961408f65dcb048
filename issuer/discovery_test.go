package issuer

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/issuer/store"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// checkGolden compares got, compact JSON, with the indented JSON in
// testdata/name.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		var indented bytes.Buffer
		if err := json.Indent(&indented, got, "", "  "); err != nil {
			t.Fatal(err)
		}
		indented.WriteByte('\n')
		if err := os.WriteFile(path, indented.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := json.Compact(&want, golden); err != nil {
		t.Fatalf("golden file %s: %v", path, err)
	}
	if diff := cmp.Diff(want.String(), string(got)); diff != "" {
		t.Errorf("body differs from %s (-want +got):\n%s", path, diff)
	}
}

func TestMetadataDocuments(t *testing.T) {
	tests := []struct {
		name   string
		issuer string
		alg    jose.Algorithm
		path   string
		golden string
	}{
		{name: "RFC 8414", issuer: testIssuer, alg: jose.ES256, path: "/.well-known/oauth-authorization-server", golden: "oauth-authorization-server.json"},
		{name: "OpenID", issuer: testIssuer, alg: jose.ES256, path: "/.well-known/openid-configuration", golden: "openid-configuration.json"},
		{name: "RFC 8414 issuer with path", issuer: testIssuer + "/tenant-a", alg: jose.EdDSA, path: "/.well-known/oauth-authorization-server/tenant-a", golden: "oauth-authorization-server-path.json"},
		{name: "OpenID issuer with path", issuer: testIssuer + "/tenant-a", alg: jose.EdDSA, path: "/tenant-a/.well-known/openid-configuration", golden: "openid-configuration-path.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, tt.alg, func(c *Config) { c.Issuer = tt.issuer })
			rec := env.do(t, tokenRequest{method: http.MethodGet, path: tt.path, contentType: "-"})
			if rec.Code != http.StatusOK {
				t.Fatalf("got status %d, want 200", rec.Code)
			}
			wantHeader := http.Header{
				"Content-Type":           {"application/json"},
				"Cache-Control":          {"public, max-age=3600"},
				"X-Content-Type-Options": {"nosniff"},
			}
			if diff := cmp.Diff(wantHeader, rec.Header()); diff != "" {
				t.Errorf("header mismatch (-want +got):\n%s", diff)
			}
			checkGolden(t, tt.golden, rec.Body.Bytes())
		})
	}
}

func TestIssuerPathPrefixesEndpoints(t *testing.T) {
	env := newTestEnv(t, jose.ES256, func(c *Config) { c.Issuer = testIssuer + "/tenant-a" })
	env.issue(t, tokenRequest{path: "/tenant-a/oauth2/token", body: form("grant_type", "client_credentials"), authorization: basic("cc-only", ccSecret)})
	for _, path := range []string{"/oauth2/token", "/oauth2/jwks", "/.well-known/oauth-authorization-server"} {
		if rec := env.do(t, tokenRequest{method: http.MethodGet, path: path, contentType: "-"}); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: got status %d, want 404 outside the issuer path", path, rec.Code)
		}
	}
	if rec := env.do(t, tokenRequest{method: http.MethodGet, path: "/tenant-a/oauth2/jwks", contentType: "-"}); rec.Code != http.StatusOK {
		t.Errorf("GET /tenant-a/oauth2/jwks: got status %d, want 200", rec.Code)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	valid := func(t *testing.T) Config {
		key, err := jose.GenerateKey(jose.ES256)
		if err != nil {
			t.Fatal(err)
		}
		return Config{Issuer: testIssuer, Signer: key, Clients: testClients(t), Users: &swappableUsers{}}
	}
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{name: "empty issuer", change: func(c *Config) { c.Issuer = "" }},
		{name: "trailing slash", change: func(c *Config) { c.Issuer = testIssuer + "/" }},
		{name: "query", change: func(c *Config) { c.Issuer = testIssuer + "?tenant=a" }},
		{name: "empty query", change: func(c *Config) { c.Issuer = testIssuer + "?" }},
		{name: "fragment", change: func(c *Config) { c.Issuer = testIssuer + "#a" }},
		{name: "ftp scheme", change: func(c *Config) { c.Issuer = "ftp://127.0.0.1" }},
		{name: "no host", change: func(c *Config) { c.Issuer = "https:///path" }},
		{name: "user information", change: func(c *Config) { c.Issuer = "https://admin@127.0.0.1" }},
		{name: "unclean path", change: func(c *Config) { c.Issuer = testIssuer + "/a/../b" }},
		{name: "escaped path", change: func(c *Config) { c.Issuer = testIssuer + "/a%2Fb" }},
		{name: "no signer", change: func(c *Config) { c.Signer = nil }},
		{name: "no clients", change: func(c *Config) { c.Clients = nil }},
		{name: "no users", change: func(c *Config) { c.Users = nil }},
		{name: "store without revocations", change: func(c *Config) { c.Store = refreshOnlyStore{store.NewMemory()} }},
		{name: "negative TTL", change: func(c *Config) { c.AccessTokenTTL = -1 }},
		{name: "signer without key ID", change: func(c *Config) { c.Signer.ID = "" }},
		{name: "signer of wrong type", change: func(c *Config) { c.Signer.Algorithm = jose.RS256 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid(t)
			tt.change(&cfg)
			_, err := New(cfg)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("got error %v, want one wrapping ErrInvalidConfig", err)
			}
		})
	}
	if _, err := New(valid(t)); err != nil {
		t.Errorf("New with a valid config: %v", err)
	}
	withRevocations := valid(t)
	withRevocations.Store = refreshOnlyStore{store.NewMemory()}
	withRevocations.Revocations = store.NewMemory()
	withRevocations.Failures = store.NewMemory()
	if _, err := New(withRevocations); err != nil {
		t.Errorf("New with a separate revocation store: %v", err)
	}
	withoutCounter := withRevocations
	withoutCounter.Failures = nil
	if _, err := New(withoutCounter); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("New with lockout on and no failure counter: got error %v, want ErrInvalidConfig", err)
	}
	withoutCounter.Lockout.Disabled = true
	if _, err := New(withoutCounter); err != nil {
		t.Errorf("New with lockout off and no failure counter: %v", err)
	}
}

// refreshOnlyStore hides every method of its store but those of
// RefreshStore.
type refreshOnlyStore struct {
	store.RefreshStore
}
