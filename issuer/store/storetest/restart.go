package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
)

// SurvivesRestart writes a rotated refresh token family, a revocation and a
// login failure through s, calls restart, and checks them through the store
// that restart returns: the successor is readable, the revocation is listed
// and its cursor still works, the failure is counted, and the used token is
// still detected as reused. t0 is the store's notion of now.
func SurvivesRestart(t *testing.T, s store.Store, t0 time.Time, restart func() store.Store) {
	t.Helper()
	ctx := t.Context()
	first := Token("first", "f1", t0.Add(time.Hour))
	first.IssuedAt = t0
	if err := s.Put(ctx, first); err != nil {
		t.Fatalf("Put: %v", err)
	}
	second := Successor(first, "second", t0)
	if _, err := s.Rotate(ctx, first.Hash, second); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if err := s.RevokeAccessToken(ctx, "jti-1", t0.Add(time.Hour), t0); err != nil {
		t.Fatalf("RevokeAccessToken: %v", err)
	}
	if _, err := s.RecordFailure(ctx, "alice", time.Minute, t0); err != nil {
		t.Fatalf("RecordFailure: %v", err)
	}

	s = restart()

	got, err := s.Get(ctx, second.Hash, t0)
	if err != nil {
		t.Fatalf("Get successor after restart: %v", err)
	}
	if diff := cmp.Diff(second, got); diff != "" {
		t.Errorf("successor after restart (-want +got):\n%s", diff)
	}
	revs, err := s.ListRevocations(ctx, 0, t0, 10)
	if err != nil {
		t.Fatalf("ListRevocations: %v", err)
	}
	if len(revs) != 1 || revs[0].JTI != "jti-1" {
		t.Fatalf("got revocations %+v, want jti-1 only", revs)
	}
	if n, err := s.Failures(ctx, "alice", t0); err != nil || n != 1 {
		t.Errorf("Failures after restart: got %d, %v, want 1, nil", n, err)
	}

	if err := s.RevokeAccessToken(ctx, "jti-2", t0.Add(time.Hour), t0); err != nil {
		t.Fatalf("RevokeAccessToken: %v", err)
	}
	revs, err = s.ListRevocations(ctx, revs[0].Cursor, t0, 10)
	if err != nil || len(revs) != 1 || revs[0].JTI != "jti-2" {
		t.Errorf("revocations after the pre-restart cursor: got %+v, %v, want jti-2 only", revs, err)
	}
	if _, err := s.Get(ctx, first.Hash, t0); !errors.Is(err, store.ErrReused) {
		t.Errorf("reuse after restart: got error %v, want ErrReused", err)
	}
}
