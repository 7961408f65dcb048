package issuer

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/issuer/store"
)

// revokeRequest builds a revocation request for token, with the client
// authenticated by HTTP Basic.
func revokeRequest(clientID, secret, token string, extra ...string) tokenRequest {
	params := append([]string{"token", token}, extra...)
	return tokenRequest{path: "/oauth2/revoke", body: form(params...), authorization: basic(clientID, secret)}
}

// revokedHeaders are the headers of a successful revocation response.
func revokedHeaders() http.Header {
	return http.Header{
		"Cache-Control":          {"no-store"},
		"Pragma":                 {"no-cache"},
		"X-Content-Type-Options": {"nosniff"},
	}
}

// expectRevoked sends req and checks the empty 200 response of RFC 7009.
func (e *testEnv) expectRevoked(t *testing.T, req tokenRequest) {
	t.Helper()
	rec := e.do(t, req)
	if rec.Code != http.StatusOK {
		t.Errorf("got status %d with body %s, want 200", rec.Code, rec.Body)
	}
	if rec.Body.Len() != 0 {
		t.Errorf("got body %s, want none", rec.Body)
	}
	if diff := cmp.Diff(revokedHeaders(), rec.Header()); diff != "" {
		t.Errorf("header mismatch (-want +got):\n%s", diff)
	}
}

// expectIntrospection checks the introspection body of token for its
// owner conf.
func (e *testEnv) expectIntrospection(t *testing.T, token, wantBody string) {
	t.Helper()
	if got := e.do(t, introspectRequest("conf", confSecret, token)).Body.String(); got != wantBody {
		t.Errorf("got introspection body %s, want %s", got, wantBody)
	}
}

func TestRevokeAccessToken(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	login := env.login(t, "")
	_, claims := env.verify(t, login.AccessToken, "demo-api")
	env.expectIntrospection(t, login.AccessToken, activeAccessBody(claims.ID))

	env.clock.Advance(time.Minute)
	env.expectRevoked(t, revokeRequest("conf", confSecret, login.AccessToken, "token_type_hint", "access_token"))
	env.expectIntrospection(t, login.AccessToken, inactiveBody)

	got, err := env.server.cfg.Revocations.ListRevocations(t.Context(), 0, env.clock.Now(), 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Revocation{{Cursor: 1, JTI: claims.ID, RevokedAt: testNow.Add(time.Minute), ExpiresAt: claims.ExpiresAt.Time}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("revocations mismatch (-want +got):\n%s", diff)
	}

	// The refresh token of the same login still works.
	env.issue(t, refreshRequest("conf", confSecret, login.RefreshToken))
}

func TestRevokeRefreshTokenEndsFamily(t *testing.T) {
	tests := []struct {
		name string
		// pick returns the token to revoke out of a login's first refresh
		// token and its successor.
		pick func(first, second string) string
	}{
		{name: "current token", pick: func(_, second string) string { return second }},
		{name: "rotated token", pick: func(first, _ string) string { return first }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, jose.ES256)
			first := env.login(t, "")
			second := env.issue(t, refreshRequest("conf", confSecret, first.RefreshToken))

			env.expectRevoked(t, revokeRequest("conf", confSecret, tt.pick(first.RefreshToken, second.RefreshToken), "token_type_hint", "refresh_token"))

			for _, token := range []string{first.RefreshToken, second.RefreshToken} {
				env.expectError(t, refreshRequest("conf", confSecret, token), http.StatusBadRequest, invalidRefreshBody)
				env.expectIntrospection(t, token, inactiveBody)
			}
		})
	}
}

func TestRevokeByPublicClient(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	login := env.issue(t, tokenRequest{body: form("grant_type", "password", "client_id", "public", "username", "demo", "password", demoPassword)})

	env.expectRevoked(t, tokenRequest{path: "/oauth2/revoke", body: form("token", login.RefreshToken, "client_id", "public")})
	env.expectError(t, tokenRequest{body: form("grant_type", "refresh_token", "client_id", "public", "refresh_token", login.RefreshToken)},
		http.StatusBadRequest, invalidRefreshBody)
}

func TestRevokeAnotherClientsToken(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	login := env.login(t, "")
	_, claims := env.verify(t, login.AccessToken, "demo-api")

	env.expectRevoked(t, revokeRequest("other", otherSecret, login.AccessToken))
	env.expectRevoked(t, revokeRequest("other", otherSecret, login.RefreshToken))

	env.expectIntrospection(t, login.AccessToken, activeAccessBody(claims.ID))
	env.expectIntrospection(t, login.RefreshToken, activeRefreshBody(testNow))
}

func TestRevokeIgnoresInvalidTokens(t *testing.T) {
	tests := []struct {
		name  string
		token func(t *testing.T, env *testEnv) string
	}{
		{name: "unknown string", token: func(*testing.T, *testEnv) string { return "not-a-token" }},
		{name: "malformed JWT", token: func(*testing.T, *testEnv) string { return "a.b.c" }},
		{name: "tampered access token", token: func(t *testing.T, env *testEnv) string {
			return tamperScope(t, env.login(t, "openid").AccessToken, "orders:write")
		}},
		{name: "expired access token", token: func(t *testing.T, env *testEnv) string {
			token := env.login(t, "").AccessToken
			env.clock.Advance(DefaultAccessTokenTTL)
			return token
		}},
		{name: "expired refresh token", token: func(t *testing.T, env *testEnv) string {
			token := env.login(t, "").RefreshToken
			env.clock.Advance(DefaultRefreshTokenTTL)
			return token
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, jose.ES256)
			env.expectRevoked(t, revokeRequest("conf", confSecret, tt.token(t, env)))

			got, err := env.server.cfg.Revocations.ListRevocations(t.Context(), 0, env.clock.Now(), 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 0 {
				t.Errorf("got revocations %+v, want none", got)
			}
		})
	}
}

func TestRevocationErrors(t *testing.T) {
	const invalidClientBody = `{"error":"invalid_client","error_description":"client authentication failed"}`
	tests := []struct {
		name       string
		req        tokenRequest
		wantStatus int
		wantBody   string
		wantHeader http.Header
	}{
		{
			name:       "missing token",
			req:        revokeRequest("conf", confSecret, ""),
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_request","error_description":"missing token"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "wrong client secret",
			req:        revokeRequest("conf", "guessed-secret-value", "any-token"),
			wantStatus: http.StatusUnauthorized,
			wantBody:   invalidClientBody,
			wantHeader: tokenHeaders("WWW-Authenticate", basicChallenge),
		},
		{
			name:       "unknown client in the body",
			req:        tokenRequest{path: "/oauth2/revoke", body: form("token", "any-token", "client_id", "nobody", "client_secret", "guessed-secret-value")},
			wantStatus: http.StatusUnauthorized,
			wantBody:   invalidClientBody,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "no client authentication",
			req:        tokenRequest{path: "/oauth2/revoke", body: form("token", "any-token")},
			wantStatus: http.StatusUnauthorized,
			wantBody:   invalidClientBody,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "JSON content type",
			req:        tokenRequest{path: "/oauth2/revoke", contentType: "application/json", body: `{"token":"any-token"}`, authorization: basic("conf", confSecret)},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"error":"invalid_request","error_description":"Content-Type must be application/x-www-form-urlencoded"}`,
			wantHeader: tokenHeaders(),
		},
		{
			name:       "GET method",
			req:        tokenRequest{method: http.MethodGet, path: "/oauth2/revoke", contentType: "-"},
			wantStatus: http.StatusMethodNotAllowed,
			wantBody:   `{"error":"invalid_request","error_description":"the revocation endpoint accepts POST only"}`,
			wantHeader: tokenHeaders("Allow", "POST"),
		},
	}
	env := newTestEnv(t, jose.ES256)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := env.do(t, tt.req)
			if rec.Code != tt.wantStatus {
				t.Errorf("got status %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Body.String(); got != tt.wantBody {
				t.Errorf("got body %s, want %s", got, tt.wantBody)
			}
			if diff := cmp.Diff(tt.wantHeader, rec.Header()); diff != "" {
				t.Errorf("header mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRevocationStoreFailures(t *testing.T) {
	const wantBody = `{"error":"server_error","error_description":"internal error"}`
	tests := []struct {
		name  string
		token func(t *testing.T, env *testEnv) string
		swap  func(env *testEnv)
	}{
		{
			name:  "revocation store",
			token: func(t *testing.T, env *testEnv) string { return env.login(t, "").AccessToken },
			swap:  func(env *testEnv) { env.server.cfg.Revocations = failingStore{} },
		},
		{
			name:  "refresh store",
			token: func(t *testing.T, env *testEnv) string { return env.login(t, "").RefreshToken },
			swap:  func(env *testEnv) { env.server.cfg.Store = failingStore{} },
		},
		{
			name:  "refresh store revocation",
			token: func(t *testing.T, env *testEnv) string { return env.login(t, "").RefreshToken },
			swap: func(env *testEnv) {
				env.server.cfg.Store = failingRevokeFamily{env.server.cfg.Store}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, jose.ES256)
			token := tt.token(t, env)
			tt.swap(env)
			rec := env.do(t, revokeRequest("conf", confSecret, token))
			if rec.Code != http.StatusServiceUnavailable {
				t.Errorf("got status %d, want 503", rec.Code)
			}
			if got := rec.Body.String(); got != wantBody {
				t.Errorf("got body %s, want %s", got, wantBody)
			}
			if logs := env.logs.String(); !strings.Contains(logs, `"level":"ERROR"`) || !strings.Contains(logs, `"cause":"backend down"`) {
				t.Errorf("got logs %s, want an ERROR line with the cause", logs)
			}
		})
	}
}

// failingRevokeFamily is a RefreshStore whose RevokeFamily fails.
type failingRevokeFamily struct {
	RefreshStore
}

func (failingRevokeFamily) RevokeFamily(context.Context, string) error {
	return errBackendDown
}

func TestManagementLogsHoldNoTokens(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	login := env.login(t, "")
	requests := []tokenRequest{
		introspectRequest("conf", confSecret, login.AccessToken),
		introspectRequest("conf", confSecret, login.RefreshToken),
		introspectRequest("other", otherSecret, login.AccessToken),
		introspectRequest("conf", "guessed-secret-value", login.AccessToken),
		revokeRequest("other", otherSecret, login.RefreshToken),
		revokeRequest("conf", confSecret, login.AccessToken),
		revokeRequest("conf", confSecret, login.RefreshToken),
	}
	for _, req := range requests {
		env.do(t, req)
	}

	logs := env.logs.String()
	if !strings.Contains(logs, `"msg":"token management request done"`) || !strings.Contains(logs, `"msg":"token management request failed"`) {
		t.Fatalf("got logs %s, want lines for done and failed requests", logs)
	}
	for _, secret := range []string{login.AccessToken, login.RefreshToken, confSecret, otherSecret, "guessed-secret-value", basic("conf", confSecret)[len("Basic "):]} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain a secret or token: %s", logs)
		}
	}
	if !strings.Contains(logs, `"reason":"issued to another client"`) {
		t.Errorf("got logs %s, want the reason for the other client's token", logs)
	}
}

func TestManagementMetrics(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	login := env.login(t, "")
	env.do(t, introspectRequest("conf", confSecret, login.AccessToken))
	env.do(t, introspectRequest("conf", confSecret, "not-a-token"))
	env.do(t, introspectRequest("conf", "guessed-secret-value", login.AccessToken))
	env.do(t, revokeRequest("other", otherSecret, login.AccessToken))
	env.do(t, revokeRequest("conf", confSecret, login.AccessToken))
	env.do(t, revokeRequest("conf", confSecret, login.RefreshToken))

	got := map[string]float64{}
	for _, m := range metricFamily(t, env, "gatehouse_issuer_token_management_requests_total").GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		got[labels["endpoint"]+" "+labels["result"]] = m.GetCounter().GetValue()
	}
	want := map[string]float64{
		"introspection active":         1,
		"introspection inactive":       1,
		"introspection invalid_client": 1,
		"revocation ignored":           1,
		"revocation revoked":           2,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counters mismatch (-want +got):\n%s", diff)
	}
}
