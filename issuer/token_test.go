package issuer

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse-dev/gatehouse/internal/accesstoken"
	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

// fetchJWKS returns the keys that the issuer publishes.
func (e *testEnv) fetchJWKS(t testing.TB) []jose.PublicKey {
	t.Helper()
	rec := e.do(t, tokenRequest{method: http.MethodGet, path: "/oauth2/jwks", contentType: "-"})
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /oauth2/jwks: got status %d, want 200", rec.Code)
	}
	keys, err := jose.ParseJWKS(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("ParseJWKS: %v", err)
	}
	return keys
}

// verify checks the access token's signature against the published JWKS
// and returns its header and claims.
func (e *testEnv) verify(t testing.TB, raw string, audience string) (map[string]any, *accesstoken.Claims) {
	t.Helper()
	keys := e.fetchJWKS(t)
	claims := &accesstoken.Claims{}
	token, err := jwt.ParseWithClaims(raw, claims, func(tok *jwt.Token) (any, error) {
		for _, k := range keys {
			if k.ID == tok.Header["kid"] {
				return k.Key, nil
			}
		}
		return nil, jwt.ErrTokenUnverifiable
	},
		jwt.WithValidMethods([]string{string(e.key.Algorithm)}),
		jwt.WithIssuer(testIssuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(e.clock.Now),
	)
	if err != nil {
		t.Fatalf("verify access token: %v", err)
	}
	return token.Header, claims
}

func numericDate(t time.Time) *jwt.NumericDate {
	return jwt.NewNumericDate(t)
}

// ignoreJTI leaves the random "jti" out of claim comparisons.
var ignoreJTI = cmpopts.IgnoreFields(jwt.RegisteredClaims{}, "ID")

func TestSigningAlgorithmsVerifyWithJWKS(t *testing.T) {
	for _, alg := range []jose.Algorithm{jose.ES256, jose.RS256, jose.EdDSA} {
		t.Run(string(alg), func(t *testing.T) {
			env := newTestEnv(t, alg)
			resp := env.issue(t, tokenRequest{body: form("grant_type", "client_credentials"), authorization: basic("cc-only", ccSecret)})

			header, claims := env.verify(t, resp.AccessToken, "api-2")
			wantHeader := map[string]any{"alg": string(alg), "typ": "at+jwt", "kid": env.key.ID}
			if diff := cmp.Diff(wantHeader, header); diff != "" {
				t.Errorf("JWT header mismatch (-want +got):\n%s", diff)
			}
			want := &accesstoken.Claims{
				RegisteredClaims: jwt.RegisteredClaims{
					Issuer:    testIssuer,
					Subject:   "cc-only",
					Audience:  jwt.ClaimStrings{"api-1", "api-2"},
					ExpiresAt: numericDate(testNow.Add(5 * time.Minute)),
					NotBefore: numericDate(testNow),
					IssuedAt:  numericDate(testNow),
				},
				ClientID: "cc-only",
				Scope:    "orders:read",
			}
			if diff := cmp.Diff(want, claims, ignoreJTI); diff != "" {
				t.Errorf("claims mismatch (-want +got):\n%s", diff)
			}
			// 16 random bytes are 22 characters of unpadded base64url.
			if len(claims.ID) != 22 {
				t.Errorf("got jti %q of length %d, want 22", claims.ID, len(claims.ID))
			}
		})
	}
}

func TestClientCredentialsResponse(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	rec := env.do(t, tokenRequest{body: form("grant_type", "client_credentials"), authorization: basic(specialID, specialSecret)})
	if rec.Code != http.StatusOK {
		t.Fatalf("got status %d with body %s, want 200", rec.Code, rec.Body)
	}
	if diff := cmp.Diff(tokenHeaders(), rec.Header()); diff != "" {
		t.Errorf("header mismatch (-want +got):\n%s", diff)
	}
	body := rec.Body.String()
	if strings.Contains(body, "refresh_token") {
		t.Errorf("got body %s, want no refresh_token for client_credentials", body)
	}
	resp := env.issue(t, tokenRequest{body: form("grant_type", "client_credentials"), authorization: basic(specialID, specialSecret)})
	want := successBody{AccessToken: resp.AccessToken, TokenType: "Bearer", ExpiresIn: 600, Scope: "orders:read"}
	if diff := cmp.Diff(want, resp); diff != "" {
		t.Errorf("response mismatch (-want +got):\n%s", diff)
	}
	_, claims := env.verify(t, resp.AccessToken, "demo-api")
	if claims.Subject != specialID {
		t.Errorf("got sub %q, want %q", claims.Subject, specialID)
	}
}

func TestClientSecretPostAndCharset(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	resp := env.issue(t, tokenRequest{
		contentType: "application/x-www-form-urlencoded; charset=UTF-8",
		body:        form("grant_type", "client_credentials", "client_id", "conf", "client_secret", confSecret, "scope", "orders:read"),
	})
	if resp.Scope != "orders:read" {
		t.Errorf("got scope %q, want orders:read", resp.Scope)
	}
}

func TestRotatedClientSecretsBothWork(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	for _, secret := range []string{"old-secret", confSecret} {
		env.issue(t, tokenRequest{body: form("grant_type", "client_credentials"), authorization: basic("conf", secret)})
	}
}

func TestPasswordGrant(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	resp := env.issue(t, tokenRequest{
		body:          form("grant_type", "password", "username", "demo", "password", demoPassword),
		authorization: basic("conf", confSecret),
	})
	if resp.TokenType != "Bearer" || resp.ExpiresIn != 600 {
		t.Errorf("got token_type %q expires_in %d, want Bearer 600", resp.TokenType, resp.ExpiresIn)
	}
	if want := "openid profile orders:read orders:write"; resp.Scope != want {
		t.Errorf("got scope %q, want the client's full set %q", resp.Scope, want)
	}
	// 32 random bytes are 43 characters of unpadded base64url.
	if len(resp.RefreshToken) != 43 {
		t.Errorf("got refresh token of length %d, want 43", len(resp.RefreshToken))
	}
	_, claims := env.verify(t, resp.AccessToken, "demo-api")
	// 16 random bytes are 22 characters of unpadded base64url.
	if len(claims.SessionID) != 22 {
		t.Errorf("got sid %q, want the 22-character refresh token family ID", claims.SessionID)
	}
	want := &accesstoken.Claims{
		SessionID: claims.SessionID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    testIssuer,
			Subject:   "sub-demo",
			Audience:  jwt.ClaimStrings{"demo-api"},
			ExpiresAt: numericDate(testNow.Add(10 * time.Minute)),
			NotBefore: numericDate(testNow),
			IssuedAt:  numericDate(testNow),
		},
		ClientID:          "conf",
		Scope:             "openid profile orders:read orders:write",
		AuthTime:          testNow.Unix(),
		PreferredUsername: "demo",
		Email:             "demo@example.com",
		Groups:            []string{"demo", "staff"},
	}
	if diff := cmp.Diff(want, claims, ignoreJTI); diff != "" {
		t.Errorf("claims mismatch (-want +got):\n%s", diff)
	}
}

func TestPasswordGrantVariants(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	tests := []struct {
		name        string
		req         tokenRequest
		wantScope   string
		wantRefresh bool
	}{
		{
			name:        "public client",
			req:         tokenRequest{body: form("grant_type", "password", "client_id", "public", "username", "plain", "password", "plain-password")},
			wantScope:   "openid orders:read",
			wantRefresh: true,
		},
		{
			name:        "narrower scope",
			req:         tokenRequest{body: form("grant_type", "password", "username", "demo", "password", demoPassword, "scope", "orders:read openid"), authorization: basic("conf", confSecret)},
			wantScope:   "orders:read openid",
			wantRefresh: true,
		},
		{
			name:      "client without refresh_token grant",
			req:       tokenRequest{body: form("grant_type", "password", "username", "demo", "password", demoPassword), authorization: basic("no-refresh", confSecret)},
			wantScope: "openid",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := env.issue(t, tt.req)
			if resp.Scope != tt.wantScope {
				t.Errorf("got scope %q, want %q", resp.Scope, tt.wantScope)
			}
			if got := resp.RefreshToken != ""; got != tt.wantRefresh {
				t.Errorf("got refresh token %v, want %v", got, tt.wantRefresh)
			}
		})
	}
}

func TestGetEndpoints(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantHeader http.Header
	}{
		{name: "JWKS GET", method: http.MethodGet, path: "/oauth2/jwks", wantStatus: 200, wantHeader: http.Header{
			"Content-Type": {"application/json"}, "Cache-Control": {"public, max-age=300"}, "X-Content-Type-Options": {"nosniff"}}},
		{name: "JWKS HEAD", method: http.MethodHead, path: "/oauth2/jwks", wantStatus: 200, wantHeader: http.Header{
			"Content-Type": {"application/json"}, "Cache-Control": {"public, max-age=300"}, "X-Content-Type-Options": {"nosniff"}}},
		{name: "JWKS POST", method: http.MethodPost, path: "/oauth2/jwks", wantStatus: 405, wantHeader: http.Header{
			"Allow": {"GET, HEAD"}, "Content-Type": {"text/plain; charset=utf-8"}, "X-Content-Type-Options": {"nosniff"}}},
		{name: "metadata DELETE", method: http.MethodDelete, path: "/.well-known/oauth-authorization-server", wantStatus: 405, wantHeader: http.Header{
			"Allow": {"GET, HEAD"}, "Content-Type": {"text/plain; charset=utf-8"}, "X-Content-Type-Options": {"nosniff"}}},
		{name: "unknown path", method: http.MethodGet, path: "/oauth2/authorize", wantStatus: 404, wantHeader: http.Header{
			"Content-Type": {"text/plain; charset=utf-8"}, "X-Content-Type-Options": {"nosniff"}}},
		{name: "token path with slash", method: http.MethodPost, path: "/oauth2/token/", wantStatus: 404, wantHeader: http.Header{
			"Content-Type": {"text/plain; charset=utf-8"}, "X-Content-Type-Options": {"nosniff"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequestWithContext(t.Context(), tt.method, tt.path, nil)
			rec := httptest.NewRecorder()
			env.handler.ServeHTTP(rec, r)
			if rec.Code != tt.wantStatus {
				t.Errorf("got status %d, want %d", rec.Code, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantHeader, rec.Header()); diff != "" {
				t.Errorf("header mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJWKSPublishesOnlyPublicKey(t *testing.T) {
	env := newTestEnv(t, jose.RS256)
	rec := env.do(t, tokenRequest{method: http.MethodGet, path: "/oauth2/jwks", contentType: "-"})
	for _, private := range []string{`"d"`, `"p"`, `"q"`, `"dp"`} {
		if strings.Contains(rec.Body.String(), private) {
			t.Errorf("JWKS contains the private member %s: %s", private, rec.Body)
		}
	}
	keys := env.fetchJWKS(t)
	want := []jose.PublicKey{env.key.Public()}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("JWKS mismatch (-want +got):\n%s", diff)
	}
}
