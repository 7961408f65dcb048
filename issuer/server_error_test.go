package issuer

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/gatehouse-dev/gatehouse/issuer/users"
)

var errBackendDown = errors.New("backend down")

// failingStore is a RefreshStore and RevocationStore whose every call
// fails.
type failingStore struct{}

func (failingStore) Put(context.Context, store.RefreshToken) error { return errBackendDown }
func (failingStore) Get(context.Context, store.Hash, time.Time) (store.RefreshToken, error) {
	return store.RefreshToken{}, errBackendDown
}
func (failingStore) Rotate(context.Context, store.Hash, store.RefreshToken) (store.RefreshToken, error) {
	return store.RefreshToken{}, errBackendDown
}
func (failingStore) RevokeFamily(context.Context, string) error { return errBackendDown }
func (failingStore) RevokeAccessToken(context.Context, string, time.Time, time.Time) error {
	return errBackendDown
}
func (failingStore) AccessTokenRevoked(context.Context, string, time.Time) (bool, error) {
	return false, errBackendDown
}
func (failingStore) ListRevocations(context.Context, uint64, time.Time, int) ([]store.Revocation, error) {
	return nil, errBackendDown
}

// failingUsers is a UserStore whose every call fails.
type failingUsers struct{}

func (failingUsers) Authenticate(context.Context, string, string) (users.User, error) {
	return users.User{}, errBackendDown
}
func (failingUsers) Lookup(context.Context, string) (users.User, error) {
	return users.User{}, errBackendDown
}

func TestBackendFailuresAreServerErrors(t *testing.T) {
	const wantBody = `{"error":"server_error","error_description":"internal error"}`
	tests := []struct {
		name   string
		option envOption
		req    tokenRequest
	}{
		{
			name:   "refresh store Put",
			option: func(c *Config) { c.Store, c.Failures = failingStore{}, store.NewMemory() },
			req:    tokenRequest{body: form("grant_type", "password", "username", "demo", "password", demoPassword), authorization: basic("conf", confSecret)},
		},
		{
			name:   "refresh store Get",
			option: func(c *Config) { c.Store, c.Failures = failingStore{}, store.NewMemory() },
			req:    refreshRequest("conf", confSecret, "any-token"),
		},
		{
			name:   "user store Authenticate",
			option: func(c *Config) { c.Users = failingUsers{} },
			req:    tokenRequest{body: form("grant_type", "password", "username", "demo", "password", demoPassword), authorization: basic("conf", confSecret)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, jose.ES256, tt.option)
			rec := env.do(t, tt.req)
			if rec.Code != http.StatusInternalServerError {
				t.Errorf("got status %d, want 500", rec.Code)
			}
			if got := rec.Body.String(); got != wantBody {
				t.Errorf("got body %s, want %s", got, wantBody)
			}
			logs := env.logs.String()
			if !strings.Contains(logs, `"level":"ERROR"`) || !strings.Contains(logs, `"cause":"backend down"`) {
				t.Errorf("got logs %s, want an ERROR line with the cause", logs)
			}
		})
	}
}

func TestRefreshUserLookupFailure(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	login := env.login(t, "")
	env.server.cfg.Users = failingUsers{}

	rec := env.do(t, refreshRequest("conf", confSecret, login.RefreshToken))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("got status %d, want 500", rec.Code)
	}
	// A failing user store must not end the login: the token still works
	// once the store is back.
	env.server.cfg.Users = env.users
	env.issue(t, refreshRequest("conf", confSecret, login.RefreshToken))
}
