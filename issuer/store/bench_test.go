package store_test

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/gatehouse-dev/gatehouse/issuer/store/storetest"
)

func BenchmarkMemoryRotate(b *testing.B) {
	storetest.BenchmarkRotate(b, store.NewMemory())
}
