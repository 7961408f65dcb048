package bolt_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/gatehouse-dev/gatehouse/issuer/store/bolt"
	"github.com/gatehouse-dev/gatehouse/issuer/store/storetest"
	bbolt "go.etcd.io/bbolt"
)

func openStore(t *testing.T, path string) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		// A test may close the store itself, and bbolt accepts a second
		// Close.
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openStore(t, filepath.Join(t.TempDir(), "store.db"))
	})
}

func TestReopenKeepsRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s := openStore(t, path)
	storetest.SurvivesRestart(t, s, storetest.T0, func() store.Store {
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		return openStore(t, path)
	})
}

func TestSweepRemovesExpired(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "store.db"))
	ctx := t.Context()
	t0 := storetest.T0

	short := storetest.Token("short", "f1", t0.Add(time.Minute))
	long := storetest.Token("long", "f2", t0.Add(time.Hour))
	for _, tok := range []store.RefreshToken{short, long} {
		if err := s.Put(ctx, tok); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	if err := s.RevokeAccessToken(ctx, "jti", t0.Add(time.Minute), t0); err != nil {
		t.Fatalf("RevokeAccessToken: %v", err)
	}
	if _, err := s.RecordFailure(ctx, "alice", time.Minute, t0); err != nil {
		t.Fatalf("RecordFailure: %v", err)
	}

	removed, err := s.Sweep(ctx, t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if removed != 3 {
		t.Errorf("got %d records removed, want 3", removed)
	}
	if _, err := s.Get(ctx, short.Hash, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("swept token: got error %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, long.Hash, t0); err != nil {
		t.Errorf("live token: got error %v, want none", err)
	}
	if revoked, _ := s.AccessTokenRevoked(ctx, "jti", t0); revoked {
		t.Error("swept revocation: got revoked, want it removed")
	}
	if removed, _ := s.Sweep(ctx, t0.Add(time.Minute)); removed != 0 {
		t.Errorf("second sweep: got %d records removed, want 0", removed)
	}
}

func TestSweepFollowsSubjectRevocationExpiry(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "store.db"))
	ctx := t.Context()
	t0 := storetest.T0
	if err := s.RevokeSubjectAccessTokens(ctx, "alice", t0.Add(time.Minute), t0); err != nil {
		t.Fatalf("RevokeSubjectAccessTokens: %v", err)
	}
	if err := s.RevokeSubjectAccessTokens(ctx, "alice", t0.Add(time.Hour), t0.Add(10*time.Second)); err != nil {
		t.Fatalf("RevokeSubjectAccessTokens: %v", err)
	}

	// The first feed record expires. The subject's record does not, because
	// the second revocation moved its expiry.
	if removed, err := s.Sweep(ctx, t0.Add(time.Minute)); err != nil || removed != 1 {
		t.Errorf("sweep at the first expiry: got %d records removed, %v, want 1, nil", removed, err)
	}
	if revoked, err := s.SubjectRevokedSince(ctx, "alice", t0.Add(10*time.Second), t0.Add(time.Minute)); err != nil || !revoked {
		t.Errorf("SubjectRevokedSince after the first sweep: got %t, %v, want true, nil", revoked, err)
	}

	if removed, err := s.Sweep(ctx, t0.Add(time.Hour)); err != nil || removed != 2 {
		t.Errorf("sweep at the second expiry: got %d records removed, %v, want 2, nil", removed, err)
	}
	// Asked at a time before the expiry, only a removed record reads as
	// not revoked.
	if revoked, err := s.SubjectRevokedSince(ctx, "alice", t0, t0.Add(30*time.Minute)); err != nil || revoked {
		t.Errorf("SubjectRevokedSince after the second sweep: got %t, %v, want false, nil", revoked, err)
	}
}

func TestOpenAddsRevokedSubjectsBucket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatalf("bbolt.Open: %v", err)
	}
	// The buckets of a file from before subject revocations were stored.
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, name := range []string{"tokens", "families", "subjects", "expiry", "revocations", "revokedJTI", "failures"} {
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("create the old buckets: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	s := openStore(t, path)
	t0 := storetest.T0
	if err := s.RevokeSubjectAccessTokens(t.Context(), "alice", t0.Add(time.Hour), t0); err != nil {
		t.Fatalf("RevokeSubjectAccessTokens on an old file: %v", err)
	}
	if revoked, err := s.SubjectRevokedSince(t.Context(), "alice", t0, t0); err != nil || !revoked {
		t.Errorf("SubjectRevokedSince: got %t, %v, want true, nil", revoked, err)
	}
}

func TestOpenLockedFileTimesOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	openStore(t, path)
	_, err := bolt.Open(path, bolt.Options{LockTimeout: 50 * time.Millisecond})
	if err == nil {
		t.Fatal("second Open of a locked file: got nil error, want a timeout")
	}
}

func BenchmarkRotate(b *testing.B) {
	s, err := bolt.Open(filepath.Join(b.TempDir(), "store.db"), bolt.Options{})
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	defer s.Close()
	storetest.BenchmarkRotate(b, s)
}

// TestWritesSweepOncePerInterval checks that writes sweep expired records,
// but at most once per SweepInterval of the time they are given.
func TestWritesSweepOncePerInterval(t *testing.T) {
	s, err := bolt.Open(filepath.Join(t.TempDir(), "store.db"), bolt.Options{SweepInterval: time.Hour})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	ctx := t.Context()
	t0 := storetest.T0

	short := storetest.Token("short", "f1", t0.Add(time.Minute))
	short.IssuedAt = t0
	if err := s.Put(ctx, short); err != nil {
		t.Fatalf("Put: %v", err)
	}
	// Within the interval of the Put's sweep: this write must not sweep.
	if err := s.RevokeAccessToken(ctx, "jti-a", t0.Add(time.Hour), t0.Add(2*time.Minute)); err != nil {
		t.Fatalf("RevokeAccessToken: %v", err)
	}
	if removed, err := s.Sweep(ctx, t0.Add(2*time.Minute)); err != nil || removed != 1 {
		t.Errorf("sweep after a write within the interval: got %d removed, %v, want 1 (the expired token)", removed, err)
	}

	expiring := storetest.Token("expiring", "f2", t0.Add(3*time.Minute))
	expiring.IssuedAt = t0.Add(2 * time.Minute)
	if err := s.Put(ctx, expiring); err != nil {
		t.Fatalf("Put: %v", err)
	}
	// An hour after the first sweep: this write sweeps the expired token
	// and the expired revocation.
	late := t0.Add(time.Hour + time.Second)
	if err := s.RevokeAccessToken(ctx, "jti-b", late.Add(time.Hour), late); err != nil {
		t.Fatalf("RevokeAccessToken: %v", err)
	}
	if removed, err := s.Sweep(ctx, late); err != nil || removed != 0 {
		t.Errorf("sweep after a write past the interval: got %d removed, %v, want 0 (the write swept)", removed, err)
	}
}
