package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
)

// Algorithm is a JWS signature algorithm name (RFC 7518 and RFC 8037).
type Algorithm string

// The signature algorithms Gatehouse signs and verifies with.
const (
	ES256 Algorithm = "ES256"
	RS256 Algorithm = "RS256"
	EdDSA Algorithm = "EdDSA"
)

// rsaKeyBits is the size of generated RSA keys. NIST SP 800-57 rates 2048
// bits as acceptable through 2030; 3072 would triple the signing cost.
const rsaKeyBits = 2048

// minRSAKeyBits is the smallest RSA modulus accepted from a file or a JWKS.
const minRSAKeyBits = 2048

// ErrUnsupportedAlgorithm reports an algorithm outside ES256, RS256 and EdDSA.
var ErrUnsupportedAlgorithm = errors.New("unsupported signature algorithm")

// ParseAlgorithm returns the Algorithm named by s, or ErrUnsupportedAlgorithm.
func ParseAlgorithm(s string) (Algorithm, error) {
	switch a := Algorithm(s); a {
	case ES256, RS256, EdDSA:
		return a, nil
	}
	return "", fmt.Errorf("%w: %q (use ES256, RS256 or EdDSA)", ErrUnsupportedAlgorithm, s)
}

// SigningKey is a private key with its algorithm and key ID.
type SigningKey struct {
	// ID is the RFC 7638 thumbprint of the public key, used as "kid".
	ID string
	// Algorithm is the only algorithm this key signs with.
	Algorithm Algorithm
	// Signer is an *ecdsa.PrivateKey, *rsa.PrivateKey or ed25519.PrivateKey.
	Signer crypto.Signer
}

// Public returns the public half of k.
func (k *SigningKey) Public() PublicKey {
	return PublicKey{ID: k.ID, Algorithm: k.Algorithm, Key: k.Signer.Public()}
}

// PublicKey is a verification key bound to one algorithm.
type PublicKey struct {
	ID        string
	Algorithm Algorithm
	// Key is an *ecdsa.PublicKey, *rsa.PublicKey or ed25519.PublicKey.
	Key crypto.PublicKey
}

// GenerateKey creates a new private key for alg.
func GenerateKey(alg Algorithm) (*SigningKey, error) {
	var (
		signer crypto.Signer
		err    error
	)
	switch alg {
	case ES256:
		signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		signer, err = rsa.GenerateKey(rand.Reader, rsaKeyBits)
	case EdDSA:
		_, signer, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, alg)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	return newSigningKey(alg, signer)
}

// ParsePrivateKeyPEM reads a PKCS #8 private key ("PRIVATE KEY" block), or a
// SEC 1 ("EC PRIVATE KEY") or PKCS #1 ("RSA PRIVATE KEY") one, and binds it to
// alg. The key type must fit alg: ES256 needs P-256, RS256 an RSA key of at
// least 2048 bits, EdDSA an Ed25519 key.
func ParsePrivateKeyPEM(data []byte, alg Algorithm) (*SigningKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("unsupported PEM block type %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", key)
	}
	if err := checkKeyType(alg, signer.Public()); err != nil {
		return nil, err
	}
	return newSigningKey(alg, signer)
}

// MarshalPrivateKeyPEM encodes k as a PKCS #8 "PRIVATE KEY" PEM block.
func MarshalPrivateKeyPEM(k *SigningKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.Signer)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func newSigningKey(alg Algorithm, signer crypto.Signer) (*SigningKey, error) {
	kid, err := Thumbprint(signer.Public())
	if err != nil {
		return nil, err
	}
	return &SigningKey{ID: kid, Algorithm: alg, Signer: signer}, nil
}

// checkKeyType reports whether pub is a key that alg can use.
func checkKeyType(alg Algorithm, pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if alg == ES256 && k.Curve == elliptic.P256() {
			return nil
		}
	case *rsa.PublicKey:
		if alg != RS256 {
			break
		}
		if k.N.BitLen() < minRSAKeyBits {
			return fmt.Errorf("RSA key has %d bits, want at least %d", k.N.BitLen(), minRSAKeyBits)
		}
		return nil
	case ed25519.PublicKey:
		if alg == EdDSA {
			return nil
		}
	}
	return fmt.Errorf("%w: a %s key cannot sign %s", ErrUnsupportedAlgorithm, keyTypeName(pub), alg)
}

func keyTypeName(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PublicKey:
		return "RSA"
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", pub)
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of pub, base64url
// encoded without padding.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	// RFC 7638 §3.2: the required members only, in lexicographic order,
	// with no whitespace. encoding/json sorts map keys, which gives that order.
	members, err := requiredMembers(pub)
	if err != nil {
		return "", err
	}
	canonical, err := json.Marshal(members)
	if err != nil {
		return "", fmt.Errorf("encode thumbprint input: %w", err)
	}
	sum := sha256.Sum256(canonical)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

func requiredMembers(pub crypto.PublicKey) (map[string]string, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: curve %s", ErrUnsupportedAlgorithm, k.Curve.Params().Name)
		}
		x, y, err := ecPoint(k)
		if err != nil {
			return nil, err
		}
		return map[string]string{"crv": "P-256", "kty": "EC", "x": x, "y": y}, nil
	case *rsa.PublicKey:
		return map[string]string{"e": encodeInt(big.NewInt(int64(k.E))), "kty": "RSA", "n": encodeInt(k.N)}, nil
	case ed25519.PublicKey:
		return map[string]string{"crv": "Ed25519", "kty": "OKP", "x": base64.RawURLEncoding.EncodeToString(k)}, nil
	}
	return nil, fmt.Errorf("%w: key type %T", ErrUnsupportedAlgorithm, pub)
}

// ecPoint returns the fixed-width coordinates of a P-256 key (RFC 7518 §6.2.1.2).
func ecPoint(k *ecdsa.PublicKey) (x, y string, err error) {
	raw, err := k.Bytes()
	if err != nil {
		return "", "", fmt.Errorf("encode EC point: %w", err)
	}
	// raw is the uncompressed point 0x04 || X || Y, 32 bytes each for P-256.
	const size = 32
	x = base64.RawURLEncoding.EncodeToString(raw[1 : 1+size])
	y = base64.RawURLEncoding.EncodeToString(raw[1+size:])
	return x, y, nil
}

func encodeInt(n *big.Int) string {
	return base64.RawURLEncoding.EncodeToString(n.Bytes())
}
