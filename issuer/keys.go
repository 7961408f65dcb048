package issuer

import (
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

// KeySet is a validated, immutable set of signing keys: the active key that
// signs new access tokens, and the published keys that the JWKS lists and
// that verification accepts. Create it with NewKeySet.
type KeySet struct {
	signer    *tokenSigner
	published map[string]jose.PublicKey
	// jwks is the JWKS response body, encoded once.
	jwks []byte
	// algorithms lists the algorithms of the published keys once each, the
	// active key's first.
	algorithms []string
}

// NewKeySet checks that active can sign and that published contains
// active's public key, at most jose.MaxKeys keys and no key ID twice, and
// encodes the JWKS. The JWKS lists the keys in the order of published. A
// nil published means active's public key alone.
func NewKeySet(active *jose.SigningKey, published []jose.PublicKey) (*KeySet, error) {
	if active == nil {
		return nil, errors.New("signing key: missing")
	}
	signer, err := newTokenSigner(active)
	if err != nil {
		return nil, err
	}
	if published == nil {
		published = []jose.PublicKey{active.Public()}
	}
	if len(published) > jose.MaxKeys {
		return nil, fmt.Errorf("published keys: %d keys, at most %d allowed", len(published), jose.MaxKeys)
	}
	set := &KeySet{signer: signer, published: make(map[string]jose.PublicKey, len(published)), algorithms: []string{string(active.Algorithm)}}
	for i, k := range published {
		if k.ID == "" {
			return nil, fmt.Errorf("published keys[%d]: missing key ID", i)
		}
		if _, dup := set.published[k.ID]; dup {
			return nil, fmt.Errorf("published keys[%d]: duplicate key ID %q", i, k.ID)
		}
		set.published[k.ID] = k
		if !slices.Contains(set.algorithms, string(k.Algorithm)) {
			set.algorithms = append(set.algorithms, string(k.Algorithm))
		}
	}
	if err := checkActivePublished(active, set.published); err != nil {
		return nil, err
	}
	if set.jwks, err = jose.MarshalJWKS(published); err != nil {
		return nil, fmt.Errorf("published keys: %w", err)
	}
	return set, nil
}

// checkActivePublished reports an active key that published lacks or lists
// with another public key or algorithm under its key ID.
func checkActivePublished(active *jose.SigningKey, published map[string]jose.PublicKey) error {
	pub, ok := published[active.ID]
	if !ok {
		return fmt.Errorf("published keys: active key %q is not among them", active.ID)
	}
	type equaler interface{ Equal(x crypto.PublicKey) bool }
	want, ok := active.Signer.Public().(equaler)
	if !ok || !want.Equal(pub.Key) || pub.Algorithm != active.Algorithm {
		return fmt.Errorf("published keys: key %q differs from the active key of that ID", active.ID)
	}
	return nil
}

// ActiveKeyID returns the "kid" of the key that signs new access tokens.
func (k *KeySet) ActiveKeyID() string {
	return k.signer.key.ID
}

// verificationKey returns the published key with the given ID.
func (k *KeySet) verificationKey(kid string) (jose.PublicKey, bool) {
	pub, ok := k.published[kid]
	return pub, ok
}

// KeySource supplies the issuer's signing keys as they change.
// Implementations are safe for concurrent use.
type KeySource interface {
	// SigningKeys returns the current key set, or nil while no key is
	// available yet. Once it has returned a set it must not return nil
	// again, so that a request that found keys at its start can sign at
	// its end. A new set is a new *KeySet: the Server rebuilds what depends
	// on the keys when the pointer changes.
	SigningKeys() *KeySet
}

// StaticKeys is a KeySource that always returns the same set.
type StaticKeys struct {
	Set *KeySet
}

// SigningKeys implements KeySource.
func (s StaticKeys) SigningKeys() *KeySet { return s.Set }

// errNoSigningKeys rejects a token request that arrives before the first
// key set, such as while the issuer waits for the key-set Secret. The
// client may retry, so it gets 503 temporarily_unavailable with
// Retry-After.
func errNoSigningKeys() *tokenError {
	return &tokenError{
		code:        codeTemporarilyUnavailable,
		description: "the issuer has no signing key yet, try again later",
		status:      http.StatusServiceUnavailable,
		reason:      "no signing keys loaded",
	}
}

// serveUnavailable responds 503 to a request for a document that needs
// signing keys while there are none. The response carries no cache
// lifetime, so that no cache keeps it.
func serveUnavailable(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Retry-After", retryAfterSeconds)
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "the issuer has no signing keys yet, try again later", http.StatusServiceUnavailable)
}
