package extauthz

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-dev/gatehouse/internal/accesstoken"
)

func cacheEntry(expiresAt int64) *verifiedToken {
	return &verifiedToken{expiresAt: expiresAt, key: &verifyKey{}}
}

func digestOf(i int) tokenDigest {
	var d tokenDigest
	binary.LittleEndian.PutUint64(d[:], uint64(i)*0x9e3779b97f4a7c15)
	return d
}

func TestTokenCacheBounded(t *testing.T) {
	for _, size := range []int{1, 10, 100, 10000} {
		c := newTokenCache(size)
		limit := len(c.shards) * c.perShard
		for i := range 3 * size {
			d := digestOf(i)
			c.put(&d, cacheEntry(1000), 0)
		}
		if got := c.len(); got > limit || got == 0 {
			t.Errorf("size %d: got %d entries after %d inserts, want between 1 and %d", size, got, 3*size, limit)
		}
		if limit > size+len(c.shards) {
			t.Errorf("size %d: capacity %d exceeds size plus one entry per shard", size, limit)
		}
	}
}

func TestTokenCacheExpiry(t *testing.T) {
	c := newTokenCache(100)
	d := digestOf(1)
	vt := cacheEntry(1000)
	c.put(&d, vt, 0)

	if got := c.get(&d, 999); got != vt {
		t.Errorf("get before expiry = %v, want the entry", got)
	}
	if got := c.get(&d, 1000); got != nil {
		t.Errorf("get at expiry = %v, want nil", got)
	}
	stale := digestOf(2)
	c.put(&stale, cacheEntry(1000), 1000)
	if got := c.get(&stale, 0); got != nil {
		t.Errorf("an entry stale when put was stored")
	}
}

func TestTokenCacheRetiredKey(t *testing.T) {
	c := newTokenCache(100)
	d := digestOf(1)
	vt := cacheEntry(1000)
	c.put(&d, vt, 0)
	vt.key.retired.Store(true)

	if got := c.get(&d, 0); got != nil {
		t.Errorf("get after the key was retired = %v, want nil", got)
	}
}

func TestTokenCacheDisabled(t *testing.T) {
	c := newTokenCache(-1)
	d := digestOf(1)
	c.put(&d, cacheEntry(1000), 0)
	if got := c.get(&d, 0); got != nil {
		t.Errorf("a disabled cache returned %v, want nil", got)
	}
}

func TestCacheEntryExpiresAtExp(t *testing.T) {
	env := newTestEnv(t, nil)
	token := env.token(t, func(c *accesstoken.Claims) { c.ExpiresAt.Time = env.clock.Now().Add(time.Minute) })
	req := checkRequest("GET", "h", "/", bearer(token))
	if got := checkStatus(t, env.s, req); got != http.StatusOK {
		t.Fatalf("got status %d, want 200", got)
	}
	if got := env.s.cache.len(); got != 1 {
		t.Fatalf("got %d cache entries after one token, want 1", got)
	}

	env.clock.Advance(time.Minute + DefaultLeeway + time.Second)
	if got := checkStatus(t, env.s, req); got != http.StatusUnauthorized {
		t.Errorf("got status %d for a cached token past exp and leeway, want 401", got)
	}
}

// TestLogsNeverContainToken sends allowed and denied requests through both
// check paths with debug logging on and looks for the token in the output.
func TestLogsNeverContainToken(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env := newTestEnv(t, func(c *Config) {
		c.Logger = logger
		c.Rules = []Rule{{PathPrefix: "/admin", Scopes: []string{"admin"}}}
	})
	token := env.token(t, nil)
	expired := env.token(t, func(c *accesstoken.Claims) { c.ExpiresAt.Time = env.clock.Now().Add(-time.Hour) })
	values := []string{
		"Bearer " + token,
		"Bearer " + expired,
		"Bearer " + token + "," + "Bearer " + token,
		"Bearer " + token + " junk",
	}
	for _, v := range values {
		for _, p := range []string{"/items?access_token=" + token, "/admin"} {
			checkStatus(t, env.s, checkRequest("GET", "h", p, map[string]string{"authorization": v}))
			req := httptest.NewRequestWithContext(t.Context(), "GET", "/x", nil)
			req.Header.Set("Authorization", v)
			req.Header.Set("X-Original-URI", p)
			env.s.HTTPHandler().ServeHTTP(httptest.NewRecorder(), req)
		}
	}

	out := logs.String()
	if !strings.Contains(out, `"msg":"request denied"`) {
		t.Fatalf("no denial was logged, so the test checks nothing; logs:\n%s", out)
	}
	for _, secret := range []string{token, expired, strings.Split(token, ".")[2], "Bearer"} {
		if strings.Contains(out, secret) {
			t.Errorf("logs contain %q", secret[:min(len(secret), 20)])
		}
	}
}

func TestDecisionMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	env := newTestEnv(t, func(c *Config) { c.Metrics = reg })
	token := env.token(t, nil)
	for range 3 {
		checkStatus(t, env.s, checkRequest("GET", "h", "/", bearer(token)))
	}
	checkStatus(t, env.s, checkRequest("GET", "h", "/", nil))

	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := ""
			for _, l := range m.GetLabel() {
				labels += l.GetName() + "=" + l.GetValue() + ","
			}
			if v := m.GetCounter().GetValue(); v > 0 {
				got[f.GetName()+"{"+labels+"}"] = v
			}
		}
	}
	want := map[string]float64{
		"gatehouse_extauthz_decisions_total{reason=token,result=allow,}":                       3,
		"gatehouse_extauthz_decisions_total{reason=missing_token,result=deny,}":                1,
		"gatehouse_extauthz_jwks_refresh_total{issuer=" + env.issuer.url + ",result=success,}": 1,
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("got %s = %v, want %v (all: %v)", name, got[name], v, got)
		}
	}
}
