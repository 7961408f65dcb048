package jose

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// MaxKeys is the largest number of keys ParseJWKS accepts in one set. A
// rotating issuer publishes three (next, active, retiring); the margin is
// for several issuers behind one URL.
const MaxKeys = 64

// ErrInvalidJWKS reports a key set that is not valid JSON or not RFC 7517.
var ErrInvalidJWKS = errors.New("invalid JWKS")

// JWK is the JSON form of one public key (RFC 7517 §4, RFC 7518 §6, RFC 8037).
type JWK struct {
	KeyType   string `json:"kty"`
	KeyID     string `json:"kid,omitempty"`
	Use       string `json:"use,omitempty"`
	Algorithm string `json:"alg,omitempty"`
	Curve     string `json:"crv,omitempty"`
	X         string `json:"x,omitempty"`
	Y         string `json:"y,omitempty"`
	N         string `json:"n,omitempty"`
	E         string `json:"e,omitempty"`
	// D is the private exponent or seed. A key set that carries it is
	// rejected, because a published private key is a leaked one.
	D string `json:"d,omitempty"`
}

// JWKS is the JSON form of a key set (RFC 7517 §5).
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// MarshalJWKS encodes the public keys as a JWKS document with "use": "sig".
func MarshalJWKS(keys []PublicKey) ([]byte, error) {
	set := JWKS{Keys: make([]JWK, 0, len(keys))}
	for _, k := range keys {
		jwk, err := toJWK(k)
		if err != nil {
			return nil, err
		}
		set.Keys = append(set.Keys, jwk)
	}
	return json.Marshal(set)
}

func toJWK(k PublicKey) (JWK, error) {
	members, err := requiredMembers(k.Key)
	if err != nil {
		return JWK{}, err
	}
	if err := checkKeyType(k.Algorithm, k.Key); err != nil {
		return JWK{}, err
	}
	return JWK{
		KeyType:   members["kty"],
		KeyID:     k.ID,
		Use:       "sig",
		Algorithm: string(k.Algorithm),
		Curve:     members["crv"],
		X:         members["x"],
		Y:         members["y"],
		N:         members["n"],
		E:         members["e"],
	}, nil
}

// ParseJWKS decodes a JWKS document into verification keys.
//
// Each key must carry a "kid" and an "alg" of ES256, RS256 or EdDSA that
// fits its key type, so that every key verifies with exactly one algorithm.
// Keys with "use" other than "sig" are skipped. A key with a private part,
// a duplicate "kid" or an unknown type fails the whole set: a verifier that
// silently dropped a malformed key would hide a broken issuer.
func ParseJWKS(data []byte) ([]PublicKey, error) {
	var set JWKS
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&set); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidJWKS, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the key set", ErrInvalidJWKS)
	}
	if len(set.Keys) > MaxKeys {
		return nil, fmt.Errorf("%w: %d keys, at most %d allowed", ErrInvalidJWKS, len(set.Keys), MaxKeys)
	}
	keys := make([]PublicKey, 0, len(set.Keys))
	seen := make(map[string]bool, len(set.Keys))
	for i, jwk := range set.Keys {
		if jwk.Use != "" && jwk.Use != "sig" {
			continue
		}
		key, err := parseJWK(jwk)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d: %w", ErrInvalidJWKS, i, err)
		}
		if seen[key.ID] {
			return nil, fmt.Errorf("%w: duplicate kid %q", ErrInvalidJWKS, key.ID)
		}
		seen[key.ID] = true
		keys = append(keys, key)
	}
	return keys, nil
}

func parseJWK(jwk JWK) (PublicKey, error) {
	if jwk.KeyID == "" {
		return PublicKey{}, errors.New(`missing "kid"`)
	}
	if jwk.D != "" {
		return PublicKey{}, errors.New("private key material in a public key set")
	}
	alg, err := ParseAlgorithm(jwk.Algorithm)
	if err != nil {
		return PublicKey{}, err
	}
	pub, err := decodePublicKey(jwk)
	if err != nil {
		return PublicKey{}, err
	}
	if err := checkKeyType(alg, pub); err != nil {
		return PublicKey{}, err
	}
	return PublicKey{ID: jwk.KeyID, Algorithm: alg, Key: pub}, nil
}

func decodePublicKey(jwk JWK) (crypto.PublicKey, error) {
	switch jwk.KeyType {
	case "EC":
		return decodeEC(jwk)
	case "RSA":
		return decodeRSA(jwk)
	case "OKP":
		return decodeOKP(jwk)
	}
	return nil, fmt.Errorf("unsupported key type %q", jwk.KeyType)
}

func decodeEC(jwk JWK) (crypto.PublicKey, error) {
	if jwk.Curve != "P-256" {
		return nil, fmt.Errorf("unsupported curve %q", jwk.Curve)
	}
	x, err := decodeFixed(jwk.X, 32, "x")
	if err != nil {
		return nil, err
	}
	y, err := decodeFixed(jwk.Y, 32, "y")
	if err != nil {
		return nil, err
	}
	point := append(append([]byte{4}, x...), y...)
	// ParseUncompressedPublicKey rejects points that are not on the curve.
	key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, fmt.Errorf("invalid EC point: %w", err)
	}
	return key, nil
}

func decodeRSA(jwk JWK) (crypto.PublicKey, error) {
	n, err := decodeUint(jwk.N, "n")
	if err != nil {
		return nil, err
	}
	e, err := decodeUint(jwk.E, "e")
	if err != nil {
		return nil, err
	}
	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || e.Bit(0) == 0 {
		return nil, errors.New(`invalid RSA exponent "e"`)
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

func decodeOKP(jwk JWK) (crypto.PublicKey, error) {
	if jwk.Curve != "Ed25519" {
		return nil, fmt.Errorf("unsupported curve %q", jwk.Curve)
	}
	x, err := decodeFixed(jwk.X, ed25519.PublicKeySize, "x")
	if err != nil {
		return nil, err
	}
	return ed25519.PublicKey(x), nil
}

func decodeFixed(s string, size int, member string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("invalid base64url in %q: %w", member, err)
	}
	if len(b) != size {
		return nil, fmt.Errorf("%q is %d bytes, want %d", member, len(b), size)
	}
	return b, nil
}

// maxRSABytes bounds the modulus at 8192 bits, so that a hostile key set
// cannot make each verification arbitrarily slow.
const maxRSABytes = 8192 / 8

func decodeUint(s, member string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("invalid base64url in %q: %w", member, err)
	}
	if len(b) == 0 || len(b) > maxRSABytes {
		return nil, fmt.Errorf("%q has invalid length %d", member, len(b))
	}
	return new(big.Int).SetBytes(b), nil
}
