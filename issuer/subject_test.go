package issuer

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/accesstoken"
	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/internal/revfeed"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
	"github.com/gatehouse-dev/gatehouse/issuer/store"
)

func TestRevokeSubjectEndsLoginsAndFeedsRevocation(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	login := env.issue(t, passwordRequest("demo", demoPassword))
	_, claims := env.verify(t, login.AccessToken, "demo-api")
	_, sc := openFeed(t, env, "0")
	if got := nextLine(t, sc); got.Type != revfeed.TypeSync {
		t.Fatalf("first line = %+v, want sync", got)
	}

	form := url.Values{"subject": {claims.Subject}}
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	env.server.SubjectRevocationHandler().ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("revoke subject: status = %d, want 204 (body %q)", rec.Code, rec.Body.String())
	}

	got := nextLine(t, sc)
	want := revfeed.Line{Cursor: 1, Kind: revfeed.KindSubject, Value: claims.Subject,
		RevokedAt: testNow.Unix(), ExpiresAt: testNow.Add(clients.MaxAccessTokenTTL).Unix()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("feed entry mismatch (-want +got):\n%s", diff)
	}
	refresh := env.do(t, refreshRequest("conf", confSecret, login.RefreshToken))
	if refresh.Code != http.StatusBadRequest {
		t.Errorf("refresh after the subject was revoked: status = %d, want 400", refresh.Code)
	}
	env.clock.Advance(time.Second)
	if again := env.do(t, passwordRequest("demo", demoPassword)); again.Code != http.StatusOK {
		t.Errorf("new login after the revocation: status = %d, want 200", again.Code)
	}
}

func TestSubjectRevocationHandlerRejects(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	tests := []struct {
		name       string
		method     string
		body       string
		wantStatus int
	}{
		{name: "GET", method: http.MethodGet, wantStatus: http.StatusMethodNotAllowed},
		{name: "missing subject", method: http.MethodPost, body: "x=1", wantStatus: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			env.server.SubjectRevocationHandler().ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
		})
	}
}

// issuedAtUnix returns the "iat" of an access token that the test issued,
// without verifying it: the clock of the test may be the real one, which
// env.verify does not use.
func issuedAtUnix(t *testing.T, raw string) int64 {
	t.Helper()
	claims := &accesstoken.Claims{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
		t.Fatalf("parse access token: %v", err)
	}
	if claims.IssuedAt == nil {
		t.Fatal("access token has no iat")
	}
	return claims.IssuedAt.Unix()
}

// TestRevokeSubjectReturnsAfterItsSecond runs on the real clock. ext_authz
// denies a token of the subject whose "iat" is at or before the feed
// entry's RevokedAt, so a login right after RevokeSubject returns must
// get a later "iat".
func TestRevokeSubjectReturnsAfterItsSecond(t *testing.T) {
	env := newTestEnv(t, jose.ES256, func(c *Config) { c.Now = time.Now })
	old := env.issue(t, passwordRequest("demo", demoPassword))

	if err := env.server.RevokeSubject(t.Context(), "sub-demo"); err != nil {
		t.Fatalf("RevokeSubject: %v", err)
	}
	fresh := env.issue(t, passwordRequest("demo", demoPassword))

	revs, err := env.server.cfg.Revocations.ListRevocations(t.Context(), 0, time.Now(), 10)
	if err != nil {
		t.Fatalf("ListRevocations: %v", err)
	}
	if len(revs) != 1 {
		t.Fatalf("got %d revocations, want the subject's only", len(revs))
	}
	revokedAt := feedLine(revs[0]).RevokedAt
	if iat := issuedAtUnix(t, old.AccessToken); iat > revokedAt {
		t.Errorf("token from before: iat %d is after the revocation at %d, want it covered", iat, revokedAt)
	}
	if iat := issuedAtUnix(t, fresh.AccessToken); iat <= revokedAt {
		t.Errorf("token from after: iat %d is not after the revocation at %d, want it outside", iat, revokedAt)
	}
	if env.introspectionActive(t, old.AccessToken) {
		t.Error("token from before: got active, want inactive")
	}
	if !env.introspectionActive(t, fresh.AccessToken) {
		t.Error("token from after: got inactive, want active")
	}
}

func TestRevokeSubjectCancelledWait(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	login := env.issue(t, passwordRequest("demo", demoPassword))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	// The fake clock stays in the revocation's second, so only the
	// cancellation ends the wait.
	err := env.server.RevokeSubject(ctx, "sub-demo")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got error %v, want context.Canceled", err)
	}
	if env.introspectionActive(t, login.AccessToken) {
		t.Error("token after a revocation whose wait was cancelled: got active, want the revocation recorded")
	}
}

// revocationsOnly hides every method of a store but those of
// store.RevocationStore.
type revocationsOnly struct{ store.RevocationStore }

func TestRevokeSubjectNeedsSubjectRevocationStore(t *testing.T) {
	env := newTestEnv(t, jose.ES256, func(c *Config) { c.Revocations = revocationsOnly{store.NewMemory()} })
	login := env.issue(t, passwordRequest("demo", demoPassword))

	err := env.server.RevokeSubject(t.Context(), "sub-demo")
	if err == nil || !strings.Contains(err.Error(), "does not implement store.SubjectRevocationStore") {
		t.Fatalf("got error %v, want one about the revocation store", err)
	}
	// Nothing is half done: the login still refreshes.
	env.issue(t, refreshRequest("conf", confSecret, login.RefreshToken))
}
