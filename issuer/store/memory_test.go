package store

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newToken(raw, family string, expires time.Time) RefreshToken {
	return RefreshToken{
		Hash:      HashToken(raw),
		FamilyID:  family,
		ClientID:  "client",
		Username:  "demo",
		Subject:   "sub",
		Scope:     []string{"a", "b"},
		AuthTime:  t0,
		IssuedAt:  t0,
		ExpiresAt: expires,
	}
}

func TestMemoryGetAndRotate(t *testing.T) {
	m := NewMemory()
	ctx := t.Context()
	first := newToken("first", "f1", t0.Add(time.Hour))
	if err := m.Put(ctx, first); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := m.Get(ctx, HashToken("first"), t0)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if diff := cmp.Diff(first, got); diff != "" {
		t.Errorf("Get record mismatch (-want +got):\n%s", diff)
	}

	old, err := m.Rotate(ctx, HashToken("first"), newToken("second", "f1", t0.Add(time.Hour)))
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if diff := cmp.Diff(first, old); diff != "" {
		t.Errorf("Rotate record mismatch (-want +got):\n%s", diff)
	}
	if _, err := m.Get(ctx, HashToken("second"), t0); err != nil {
		t.Errorf("Get successor: %v", err)
	}
}

func TestMemoryReuseRevokesFamily(t *testing.T) {
	tests := []struct {
		name  string
		reuse func(m *Memory) error
	}{
		{name: "Get", reuse: func(m *Memory) error {
			_, err := m.Get(t.Context(), HashToken("first"), t0)
			return err
		}},
		{name: "Rotate", reuse: func(m *Memory) error {
			_, err := m.Rotate(t.Context(), HashToken("first"), newToken("third", "f1", t0.Add(time.Hour)))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMemory()
			ctx := t.Context()
			for _, tok := range []RefreshToken{newToken("first", "f1", t0.Add(time.Hour)), newToken("other-family", "f2", t0.Add(time.Hour))} {
				if err := m.Put(ctx, tok); err != nil {
					t.Fatalf("Put: %v", err)
				}
			}
			if _, err := m.Rotate(ctx, HashToken("first"), newToken("second", "f1", t0.Add(time.Hour))); err != nil {
				t.Fatalf("Rotate: %v", err)
			}

			if err := tt.reuse(m); !errors.Is(err, ErrReused) {
				t.Fatalf("reuse of first: got error %v, want ErrReused", err)
			}
			if _, err := m.Get(ctx, HashToken("second"), t0); !errors.Is(err, ErrNotFound) {
				t.Errorf("successor after reuse: got error %v, want ErrNotFound", err)
			}
			if _, err := m.Get(ctx, HashToken("third"), t0); !errors.Is(err, ErrNotFound) {
				t.Errorf("token offered in the reusing Rotate: got error %v, want ErrNotFound", err)
			}
			if _, err := m.Get(ctx, HashToken("other-family"), t0); err != nil {
				t.Errorf("token of another family: got error %v, want none", err)
			}
		})
	}
}

func TestMemoryGetErrors(t *testing.T) {
	m := NewMemory()
	if err := m.Put(t.Context(), newToken("expiring", "f1", t0.Add(time.Minute))); err != nil {
		t.Fatalf("Put: %v", err)
	}
	tests := []struct {
		name    string
		raw     string
		now     time.Time
		wantErr error
	}{
		{name: "unknown", raw: "never-issued", now: t0, wantErr: ErrNotFound},
		{name: "at expiry", raw: "expiring", now: t0.Add(time.Minute), wantErr: ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Get(t.Context(), HashToken(tt.raw), tt.now)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("got error %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestMemoryRotateRejectsOtherFamily(t *testing.T) {
	m := NewMemory()
	if err := m.Put(t.Context(), newToken("one", "f1", t0.Add(time.Hour))); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if _, err := m.Rotate(t.Context(), HashToken("one"), newToken("two", "f2", t0.Add(time.Hour))); err == nil {
		t.Fatal("got nil error, want one")
	}
	if _, err := m.Get(t.Context(), HashToken("one"), t0); err != nil {
		t.Errorf("old token after a failed Rotate: got error %v, want it still usable", err)
	}
}

func TestMemoryRevokeFamily(t *testing.T) {
	m := NewMemory()
	if err := m.Put(t.Context(), newToken("one", "f1", t0.Add(time.Hour))); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := m.RevokeFamily(t.Context(), "f1"); err != nil {
		t.Fatalf("RevokeFamily: %v", err)
	}
	if _, err := m.Get(t.Context(), HashToken("one"), t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("got error %v, want ErrNotFound", err)
	}
	if err := m.RevokeFamily(t.Context(), "unknown"); err != nil {
		t.Errorf("RevokeFamily of an unknown family: %v", err)
	}
}

func TestMemoryPutDuplicate(t *testing.T) {
	m := NewMemory()
	tok := newToken("one", "f1", t0.Add(time.Hour))
	if err := m.Put(t.Context(), tok); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := m.Put(t.Context(), tok); err == nil {
		t.Error("second Put of the same hash: got nil error, want one")
	}
}

func TestMemorySweepsExpired(t *testing.T) {
	m := NewMemory()
	if err := m.Put(t.Context(), newToken("old", "f1", t0.Add(time.Minute))); err != nil {
		t.Fatalf("Put: %v", err)
	}
	later := newToken("new", "f2", t0.Add(3*time.Hour))
	later.IssuedAt = t0.Add(2 * time.Hour)
	if err := m.Put(t.Context(), later); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got := len(m.tokens); got != 1 {
		t.Errorf("got %d stored tokens after the sweep, want 1", got)
	}
	if _, ok := m.families["f1"]; ok {
		t.Error("got family f1 after its only token expired, want it removed")
	}
}

func TestMemoryConcurrentRotate(t *testing.T) {
	// Of many concurrent rotations of one token, exactly one succeeds.
	m := NewMemory()
	if err := m.Put(t.Context(), newToken("one", "f1", t0.Add(time.Hour))); err != nil {
		t.Fatalf("Put: %v", err)
	}

	const workers = 16
	var wg sync.WaitGroup
	results := make(chan error, workers)
	for i := range workers {
		wg.Go(func() {
			next := newToken("next-"+string(rune('a'+i)), "f1", t0.Add(time.Hour))
			_, err := m.Rotate(t.Context(), HashToken("one"), next)
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
		if !errors.Is(err, ErrReused) && !errors.Is(err, ErrNotFound) {
			t.Errorf("got error %v, want ErrReused or ErrNotFound", err)
		}
	}
	if successes != 1 {
		t.Errorf("got %d successful rotations, want 1", successes)
	}
}
