package issuer

import (
	"context"
	"net/http"
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
