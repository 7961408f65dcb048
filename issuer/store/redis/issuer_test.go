package redis_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/issuer"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
	"github.com/gatehouse-dev/gatehouse/issuer/users"
)

// TestTokenEndpointWhileRedisDown drives the issuer's token endpoint with a
// Redis store, then stops redis-server: a password grant must get 503
// temporarily_unavailable with Retry-After, never a token or a 500.
func TestTokenEndpointWhileRedisDown(t *testing.T) {
	srv := startServer(t)
	st := openStore(t, srv, "issuer:")
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
	hash, err := users.HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	us, err := users.NewStatic([]users.User{{Username: "alice", PasswordHash: hash}})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := issuer.New(issuer.Config{
		Issuer: "http://127.0.0.1:8080", Signer: key, Clients: cl, Users: us, Store: st,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("issuer.New: %v", err)
	}
	login := func() *httptest.ResponseRecorder {
		form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"pw"}}
		req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("app", "app-secret")
		rec := httptest.NewRecorder()
		iss.Handler().ServeHTTP(rec, req)
		return rec
	}
	if rec := login(); rec.Code != http.StatusOK {
		t.Fatalf("login with Redis up: status = %d, want 200 (%s)", rec.Code, rec.Body.String())
	}

	srv.kill()
	rec := login()
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("login with Redis down: status = %d, want 503", rec.Code)
	}
	if want := `{"error":"temporarily_unavailable","error_description":"the token store is unavailable, try again later"}`; string(body) != want {
		t.Errorf("login with Redis down: body = %s, want %s", body, want)
	}
	if got := rec.Header().Get("Retry-After"); got != "5" {
		t.Errorf("login with Redis down: Retry-After = %q, want \"5\"", got)
	}
}
