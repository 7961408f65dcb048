package issuer

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
	"github.com/gatehouse-dev/gatehouse/internal/revfeed"
)

// openFeed opens the revocation feed of env over a real HTTP connection.
func openFeed(t *testing.T, env *testEnv, after string) (*http.Response, *bufio.Scanner) {
	t.Helper()
	srv := httptest.NewServer(env.handler)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/oauth2/revocations?after="+after, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET feed: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, bufio.NewScanner(resp.Body)
}

func nextLine(t *testing.T, sc *bufio.Scanner) revfeed.Line {
	t.Helper()
	if !sc.Scan() {
		t.Fatalf("feed ended: %v", sc.Err())
	}
	line, err := revfeed.ParseLine(sc.Bytes())
	if err != nil {
		t.Fatalf("feed line %q: %v", sc.Text(), err)
	}
	return line
}

func TestFeedStreamsFamilyRevocationOnReuse(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	first := env.issue(t, tokenRequest{
		body:          form("grant_type", "password", "username", "demo", "password", demoPassword),
		authorization: basic("conf", confSecret),
	})
	_, claims := env.verify(t, first.AccessToken, "demo-api")

	resp, sc := openFeed(t, env, "0")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("feed status = %d, want 200", resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Type"); got != revfeed.MediaType {
		t.Errorf("feed Content-Type = %q, want %q", got, revfeed.MediaType)
	}
	if resp.Header.Get(revfeed.EpochHeader) == "" {
		t.Errorf("feed has no %s header", revfeed.EpochHeader)
	}
	if got := nextLine(t, sc); got.Type != revfeed.TypeSync {
		t.Fatalf("first line of an empty feed = %+v, want sync", got)
	}

	refresh := func() *http.Response {
		rec := env.do(t, tokenRequest{
			body:          form("grant_type", "refresh_token", "refresh_token", first.RefreshToken),
			authorization: basic("conf", confSecret),
		})
		return rec.Result()
	}
	if got := refresh().StatusCode; got != http.StatusOK {
		t.Fatalf("first refresh: status = %d, want 200", got)
	}
	if got := refresh().StatusCode; got != http.StatusBadRequest {
		t.Fatalf("reused refresh token: status = %d, want 400", got)
	}

	got := nextLine(t, sc)
	want := revfeed.Line{
		Cursor: 1, Kind: revfeed.KindSession, Value: claims.SessionID,
		RevokedAt: testNow.Unix(), ExpiresAt: testNow.Add(10 * time.Minute).Unix(),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("feed entry after reuse mismatch (-want +got):\n%s", diff)
	}
}

func TestFeedResumesAfterCursor(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	ctx := t.Context()
	for _, jti := range []string{"a", "b", "c"} {
		if err := env.server.cfg.Revocations.RevokeAccessToken(ctx, jti, testNow.Add(time.Minute), testNow); err != nil {
			t.Fatal(err)
		}
	}
	_, sc := openFeed(t, env, "2")
	if got := nextLine(t, sc); got.Value != "c" || got.Cursor != 3 || got.Kind != revfeed.KindToken {
		t.Errorf("first line after cursor 2 = %+v, want jti c at cursor 3", got)
	}
	if got := nextLine(t, sc); got.Type != revfeed.TypeSync {
		t.Errorf("second line = %+v, want sync", got)
	}
}

func TestFeedRejectsBadCursor(t *testing.T) {
	env := newTestEnv(t, jose.ES256)
	rec := httptest.NewRecorder()
	env.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/oauth2/revocations?after=x", nil))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", rec.Code)
	}
	rec = httptest.NewRecorder()
	env.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/oauth2/revocations", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodGet {
		t.Errorf("POST: status = %d, Allow = %q; want 405 and GET", rec.Code, rec.Header().Get("Allow"))
	}
}
