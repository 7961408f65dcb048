package record

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/google/go-cmp/cmp"
)

func TestTokenRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	want := store.RefreshToken{
		Hash:          store.HashToken("raw"),
		FamilyID:      "family",
		ClientID:      "client",
		Username:      "demo",
		Subject:       "sub",
		Scope:         []string{"a", "b"},
		AuthTime:      t0,
		IssuedAt:      t0.Add(time.Second),
		ExpiresAt:     t0.Add(time.Hour),
		IdleExpiresAt: t0.Add(time.Minute),
	}
	data, err := Encode(FromToken(want))
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	rec, err := DecodeToken(data)
	if err != nil {
		t.Fatalf("DecodeToken: %v", err)
	}
	if diff := cmp.Diff(want, rec.RefreshToken(want.Hash)); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if got := rec.Expiry(); !got.Equal(want.IdleExpiresAt) {
		t.Errorf("got expiry %v, want the idle expiry %v", got, want.IdleExpiresAt)
	}
}

func TestDecodeCorrupt(t *testing.T) {
	tests := []struct {
		name   string
		decode func([]byte) error
	}{
		{name: "token", decode: func(b []byte) error { _, err := DecodeToken(b); return err }},
		{name: "revocation", decode: func(b []byte) error { _, err := DecodeRevocation(b); return err }},
		{name: "failures", decode: func(b []byte) error { _, err := DecodeFailures(b); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.decode([]byte(`{"`)); !errors.Is(err, ErrCorrupt) {
				t.Errorf("got error %v, want ErrCorrupt", err)
			}
		})
	}
}

// FuzzDecodeToken checks that any stored bytes either fail with ErrCorrupt
// or decode to a record that encodes and decodes to itself.
func FuzzDecodeToken(f *testing.F) {
	f.Add([]byte(`{"familyID":"f","subject":"s","scope":["a"],"expiresAt":"2026-01-02T03:04:05Z","used":true}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := DecodeToken(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got error %v, want ErrCorrupt", err)
			}
			return
		}
		again, err := Encode(rec)
		if err != nil {
			t.Skip("decoded a time that JSON cannot encode")
		}
		back, err := DecodeToken(again)
		if err != nil {
			t.Fatalf("decode of an encoded record: %v", err)
		}
		if diff := cmp.Diff(rec, back); diff != "" {
			t.Errorf("round trip (-first +second):\n%s", diff)
		}
	})
}
