package jose

import "testing"

// FuzzParseJWKS feeds arbitrary documents to the parser that reads key sets
// fetched from the network. It must never panic, and every key it returns
// must be usable with exactly the algorithm it names.
func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","alg":"RS256","kid":"r","e":"AQAB","n":"AQAB"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParseJWKS(data)
		if err != nil {
			return
		}
		for _, k := range keys {
			if err := checkKeyType(k.Algorithm, k.Key); err != nil {
				t.Fatalf("ParseJWKS returned key %q unusable with %s: %v", k.ID, k.Algorithm, err)
			}
		}
	})
}
