package issuer

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/gatehouse-dev/gatehouse/issuer/users"
)

const (
	testIssuer = "http://127.0.0.1:8080"

	confSecret    = "conf-secret"
	ccSecret      = "cc-secret"
	otherSecret   = "other-secret"
	specialID     = "svc:a b"
	specialSecret = "a:b%c+d"
	demoPassword  = "demo-password"
	formType      = "application/x-www-form-urlencoded"
)

// testNow is the fixed start time of the test clock.
var testNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// testClients are the registered clients of every test server.
func testClients(t testing.TB) *clients.Static {
	t.Helper()
	all := []clients.GrantType{clients.GrantPassword, clients.GrantClientCredentials, clients.GrantRefreshToken}
	src, err := clients.NewStatic([]clients.Client{
		{ID: "conf", SecretHashes: []string{clients.HashSecret("old-secret"), clients.HashSecret(confSecret)}, GrantTypes: all,
			Scopes: []string{"openid", "profile", "orders:read", "orders:write"}, Audiences: []string{"demo-api"}},
		{ID: "other", SecretHashes: []string{clients.HashSecret(otherSecret)}, GrantTypes: all,
			Scopes: []string{"openid", "profile", "orders:read", "orders:write"}, Audiences: []string{"demo-api"}},
		{ID: "cc-only", SecretHashes: []string{clients.HashSecret(ccSecret)}, GrantTypes: []clients.GrantType{clients.GrantClientCredentials},
			Scopes: []string{"orders:read"}, Audiences: []string{"api-1", "api-2"}, AccessTokenTTL: 5 * time.Minute},
		{ID: specialID, SecretHashes: []string{clients.HashSecret(specialSecret)}, GrantTypes: []clients.GrantType{clients.GrantClientCredentials},
			Scopes: []string{"orders:read"}, Audiences: []string{"demo-api"}},
		{ID: "public", Public: true, GrantTypes: []clients.GrantType{clients.GrantPassword, clients.GrantRefreshToken},
			Scopes: []string{"openid", "orders:read"}, Audiences: []string{"demo-api"}, RefreshTokenTTL: time.Hour},
		{ID: "idle", SecretHashes: []string{clients.HashSecret(confSecret)}, GrantTypes: all,
			Scopes: []string{"openid"}, Audiences: []string{"demo-api"}, RefreshIdleTTL: time.Hour},
		{ID: "no-refresh", SecretHashes: []string{clients.HashSecret(confSecret)}, GrantTypes: []clients.GrantType{clients.GrantPassword},
			Scopes: []string{"openid"}, Audiences: []string{"demo-api"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// bcryptHash hashes with the lowest bcrypt cost, so that tests stay fast.
func bcryptHash(t testing.TB, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func testUsers(t testing.TB) []users.User {
	return []users.User{
		{Username: "demo", Subject: "sub-demo", PasswordHash: bcryptHash(t, demoPassword), Email: "demo@example.com", Groups: []string{"demo", "staff"}},
		{Username: "plain", PasswordHash: bcryptHash(t, "plain-password")},
	}
}

// swappableUsers is a users.Store whose content a test can replace.
type swappableUsers struct {
	mu      sync.Mutex
	current users.Store
}

func (s *swappableUsers) set(t testing.TB, list []users.User) {
	t.Helper()
	st, err := users.NewStatic(list)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current = st
}

func (s *swappableUsers) get() users.Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

func (s *swappableUsers) Authenticate(ctx context.Context, username, password string) (users.User, error) {
	return s.get().Authenticate(ctx, username, password)
}

func (s *swappableUsers) Lookup(ctx context.Context, username string) (users.User, error) {
	return s.get().Lookup(ctx, username)
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testEnv is an issuer with known clients, users, key and clock.
type testEnv struct {
	server   *Server
	handler  http.Handler
	key      *jose.SigningKey
	clock    *fakeClock
	users    *swappableUsers
	logs     *bytes.Buffer
	registry *prometheus.Registry
}

type envOption func(*Config)

func newTestEnv(t testing.TB, alg jose.Algorithm, opts ...envOption) *testEnv {
	t.Helper()
	key, err := jose.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{
		key:      key,
		clock:    &fakeClock{now: testNow},
		users:    &swappableUsers{},
		logs:     &bytes.Buffer{},
		registry: prometheus.NewRegistry(),
	}
	env.users.set(t, testUsers(t))
	cfg := Config{
		Issuer:  testIssuer,
		Signer:  key,
		Clients: testClients(t),
		Users:   env.users,
		Store:   store.NewMemory(),
		Logger:  slog.New(slog.NewJSONHandler(&lockedWriter{w: env.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics: env.registry,
		Now:     env.clock.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	env.server, err = New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	env.handler = env.server.Handler()
	return env
}

// lockedWriter serializes writes from concurrent handlers.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// tokenRequest describes one request to the token endpoint.
type tokenRequest struct {
	method      string
	path        string
	contentType string
	body        string
	// authorization is sent as the Authorization header when non-empty.
	authorization string
	// extraAuthorization adds a second Authorization header.
	extraAuthorization string
}

func (e *testEnv) do(t testing.TB, req tokenRequest) *httptest.ResponseRecorder {
	t.Helper()
	method := req.method
	if method == "" {
		method = http.MethodPost
	}
	path := req.path
	if path == "" {
		path = "/oauth2/token"
	}
	r := httptest.NewRequestWithContext(t.Context(), method, path, strings.NewReader(req.body))
	if req.contentType != "-" {
		r.Header.Set("Content-Type", cmpOr(req.contentType, formType))
	}
	if req.authorization != "" {
		r.Header.Add("Authorization", req.authorization)
	}
	if req.extraAuthorization != "" {
		r.Header.Add("Authorization", req.extraAuthorization)
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, r)
	return rec
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// basic returns client_secret_basic credentials, form-encoding the ID and
// secret as RFC 6749 §2.3.1 requires.
func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// form encodes name/value pairs in order.
func form(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(pairs[i]) + "=" + url.QueryEscape(pairs[i+1]))
	}
	return b.String()
}

// successBody is the decoded body of a successful token response.
type successBody struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// issue sends req and fails the test unless it succeeds.
func (e *testEnv) issue(t testing.TB, req tokenRequest) successBody {
	t.Helper()
	rec := e.do(t, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("got status %d with body %s, want 200", rec.Code, rec.Body)
	}
	var body successBody
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("decode token response: %v", err)
	}
	return body
}

// tokenHeaders returns the headers of every token endpoint response, with
// extra name/value pairs added.
func tokenHeaders(extra ...string) http.Header {
	h := http.Header{
		"Content-Type":           {"application/json"},
		"Cache-Control":          {"no-store"},
		"Pragma":                 {"no-cache"},
		"X-Content-Type-Options": {"nosniff"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		h.Set(extra[i], extra[i+1])
	}
	return h
}

func b64(s string) string {
	return base64.StdEncoding.EncodeToString([]byte(s))
}
