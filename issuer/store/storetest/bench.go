package storetest

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
)

// BenchmarkRotate measures one refresh: Rotate of the family's newest
// token to a new one, as the refresh_token grant does. It reports
// allocations.
func BenchmarkRotate(b *testing.B, s store.Store) {
	prev := Token("bench-0", "bench", T0.Add(24*time.Hour))
	if err := s.Put(b.Context(), prev); err != nil {
		b.Fatalf("Put: %v", err)
	}
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		i++
		next := prev
		binary.BigEndian.PutUint64(next.Hash[:], i)
		if _, err := s.Rotate(b.Context(), prev.Hash, next); err != nil {
			b.Fatalf("Rotate %d: %v", i, err)
		}
		prev = next
	}
}
