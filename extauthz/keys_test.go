package extauthz

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

// waitFor polls cond every 10 ms until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (env *testEnv) issuerKeys() *issuerKeys { return env.s.issuers[env.issuer.url] }

func TestBackgroundRefreshPicksUpNewKey(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.Issuers[0].RefreshInterval = MinRefreshInterval })
	next := testKey(jose.EdDSA, 1)
	env.issuer.publish(t, env.key, next)

	waitFor(t, "the new key", func() bool {
		key, _ := env.issuerKeys().lookup(next.ID)
		return key != nil
	})
}

func TestRefreshRetiresDroppedKeys(t *testing.T) {
	env := newTestEnv(t, nil)
	token := env.token(t, nil)
	req := checkRequest("GET", "api.example.com", "/", bearer(token))
	if got := checkStatus(t, env.s, req); got != http.StatusOK {
		t.Fatalf("got status %d before rotation, want 200", got)
	}
	ik := env.issuerKeys()
	kept, _ := ik.lookup(testKey(jose.RS256, 0).ID)

	env.issuer.publish(t, testKey(jose.RS256, 0), testKey(jose.ES256, 1))
	if err := ik.refresh(false); err != nil {
		t.Fatalf("refresh: %v", err)
	}

	if got := checkStatus(t, env.s, req); got != http.StatusUnauthorized {
		t.Errorf("got status %d for a cached token whose key was dropped, want 401", got)
	}
	if again, _ := ik.lookup(testKey(jose.RS256, 0).ID); again != kept {
		t.Errorf("a key kept across a refresh got a new *verifyKey, want the same one")
	}
	if kept.retired.Load() {
		t.Errorf("a key kept across a refresh was marked retired")
	}
}

func checkStatus(t *testing.T, s *Server, req *authv3.CheckRequest) int {
	t.Helper()
	resp, err := s.Check(t.Context(), req)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return summarize(resp).Status
}

func TestUnknownKidSingleFlight(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.CacheSize = -1 })
	stranger := testKey(jose.ES256, 1)
	env.issuer.publish(t, env.key, stranger)
	env.issuer.jwksDelay.Store(int64(200 * time.Millisecond))
	before := env.issuer.jwksFetches.Load()

	const requests = 32
	var wg sync.WaitGroup
	statuses := make([]int, requests)
	for i := range requests {
		wg.Go(func() {
			c := testClaims(env.issuer.url, env.clock.Now())
			c.ID = string(rune('a' + i))
			token := signToken(t, stranger, c, nil)
			statuses[i] = checkStatus(t, env.s, checkRequest("GET", "h", "/", bearer(token)))
		})
	}
	wg.Wait()

	if got := env.issuer.jwksFetches.Load() - before; got != 1 {
		t.Errorf("got %d JWKS fetches for %d concurrent unknown kids, want 1", got, requests)
	}
	// Every request waited for the shared fetch, so all found the new key.
	for i, got := range statuses {
		if got != http.StatusOK {
			t.Errorf("request %d: got status %d, want 200", i, got)
		}
	}
}

func TestUnknownKidRateLimited(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.CacheSize = -1 })
	stranger := testKey(jose.ES256, 1)
	check := func() {
		t.Helper()
		token := signToken(t, stranger, testClaims(env.issuer.url, env.clock.Now()), nil)
		if got := checkStatus(t, env.s, checkRequest("GET", "h", "/", bearer(token))); got != http.StatusUnauthorized {
			t.Fatalf("got status %d for an unknown kid, want 401", got)
		}
	}
	before := env.issuer.jwksFetches.Load()

	check()
	check()
	check()
	if got := env.issuer.jwksFetches.Load() - before; got != 1 {
		t.Errorf("got %d JWKS fetches for three unknown kids within %s, want 1", got, MinForcedRefetchInterval)
	}

	env.clock.Advance(MinForcedRefetchInterval)
	check()
	if got := env.issuer.jwksFetches.Load() - before; got != 2 {
		t.Errorf("got %d JWKS fetches after the interval passed, want 2", got)
	}
}

func TestIssuerDownKeepsLastGoodSet(t *testing.T) {
	for _, tt := range []struct {
		name        string
		breakIssuer func(*testIssuer)
	}{
		{name: "unreachable", breakIssuer: func(ti *testIssuer) { ti.down.Store(true) }},
		{name: "garbage JWKS", breakIssuer: func(ti *testIssuer) { ti.garbage.Store(true) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			env := newTestEnv(t, func(c *Config) { c.CacheSize = -1; c.Metrics = reg })
			token := env.token(t, nil)
			tt.breakIssuer(env.issuer)

			err := env.issuerKeys().refresh(false)
			if err == nil {
				t.Fatalf("refresh against a broken issuer succeeded, want an error")
			}
			if got := checkStatus(t, env.s, checkRequest("GET", "h", "/", bearer(token))); got != http.StatusOK {
				t.Errorf("got status %d with the last good key set, want 200", got)
			}
			if !env.s.Ready() {
				t.Errorf("got Ready() = false after a failed refresh, want true")
			}
			failures := env.s.metrics.refresh.WithLabelValues(env.issuer.url, "failure")
			if got := counterValue(t, failures); got != 1 {
				t.Errorf("got %v refresh failures counted, want 1", got)
			}
		})
	}
}

func TestMetadataIssuerMismatch(t *testing.T) {
	ti := newTestIssuer(t, testKey(jose.ES256, 0))
	ti.mu.Lock()
	ti.metadataIssuer = "https://other.example"
	ti.mu.Unlock()

	_, err := discoverJWKSURI(t.Context(), http.DefaultClient, ti.url)
	if !errors.Is(err, ErrIssuerMismatch) {
		t.Errorf("discoverJWKSURI error = %v, want ErrIssuerMismatch", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s, err := New(ctx, Config{
		Issuers: []IssuerConfig{{Issuer: ti.url, Audiences: []string{testAudience}}},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	waitFor(t, "a metadata fetch", func() bool { return ti.metadataFetches.Load() > 0 })
	time.Sleep(50 * time.Millisecond)
	if s.Ready() {
		t.Errorf("got Ready() = true with mismatched metadata, want false")
	}
	if got := ti.jwksFetches.Load(); got != 0 {
		t.Errorf("got %d JWKS fetches after a metadata mismatch, want 0", got)
	}
}

func TestMetadataURLs(t *testing.T) {
	tests := []struct {
		issuer string
		want   []string
	}{
		{
			issuer: "https://auth.example.com",
			want: []string{
				"https://auth.example.com/.well-known/oauth-authorization-server",
				"https://auth.example.com/.well-known/openid-configuration",
			},
		},
		{
			issuer: "https://example.com/tenant/a/",
			want: []string{
				"https://example.com/.well-known/oauth-authorization-server/tenant/a",
				"https://example.com/tenant/a/.well-known/openid-configuration",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.issuer, func(t *testing.T) {
			got, err := metadataURLs(tt.issuer)
			if err != nil {
				t.Fatalf("metadataURLs: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("metadataURLs(%q) mismatch (-want +got):\n%s", tt.issuer, diff)
			}
		})
	}
}

func TestOpenIDDiscoveryFallback(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	base := "http://" + srv.Listener.Addr().String()
	mux.HandleFunc("GET /tenant/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"issuer":"` + base + `/tenant","jwks_uri":"` + base + `/jwks"}`))
	})
	srv.Start()
	t.Cleanup(srv.Close)

	got, err := discoverJWKSURI(t.Context(), http.DefaultClient, base+"/tenant")
	if err != nil {
		t.Fatalf("discoverJWKSURI: %v", err)
	}
	if want := base + "/jwks"; got != want {
		t.Errorf("got jwks_uri %q, want %q", got, want)
	}
}

func TestFetchSizeLimit(t *testing.T) {
	ti := newTestIssuer(t, testKey(jose.ES256, 0))
	ti.mu.Lock()
	ti.jwks = make([]byte, MaxJWKSBytes+1)
	ti.mu.Unlock()

	_, err := fetch(t.Context(), http.DefaultClient, ti.url+"/jwks", MaxJWKSBytes)
	if !errors.Is(err, errTooLarge) {
		t.Errorf("fetch error = %v, want errTooLarge", err)
	}
}

func TestJWKSFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jwks.json")
	writeJWKS(t, path, testKey(jose.ES256, 0))
	clock := newTestClock()
	s := startServer(t, Config{
		Issuers: []IssuerConfig{{Issuer: "https://issuer.example", Audiences: []string{testAudience}, JWKSFile: path}},
		Logger:  slog.New(slog.DiscardHandler),
		Now:     clock.Now,
	})
	next := testKey(jose.ES256, 1)
	token := signToken(t, next, testClaims("https://issuer.example", clock.Now()), nil)
	req := checkRequest("GET", "h", "/", bearer(token))
	if got := checkStatus(t, s, req); got != http.StatusUnauthorized {
		t.Fatalf("got status %d before the file has the key, want 401", got)
	}

	writeJWKS(t, path, testKey(jose.ES256, 0), next)
	clock.Advance(MinForcedRefetchInterval)
	if got := checkStatus(t, s, req); got != http.StatusOK {
		t.Errorf("got status %d after the file gained the key, want 200", got)
	}
}

func writeJWKS(t *testing.T, path string, keys ...*jose.SigningKey) {
	t.Helper()
	pubs := make([]jose.PublicKey, 0, len(keys))
	for _, k := range keys {
		pubs = append(pubs, k.Public())
	}
	data, err := jose.MarshalJWKS(pubs)
	if err != nil {
		t.Fatalf("MarshalJWKS: %v", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("write JWKS file: %v", err)
	}
}

func TestRefreshErrors(t *testing.T) {
	tests := []struct {
		name string
		jwks string
		down bool
		want error
	}{
		{name: "issuer down", down: true, want: ErrFetch},
		{name: "no signing keys", jwks: `{"keys":[]}`, want: ErrEmptyKeySet},
		{name: "invalid JWKS", jwks: `{"keys":[{"kty":"EC","kid":"a","alg":"ES256","crv":"P-256","x":"AA","y":"AA"}]}`, want: jose.ErrInvalidJWKS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, nil)
			env.issuer.down.Store(tt.down)
			if tt.jwks != "" {
				env.issuer.mu.Lock()
				env.issuer.jwks = []byte(tt.jwks)
				env.issuer.mu.Unlock()
			}
			err := env.issuerKeys().refresh(false)
			if !errors.Is(err, tt.want) {
				t.Errorf("refresh error = %v, want %v", err, tt.want)
			}
		})
	}
}
