package extauthz

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/gatehouse-dev/gatehouse/internal/accesstoken"
	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

// identity is the full set of identity headers of testClaims.
var identity = map[string]string{
	"x-auth-subject":   "user-1",
	"x-auth-client-id": "client-1",
	"x-auth-scope":     "read write",
	"x-auth-username":  "alice",
}

func identityMetadata(iss string) map[string]string {
	return map[string]string{"sub": "user-1", "client_id": "client-1", "scope": "read write", "username": "alice", "iss": iss}
}

var testRules = []Rule{
	{PathPrefix: "/public", Anonymous: true},
	{Host: "admin.example.com", Scopes: []string{"admin"}},
	{PathPrefix: "/billing", Methods: []string{"POST"}, Scopes: []string{"write", "billing"}},
	{PathPrefix: "/partner", Audiences: []string{"partner-api"}},
}

// grpcClient serves s on a loopback listener and returns a client for it.
func grpcClient(t *testing.T, s *Server, opts ...grpc.ServerOption) authv3.AuthorizationClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	g := grpc.NewServer(opts...)
	s.Register(g)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return authv3.NewAuthorizationClient(conn)
}

func TestCheck(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.Rules = testRules; c.MaxTokenBytes = 2048 })
	iss := env.issuer.url
	now := env.clock.Now()
	es, rs, ed := testKey(jose.ES256, 0), testKey(jose.RS256, 0), testKey(jose.EdDSA, 0)
	valid := env.token(t, nil)
	claims := func(edit func(*accesstoken.Claims)) *accesstoken.Claims {
		c := testClaims(iss, now)
		if edit != nil {
			edit(c)
		}
		return c
	}
	withHeader := func(name string, value any) func(map[string]any) {
		return func(h map[string]any) { h[name] = value }
	}
	get := func(path string, headers map[string]string) *authv3.CheckRequest {
		return checkRequest("GET", "api.example.com", path, headers)
	}
	with := func(token string, extra map[string]string) map[string]string {
		h := bearer(token)
		for k, v := range extra {
			h[k] = v
		}
		return h
	}

	tests := []struct {
		name string
		req  *authv3.CheckRequest
		want outcome
	}{
		{
			name: "valid ES256 token",
			req:  get("/items?page=2", bearer(valid)),
			want: allowOutcome(identity, nil, identityMetadata(iss)),
		},
		{
			name: "valid RS256 token",
			req:  get("/items", bearer(signToken(t, rs, claims(nil), nil))),
			want: allowOutcome(identity, nil, identityMetadata(iss)),
		},
		{
			name: "valid EdDSA token",
			req:  get("/items", bearer(signToken(t, ed, claims(nil), nil))),
			want: allowOutcome(identity, nil, identityMetadata(iss)),
		},
		{
			name: "lower-case scheme and long typ",
			req: get("/items", map[string]string{"authorization": "bearer " + signToken(t, es, claims(nil),
				withHeader("typ", "Application/AT+JWT"))}),
			want: allowOutcome(identity, nil, identityMetadata(iss)),
		},
		{
			name: "spoofed identity headers removed or overwritten",
			req: get("/items", with(valid, map[string]string{
				"x-auth-subject": "root", "x-auth-roles": "admin", "X-Auth-Tenant": "other",
			})),
			want: allowOutcome(identity, []string{"x-auth-roles", "x-auth-tenant"}, identityMetadata(iss)),
		},
		{
			name: "client credentials token leaves username unset and removes a spoofed one",
			req: get("/items", with(signToken(t, es, claims(func(c *accesstoken.Claims) { c.PreferredUsername = "" }), nil),
				map[string]string{"x-auth-username": "root"})),
			want: allowOutcome(
				map[string]string{"x-auth-subject": "user-1", "x-auth-client-id": "client-1", "x-auth-scope": "read write"},
				[]string{"x-auth-username"},
				map[string]string{"sub": "user-1", "client_id": "client-1", "scope": "read write", "iss": iss}),
		},
		{
			name: "no token",
			req:  get("/items", nil),
			want: denyOutcome(http.StatusUnauthorized, `Bearer realm="gatehouse"`),
		},
		{
			name: "basic scheme is no token",
			req:  get("/items", map[string]string{"authorization": "Basic dXNlcjpwYXNz"}),
			want: denyOutcome(http.StatusUnauthorized, `Bearer realm="gatehouse"`),
		},
		{
			name: "bearer without token",
			req:  get("/items", map[string]string{"authorization": "Bearer"}),
			want: denyOutcome(http.StatusBadRequest, `Bearer realm="gatehouse", error="invalid_request", error_description="malformed Authorization header"`),
		},
		{
			name: "bearer token with invalid characters",
			req:  get("/items", map[string]string{"authorization": "Bearer abc def"}),
			want: denyOutcome(http.StatusBadRequest, `Bearer realm="gatehouse", error="invalid_request", error_description="malformed Authorization header"`),
		},
		{
			name: "two bearer credentials joined by Envoy",
			req:  get("/items", map[string]string{"authorization": "Bearer " + valid + ",Bearer " + valid}),
			want: denyOutcome(http.StatusBadRequest, `Bearer realm="gatehouse", error="invalid_request", error_description="more than one credential"`),
		},
		{
			name: "basic and bearer credentials joined",
			req:  get("/items", map[string]string{"authorization": "Basic dXNlcjpwYXNz, Bearer " + valid}),
			want: denyOutcome(http.StatusBadRequest, `Bearer realm="gatehouse", error="invalid_request", error_description="more than one credential"`),
		},
		{
			name: "token signed by a key outside the JWKS",
			req: get("/items", bearer(signToken(t, testKey(jose.ES256, 1), claims(nil),
				withHeader("kid", es.ID)))),
			want: invalidToken("invalid signature"),
		},
		{
			name: "header alg differs from the key alg",
			req:  get("/items", bearer(signToken(t, rs, claims(nil), withHeader("kid", es.ID)))),
			want: invalidToken("algorithm does not match the key"),
		},
		{
			name: "alg none",
			req:  get("/items", bearer(unsignedToken(t, iss, es.ID, now))),
			want: invalidToken("unsupported algorithm"),
		},
		{
			name: "HS256 with the public key as secret",
			req:  get("/items", bearer(hmacToken(t, claims(nil), es))),
			want: invalidToken("unsupported algorithm"),
		},
		{
			name: "jku header",
			req:  get("/items", bearer(signToken(t, es, claims(nil), withHeader("jku", "http://127.0.0.1:1/jwks")))),
			want: invalidToken("forbidden header parameter"),
		},
		{
			name: "jwk header",
			req:  get("/items", bearer(signToken(t, es, claims(nil), withHeader("jwk", map[string]any{"kty": "EC"})))),
			want: invalidToken("forbidden header parameter"),
		},
		{
			name: "x5u header",
			req:  get("/items", bearer(signToken(t, es, claims(nil), withHeader("x5u", "http://127.0.0.1:1/cert")))),
			want: invalidToken("forbidden header parameter"),
		},
		{
			name: "x5c header",
			req:  get("/items", bearer(signToken(t, es, claims(nil), withHeader("x5c", []string{"MIIB"})))),
			want: invalidToken("forbidden header parameter"),
		},
		{
			name: "crit header",
			req:  get("/items", bearer(signToken(t, es, claims(nil), withHeader("crit", []string{"exp"})))),
			want: invalidToken("forbidden header parameter"),
		},
		{
			name: "typ JWT",
			req:  get("/items", bearer(signToken(t, es, claims(nil), withHeader("typ", "JWT")))),
			want: invalidToken("token type is not at+jwt"),
		},
		{
			name: "typ missing",
			req:  get("/items", bearer(signToken(t, es, claims(nil), func(h map[string]any) { delete(h, "typ") }))),
			want: invalidToken("token type is not at+jwt"),
		},
		{
			name: "expired beyond leeway",
			req: get("/items", bearer(env.token(t, func(c *accesstoken.Claims) {
				c.ExpiresAt = jwt.NewNumericDate(now.Add(-31 * time.Second))
			}))),
			want: invalidToken("token expired"),
		},
		{
			name: "expired within leeway",
			req: get("/items", bearer(env.token(t, func(c *accesstoken.Claims) {
				c.ExpiresAt = jwt.NewNumericDate(now.Add(-10 * time.Second))
			}))),
			want: allowOutcome(identity, nil, identityMetadata(iss)),
		},
		{
			name: "nbf in the future",
			req: get("/items", bearer(env.token(t, func(c *accesstoken.Claims) {
				c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute))
			}))),
			want: invalidToken("token not yet valid"),
		},
		{
			name: "iat in the future",
			req: get("/items", bearer(env.token(t, func(c *accesstoken.Claims) {
				c.IssuedAt = jwt.NewNumericDate(now.Add(time.Minute))
			}))),
			want: invalidToken("token issued in the future"),
		},
		{
			name: "wrong issuer",
			req: get("/items", bearer(env.token(t, func(c *accesstoken.Claims) {
				c.Issuer = "https://evil.example"
			}))),
			want: invalidToken("untrusted issuer"),
		},
		{
			name: "wrong audience",
			req: get("/items", bearer(env.token(t, func(c *accesstoken.Claims) {
				c.Audience = jwt.ClaimStrings{"other-api"}
			}))),
			want: invalidToken("invalid audience"),
		},
		{
			name: "missing exp",
			req:  get("/items", bearer(env.token(t, func(c *accesstoken.Claims) { c.ExpiresAt = nil }))),
			want: invalidToken("missing required claim"),
		},
		{
			name: "missing sub",
			req:  get("/items", bearer(env.token(t, func(c *accesstoken.Claims) { c.Subject = "" }))),
			want: invalidToken("missing required claim"),
		},
		{
			name: "missing client_id",
			req:  get("/items", bearer(env.token(t, func(c *accesstoken.Claims) { c.ClientID = "" }))),
			want: invalidToken("missing required claim"),
		},
		{
			name: "newline in a claim",
			req: get("/items", bearer(env.token(t, func(c *accesstoken.Claims) {
				c.PreferredUsername = "alice\r\nx-auth-subject: root"
			}))),
			want: invalidToken("invalid claim"),
		},
		{
			name: "oversized token",
			req: get("/items", bearer(env.token(t, func(c *accesstoken.Claims) {
				c.Email = strings.Repeat("a", 2048) + "@example.com"
			}))),
			want: invalidToken("token too large"),
		},
		{
			name: "random bytes as token",
			req:  get("/items", bearer("eyJhbGciOi.Jub25lIn0.abc")),
			want: invalidToken("malformed token"),
		},
		{
			name: "missing scope",
			req:  checkRequest("GET", "admin.example.com", "/", bearer(valid)),
			want: denyOutcome(http.StatusForbidden, `Bearer realm="gatehouse", error="insufficient_scope", scope="admin"`),
		},
		{
			name: "rule with two scopes, one missing",
			req:  checkRequest("POST", "api.example.com", "/billing/invoices", bearer(valid)),
			want: denyOutcome(http.StatusForbidden, `Bearer realm="gatehouse", error="insufficient_scope", scope="write billing"`),
		},
		{
			name: "rule method does not match",
			req:  checkRequest("GET", "api.example.com", "/billing/invoices", bearer(valid)),
			want: allowOutcome(identity, nil, identityMetadata(iss)),
		},
		{
			name: "rule audience not in token",
			req:  get("/partner/x", bearer(valid)),
			want: invalidToken("invalid audience"),
		},
		{
			name: "context extension scope present",
			req:  withExtension(get("/items", bearer(valid)), "write"),
			want: allowOutcome(identity, nil, identityMetadata(iss)),
		},
		{
			name: "context extension scope missing",
			req:  withExtension(get("/items", bearer(valid)), "read admin"),
			want: denyOutcome(http.StatusForbidden, `Bearer realm="gatehouse", error="insufficient_scope", scope="read admin"`),
		},
		{
			name: "context extension adds to rule scopes",
			req:  withExtension(checkRequest("GET", "admin.example.com", "/", bearer(valid)), "read"),
			want: denyOutcome(http.StatusForbidden, `Bearer realm="gatehouse", error="insufficient_scope", scope="admin read"`),
		},
		{
			name: "anonymous rule without token",
			req:  get("/public/docs", nil),
			want: allowOutcome(map[string]string{}, nil, nil),
		},
		{
			name: "anonymous rule removes spoofed identity headers",
			req:  get("/public/docs", map[string]string{"x-auth-subject": "root", "x-auth-username": "root"}),
			want: allowOutcome(map[string]string{}, []string{"x-auth-subject", "x-auth-username"}, nil),
		},
		{
			name: "anonymous rule with valid token sets identity",
			req:  get("/public/docs", bearer(valid)),
			want: allowOutcome(identity, nil, identityMetadata(iss)),
		},
		{
			name: "anonymous rule with invalid token",
			req:  get("/public/docs", bearer(env.token(t, func(c *accesstoken.Claims) { c.Audience = nil }))),
			want: invalidToken("invalid audience"),
		},
		{
			name: "anonymous rule with context extension scope needs a token",
			req:  withExtension(get("/public/docs", nil), "read"),
			want: denyOutcome(http.StatusUnauthorized, `Bearer realm="gatehouse"`),
		},
		{
			name: "dot segments do not reach the anonymous rule",
			req:  get("/public/../admin", nil),
			want: denyOutcome(http.StatusUnauthorized, `Bearer realm="gatehouse"`),
		},
		{
			name: "raw header map",
			req:  headerMapRequest(corev3.HeaderValue{Key: "authorization", RawValue: []byte("Bearer " + valid)}),
			want: allowOutcome(identity, nil, identityMetadata(iss)),
		},
		{
			name: "raw header map with two Authorization headers",
			req: headerMapRequest(
				corev3.HeaderValue{Key: "authorization", RawValue: []byte("Bearer " + valid)},
				corev3.HeaderValue{Key: "authorization", RawValue: []byte("Bearer " + valid)}),
			want: denyOutcome(http.StatusBadRequest, `Bearer realm="gatehouse", error="invalid_request", error_description="more than one credential"`),
		},
	}

	client := grpcClient(t, env.s)
	codecClient := grpcClient(t, env.s, grpc.ForceServerCodecV2(Codec()))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Run("direct", func(t *testing.T) {
				resp, err := env.s.Check(t.Context(), tt.req)
				if err != nil {
					t.Fatalf("Check returned error %v, want a response", err)
				}
				if diff := cmp.Diff(tt.want, summarize(resp)); diff != "" {
					t.Errorf("Check response mismatch (-want +got):\n%s", diff)
				}
			})
			t.Run("grpc", func(t *testing.T) {
				resp, err := client.Check(t.Context(), tt.req)
				if err != nil {
					t.Fatalf("Check RPC returned error %v, want a response", err)
				}
				if diff := cmp.Diff(tt.want, summarize(resp)); diff != "" {
					t.Errorf("Check response mismatch (-want +got):\n%s", diff)
				}
			})
			t.Run("grpc with codec", func(t *testing.T) {
				resp, err := codecClient.Check(t.Context(), tt.req)
				if err != nil {
					t.Fatalf("Check RPC returned error %v, want a response", err)
				}
				if diff := cmp.Diff(tt.want, summarize(resp)); diff != "" {
					t.Errorf("Check response mismatch (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func withExtension(req *authv3.CheckRequest, scopes string) *authv3.CheckRequest {
	req.Attributes.ContextExtensions = map[string]string{ScopesExtension: scopes}
	return req
}

// headerMapRequest builds a request as Envoy sends it with raw headers:
// header_map instead of the headers map.
func headerMapRequest(extra ...corev3.HeaderValue) *authv3.CheckRequest {
	headers := []*corev3.HeaderValue{
		{Key: ":authority", RawValue: []byte("api.example.com")},
		{Key: ":method", RawValue: []byte("GET")},
		{Key: ":path", RawValue: []byte("/items")},
	}
	for i := range extra {
		headers = append(headers, &extra[i])
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			HeaderMap: &corev3.HeaderMap{Headers: headers},
		}},
	}}
}

// unsignedToken builds an "alg": "none" token by hand.
func unsignedToken(t *testing.T, iss, kid string, now time.Time) string {
	t.Helper()
	header := `{"alg":"none","typ":"at+jwt","kid":"` + kid + `"}`
	tok := jwt.NewWithClaims(jwt.SigningMethodNone, testClaims(iss, now))
	signed, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatalf("sign none token: %v", err)
	}
	parts := strings.Split(signed, ".")
	return base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + parts[1] + "."
}

// hmacToken signs with HS256, using the JWKS form of a public key as the
// secret: the classic algorithm-confusion attack.
func hmacToken(t *testing.T, claims jwt.Claims, key *jose.SigningKey) string {
	t.Helper()
	secret, err := jose.MarshalJWKS([]jose.PublicKey{key.Public()})
	if err != nil {
		t.Fatalf("MarshalJWKS: %v", err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["typ"] = accesstoken.Type
	tok.Header["kid"] = key.ID
	s, err := tok.SignedString(secret)
	if err != nil {
		t.Fatalf("sign HS256 token: %v", err)
	}
	return s
}

func TestCheckUnknownKidRefetchesOnce(t *testing.T) {
	env := newTestEnv(t, nil)
	before := env.issuer.jwksFetches.Load()
	stranger := testKey(jose.ES256, 1)
	token := signToken(t, stranger, testClaims(env.issuer.url, env.clock.Now()), nil)

	resp, err := env.s.Check(t.Context(), checkRequest("GET", "api.example.com", "/", bearer(token)))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if diff := cmp.Diff(invalidToken("unknown signing key"), summarize(resp)); diff != "" {
		t.Errorf("Check response mismatch (-want +got):\n%s", diff)
	}
	if got := env.issuer.jwksFetches.Load() - before; got != 1 {
		t.Errorf("got %d JWKS fetches for an unknown kid, want 1", got)
	}
}

func TestCheckUnknownKidFoundAfterRotation(t *testing.T) {
	env := newTestEnv(t, nil)
	next := testKey(jose.ES256, 1)
	env.issuer.publish(t, env.key, next)
	token := signToken(t, next, testClaims(env.issuer.url, env.clock.Now()), nil)

	resp, err := env.s.Check(t.Context(), checkRequest("GET", "api.example.com", "/", bearer(token)))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if diff := cmp.Diff(allowOutcome(identity, nil, identityMetadata(env.issuer.url)), summarize(resp)); diff != "" {
		t.Errorf("Check response mismatch (-want +got):\n%s", diff)
	}
}

func TestCheckFailsClosedWithoutKeys(t *testing.T) {
	ti := newTestIssuer(t, testKey(jose.ES256, 0))
	ti.down.Store(true)
	clock := newTestClock()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s, err := New(ctx, Config{
		Issuers: []IssuerConfig{{Issuer: ti.url, Audiences: []string{testAudience}}},
		Now:     clock.Now,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if s.Ready() {
		t.Fatalf("got Ready() = true while the issuer is down, want false")
	}
	token := signToken(t, testKey(jose.ES256, 0), testClaims(ti.url, clock.Now()), nil)
	resp, err := s.Check(t.Context(), checkRequest("GET", "api.example.com", "/", bearer(token)))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if diff := cmp.Diff(denyOutcome(http.StatusServiceUnavailable, ""), summarize(resp)); diff != "" {
		t.Errorf("Check response mismatch (-want +got):\n%s", diff)
	}

	ti.down.Store(false)
	waitCtx, stop := context.WithTimeout(t.Context(), 10*time.Second)
	defer stop()
	if err := s.WaitReady(waitCtx); err != nil {
		t.Fatalf("WaitReady after the issuer came back: %v", err)
	}
	resp, err = s.Check(t.Context(), checkRequest("GET", "api.example.com", "/", bearer(token)))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got := summarize(resp).Status; got != http.StatusOK {
		t.Errorf("got status %d once keys loaded, want 200", got)
	}
}

func TestCheckRecoversPanic(t *testing.T) {
	env := newTestEnv(t, nil)
	token := env.token(t, nil)
	env.s.cache = nil
	env.s.parser = nil // verify calls a method on the nil parser and panics

	resp, err := env.s.Check(t.Context(), checkRequest("GET", "api.example.com", "/", bearer(token)))
	if err != nil {
		t.Fatalf("Check after a panic: got error %v, want a deny response", err)
	}
	if diff := cmp.Diff(denyOutcome(http.StatusInternalServerError, ""), summarize(resp)); diff != "" {
		t.Errorf("Check response mismatch (-want +got):\n%s", diff)
	}
}

func TestCheckCodecs(t *testing.T) {
	env := newTestEnv(t, nil)
	token := env.token(t, nil)
	req := checkRequest("GET", "api.example.com", "/", map[string]string{
		"authorization": "Bearer " + token, "x-auth-roles": "admin",
	})
	want := allowOutcome(identity, []string{"x-auth-roles"}, identityMetadata(env.issuer.url))
	for _, tt := range []struct {
		name string
		opts []grpc.ServerOption
	}{
		{name: "default codec"},
		{name: "extauthz codec", opts: []grpc.ServerOption{grpc.ForceServerCodecV2(Codec())}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client := grpcClient(t, env.s, tt.opts...)
			for i := range 2 { // the second call takes the cached response
				resp, err := client.Check(t.Context(), req)
				if err != nil {
					t.Fatalf("call %d: Check: %v", i, err)
				}
				if diff := cmp.Diff(want, summarize(resp)); diff != "" {
					t.Errorf("call %d: response mismatch (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

func TestCodecKeepsCustomIdentityHeaders(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.Headers = HeaderNames{Username: "Remote-User"} })
	token := env.token(t, func(c *accesstoken.Claims) { c.PreferredUsername = "" })
	req := checkRequest("GET", "api.example.com", "/", map[string]string{
		"authorization": "Bearer " + token, "remote-user": "root", "x-other": "kept",
	})
	client := grpcClient(t, env.s, grpc.ForceServerCodecV2(Codec()))

	resp, err := client.Check(t.Context(), req)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	want := allowOutcome(
		map[string]string{"x-auth-subject": "user-1", "x-auth-client-id": "client-1", "x-auth-scope": "read write"},
		[]string{"remote-user"},
		map[string]string{"sub": "user-1", "client_id": "client-1", "scope": "read write", "iss": env.issuer.url})
	if diff := cmp.Diff(want, summarize(resp)); diff != "" {
		t.Errorf("Check response mismatch (-want +got):\n%s", diff)
	}
}
