package jose

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGenerateKeyRoundTrip(t *testing.T) {
	for _, alg := range []Algorithm{ES256, RS256, EdDSA} {
		t.Run(string(alg), func(t *testing.T) {
			key, err := GenerateKey(alg)
			if err != nil {
				t.Fatalf("GenerateKey(%s): %v", alg, err)
			}
			pemData, err := MarshalPrivateKeyPEM(key)
			if err != nil {
				t.Fatalf("MarshalPrivateKeyPEM: %v", err)
			}
			loaded, err := ParsePrivateKeyPEM(pemData, alg)
			if err != nil {
				t.Fatalf("ParsePrivateKeyPEM: %v", err)
			}
			if loaded.ID != key.ID {
				t.Errorf("loaded kid = %q, want %q", loaded.ID, key.ID)
			}
			set, err := MarshalJWKS([]PublicKey{key.Public()})
			if err != nil {
				t.Fatalf("MarshalJWKS: %v", err)
			}
			if strings.Contains(string(set), `"d"`) {
				t.Errorf("JWKS contains a private member: %s", set)
			}
			parsed, err := ParseJWKS(set)
			if err != nil {
				t.Fatalf("ParseJWKS: %v", err)
			}
			if len(parsed) != 1 || parsed[0].ID != key.ID || parsed[0].Algorithm != alg {
				t.Fatalf("ParseJWKS = %+v, want one %s key %q", parsed, alg, key.ID)
			}
			again, err := Thumbprint(parsed[0].Key)
			if err != nil || again != key.ID {
				t.Errorf("thumbprint of parsed key = %q, %v; want %q", again, err, key.ID)
			}
		})
	}
}

// TestThumbprintRFC7638 checks the example of RFC 7638 §3.1.
func TestThumbprintRFC7638(t *testing.T) {
	set := `{"keys":[{"kty":"RSA","alg":"RS256","kid":"x","e":"AQAB","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}]}`
	keys, err := ParseJWKS([]byte(set))
	if err != nil {
		t.Fatalf("ParseJWKS: %v", err)
	}
	got, err := Thumbprint(keys[0].Key)
	if err != nil {
		t.Fatalf("Thumbprint: %v", err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Errorf("Thumbprint = %q, want %q", got, want)
	}
}

func TestParseJWKSRejects(t *testing.T) {
	es, err := GenerateKey(ES256)
	if err != nil {
		t.Fatal(err)
	}
	good := mustJWK(t, es.Public())
	tests := []struct {
		name   string
		mutate func(*JWK)
		want   string
	}{
		{name: "missing kid", mutate: func(k *JWK) { k.KeyID = "" }, want: `missing "kid"`},
		{name: "missing alg", mutate: func(k *JWK) { k.Algorithm = "" }, want: "unsupported signature algorithm"},
		{name: "HMAC alg", mutate: func(k *JWK) { k.Algorithm = "HS256" }, want: "unsupported signature algorithm"},
		{name: "alg none", mutate: func(k *JWK) { k.Algorithm = "none" }, want: "unsupported signature algorithm"},
		{name: "alg of another key type", mutate: func(k *JWK) { k.Algorithm = "RS256" }, want: "cannot sign RS256"},
		{name: "private part", mutate: func(k *JWK) { k.D = "AAAA" }, want: "private key material"},
		{name: "point off the curve", mutate: func(k *JWK) { k.Y = k.X }, want: "invalid EC point"},
		{name: "short coordinate", mutate: func(k *JWK) { k.X = "AAAA" }, want: `"x" is 3 bytes, want 32`},
		{name: "unknown curve", mutate: func(k *JWK) { k.Curve = "P-384" }, want: `unsupported curve "P-384"`},
		{name: "unknown key type", mutate: func(k *JWK) { k.KeyType = "oct" }, want: `unsupported key type "oct"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := good
			tt.mutate(&k)
			data, err := json.Marshal(JWKS{Keys: []JWK{k}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseJWKS(data)
			if !errors.Is(err, ErrInvalidJWKS) {
				t.Fatalf("ParseJWKS error = %v, want ErrInvalidJWKS", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseJWKS error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseJWKSSetLevel(t *testing.T) {
	es, err := GenerateKey(ES256)
	if err != nil {
		t.Fatal(err)
	}
	k := mustJWK(t, es.Public())
	enc := func(set JWKS) []byte {
		data, err := json.Marshal(set)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	encryption := k
	encryption.Use = "enc"
	tests := []struct {
		name    string
		data    []byte
		wantIDs []string
		wantErr bool
	}{
		{name: "duplicate kid", data: enc(JWKS{Keys: []JWK{k, k}}), wantErr: true},
		{name: "encryption key skipped", data: enc(JWKS{Keys: []JWK{encryption, withID(k, "b")}}), wantIDs: []string{"b"}},
		{name: "too many keys", data: enc(JWKS{Keys: make([]JWK, MaxKeys+1)}), wantErr: true},
		{name: "trailing data", data: append(enc(JWKS{Keys: []JWK{k}}), []byte(`{}`)...), wantErr: true},
		{name: "not JSON", data: []byte("<html>"), wantErr: true},
		{name: "empty set", data: []byte(`{"keys":[]}`), wantIDs: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParseJWKS(tt.data)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidJWKS) {
					t.Fatalf("ParseJWKS error = %v, want ErrInvalidJWKS", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseJWKS: %v", err)
			}
			ids := []string{}
			for _, key := range keys {
				ids = append(ids, key.ID)
			}
			if diff := cmp.Diff(tt.wantIDs, ids); diff != "" {
				t.Errorf("key IDs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParsePrivateKeyPEMWrongType(t *testing.T) {
	es, err := GenerateKey(ES256)
	if err != nil {
		t.Fatal(err)
	}
	data, err := MarshalPrivateKeyPEM(es)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePrivateKeyPEM(data, RS256); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("ParsePrivateKeyPEM(EC key, RS256) error = %v, want ErrUnsupportedAlgorithm", err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newSigningKey(ES256, p384); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("newSigningKey(P-384) error = %v, want ErrUnsupportedAlgorithm", err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkKeyType(RS256, &small.PublicKey); err == nil {
		t.Error("checkKeyType(RS256, 1024-bit key) = nil, want an error")
	}
	if _, err := ParsePrivateKeyPEM([]byte("not pem"), ES256); err == nil {
		t.Error("ParsePrivateKeyPEM(garbage) = nil error, want an error")
	}
}

func mustJWK(t *testing.T, pub PublicKey) JWK {
	t.Helper()
	data, err := MarshalJWKS([]PublicKey{pub})
	if err != nil {
		t.Fatal(err)
	}
	var set JWKS
	if err := json.Unmarshal(data, &set); err != nil {
		t.Fatal(err)
	}
	return set.Keys[0]
}

func withID(k JWK, id string) JWK {
	k.KeyID = id
	return k
}
