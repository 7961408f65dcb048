package issuer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

// sleepRecorder replaces real waiting in lockout tests.
type sleepRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (r *sleepRecorder) sleep(_ context.Context, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waits = append(r.waits, d)
}

func (r *sleepRecorder) last() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.waits[len(r.waits)-1]
}

func newLockoutEnv(t *testing.T) (*testEnv, *sleepRecorder) {
	t.Helper()
	env := newTestEnv(t, jose.ES256, func(c *Config) {
		c.Lockout = LockoutPolicy{Window: time.Minute, DelayAfter: 2, BaseDelay: time.Second, MaxDelay: 3 * time.Second, LockAfter: 4, LockAfterPerAddress: 1000}
	})
	rec := &sleepRecorder{}
	env.server.lockout.sleep = rec.sleep
	return env, rec
}

func passwordRequest(username, password string) tokenRequest {
	return tokenRequest{
		body:          form("grant_type", "password", "username", username, "password", password),
		authorization: basic("conf", confSecret),
	}
}

// response is what a client sees of a token response.
type response struct {
	Status int
	Body   string
}

func (e *testEnv) respond(t *testing.T, req tokenRequest) response {
	rec := e.do(t, req)
	return response{Status: rec.Code, Body: rec.Body.String()}
}

func TestLockoutBacksOffThenLocks(t *testing.T) {
	env, rec := newLockoutEnv(t)
	wrong := response{Status: http.StatusBadRequest, Body: `{"error":"invalid_grant","error_description":"invalid username or password"}`}

	wantWaits := []time.Duration{0, 0, time.Second, 2 * time.Second}
	for i, want := range wantWaits {
		got := env.respond(t, passwordRequest("demo", "wrong"))
		if diff := cmp.Diff(wrong, got); diff != "" {
			t.Fatalf("attempt %d mismatch (-want +got):\n%s", i+1, diff)
		}
		if w := rec.last(); w != want {
			t.Errorf("attempt %d waited %v, want %v", i+1, w, want)
		}
	}

	locked := env.respond(t, passwordRequest("demo", demoPassword))
	if diff := cmp.Diff(wrong, locked); diff != "" {
		t.Errorf("right password while locked: response mismatch (-want +got):\n%s", diff)
	}
	if w := rec.last(); w <= 0 {
		t.Errorf("locked answer waited %v, want the average password check time", w)
	}
	unknown := env.respond(t, passwordRequest("nobody", "wrong"))
	if diff := cmp.Diff(wrong, unknown); diff != "" {
		t.Errorf("unknown user: response mismatch (-want +got):\n%s", diff)
	}
	if got := metricSum(t, env, "gatehouse_issuer_lockouts_total"); got != 1 {
		t.Errorf("lockouts_total = %v, want 1", got)
	}
	if got := metricSum(t, env, "gatehouse_issuer_locked_attempts_total"); got != 1 {
		t.Errorf("locked_attempts_total = %v, want 1 (the right password while locked)", got)
	}

	env.clock.Advance(time.Minute)
	if got := env.respond(t, passwordRequest("demo", demoPassword)).Status; got != http.StatusOK {
		t.Errorf("after the window: status = %d, want 200", got)
	}
}

func TestLockoutResetsOnSuccess(t *testing.T) {
	env, rec := newLockoutEnv(t)
	for range 3 {
		env.respond(t, passwordRequest("demo", "wrong"))
	}
	if got := env.respond(t, passwordRequest("demo", demoPassword)).Status; got != http.StatusOK {
		t.Fatalf("right password before the lock: status = %d, want 200", got)
	}
	env.respond(t, passwordRequest("demo", "wrong"))
	if w := rec.last(); w != 0 {
		t.Errorf("first failure after a success waited %v, want 0", w)
	}
}

func TestLockoutDisabled(t *testing.T) {
	env := newTestEnv(t, jose.ES256, func(c *Config) { c.Lockout.Disabled = true })
	if env.server.lockout != nil {
		t.Fatal("lockout is set although the policy is disabled")
	}
	for range 12 {
		env.respond(t, passwordRequest("demo", "wrong"))
	}
	if got := env.respond(t, passwordRequest("demo", demoPassword)).Status; got != http.StatusOK {
		t.Errorf("after 12 failures with lockout off: status = %d, want 200", got)
	}
}

// forwardedPasswordGrant sends a password grant for demo from the peer
// remote, with forwardedFor as its X-Forwarded-For header when non-empty,
// and returns the status code.
func (e *testEnv) forwardedPasswordGrant(t *testing.T, remote, forwardedFor, password string) int {
	t.Helper()
	req := passwordRequest("demo", password)
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/oauth2/token", strings.NewReader(req.body))
	r.RemoteAddr = remote
	r.Header.Set("Content-Type", formType)
	r.Header.Set("Authorization", req.authorization)
	if forwardedFor != "" {
		r.Header.Set("X-Forwarded-For", forwardedFor)
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, r)
	return rec.Code
}

func TestLockoutCountsForwardedClients(t *testing.T) {
	env := newTestEnv(t, jose.ES256, func(c *Config) {
		// The username limit is out of reach, so only the address limit
		// can lock.
		c.Lockout = LockoutPolicy{Window: time.Minute, LockAfter: 1000, LockAfterPerAddress: 3}
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	env.server.lockout.sleep = (&sleepRecorder{}).sleep
	const (
		proxy     = "10.0.0.5:40000"
		attacker  = "203.0.113.7"
		neighbor  = "203.0.113.8"
		untrusted = "198.51.100.9:50000"
	)

	for i := range 3 {
		if got := env.forwardedPasswordGrant(t, proxy, attacker, "wrong"); got != http.StatusBadRequest {
			t.Fatalf("wrong password %d from %s: status = %d, want 400", i+1, attacker, got)
		}
	}
	if got := env.forwardedPasswordGrant(t, proxy, attacker, demoPassword); got != http.StatusBadRequest {
		t.Errorf("right password from locked %s: status = %d, want 400", attacker, got)
	}
	if got := env.forwardedPasswordGrant(t, proxy, neighbor, demoPassword); got != http.StatusOK {
		t.Errorf("right password from %s behind the same proxy: status = %d, want 200", neighbor, got)
	}
	if got := env.forwardedPasswordGrant(t, proxy, "", demoPassword); got != http.StatusOK {
		t.Errorf("right password from the proxy itself: status = %d, want 200", got)
	}
	if !strings.Contains(env.logs.String(), `"clientAddress":"`+attacker+`"`) {
		t.Errorf("no lock logged for clientAddress %s; logs:\n%s", attacker, env.logs)
	}

	// A peer outside the trusted range names another client in each
	// request, but its failures count under its own address.
	for i := range 3 {
		spoofed := netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}).String()
		if got := env.forwardedPasswordGrant(t, untrusted, spoofed, "wrong"); got != http.StatusBadRequest {
			t.Fatalf("wrong password %d from %s: status = %d, want 400", i+1, untrusted, got)
		}
	}
	if got := env.forwardedPasswordGrant(t, untrusted, "192.0.2.99", demoPassword); got != http.StatusBadRequest {
		t.Errorf("right password from locked %s with a spoofed header: status = %d, want 400", untrusted, got)
	}
	if got := env.forwardedPasswordGrant(t, proxy, "192.0.2.1", demoPassword); got != http.StatusOK {
		t.Errorf("right password from spoofed 192.0.2.1 through the proxy: status = %d, want 200", got)
	}
	if got := metricSum(t, env, "gatehouse_issuer_lockouts_total"); got != 2 {
		t.Errorf("lockouts_total = %v, want 2 (%s and %s)", got, attacker, untrusted)
	}
}

// metricSum adds up every series of a counter in env's registry.
func metricSum(t *testing.T, env *testEnv, name string) float64 {
	t.Helper()
	families, err := env.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
