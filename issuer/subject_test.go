package issuer

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/internal/revfeed"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
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
