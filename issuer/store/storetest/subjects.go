package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/google/go-cmp/cmp"
)

// concurrentSubjectRevocations is the number of goroutines that revoke one
// subject at once.
const concurrentSubjectRevocations = 20

func mustRevokeSubject(t *testing.T, s store.Store, subject string, expiresAt, now time.Time) {
	t.Helper()
	if err := s.RevokeSubjectAccessTokens(t.Context(), subject, expiresAt, now); err != nil {
		t.Fatalf("RevokeSubjectAccessTokens %s at %s: %v", subject, now, err)
	}
}

func subjectRevoked(t *testing.T, s store.Store, subject string, since, now time.Time) bool {
	t.Helper()
	revoked, err := s.SubjectRevokedSince(t.Context(), subject, since, now)
	if err != nil {
		t.Fatalf("SubjectRevokedSince %s: %v", subject, err)
	}
	return revoked
}

func testSubjectRevocation(t *testing.T, s store.Store) {
	at := T0.Add(500 * time.Millisecond)
	mustRevokeSubject(t, s, "alice", T0.Add(time.Hour), at)

	tests := []struct {
		name    string
		subject string
		since   time.Time
		now     time.Time
		want    bool
	}{
		{name: "issued long before", subject: "alice", since: T0.Add(-time.Hour), now: at, want: true},
		{name: "issued in the same second", subject: "alice", since: T0, now: at, want: true},
		{name: "issued at the revocation", subject: "alice", since: at, now: at, want: true},
		{name: "issued after", subject: "alice", since: at.Add(time.Nanosecond), now: at, want: false},
		{name: "issued in the next second", subject: "alice", since: T0.Add(time.Second), now: at, want: false},
		{name: "before expiry", subject: "alice", since: T0, now: T0.Add(time.Hour - time.Millisecond), want: true},
		{name: "at expiry", subject: "alice", since: T0, now: T0.Add(time.Hour), want: false},
		{name: "other subject", subject: "bob", since: T0, now: at, want: false},
		{name: "empty subject", subject: "", since: T0, now: at, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := subjectRevoked(t, s, tt.subject, tt.since, tt.now); got != tt.want {
				t.Errorf("got revoked %t, want %t", got, tt.want)
			}
		})
	}

	revs := mustList(t, s, 0, at, 10)
	key := store.SubjectRevocationKey("alice", at)
	if len(revs) != 1 {
		t.Fatalf("got revocations %v, want one under %s", jtis(revs), key)
	}
	want := store.Revocation{Cursor: revs[0].Cursor, JTI: key, RevokedAt: at, ExpiresAt: T0.Add(time.Hour)}
	if diff := cmp.Diff(want, revs[0]); diff != "" {
		t.Errorf("feed record (-want +got):\n%s", diff)
	}
	if revoked, err := s.AccessTokenRevoked(t.Context(), key, at); err != nil || !revoked {
		t.Errorf("AccessTokenRevoked %s: got %t, %v, want true, nil", key, revoked, err)
	}
}

// testSubjectRevocationMerge checks that a subject's revocations merge into
// the latest time and the latest expiry, and that a second revocation in
// the same second changes nothing.
func testSubjectRevocationMerge(t *testing.T, s store.Store) {
	first, second := T0, T0.Add(10*time.Second)
	mustRevokeSubject(t, s, "alice", T0.Add(2*time.Hour), first)
	mustRevokeSubject(t, s, "alice", T0.Add(time.Hour), second)
	mustRevokeSubject(t, s, "alice", T0.Add(3*time.Hour), second.Add(300*time.Millisecond))

	tests := []struct {
		name  string
		since time.Time
		now   time.Time
		want  bool
	}{
		{name: "latest time", since: second, now: second, want: true},
		{name: "latest time with latest expiry", since: second, now: T0.Add(90 * time.Minute), want: true},
		{name: "same second ignored for time", since: second.Add(200 * time.Millisecond), now: second.Add(time.Second), want: false},
		{name: "same second ignored for expiry", since: first, now: T0.Add(2 * time.Hour), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := subjectRevoked(t, s, "alice", tt.since, tt.now); got != tt.want {
				t.Errorf("got revoked %t, want %t", got, tt.want)
			}
		})
	}

	want := []string{store.SubjectRevocationKey("alice", first), store.SubjectRevocationKey("alice", second)}
	if diff := cmp.Diff(want, jtis(mustList(t, s, 0, second, 10))); diff != "" {
		t.Errorf("feed records (-want +got):\n%s", diff)
	}
}

// testSubjectRevocationExpiry checks that an expired revocation is not
// recorded and that a subject can be revoked again after its record
// expired.
func testSubjectRevocationExpiry(t *testing.T, s store.Store) {
	mustRevokeSubject(t, s, "dead", T0, T0)
	if subjectRevoked(t, s, "dead", T0.Add(-time.Hour), T0.Add(-time.Minute)) {
		t.Error("subject revoked with an expiry at now: got revoked, want not recorded")
	}
	if revs := mustList(t, s, 0, T0.Add(-time.Minute), 10); len(revs) != 0 {
		t.Errorf("got feed records %v, want none", jtis(revs))
	}

	mustRevokeSubject(t, s, "alice", T0.Add(time.Minute), T0)
	// A later write sweeps the expired record in stores that sweep.
	later := T0.Add(2 * time.Hour)
	mustRevokeSubject(t, s, "bob", later.Add(time.Hour), later)
	if subjectRevoked(t, s, "alice", T0, later) {
		t.Error("alice after her revocation expired: got revoked, want not")
	}
	if !subjectRevoked(t, s, "bob", later, later) {
		t.Error("bob: got not revoked, want revoked")
	}

	again := later.Add(time.Minute)
	mustRevokeSubject(t, s, "alice", again.Add(time.Hour), again)
	if !subjectRevoked(t, s, "alice", again, again.Add(30*time.Minute)) {
		t.Error("alice revoked again: got not revoked, want revoked")
	}
}

func testSubjectRevocationArguments(t *testing.T, s store.Store) {
	err := s.RevokeSubjectAccessTokens(t.Context(), "", T0.Add(time.Hour), T0)
	if !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("RevokeSubjectAccessTokens with an empty subject: got error %v, want ErrInvalidArgument", err)
	}
}

// testConcurrentSubjectRevocations revokes one subject from many goroutines
// at different seconds. Every revocation must reach the feed, and the
// merged record must hold the latest time and expiry, which a lost update
// would miss.
func testConcurrentSubjectRevocations(t *testing.T, s store.Store) {
	errs := make(chan error, concurrentSubjectRevocations)
	var wg sync.WaitGroup
	for i := range concurrentSubjectRevocations {
		wg.Go(func() {
			at := T0.Add(time.Duration(i) * time.Second)
			errs <- s.RevokeSubjectAccessTokens(t.Context(), "alice", at.Add(time.Hour), at)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("RevokeSubjectAccessTokens: %v", err)
		}
	}

	last := T0.Add((concurrentSubjectRevocations - 1) * time.Second)
	if !subjectRevoked(t, s, "alice", last, last.Add(time.Hour-time.Millisecond)) {
		t.Errorf("got not revoked since %s until its expiry, want the latest revocation kept", last)
	}
	revs := mustList(t, s, 0, last, 2*concurrentSubjectRevocations)
	if len(revs) != concurrentSubjectRevocations {
		t.Fatalf("got %d feed records, want %d", len(revs), concurrentSubjectRevocations)
	}
	seen := make(map[string]bool)
	for _, r := range revs {
		seen[r.JTI] = true
	}
	for i := range concurrentSubjectRevocations {
		key := store.SubjectRevocationKey("alice", T0.Add(time.Duration(i)*time.Second))
		if !seen[key] {
			t.Errorf("feed record %s missing", key)
		}
	}
	if t.Failed() {
		t.Logf("feed records: %v", jtis(revs))
	}
}
