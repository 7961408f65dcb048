package extauthz

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/accesstoken"
	"github.com/gatehouse-dev/gatehouse/internal/revfeed"
)

// testFeed serves a revocation feed the way the issuer does: the backlog
// after the requested cursor, a sync line, then entries as they are
// published, until the test closes the connection.
type testFeed struct {
	mu      sync.Mutex
	epoch   string
	entries []revfeed.Line
	afters  []uint64 // the after parameter of each request
	down    bool     // answer 503
	wake    chan struct{}
	drop    chan struct{} // closed to end every open response
	srv     *httptest.Server
}

func newTestFeed(t *testing.T) *testFeed {
	t.Helper()
	f := &testFeed{epoch: "epoch-1", wake: make(chan struct{}, 1), drop: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.dropConnections()
		f.srv.Close()
	})
	return f
}

func (f *testFeed) serve(w http.ResponseWriter, r *http.Request) {
	after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
	f.mu.Lock()
	f.afters = append(f.afters, after)
	down, epoch, drop := f.down, f.epoch, f.drop
	f.mu.Unlock()
	if down {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", revfeed.MediaType)
	w.Header().Set(revfeed.EpochHeader, epoch)
	sent := f.write(w, after)
	writeLine(w, revfeed.Line{Type: revfeed.TypeSync})
	for {
		select {
		case <-r.Context().Done():
			return
		case <-drop:
			return
		case <-f.wake:
			sent = f.write(w, sent)
		}
	}
}

// write sends the entries after cursor and returns the last cursor sent.
func (f *testFeed) write(w http.ResponseWriter, cursor uint64) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.entries {
		if e.Cursor > cursor {
			writeLine(w, e)
			cursor = e.Cursor
		}
	}
	w.(http.Flusher).Flush()
	return cursor
}

func writeLine(w http.ResponseWriter, l revfeed.Line) {
	b, _ := json.Marshal(l)
	fmt.Fprintf(w, "%s\n", b)
	w.(http.Flusher).Flush()
}

// publish adds an entry with the next cursor.
func (f *testFeed) publish(kind revfeed.Kind, value string, revokedAt, expiresAt time.Time) {
	f.mu.Lock()
	f.entries = append(f.entries, revfeed.Line{
		Cursor: uint64(len(f.entries) + 1), Kind: kind, Value: value,
		RevokedAt: revokedAt.Unix(), ExpiresAt: expiresAt.Unix(),
	})
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// dropConnections ends every open feed response.
func (f *testFeed) dropConnections() {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.drop)
	f.drop = make(chan struct{})
}

func (f *testFeed) requestedAfters() []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]uint64(nil), f.afters...)
}

// newFeedEnv returns a test env whose issuer has the feed f.
func newFeedEnv(t *testing.T, f *testFeed) *testEnv {
	t.Helper()
	env := newTestEnv(t, func(c *Config) { c.Issuers[0].RevocationFeedURI = f.srv.URL + "/revocations" })
	waitFor(t, "feed connected", env.s.RevocationFeedsConnected)
	return env
}

// revocationBound is how long a test waits for a revocation to arrive. The
// target is 2 s. The bound is wider so that a loaded machine cannot fail
// the test, and the end-to-end test logs the measured delay.
const revocationBound = 5 * time.Second

// withinBound polls cond for up to revocationBound.
func withinBound(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(revocationBound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, revocationBound)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// feedCheck returns the outcome of a Check of token.
func feedCheck(t *testing.T, env *testEnv, token string) outcome {
	t.Helper()
	resp, err := env.s.Check(t.Context(), checkRequest("GET", "api.example.com", "/orders", bearer(token)))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return summarize(resp)
}

func revokedBy(t *testing.T, env *testEnv, token string) func() bool {
	return func() bool { return feedCheck(t, env, token).Status == http.StatusUnauthorized }
}

func TestFeedRevokesTokenSessionAndSubject(t *testing.T) {
	f := newTestFeed(t)
	env := newFeedEnv(t, f)
	now := env.clock.Now()
	later := now.Add(time.Hour)
	byJTI := env.token(t, func(c *accesstoken.Claims) { c.ID = "jti-revoked" })
	bySession := env.token(t, func(c *accesstoken.Claims) { c.ID = "jti-2"; c.SessionID = "family-1" })
	bySubject := env.token(t, func(c *accesstoken.Claims) { c.ID = "jti-3"; c.Subject = "user-9" })
	untouched := env.token(t, func(c *accesstoken.Claims) { c.ID = "jti-4"; c.SessionID = "family-2" })
	for _, tok := range []string{byJTI, bySession, bySubject, untouched} {
		if got := feedCheck(t, env, tok).Status; got != http.StatusOK {
			t.Fatalf("before any revocation: status = %d, want 200", got)
		}
	}

	f.publish(revfeed.KindToken, "jti-revoked", now, later)
	f.publish(revfeed.KindSession, "family-1", now, later)
	f.publish(revfeed.KindSubject, "user-9", now, later)
	withinBound(t, "jti revocation", revokedBy(t, env, byJTI))
	withinBound(t, "session revocation", revokedBy(t, env, bySession))
	withinBound(t, "subject revocation", revokedBy(t, env, bySubject))

	if diff := cmp.Diff(invalidToken("token revoked"), feedCheck(t, env, byJTI)); diff != "" {
		t.Errorf("revoked token outcome mismatch (-want +got):\n%s", diff)
	}
	if got := feedCheck(t, env, untouched).Status; got != http.StatusOK {
		t.Errorf("token of another session: status = %d, want 200", got)
	}
	// A token issued after the subject revocation is not covered by it.
	env.clock.Advance(2 * time.Second)
	fresh := env.token(t, func(c *accesstoken.Claims) {
		c.ID = "jti-5"
		c.Subject = "user-9"
		c.IssuedAt.Time = env.clock.Now()
	})
	if got := feedCheck(t, env, fresh).Status; got != http.StatusOK {
		t.Errorf("token issued after the subject revocation: status = %d, want 200", got)
	}
}

func TestFeedKeepsRevocationsWhileDown(t *testing.T) {
	f := newTestFeed(t)
	env := newFeedEnv(t, f)
	now := env.clock.Now()
	tok := env.token(t, func(c *accesstoken.Claims) { c.ID = "jti-revoked" })
	f.publish(revfeed.KindToken, "jti-revoked", now, now.Add(time.Hour))
	withinBound(t, "revocation", revokedBy(t, env, tok))

	f.mu.Lock()
	f.down = true
	f.mu.Unlock()
	f.dropConnections()
	waitFor(t, "feed reported disconnected", func() bool { return !env.s.RevocationFeedsConnected() })
	if got := feedCheck(t, env, tok).Status; got != http.StatusUnauthorized {
		t.Errorf("while the feed is down: status = %d, want 401", got)
	}

	f.mu.Lock()
	f.down = false
	f.mu.Unlock()
	waitFor(t, "feed reconnected", env.s.RevocationFeedsConnected)
	afters := f.requestedAfters()
	if last := afters[len(afters)-1]; last != 1 {
		t.Errorf("reconnect asked for after=%d, want 1 (the last cursor received); all requests: %v", last, afters)
	}
}

func TestFeedEpochChangeReplacesList(t *testing.T) {
	f := newTestFeed(t)
	env := newFeedEnv(t, f)
	now := env.clock.Now()
	tok := env.token(t, func(c *accesstoken.Claims) { c.ID = "jti-revoked" })
	f.publish(revfeed.KindToken, "jti-revoked", now, now.Add(time.Hour))
	withinBound(t, "revocation", revokedBy(t, env, tok))

	// The issuer's store started over: new epoch, no entries.
	f.mu.Lock()
	f.epoch, f.entries = "epoch-2", nil
	f.mu.Unlock()
	f.dropConnections()
	withinBound(t, "list replaced", func() bool { return feedCheck(t, env, tok).Status == http.StatusOK })
	afters := f.requestedAfters()
	if last := afters[len(afters)-1]; last != 0 {
		t.Errorf("after the epoch changed the reader asked for after=%d, want 0; all requests: %v", last, afters)
	}
}

func TestDenyListPrunesExpired(t *testing.T) {
	var d denyList
	d.apply([]revfeed.Line{
		{Cursor: 1, Kind: revfeed.KindToken, Value: "old", ExpiresAt: 100},
		{Cursor: 2, Kind: revfeed.KindToken, Value: "new", ExpiresAt: 300},
	}, false, 50)
	if got := d.size(); got != 2 {
		t.Fatalf("size = %d, want 2", got)
	}
	d.apply(nil, false, 200)
	if got := d.size(); got != 1 {
		t.Errorf("size after the first revocation expired = %d, want 1", got)
	}
	vt := &verifiedToken{tokenID: "new"}
	if !d.denied(vt, 200) {
		t.Error("denied(new, 200) = false, want true")
	}
	if d.denied(vt, 300) {
		t.Error("denied(new, 300) = true, want false once the revocation expired")
	}
}

func TestParseConfigRevocationFeed(t *testing.T) {
	fc, err := ParseConfig([]byte("issuers:\n- issuer: https://auth.example.com\n  audiences: [api]\n  revocationFeedURI: https://auth.example.com/oauth2/revocations\n"))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	if got := fc.Config().Issuers[0].RevocationFeedURI; got != "https://auth.example.com/oauth2/revocations" {
		t.Errorf("RevocationFeedURI = %q, want the configured URL", got)
	}
}
