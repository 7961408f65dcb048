package ldap

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/accesstoken"
	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/issuer"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
)

// tokenResult is the status and JSON body of a token endpoint response.
type tokenResult struct {
	status     int
	body       map[string]any
	retryAfter string
}

// newLDAPIssuer returns an issuer whose password grant checks users
// against d, and its signing key.
func newLDAPIssuer(t *testing.T, d *testDirectory) (http.Handler, *jose.SigningKey) {
	t.Helper()
	store, _ := newTestStore(t, searchConfig(t, d))
	key, err := jose.GenerateKey(jose.ES256)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := clients.NewStatic([]clients.Client{{
		ID: "app", SecretHashes: []string{clients.HashSecret("app-secret")},
		GrantTypes: clients.GrantTypes, Scopes: []string{"openid"}, Audiences: []string{"api"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := issuer.New(issuer.Config{
		Issuer: "http://127.0.0.1:8080", Signer: key, Clients: cl, Users: store,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("issuer.New: %v", err)
	}
	return srv.Handler(), key
}

func passwordGrant(t *testing.T, h http.Handler, username, password string) tokenResult {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {username}, "password": {password}}
	req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app", "app-secret")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Body)
	res := tokenResult{status: rec.Code, body: map[string]any{}, retryAfter: rec.Header().Get("Retry-After")}
	if err := json.Unmarshal(body, &res.body); err != nil {
		t.Fatalf("token response %q is not JSON: %v", body, err)
	}
	return res
}

func TestPasswordGrantThroughLDAP(t *testing.T) {
	d := startDirectory(t, false)
	h, key := newLDAPIssuer(t, d)

	good := passwordGrant(t, h, "alice", "alice-password")
	if good.status != http.StatusOK {
		t.Fatalf("good login: status = %d, body %v; want 200", good.status, good.body)
	}
	claims := &accesstoken.Claims{}
	_, err := jwt.ParseWithClaims(good.body["access_token"].(string), claims, func(*jwt.Token) (any, error) {
		return key.Signer.Public(), nil
	})
	if err != nil {
		t.Fatalf("parse access token: %v", err)
	}
	want := []string{"alice", "alice@example.org", entryUUID(t, d, aliceDN)}
	got := []string{claims.PreferredUsername, claims.Email, claims.Subject}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("username, email, subject from the directory mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"admins", "staff"}, claims.Groups); diff != "" {
		t.Errorf("groups mismatch (-want +got):\n%s", diff)
	}

	wrong := passwordGrant(t, h, "alice", "bob-password")
	unknown := passwordGrant(t, h, "mallory", "alice-password")
	wantDenied := tokenResult{status: http.StatusBadRequest, body: map[string]any{"error": "invalid_grant", "error_description": "invalid username or password"}}
	for name, got := range map[string]tokenResult{"wrong password": wrong, "unknown user": unknown} {
		if diff := cmp.Diff(wantDenied, got, cmp.AllowUnexported(tokenResult{})); diff != "" {
			t.Errorf("%s: response mismatch (-want +got):\n%s", name, diff)
		}
	}

	d.Stop()
	down := passwordGrant(t, h, "alice", "alice-password")
	wantDown := tokenResult{status: http.StatusServiceUnavailable, retryAfter: "5", body: map[string]any{
		"error": "temporarily_unavailable", "error_description": "the user directory is unavailable, try again later",
	}}
	if diff := cmp.Diff(wantDown, down, cmp.AllowUnexported(tokenResult{})); diff != "" {
		t.Errorf("directory down: response mismatch (-want +got):\n%s", diff)
	}
	if down.retryAfter != "5" {
		t.Errorf("directory down: Retry-After = %q, want \"5\"", down.retryAfter)
	}
}
