package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/google/go-cmp/cmp"
)

// jtis returns the JTI of each revocation, in order.
func jtis(revs []store.Revocation) []string {
	out := make([]string, 0, len(revs))
	for _, r := range revs {
		out = append(out, r.JTI)
	}
	return out
}

func mustRevoke(t *testing.T, s store.Store, jti string, expiresAt, now time.Time) {
	t.Helper()
	if err := s.RevokeAccessToken(t.Context(), jti, expiresAt, now); err != nil {
		t.Fatalf("RevokeAccessToken %s: %v", jti, err)
	}
}

func mustList(t *testing.T, s store.Store, after uint64, now time.Time, limit int) []store.Revocation {
	t.Helper()
	revs, err := s.ListRevocations(t.Context(), after, now, limit)
	if err != nil {
		t.Fatalf("ListRevocations after %d: %v", after, err)
	}
	return revs
}

func testRevocationsByCursor(t *testing.T, s store.Store) {
	for i, jti := range []string{"j1", "j2", "j3"} {
		mustRevoke(t, s, jti, T0.Add(time.Hour), T0.Add(time.Duration(i)*time.Second))
	}
	mustRevoke(t, s, "j1", T0.Add(2*time.Hour), T0.Add(time.Minute))

	all := mustList(t, s, 0, T0.Add(time.Minute), 10)
	if diff := cmp.Diff([]string{"j1", "j2", "j3"}, jtis(all)); diff != "" {
		t.Fatalf("all revocations (-want +got):\n%s", diff)
	}
	want := store.Revocation{Cursor: all[0].Cursor, JTI: "j1", RevokedAt: T0, ExpiresAt: T0.Add(time.Hour)}
	if diff := cmp.Diff(want, all[0]); diff != "" {
		t.Errorf("first revocation (-want +got):\n%s", diff)
	}
	if !(all[0].Cursor < all[1].Cursor && all[1].Cursor < all[2].Cursor) {
		t.Errorf("got cursors %d, %d, %d, want increasing", all[0].Cursor, all[1].Cursor, all[2].Cursor)
	}

	tests := []struct {
		name  string
		after uint64
		limit int
		want  []string
	}{
		{name: "after first", after: all[0].Cursor, limit: 10, want: []string{"j2", "j3"}},
		{name: "limit one", after: 0, limit: 1, want: []string{"j1"}},
		{name: "after last", after: all[2].Cursor, limit: 10, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustList(t, s, tt.after, T0.Add(time.Minute), tt.limit)
			if diff := cmp.Diff(tt.want, jtis(got)); diff != "" {
				t.Errorf("revocations (-want +got):\n%s", diff)
			}
		})
	}

	mustRevoke(t, s, "j4", T0.Add(time.Hour), T0.Add(2*time.Minute))
	got := mustList(t, s, all[2].Cursor, T0.Add(2*time.Minute), 10)
	if diff := cmp.Diff([]string{"j4"}, jtis(got)); diff != "" {
		t.Errorf("revocations after the last cursor (-want +got):\n%s", diff)
	}
}

func testRevocationExpiry(t *testing.T, s store.Store) {
	mustRevoke(t, s, "short", T0.Add(time.Minute), T0)
	mustRevoke(t, s, "long", T0.Add(time.Hour), T0)
	mustRevoke(t, s, "dead", T0, T0)

	tests := []struct {
		name string
		jti  string
		now  time.Time
		want bool
	}{
		{name: "before expiry", jti: "short", now: T0.Add(time.Minute - time.Millisecond), want: true},
		{name: "at expiry", jti: "short", now: T0.Add(time.Minute), want: false},
		{name: "long lived", jti: "long", now: T0.Add(time.Minute), want: true},
		{name: "expired when revoked", jti: "dead", now: T0, want: false},
		{name: "never revoked", jti: "other", now: T0, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.AccessTokenRevoked(t.Context(), tt.jti, tt.now)
			if err != nil {
				t.Fatalf("AccessTokenRevoked: %v", err)
			}
			if got != tt.want {
				t.Errorf("got revoked %t, want %t", got, tt.want)
			}
		})
	}

	// Revoking later entries drops the expired ones; the listing skips
	// them in any case.
	mustRevoke(t, s, "later", T0.Add(3*time.Hour), T0.Add(2*time.Minute))
	got := mustList(t, s, 0, T0.Add(2*time.Minute), 10)
	if diff := cmp.Diff([]string{"long", "later"}, jtis(got)); diff != "" {
		t.Errorf("revocations after one expired (-want +got):\n%s", diff)
	}
}

func testRevocationArguments(t *testing.T, s store.Store) {
	if err := s.RevokeAccessToken(t.Context(), "", T0.Add(time.Hour), T0); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("RevokeAccessToken with an empty jti: got error %v, want ErrInvalidArgument", err)
	}
	if _, err := s.ListRevocations(t.Context(), 0, T0, 0); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("ListRevocations with limit 0: got error %v, want ErrInvalidArgument", err)
	}
}

func recordFailure(t *testing.T, s store.Store, key string, now time.Time) int {
	t.Helper()
	n, err := s.RecordFailure(t.Context(), key, time.Minute, now)
	if err != nil {
		t.Fatalf("RecordFailure %s: %v", key, err)
	}
	return n
}

func failures(t *testing.T, s store.Store, key string, now time.Time) int {
	t.Helper()
	n, err := s.Failures(t.Context(), key, now)
	if err != nil {
		t.Fatalf("Failures %s: %v", key, err)
	}
	return n
}

func testFailureWindow(t *testing.T, s store.Store) {
	var counts []int
	for i := range 3 {
		counts = append(counts, recordFailure(t, s, "alice", T0.Add(time.Duration(i)*time.Second)))
	}
	counts = append(counts, recordFailure(t, s, "10.0.0.1", T0))
	if diff := cmp.Diff([]int{1, 2, 3, 1}, counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}

	tests := []struct {
		name string
		key  string
		now  time.Time
		want int
	}{
		{name: "inside window", key: "alice", now: T0.Add(time.Minute - time.Millisecond), want: 3},
		{name: "at window end", key: "alice", now: T0.Add(time.Minute), want: 0},
		{name: "other key", key: "10.0.0.1", now: T0.Add(30 * time.Second), want: 1},
		{name: "unknown key", key: "bob", now: T0, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := failures(t, s, tt.key, tt.now); got != tt.want {
				t.Errorf("got %d failures, want %d", got, tt.want)
			}
		})
	}

	if got := recordFailure(t, s, "alice", T0.Add(time.Minute)); got != 1 {
		t.Errorf("first failure of a new window: got count %d, want 1", got)
	}
	if got := failures(t, s, "alice", T0.Add(time.Minute+59*time.Second)); got != 1 {
		t.Errorf("failures late in the new window: got %d, want 1", got)
	}
}

func testFailureReset(t *testing.T, s store.Store) {
	recordFailure(t, s, "alice", T0)
	recordFailure(t, s, "bob", T0)
	if err := s.ResetFailures(t.Context(), "alice"); err != nil {
		t.Fatalf("ResetFailures: %v", err)
	}
	if got := failures(t, s, "alice", T0); got != 0 {
		t.Errorf("alice after reset: got %d failures, want 0", got)
	}
	if got := failures(t, s, "bob", T0); got != 1 {
		t.Errorf("bob after alice's reset: got %d failures, want 1", got)
	}
	if err := s.ResetFailures(t.Context(), "nobody"); err != nil {
		t.Errorf("ResetFailures of an unknown key: %v", err)
	}
}

func testFailureArguments(t *testing.T, s store.Store) {
	tests := []struct {
		name   string
		key    string
		window time.Duration
	}{
		{name: "empty key", key: "", window: time.Minute},
		{name: "zero window", key: "alice", window: 0},
		{name: "negative window", key: "alice", window: -time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.RecordFailure(t.Context(), tt.key, tt.window, T0)
			if !errors.Is(err, store.ErrInvalidArgument) {
				t.Errorf("got error %v, want ErrInvalidArgument", err)
			}
		})
	}
}
