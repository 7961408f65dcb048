package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/gatehouse-dev/gatehouse/issuer/store/redis"
	"github.com/gatehouse-dev/gatehouse/issuer/store/storetest"
	goredis "github.com/redis/go-redis/v9"
)

func openStore(t *testing.T, srv *server, keyPrefix string) *redis.Store {
	t.Helper()
	s, err := redis.Open(t.Context(), srv.options(), keyPrefix)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	srv := startServer(t)
	n := 0
	storetest.Run(t, func(t *testing.T) store.Store {
		n++
		return openStore(t, srv, prefix(n))
	})
}

func TestRestartKeepsRecords(t *testing.T) {
	srv := startServer(t, "--appendonly", "yes", "--appendfsync", "always")
	s := openStore(t, srv, "")
	// Redis expires keys by its own clock, so the records use the real time.
	storetest.SurvivesRestart(t, s, time.Now().Truncate(time.Second), func() store.Store {
		srv.restart(t)
		return s
	})
}

func TestOpenRejectsBracePrefix(t *testing.T) {
	for _, p := range []string{"a{b", "a}b"} {
		t.Run(p, func(t *testing.T) {
			_, err := redis.New(nil, p)
			if !errors.Is(err, redis.ErrInvalidPrefix) {
				t.Errorf("got error %v, want ErrInvalidPrefix", err)
			}
		})
	}
}

func BenchmarkRotate(b *testing.B) {
	srv := startServer(b)
	s, err := redis.Open(b.Context(), srv.options(), "")
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	defer s.Close()
	storetest.BenchmarkRotate(b, s)
}

func TestKeysGetTTLsAndSweep(t *testing.T) {
	srv := startServer(t)
	s := openStore(t, srv, "p:")
	ctx := t.Context()
	t0 := storetest.T0
	if err := s.Put(ctx, storetest.Token("one", "f1", t0.Add(time.Hour))); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := s.RevokeAccessToken(ctx, "short", t0.Add(time.Minute), t0); err != nil {
		t.Fatalf("RevokeAccessToken: %v", err)
	}
	if err := s.RevokeAccessToken(ctx, "long", t0.Add(time.Hour), t0.Add(2*time.Minute)); err != nil {
		t.Fatalf("RevokeAccessToken: %v", err)
	}

	client := goredis.NewClient(&goredis.Options{Addr: srv.addr, DisableIdentity: true})
	defer client.Close()
	for _, key := range []string{"p:{fam:f1}:tokens", "p:{fam:f1}:exp", "p:{sub:sub-f1}"} {
		left, err := client.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatalf("PTTL %s: %v", key, err)
		}
		if left <= 59*time.Minute || left > time.Hour {
			t.Errorf("key %s: got TTL %v, want about 1h", key, left)
		}
	}
	if n, err := client.HLen(ctx, "p:{rev}:data").Result(); err != nil || n != 1 {
		t.Errorf("revocation records after the sweep: got %d, %v, want 1, nil", n, err)
	}
	if n, err := client.HLen(ctx, "p:{rev}:jti").Result(); err != nil || n != 1 {
		t.Errorf("jti index after the sweep: got %d, %v, want 1, nil", n, err)
	}
}

func TestRevokedSubjectKeyTTL(t *testing.T) {
	srv := startServer(t)
	s := openStore(t, srv, "p:")
	ctx := t.Context()
	t0 := storetest.T0
	if err := s.RevokeSubjectAccessTokens(ctx, "alice", t0.Add(time.Hour), t0); err != nil {
		t.Fatalf("RevokeSubjectAccessTokens: %v", err)
	}

	client := goredis.NewClient(&goredis.Options{Addr: srv.addr, DisableIdentity: true})
	defer client.Close()
	const key = "p:{rev}:sub:alice"
	checkTTL := func(want time.Duration) {
		t.Helper()
		left, err := client.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatalf("PTTL %s: %v", key, err)
		}
		if left <= want-time.Minute || left > want {
			t.Errorf("key %s: got TTL %v, want about %v", key, left, want)
		}
	}
	checkTTL(time.Hour)

	// A later revocation with a later expiry raises the TTL, and one with
	// an earlier expiry keeps it.
	if err := s.RevokeSubjectAccessTokens(ctx, "alice", t0.Add(3*time.Hour), t0.Add(time.Second)); err != nil {
		t.Fatalf("RevokeSubjectAccessTokens: %v", err)
	}
	checkTTL(3 * time.Hour)
	if err := s.RevokeSubjectAccessTokens(ctx, "alice", t0.Add(time.Hour), t0.Add(2*time.Second)); err != nil {
		t.Fatalf("RevokeSubjectAccessTokens: %v", err)
	}
	checkTTL(3 * time.Hour)

}

func TestPingFollowsServer(t *testing.T) {
	srv := startServer(t)
	s := openStore(t, srv, "ping:")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping with the server up: %v", err)
	}
	srv.kill()
	if err := s.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping with the server stopped: got error %v, want ErrUnavailable", err)
	}
	if _, err := s.Get(ctx, store.HashToken("any"), time.Now()); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Get with the server stopped: got error %v, want ErrUnavailable", err)
	}
}
