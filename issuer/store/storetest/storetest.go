package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/google/go-cmp/cmp"
)

// T0 is the clock of every case: a fixed instant, so that expiry follows
// the times that the cases pass and not the wall clock.
var T0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// concurrentRotations is the number of goroutines that rotate one token at
// once.
const concurrentRotations = 20

// NewStore returns an empty store for one test, and registers its cleanup
// with t.
type NewStore func(t *testing.T) store.Store

// Run runs every contract case against stores from newStore, each case on
// a new store.
func Run(t *testing.T, newStore NewStore) {
	cases := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{name: "put get rotate", run: testPutGetRotate},
		{name: "put duplicate", run: testPutDuplicate},
		{name: "get errors", run: testGetErrors},
		{name: "rotate other family", run: testRotateOtherFamily},
		{name: "reuse by get revokes family", run: testReuseByGet},
		{name: "reuse by rotate revokes family", run: testReuseByRotate},
		{name: "concurrent rotation one wins", run: testConcurrentRotate},
		{name: "revoke family", run: testRevokeFamily},
		{name: "revoke subject", run: testRevokeSubject},
		{name: "revocations by cursor", run: testRevocationsByCursor},
		{name: "revocation expiry", run: testRevocationExpiry},
		{name: "revocation arguments", run: testRevocationArguments},
		{name: "subject revocation", run: testSubjectRevocation},
		{name: "subject revocations merge", run: testSubjectRevocationMerge},
		{name: "subject revocation expiry", run: testSubjectRevocationExpiry},
		{name: "subject revocation arguments", run: testSubjectRevocationArguments},
		{name: "concurrent subject revocations", run: testConcurrentSubjectRevocations},
		{name: "failure counter window", run: testFailureWindow},
		{name: "failure counter reset", run: testFailureReset},
		{name: "failure counter arguments", run: testFailureArguments},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, newStore(t))
		})
	}
}

// Token returns a token record with the raw token raw, in family, that
// expires at expires.
func Token(raw, family string, expires time.Time) store.RefreshToken {
	return store.RefreshToken{
		Hash:      store.HashToken(raw),
		FamilyID:  family,
		ClientID:  "client",
		Username:  "demo",
		Subject:   "sub-" + family,
		Scope:     []string{"a", "b"},
		AuthTime:  T0,
		IssuedAt:  T0,
		ExpiresAt: expires,
	}
}

// Successor returns the token that replaces prev on rotation at now.
func Successor(prev store.RefreshToken, raw string, now time.Time) store.RefreshToken {
	next := prev
	next.Hash = store.HashToken(raw)
	next.IssuedAt = now
	return next
}

func mustPut(t *testing.T, s store.Store, tokens ...store.RefreshToken) {
	t.Helper()
	for _, tok := range tokens {
		if err := s.Put(t.Context(), tok); err != nil {
			t.Fatalf("Put family %s: %v", tok.FamilyID, err)
		}
	}
}

func mustRotate(t *testing.T, s store.Store, oldRaw string, next store.RefreshToken) {
	t.Helper()
	if _, err := s.Rotate(t.Context(), store.HashToken(oldRaw), next); err != nil {
		t.Fatalf("Rotate %s: %v", oldRaw, err)
	}
}

func wantGetErr(t *testing.T, s store.Store, raw string, now time.Time, want error) {
	t.Helper()
	_, err := s.Get(t.Context(), store.HashToken(raw), now)
	if !errors.Is(err, want) {
		t.Errorf("Get %s: got error %v, want %v", raw, err, want)
	}
}

func testPutGetRotate(t *testing.T, s store.Store) {
	first := Token("first", "f1", T0.Add(time.Hour))
	first.IdleExpiresAt = T0.Add(30 * time.Minute)
	mustPut(t, s, first)

	got, err := s.Get(t.Context(), first.Hash, T0)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if diff := cmp.Diff(first, got); diff != "" {
		t.Errorf("Get record mismatch (-want +got):\n%s", diff)
	}

	second := Successor(first, "second", T0.Add(time.Minute))
	second.IdleExpiresAt = T0.Add(31 * time.Minute)
	old, err := s.Rotate(t.Context(), first.Hash, second)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if diff := cmp.Diff(first, old); diff != "" {
		t.Errorf("Rotate record mismatch (-want +got):\n%s", diff)
	}
	got, err = s.Get(t.Context(), second.Hash, T0.Add(time.Minute))
	if err != nil {
		t.Fatalf("Get successor: %v", err)
	}
	if diff := cmp.Diff(second, got); diff != "" {
		t.Errorf("Get successor mismatch (-want +got):\n%s", diff)
	}
}

func testPutDuplicate(t *testing.T, s store.Store) {
	tok := Token("one", "f1", T0.Add(time.Hour))
	mustPut(t, s, tok)
	if err := s.Put(t.Context(), tok); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("second Put: got error %v, want ErrDuplicate", err)
	}
	if _, err := s.Rotate(t.Context(), tok.Hash, tok); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("Rotate onto its own hash: got error %v, want ErrDuplicate", err)
	}
	if _, err := s.Get(t.Context(), tok.Hash, T0); err != nil {
		t.Errorf("Get after the failed Rotate: got error %v, want it still usable", err)
	}
}

func testGetErrors(t *testing.T, s store.Store) {
	idle := Token("idle", "f2", T0.Add(time.Hour))
	idle.IdleExpiresAt = T0.Add(10 * time.Minute)
	mustPut(t, s, Token("expiring", "f1", T0.Add(time.Minute)), idle)

	tests := []struct {
		name    string
		raw     string
		now     time.Time
		wantErr error
	}{
		{name: "unknown", raw: "never-issued", now: T0, wantErr: store.ErrNotFound},
		{name: "at expiry", raw: "expiring", now: T0.Add(time.Minute), wantErr: store.ErrExpired},
		{name: "before idle expiry", raw: "idle", now: T0.Add(10*time.Minute - time.Millisecond), wantErr: nil},
		{name: "at idle expiry", raw: "idle", now: T0.Add(10 * time.Minute), wantErr: store.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Get(t.Context(), store.HashToken(tt.raw), tt.now)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("got error %v, want %v", err, tt.wantErr)
			}
		})
	}
	expired := Successor(Token("expiring", "f1", T0.Add(time.Minute)), "late", T0.Add(time.Minute))
	if _, err := s.Rotate(t.Context(), store.HashToken("expiring"), expired); !errors.Is(err, store.ErrExpired) {
		t.Errorf("Rotate at expiry: got error %v, want ErrExpired", err)
	}
}

func testRotateOtherFamily(t *testing.T, s store.Store) {
	mustPut(t, s, Token("one", "f1", T0.Add(time.Hour)), Token("x", "f2", T0.Add(time.Hour)))
	_, err := s.Rotate(t.Context(), store.HashToken("one"), Token("two", "f2", T0.Add(time.Hour)))
	if !errors.Is(err, store.ErrFamilyMismatch) {
		t.Fatalf("got error %v, want ErrFamilyMismatch", err)
	}
	if _, err := s.Get(t.Context(), store.HashToken("one"), T0); err != nil {
		t.Errorf("old token after a failed Rotate: got error %v, want it still usable", err)
	}
	wantGetErr(t, s, "two", T0, store.ErrNotFound)
}

// prepareReuse stores family f1 with "first" rotated to "second", and an
// unrelated family f2.
func prepareReuse(t *testing.T, s store.Store) store.RefreshToken {
	first := Token("first", "f1", T0.Add(time.Hour))
	mustPut(t, s, first, Token("other-family", "f2", T0.Add(time.Hour)))
	mustRotate(t, s, "first", Successor(first, "second", T0))
	return first
}

func checkFamilyRevoked(t *testing.T, s store.Store) {
	t.Helper()
	wantGetErr(t, s, "second", T0, store.ErrNotFound)
	wantGetErr(t, s, "third", T0, store.ErrNotFound)
	wantGetErr(t, s, "first", T0, store.ErrNotFound)
	if _, err := s.Get(t.Context(), store.HashToken("other-family"), T0); err != nil {
		t.Errorf("token of another family: got error %v, want none", err)
	}
}

func testReuseByGet(t *testing.T, s store.Store) {
	first := prepareReuse(t, s)
	rec, err := s.Get(t.Context(), first.Hash, T0)
	if !errors.Is(err, store.ErrReused) {
		t.Fatalf("Get of a used token: got error %v, want ErrReused", err)
	}
	if rec.FamilyID != first.FamilyID {
		t.Errorf("Get of a used token: got family %q, want %q with ErrReused", rec.FamilyID, first.FamilyID)
	}
	checkFamilyRevoked(t, s)
}

func testReuseByRotate(t *testing.T, s store.Store) {
	first := prepareReuse(t, s)
	rec, err := s.Rotate(t.Context(), first.Hash, Successor(first, "third", T0))
	if !errors.Is(err, store.ErrReused) {
		t.Fatalf("Rotate of a used token: got error %v, want ErrReused", err)
	}
	if rec.FamilyID != first.FamilyID {
		t.Errorf("Rotate of a used token: got family %q, want %q with ErrReused", rec.FamilyID, first.FamilyID)
	}
	checkFamilyRevoked(t, s)
}

func testConcurrentRotate(t *testing.T, s store.Store) {
	first := Token("one", "f1", T0.Add(time.Hour))
	mustPut(t, s, first)

	results := make(chan error, concurrentRotations)
	var wg sync.WaitGroup
	for i := range concurrentRotations {
		wg.Go(func() {
			_, err := s.Rotate(t.Context(), first.Hash, Successor(first, fmt.Sprintf("next-%d", i), T0))
			results <- err
		})
	}
	wg.Wait()
	close(results)

	successes := 0
	for err := range results {
		if err == nil {
			successes++
			continue
		}
		if !errors.Is(err, store.ErrReused) && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("got error %v, want ErrReused or ErrNotFound", err)
		}
	}
	if successes != 1 {
		t.Errorf("got %d successful rotations, want 1", successes)
	}
}

func testRevokeFamily(t *testing.T, s store.Store) {
	first := Token("one", "f1", T0.Add(time.Hour))
	mustPut(t, s, first, Token("keep", "f2", T0.Add(time.Hour)))
	mustRotate(t, s, "one", Successor(first, "two", T0))
	if err := s.RevokeFamily(t.Context(), "f1"); err != nil {
		t.Fatalf("RevokeFamily: %v", err)
	}
	wantGetErr(t, s, "one", T0, store.ErrNotFound)
	wantGetErr(t, s, "two", T0, store.ErrNotFound)
	wantGetErr(t, s, "keep", T0, nil)
	if err := s.RevokeFamily(t.Context(), "unknown"); err != nil {
		t.Errorf("RevokeFamily of an unknown family: %v", err)
	}
}

func testRevokeSubject(t *testing.T, s store.Store) {
	a1, a2 := Token("a1", "fa1", T0.Add(time.Hour)), Token("a2", "fa2", T0.Add(time.Hour))
	a1.Subject, a2.Subject = "alice", "alice"
	b := Token("b", "fb", T0.Add(time.Hour))
	b.Subject = "bob"
	mustPut(t, s, a1, a2, b)
	mustRotate(t, s, "a1", Successor(a1, "a1-next", T0))

	if err := s.RevokeSubject(t.Context(), "alice"); err != nil {
		t.Fatalf("RevokeSubject: %v", err)
	}
	for _, raw := range []string{"a1", "a1-next", "a2"} {
		wantGetErr(t, s, raw, T0, store.ErrNotFound)
	}
	wantGetErr(t, s, "b", T0, nil)
	if err := s.RevokeSubject(t.Context(), "nobody"); err != nil {
		t.Errorf("RevokeSubject of an unknown subject: %v", err)
	}

	again := Token("a3", "fa3", T0.Add(time.Hour))
	again.Subject = "alice"
	mustPut(t, s, again)
	wantGetErr(t, s, "a3", T0, nil)
}
