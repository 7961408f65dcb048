package issuer

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// Sizes of the random values the issuer creates, in bytes before base64url
// encoding.
const (
	// refreshTokenBytes gives refresh tokens 256 bits of entropy, beyond
	// any guessing attack.
	refreshTokenBytes = 32
	// jtiBytes gives the "jti" claim 128 bits, so that IDs do not collide.
	jtiBytes = 16
	// familyIDBytes gives refresh token family IDs 128 bits.
	familyIDBytes = 16
)

// randomString returns n bytes from crypto/rand in unpadded base64url.
func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
