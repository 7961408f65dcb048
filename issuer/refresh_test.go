package issuer

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/issuer/users"
)

const invalidRefreshBody = `{"error":"invalid_grant","error_description":"refresh token is invalid"}`

// login runs the password grant for demo with the conf client.
func (e *testEnv) login(t testing.TB, scopeParam string) successBody {
	t.Helper()
	params := []string{"grant_type", "password", "username", "demo", "password", demoPassword}
	if scopeParam != "" {
		params = append(params, "scope", scopeParam)
	}
	return e.issue(t, tokenRequest{body: form(params...), authorization: basic("conf", confSecret)})
}

func refreshRequest(clientID, secret, refreshToken string, extra ...string) tokenRequest {
	params := append([]string{"grant_type", "refresh_token", "refresh_token", refreshToken}, extra...)
	return tokenRequest{body: form(params...), authorization: basic(clientID, secret)}
}

// expectError checks that req fails with the given status and body.
func (e *testEnv) expectError(t testing.TB, req tokenRequest, wantStatus int, wantBody string) {
	t.Helper()
	rec := e.do(t, req)
	if rec.Code != wantStatus {
		t.Errorf("got status %d, want %d", rec.Code, wantStatus)
	}
	if got := rec.Body.String(); got != wantBody {
		t.Errorf("got body %s, want %s", got, wantBody)
	}
	if diff := cmp.Diff(tokenHeaders(), rec.Header()); diff != "" {
		t.Errorf("header mismatch (-want +got):\n%s", diff)
	}
}

func TestRefreshRotation(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	first := env.login(t, "")
	env.clock.Advance(time.Minute)

	second := env.issue(t, refreshRequest("conf", confSecret, first.RefreshToken))
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatalf("got refresh token %q after rotation, want a new one", second.RefreshToken)
	}
	_, claims := env.verify(t, second.AccessToken, "demo-api")
	if got, want := claims.AuthTime, testNow.Unix(); got != want {
		t.Errorf("got auth_time %d, want the login time %d", got, want)
	}
	if got, want := claims.IssuedAt.Unix(), testNow.Add(time.Minute).Unix(); got != want {
		t.Errorf("got iat %d, want %d", got, want)
	}
	if claims.PreferredUsername != "demo" || claims.Subject != "sub-demo" {
		t.Errorf("got preferred_username %q sub %q, want demo and sub-demo", claims.PreferredUsername, claims.Subject)
	}

	// The rotated token is rejected, and its reuse revokes the family, so
	// the token that replaced it stops working too.
	env.expectError(t, refreshRequest("conf", confSecret, first.RefreshToken), http.StatusBadRequest, invalidRefreshBody)
	env.expectError(t, refreshRequest("conf", confSecret, second.RefreshToken), http.StatusBadRequest, invalidRefreshBody)
}

func TestRefreshScope(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	login := env.login(t, "openid orders:read")

	narrowed := env.issue(t, refreshRequest("conf", confSecret, login.RefreshToken, "scope", "orders:read"))
	if narrowed.Scope != "orders:read" {
		t.Errorf("got scope %q after narrowing, want orders:read", narrowed.Scope)
	}
	_, claims := env.verify(t, narrowed.AccessToken, "demo-api")
	if claims.Scope != "orders:read" {
		t.Errorf("got scope claim %q, want orders:read", claims.Scope)
	}

	// The new refresh token keeps the scope of the login.
	full := env.issue(t, refreshRequest("conf", confSecret, narrowed.RefreshToken))
	if full.Scope != "openid orders:read" {
		t.Errorf("got scope %q from the rotated token, want the original openid orders:read", full.Scope)
	}

	// Widening fails and does not use the token up.
	env.expectError(t, refreshRequest("conf", confSecret, full.RefreshToken, "scope", "orders:read orders:write"),
		http.StatusBadRequest, `{"error":"invalid_scope","error_description":"scope orders:write is not allowed"}`)
	env.issue(t, refreshRequest("conf", confSecret, full.RefreshToken))
}

func TestRefreshByAnotherClient(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	login := env.login(t, "")

	env.expectError(t, refreshRequest("other", otherSecret, login.RefreshToken), http.StatusBadRequest, invalidRefreshBody)
	// The token leaked, so its family is revoked for the owner as well.
	env.expectError(t, refreshRequest("conf", confSecret, login.RefreshToken), http.StatusBadRequest, invalidRefreshBody)
}

func TestRefreshExpired(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	login := env.issue(t, tokenRequest{body: form("grant_type", "password", "client_id", "public", "username", "demo", "password", demoPassword)})

	// The public client's refresh tokens live one hour, counted from the
	// login and not extended by rotation.
	env.clock.Advance(59 * time.Minute)
	rotated := env.issue(t, tokenRequest{body: form("grant_type", "refresh_token", "client_id", "public", "refresh_token", login.RefreshToken)})
	env.clock.Advance(time.Minute)
	env.expectError(t, tokenRequest{body: form("grant_type", "refresh_token", "client_id", "public", "refresh_token", rotated.RefreshToken)},
		http.StatusBadRequest, `{"error":"invalid_grant","error_description":"refresh token has expired"}`)
}

func TestRefreshUserRemoved(t *testing.T) {
	tests := []struct {
		name  string
		users []users.User
	}{
		{name: "user deleted", users: []users.User{{Username: "plain", PasswordHash: "$2a$04$LkiQOpr1dSwruooTpIZ5fO5g8iDLGLfmYwHTIWS.zEFTchsu8vNQy"}}},
		{name: "username reassigned", users: []users.User{{Username: "demo", Subject: "someone-else", PasswordHash: "$2a$04$LkiQOpr1dSwruooTpIZ5fO5g8iDLGLfmYwHTIWS.zEFTchsu8vNQy"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, jose.ES256)
			login := env.login(t, "")
			env.users.set(t, tt.users)
			env.expectError(t, refreshRequest("conf", confSecret, login.RefreshToken), http.StatusBadRequest, invalidRefreshBody)

			// Restoring the user does not bring the revoked family back.
			env.users.set(t, testUsers(t))
			env.expectError(t, refreshRequest("conf", confSecret, login.RefreshToken), http.StatusBadRequest, invalidRefreshBody)
		})
	}
}

func TestRefreshSeesUpdatedUser(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	login := env.login(t, "")
	updated := testUsers(t)
	updated[0].Email = "new@example.com"
	updated[0].Groups = []string{"admins"}
	env.users.set(t, updated)

	resp := env.issue(t, refreshRequest("conf", confSecret, login.RefreshToken))
	_, claims := env.verify(t, resp.AccessToken, "demo-api")
	if claims.Email != "new@example.com" {
		t.Errorf("got email %q, want new@example.com", claims.Email)
	}
	if diff := cmp.Diff([]string{"admins"}, claims.Groups); diff != "" {
		t.Errorf("groups mismatch (-want +got):\n%s", diff)
	}
}

func TestRefreshIdleLifetime(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	login := env.issue(t, tokenRequest{
		body:          form("grant_type", "password", "username", "demo", "password", demoPassword),
		authorization: basic("idle", confSecret),
	})
	// Each use within the idle lifetime starts it again.
	current := login.RefreshToken
	for i := range 2 {
		env.clock.Advance(50 * time.Minute)
		next := env.issue(t, refreshRequest("idle", confSecret, current))
		if next.RefreshToken == "" {
			t.Fatalf("refresh %d within the idle lifetime returned no refresh token", i+1)
		}
		current = next.RefreshToken
	}
	env.clock.Advance(61 * time.Minute)
	rec := env.do(t, refreshRequest("idle", confSecret, current))
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("refresh after an hour unused: status = %d, want 400", rec.Code)
	}
	if want := `{"error":"invalid_grant","error_description":"refresh token has expired"}`; rec.Body.String() != want {
		t.Errorf("body = %s, want %s", rec.Body.String(), want)
	}
}
