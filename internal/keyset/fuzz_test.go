package keyset

import (
	"bytes"
	"testing"
)

// FuzzParse feeds arbitrary documents to the parser of the key-set Secret,
// which anyone who can edit that Secret controls. Parse must never panic,
// and every set it accepts must encode and parse back to the same document.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kid":"a","alg":"ES256","state":"active","privateKey":"","created":"2026-03-01T12:00:00Z"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Parse(data)
		if err != nil {
			return
		}
		if set.Active() == nil {
			t.Fatal("Parse accepted a set without an active key")
		}
		encoded, err := Marshal(set)
		if err != nil {
			t.Fatalf("Marshal of a parsed set: %v", err)
		}
		again, err := Parse(encoded)
		if err != nil {
			t.Fatalf("Parse of Marshal output: %v", err)
		}
		reencoded, err := Marshal(again)
		if err != nil {
			t.Fatalf("second Marshal: %v", err)
		}
		if !bytes.Equal(encoded, reencoded) {
			t.Fatalf("Marshal output changed after a round trip:\n%s\n%s", encoded, reencoded)
		}
	})
}
