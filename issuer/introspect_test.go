package issuer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/accesstoken"
	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
	"github.com/gatehouse-dev/gatehouse/issuer/store"
)

const inactiveBody = `{"active":false}`

// introspectRequest builds an introspection request for token, with the
// client authenticated by HTTP Basic.
func introspectRequest(clientID, secret, token string, extra ...string) tokenRequest {
	params := append([]string{"token", token}, extra...)
	return tokenRequest{path: "/oauth2/introspect", body: form(params...), authorization: basic(clientID, secret)}
}

// activeAccessBody is the exact introspection response for an access token
// of the conf client's password grant, issued at testNow with the default
// lifetime.
func activeAccessBody(jti string) string {
	return fmt.Sprintf(`{"active":true,"scope":"openid profile orders:read orders:write","client_id":"conf",`+
		`"username":"demo","token_type":"Bearer","exp":%d,"iat":%d,"nbf":%d,"sub":"sub-demo","aud":["demo-api"],`+
		`"iss":%q,"jti":%q}`,
		testNow.Add(DefaultAccessTokenTTL).Unix(), testNow.Unix(), testNow.Unix(), testIssuer, jti)
}

// activeRefreshBody is the exact introspection response for a refresh token
// of the conf client's password grant, issued at issuedAt.
func activeRefreshBody(issuedAt time.Time) string {
	return fmt.Sprintf(`{"active":true,"scope":"openid profile orders:read orders:write","client_id":"conf",`+
		`"username":"demo","token_type":"refresh_token","exp":%d,"iat":%d,"sub":"sub-demo"}`,
		testNow.Add(DefaultRefreshTokenTTL).Unix(), issuedAt.Unix())
}

// tamperScope replaces the scope claim of a signed token and keeps its
// signature.
func tamperScope(t *testing.T, raw, newScope string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	claims["scope"] = newScope
	payload, err = json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

// forgedToken describes a token that forgeToken signs, with claims like
// those of the conf client's tokens.
type forgedToken struct {
	method jwt.SigningMethod
	key    any
	typ    string
	jti    string
	// kid is the "kid" header. Empty means the issuer's key ID.
	kid string
}

// forgedBody is the introspection body of a forgedToken that verifies.
func forgedBody() string {
	return fmt.Sprintf(`{"active":true,"scope":"orders:write","client_id":"conf","token_type":"Bearer","exp":%d,"iat":%d,`+
		`"sub":"sub-demo","aud":["demo-api"],"iss":%q,"jti":"forged-jti"}`, testNow.Add(time.Hour).Unix(), testNow.Unix(), testIssuer)
}

func forgeToken(t *testing.T, env *testEnv, f forgedToken) string {
	t.Helper()
	claims := &accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: testIssuer, Subject: "sub-demo", Audience: jwt.ClaimStrings{"demo-api"}, ID: f.jti,
			ExpiresAt: numericDate(testNow.Add(time.Hour)), IssuedAt: numericDate(testNow),
		},
		ClientID: "conf",
		Scope:    "orders:write",
	}
	token := jwt.NewWithClaims(f.method, claims)
	token.Header["typ"] = f.typ
	token.Header["kid"] = cmpOr(f.kid, env.key.ID)
	signed, err := token.SignedString(f.key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func TestIntrospection(t *testing.T) {
	tests := []struct {
		name string
		// prepare issues what the case needs and returns the request and
		// the exact response body.
		prepare    func(t *testing.T, env *testEnv) (tokenRequest, string)
		wantStatus int
		wantHeader http.Header
	}{
		{
			name: "own active access token",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				login := env.login(t, "")
				_, claims := env.verify(t, login.AccessToken, "demo-api")
				return introspectRequest("conf", confSecret, login.AccessToken), activeAccessBody(claims.ID)
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "access token with hint of the other type",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				login := env.login(t, "")
				_, claims := env.verify(t, login.AccessToken, "demo-api")
				return introspectRequest("conf", confSecret, login.AccessToken, "token_type_hint", "refresh_token"), activeAccessBody(claims.ID)
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "client_credentials token with client_secret_post",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				resp := env.issue(t, tokenRequest{body: form("grant_type", "client_credentials"), authorization: basic("cc-only", ccSecret)})
				_, claims := env.verify(t, resp.AccessToken, "api-1")
				req := tokenRequest{path: "/oauth2/introspect", body: form("token", resp.AccessToken, "client_id", "cc-only", "client_secret", ccSecret)}
				want := fmt.Sprintf(`{"active":true,"scope":"orders:read","client_id":"cc-only","token_type":"Bearer","exp":%d,"iat":%d,"nbf":%d,`+
					`"sub":"cc-only","aud":["api-1","api-2"],"iss":%q,"jti":%q}`,
					testNow.Add(5*time.Minute).Unix(), testNow.Unix(), testNow.Unix(), testIssuer, claims.ID)
				return req, want
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "expired access token",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				login := env.login(t, "")
				env.clock.Advance(DefaultAccessTokenTTL)
				return introspectRequest("conf", confSecret, login.AccessToken), inactiveBody
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "tampered access token",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				login := env.login(t, "openid")
				return introspectRequest("conf", confSecret, tamperScope(t, login.AccessToken, "orders:write")), inactiveBody
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			// The control for the forged cases below: with the issuer's key,
			// type and a jti, forgeToken's token is active.
			name: "token signed with the issuer's key",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				token := forgeToken(t, env, forgedToken{method: jwt.SigningMethodES256, key: env.key.Signer, typ: accesstoken.Type, jti: "forged-jti"})
				return introspectRequest("conf", confSecret, token), forgedBody()
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "access token signed by another key",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				other, err := jose.GenerateKey(jose.ES256)
				if err != nil {
					t.Fatal(err)
				}
				token := forgeToken(t, env, forgedToken{method: jwt.SigningMethodES256, key: other.Signer, typ: accesstoken.Type, jti: "forged-jti"})
				return introspectRequest("conf", confSecret, token), inactiveBody
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "unsigned access token",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				token := forgeToken(t, env, forgedToken{method: jwt.SigningMethodNone, key: jwt.UnsafeAllowNoneSignatureType, typ: accesstoken.Type, jti: "forged-jti"})
				return introspectRequest("conf", confSecret, token), inactiveBody
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "issuer's key under another kid",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				token := forgeToken(t, env, forgedToken{method: jwt.SigningMethodES256, key: env.key.Signer, typ: accesstoken.Type, jti: "forged-jti", kid: "old-key"})
				return introspectRequest("conf", confSecret, token), inactiveBody
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "JWT of another type",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				token := forgeToken(t, env, forgedToken{method: jwt.SigningMethodES256, key: env.key.Signer, typ: "JWT", jti: "forged-jti"})
				return introspectRequest("conf", confSecret, token), inactiveBody
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "access token without jti",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				token := forgeToken(t, env, forgedToken{method: jwt.SigningMethodES256, key: env.key.Signer, typ: accesstoken.Type})
				return introspectRequest("conf", confSecret, token), inactiveBody
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "another client's access token",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				login := env.login(t, "")
				return introspectRequest("other", otherSecret, login.AccessToken), inactiveBody
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "access token revoked by jti",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				login := env.login(t, "")
				_, claims := env.verify(t, login.AccessToken, "demo-api")
				err := env.server.cfg.Revocations.RevokeAccessToken(t.Context(), claims.ID, claims.ExpiresAt.Time, testNow)
				if err != nil {
					t.Fatal(err)
				}
				return introspectRequest("conf", confSecret, login.AccessToken), inactiveBody
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "active refresh token",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				login := env.login(t, "")
				return introspectRequest("conf", confSecret, login.RefreshToken, "token_type_hint", "refresh_token"), activeRefreshBody(testNow)
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "rotated refresh token's successor",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				login := env.login(t, "")
				env.clock.Advance(time.Minute)
				next := env.issue(t, refreshRequest("conf", confSecret, login.RefreshToken))
				return introspectRequest("conf", confSecret, next.RefreshToken), activeRefreshBody(testNow.Add(time.Minute))
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "refresh token after rotation",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				login := env.login(t, "")
				env.issue(t, refreshRequest("conf", confSecret, login.RefreshToken))
				return introspectRequest("conf", confSecret, login.RefreshToken), inactiveBody
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "expired refresh token",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				login := env.login(t, "")
				env.clock.Advance(DefaultRefreshTokenTTL)
				return introspectRequest("conf", confSecret, login.RefreshToken), inactiveBody
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "another client's refresh token",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				login := env.login(t, "")
				return introspectRequest("other", otherSecret, login.RefreshToken), inactiveBody
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "refresh token of a removed user",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				login := env.login(t, "")
				env.users.set(t, testUsers(t)[1:])
				return introspectRequest("conf", confSecret, login.RefreshToken), inactiveBody
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "unknown string",
			prepare: func(*testing.T, *testEnv) (tokenRequest, string) {
				return introspectRequest("conf", confSecret, "not-a-token"), inactiveBody
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "unknown string with dots",
			prepare: func(*testing.T, *testEnv) (tokenRequest, string) {
				return introspectRequest("conf", confSecret, "a.b.c"), inactiveBody
			},
			wantStatus: http.StatusOK,
			wantHeader: tokenHeaders(),
		},
		{
			name: "missing token",
			prepare: func(*testing.T, *testEnv) (tokenRequest, string) {
				return introspectRequest("conf", confSecret, ""), `{"error":"invalid_request","error_description":"missing token"}`
			},
			wantStatus: http.StatusBadRequest,
			wantHeader: tokenHeaders(),
		},
		{
			name: "repeated token",
			prepare: func(*testing.T, *testEnv) (tokenRequest, string) {
				return introspectRequest("conf", confSecret, "a", "token", "b"), `{"error":"invalid_request","error_description":"parameter token is repeated"}`
			},
			wantStatus: http.StatusBadRequest,
			wantHeader: tokenHeaders(),
		},
		{
			name: "wrong client secret",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				login := env.login(t, "")
				return introspectRequest("conf", "guessed-secret-value", login.AccessToken), `{"error":"invalid_client","error_description":"client authentication failed"}`
			},
			wantStatus: http.StatusUnauthorized,
			wantHeader: tokenHeaders("WWW-Authenticate", basicChallenge),
		},
		{
			name: "no client authentication",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				login := env.login(t, "")
				return tokenRequest{path: "/oauth2/introspect", body: form("token", login.AccessToken)}, `{"error":"invalid_client","error_description":"client authentication failed"}`
			},
			wantStatus: http.StatusUnauthorized,
			wantHeader: tokenHeaders(),
		},
		{
			name: "public client",
			prepare: func(t *testing.T, env *testEnv) (tokenRequest, string) {
				login := env.issue(t, tokenRequest{body: form("grant_type", "password", "client_id", "public", "username", "demo", "password", demoPassword)})
				return tokenRequest{path: "/oauth2/introspect", body: form("token", login.AccessToken, "client_id", "public")},
					`{"error":"invalid_client","error_description":"client authentication failed"}`
			},
			wantStatus: http.StatusUnauthorized,
			wantHeader: tokenHeaders(),
		},
		{
			name: "GET method",
			prepare: func(*testing.T, *testEnv) (tokenRequest, string) {
				return tokenRequest{method: http.MethodGet, path: "/oauth2/introspect", contentType: "-"},
					`{"error":"invalid_request","error_description":"the introspection endpoint accepts POST only"}`
			},
			wantStatus: http.StatusMethodNotAllowed,
			wantHeader: tokenHeaders("Allow", "POST"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, jose.ES256)
			req, wantBody := tt.prepare(t, env)
			rec := env.do(t, req)
			if rec.Code != tt.wantStatus {
				t.Errorf("got status %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Body.String(); got != wantBody {
				t.Errorf("got body %s, want %s", got, wantBody)
			}
			if diff := cmp.Diff(tt.wantHeader, rec.Header()); diff != "" {
				t.Errorf("header mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIntrospectionSpendsNoRefreshToken(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	login := env.login(t, "")
	for range 2 {
		if got := env.do(t, introspectRequest("conf", confSecret, login.RefreshToken)).Body.String(); got != activeRefreshBody(testNow) {
			t.Fatalf("got body %s, want %s", got, activeRefreshBody(testNow))
		}
	}
	env.issue(t, refreshRequest("conf", confSecret, login.RefreshToken))
}

func TestIntrospectionOfRotatedTokenEndsLogin(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	login := env.login(t, "")
	next := env.issue(t, refreshRequest("conf", confSecret, login.RefreshToken))

	// Presenting a used refresh token anywhere counts as reuse.
	if got := env.do(t, introspectRequest("conf", confSecret, login.RefreshToken)).Body.String(); got != inactiveBody {
		t.Fatalf("got body %s for the used token, want %s", got, inactiveBody)
	}
	if got := env.do(t, introspectRequest("conf", confSecret, next.RefreshToken)).Body.String(); got != inactiveBody {
		t.Errorf("got body %s for its successor, want %s", got, inactiveBody)
	}
}

func TestIntrospectionOfClientWithoutRefreshGrant(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	login := env.login(t, "")
	changed, err := clients.NewStatic([]clients.Client{{
		ID: "conf", SecretHashes: []string{clients.HashSecret(confSecret)}, GrantTypes: []clients.GrantType{clients.GrantPassword},
		Scopes: []string{"openid"}, Audiences: []string{"demo-api"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	env.server.cfg.Clients = changed

	if got := env.do(t, introspectRequest("conf", confSecret, login.RefreshToken)).Body.String(); got != inactiveBody {
		t.Errorf("got body %s, want %s", got, inactiveBody)
	}
}

func TestIntrospectionStoreFailures(t *testing.T) {
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
			name:  "user store",
			token: func(t *testing.T, env *testEnv) string { return env.login(t, "").RefreshToken },
			swap:  func(env *testEnv) { env.server.cfg.Users = failingUsers{} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, jose.ES256)
			token := tt.token(t, env)
			tt.swap(env)
			rec := env.do(t, introspectRequest("conf", confSecret, token))
			if rec.Code != http.StatusInternalServerError {
				t.Errorf("got status %d, want 500", rec.Code)
			}
			if got := rec.Body.String(); got != wantBody {
				t.Errorf("got body %s, want %s", got, wantBody)
			}
			if logs := env.logs.String(); !strings.Contains(logs, `"cause":"backend down"`) {
				t.Errorf("got logs %s, want the cause", logs)
			}
		})
	}
}

func TestIntrospectionUnderIssuerPath(t *testing.T) {
	env := newTestEnv(t, jose.ES256, func(c *Config) { c.Issuer = testIssuer + "/tenant-a" })
	resp := env.issue(t, tokenRequest{path: "/tenant-a/oauth2/token", body: form("grant_type", "client_credentials"), authorization: basic("cc-only", ccSecret)})

	req := introspectRequest("cc-only", ccSecret, resp.AccessToken)
	if rec := env.do(t, req); rec.Code != http.StatusNotFound {
		t.Errorf("got status %d at /oauth2/introspect, want 404 outside the issuer path", rec.Code)
	}
	req.path = "/tenant-a/oauth2/introspect"
	rec := env.do(t, req)
	if !strings.HasPrefix(rec.Body.String(), `{"active":true,`) {
		t.Errorf("got body %s, want an active token", rec.Body)
	}
}

// FuzzIntrospectToken sends arbitrary token parameters, with any hint, to
// the introspection endpoint. None of them was issued, so each must be
// inactive. Seeds are in testdata/fuzz/FuzzIntrospectToken.
func FuzzIntrospectToken(f *testing.F) {
	env := newTestEnv(f, jose.ES256)
	f.Fuzz(func(t *testing.T, token, hint string) {
		rec := env.do(t, introspectRequest("conf", confSecret, token, "token_type_hint", hint))
		if token == "" {
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("got status %d for an empty token, want 400", rec.Code)
			}
			return
		}
		if rec.Code != http.StatusOK || rec.Body.String() != inactiveBody {
			t.Fatalf("got status %d with body %s, want 200 and %s", rec.Code, rec.Body, inactiveBody)
		}
	})
}

func TestIntrospectionAfterRefreshReuse(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	login := env.issue(t, passwordRequest("demo", demoPassword))
	env.issue(t, refreshRequest("conf", confSecret, login.RefreshToken))
	if rec := env.do(t, refreshRequest("conf", confSecret, login.RefreshToken)); rec.Code != http.StatusBadRequest {
		t.Fatalf("reused refresh token: status = %d, want 400", rec.Code)
	}
	rec := env.do(t, introspectRequest("conf", confSecret, login.AccessToken))
	if got, want := rec.Body.String(), `{"active":false}`; got != want {
		t.Errorf("introspection of the revoked login's access token = %s, want %s", got, want)
	}
}

// TestIntrospectionOfRevokedSubject checks the rule that ext_authz applies
// too: a subject revocation covers the subject's access tokens whose "iat"
// is at or before the revocation's second.
func TestIntrospectionOfRevokedSubject(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	before := env.issue(t, passwordRequest("demo", demoPassword)).AccessToken
	otherUser := env.issue(t, passwordRequest("plain", "plain-password")).AccessToken
	client := env.clientCredentialsToken(t)
	if !env.introspectionActive(t, before) {
		t.Fatal("token before the revocation: got inactive, want active")
	}

	// The revocation falls 400 ms into the second of the first tokens, so
	// RevokeSubject waits 600 ms of real time for the fake clock, which
	// does not move.
	env.clock.Advance(400 * time.Millisecond)
	if err := env.server.RevokeSubject(t.Context(), "sub-demo"); err != nil {
		t.Fatalf("RevokeSubject: %v", err)
	}
	sameSecond := env.issue(t, passwordRequest("demo", demoPassword)).AccessToken
	env.clock.Advance(600 * time.Millisecond)
	nextSecond := env.issue(t, passwordRequest("demo", demoPassword)).AccessToken

	tests := []struct {
		name  string
		token string
		want  bool
	}{
		{name: "issued before", token: before, want: false},
		{name: "issued later in the same second", token: sameSecond, want: false},
		{name: "issued in the next second", token: nextSecond, want: true},
		{name: "other user", token: otherUser, want: true},
		{name: "client credentials", token: client, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := env.introspectionActive(t, tt.token); got != tt.want {
				t.Errorf("got active %t, want %t", got, tt.want)
			}
		})
	}
	if logs := env.logs.String(); !strings.Contains(logs, `"reason":"revoked"`) {
		t.Errorf("got logs %s, want the reason revoked", logs)
	}
}

// TestIntrospectionOfRevokedSubjectStoreFailure checks that a failed
// lookup of subject revocations is a server error, never an active token.
func TestIntrospectionOfRevokedSubjectStoreFailure(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	token := env.issue(t, passwordRequest("demo", demoPassword)).AccessToken
	env.server.cfg.Revocations = failingSubjectLookup{store.NewMemory()}

	rec := env.do(t, introspectRequest("conf", confSecret, token))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("got status %d with body %s, want 500", rec.Code, rec.Body)
	}
}

// failingSubjectLookup is a store whose SubjectRevokedSince fails.
type failingSubjectLookup struct{ *store.Memory }

func (failingSubjectLookup) SubjectRevokedSince(context.Context, string, time.Time, time.Time) (bool, error) {
	return false, errBackendDown
}
