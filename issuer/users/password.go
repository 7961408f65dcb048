package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// argon2Params are the cost parameters and sizes of an argon2id hash.
type argon2Params struct {
	memoryKiB   uint32
	iterations  uint32
	parallelism uint8
	saltBytes   int
	keyBytes    int
}

// defaultParams are the production parameters of HashPassword. The 64 MiB
// of memory, 128-bit salt and 256-bit tag follow the second recommended
// option of RFC 9106 §4. That option uses t=3 and p=4. We use t=2 and p=1,
// which still costs more than every configuration the OWASP Password
// Storage Cheat Sheet lists (the strongest is m=46 MiB, t=1, p=1).
// Go's argon2 computes each lane in its own goroutine, so p=1 keeps one
// login on one core and concurrent logins from starving each other.
var defaultParams = argon2Params{memoryKiB: 64 * 1024, iterations: 2, parallelism: 1, saltBytes: 16, keyBytes: 32}

// Limits on the argon2id parameters accepted from a user file, so that a
// mistyped hash cannot make one login take gigabytes or minutes.
const (
	maxArgon2MemoryKiB   = 1 << 20 // 1 GiB
	maxArgon2Iterations  = 64
	maxArgon2Parallelism = 16
	minArgon2SaltBytes   = 8
	minArgon2KeyBytes    = 16
	maxArgon2KeyBytes    = 64
)

// bcryptMaxPasswordBytes is the longest password bcrypt uses in full. It
// ignores every byte after the 72nd, so a longer password is rejected
// rather than matched on its prefix.
const bcryptMaxPasswordBytes = 72

// ErrUnsupportedHash reports a password hash that is neither a valid
// argon2id PHC string nor a bcrypt hash.
var ErrUnsupportedHash = errors.New("unsupported password hash")

// HashPassword returns an argon2id PHC string for password, with a random
// salt and the parameters m=65536 (KiB), t=2, p=1.
func HashPassword(password string) (string, error) {
	return hashArgon2(password, defaultParams)
}

func hashArgon2(password string, p argon2Params) (string, error) {
	salt := make([]byte, p.saltBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.iterations, p.memoryKiB, p.parallelism, uint32(p.keyBytes))
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memoryKiB, p.iterations, p.parallelism, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches encoded, an argon2id PHC
// string or a bcrypt hash. The comparison takes constant time in the
// content of the hash. It returns an error wrapping ErrUnsupportedHash when
// encoded is malformed.
func VerifyPassword(encoded, password string) (bool, error) {
	if isBcrypt(encoded) {
		return verifyBcrypt(encoded, password)
	}
	h, err := parseArgon2(encoded)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(password), h.salt, h.params.iterations, h.params.memoryKiB, h.params.parallelism, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

func isBcrypt(encoded string) bool {
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		if strings.HasPrefix(encoded, prefix) {
			return true
		}
	}
	return false
}

func verifyBcrypt(encoded, password string) (bool, error) {
	if _, err := bcrypt.Cost([]byte(encoded)); err != nil {
		return false, fmt.Errorf("%w: bcrypt: %w", ErrUnsupportedHash, err)
	}
	if len(password) > bcryptMaxPasswordBytes {
		return false, nil
	}
	// CompareHashAndPassword compares the digests with subtle.ConstantTimeCompare.
	err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
	if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w: bcrypt: %w", ErrUnsupportedHash, err)
	}
	return true, nil
}

// argon2Hash is a decoded argon2id PHC string.
type argon2Hash struct {
	params argon2Params
	salt   []byte
	key    []byte
}

// parseArgon2 decodes "$argon2id$v=19$m=<KiB>,t=<n>,p=<n>$<salt>$<key>",
// with salt and key in unpadded standard base64.
func parseArgon2(encoded string) (argon2Hash, error) {
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" || fields[1] != "argon2id" {
		return argon2Hash{}, fmt.Errorf("%w: want an argon2id PHC string or a bcrypt hash", ErrUnsupportedHash)
	}
	if fields[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return argon2Hash{}, fmt.Errorf("%w: argon2id version %q, want v=%d", ErrUnsupportedHash, fields[2], argon2.Version)
	}
	var h argon2Hash
	if err := h.parseParams(fields[3]); err != nil {
		return argon2Hash{}, err
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.Strict().DecodeString(fields[4]); err != nil || len(h.salt) < minArgon2SaltBytes {
		return argon2Hash{}, fmt.Errorf("%w: argon2id salt must be at least %d bytes of unpadded base64", ErrUnsupportedHash, minArgon2SaltBytes)
	}
	if h.key, err = base64.RawStdEncoding.Strict().DecodeString(fields[5]); err != nil || len(h.key) < minArgon2KeyBytes || len(h.key) > maxArgon2KeyBytes {
		return argon2Hash{}, fmt.Errorf("%w: argon2id hash must be %d to %d bytes of unpadded base64", ErrUnsupportedHash, minArgon2KeyBytes, maxArgon2KeyBytes)
	}
	h.params.saltBytes, h.params.keyBytes = len(h.salt), len(h.key)
	return h, nil
}

func (h *argon2Hash) parseParams(s string) error {
	var m, t, p uint64
	n, err := fmt.Sscanf(s, "m=%d,t=%d,p=%d", &m, &t, &p)
	if err != nil || n != 3 || s != fmt.Sprintf("m=%d,t=%d,p=%d", m, t, p) {
		return fmt.Errorf("%w: argon2id parameters %q, want m=<KiB>,t=<iterations>,p=<lanes>", ErrUnsupportedHash, s)
	}
	if p < 1 || p > maxArgon2Parallelism || t < 1 || t > maxArgon2Iterations || m < 8*p || m > maxArgon2MemoryKiB {
		return fmt.Errorf("%w: argon2id parameters %q out of range (m from 8*p to %d KiB, t from 1 to %d, p from 1 to %d)",
			ErrUnsupportedHash, s, maxArgon2MemoryKiB, maxArgon2Iterations, maxArgon2Parallelism)
	}
	h.params.memoryKiB, h.params.iterations, h.params.parallelism = uint32(m), uint32(t), uint8(p)
	return nil
}

// checkHash returns an error wrapping ErrUnsupportedHash unless encoded is
// a hash that VerifyPassword accepts.
func checkHash(encoded string) error {
	if isBcrypt(encoded) {
		if _, err := bcrypt.Cost([]byte(encoded)); err != nil {
			return fmt.Errorf("%w: bcrypt: %w", ErrUnsupportedHash, err)
		}
		return nil
	}
	_, err := parseArgon2(encoded)
	return err
}

// hashLike returns a hash of a random password that costs as much to verify
// as encoded, which must pass checkHash. The store verifies unknown users
// against it so that their failed logins take as long as a wrong password.
func hashLike(encoded string) (string, error) {
	random := rand.Text()
	if isBcrypt(encoded) {
		cost, err := bcrypt.Cost([]byte(encoded))
		if err != nil {
			return "", fmt.Errorf("%w: bcrypt: %w", ErrUnsupportedHash, err)
		}
		h, err := bcrypt.GenerateFromPassword([]byte(random), cost)
		if err != nil {
			return "", fmt.Errorf("hash password: %w", err)
		}
		return string(h), nil
	}
	h, err := parseArgon2(encoded)
	if err != nil {
		return "", err
	}
	return hashArgon2(random, h.params)
}
