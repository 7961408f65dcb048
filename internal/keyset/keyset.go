package keyset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/jose"
)

// State is the role of a key in its set.
type State string

// The key states, in the order a key passes through them.
const (
	// StateNext marks a key that is published but does not sign yet.
	StateNext State = "next"
	// StateActive marks the one key that signs new tokens.
	StateActive State = "active"
	// StateRetiring marks a former active key that is still published so
	// that tokens it signed stay verifiable.
	StateRetiring State = "retiring"
)

// MaxKeys is the largest number of keys a set may hold. Every key is
// published in the issuer's JWKS, and jose.ParseJWKS rejects a JWKS with more
// keys than this.
const MaxKeys = jose.MaxKeys

// ErrInvalid reports a key-set document or Set that breaks a rule of the
// format. Callers test for it with errors.Is.
var ErrInvalid = errors.New("invalid key set")

// Key is one signing key with its state and the times of its transitions.
// Times are in UTC with whole seconds, as they are stored.
type Key struct {
	// Signing is the private key with its kid and the one algorithm it
	// signs with.
	Signing *jose.SigningKey
	// State is the role of the key.
	State State
	// Created is when the key was generated, which is also when it was first
	// published.
	Created time.Time
	// Activated is when the key became active. It is zero for a next key.
	Activated time.Time
	// Retired is when the key stopped signing. It is set only for a
	// retiring key.
	Retired time.Time
}

// Set is a validated key set: exactly one active key, at most one next key,
// any number of retiring keys, and unique kids.
type Set struct {
	Keys []Key
}

// document and keyJSON are the JSON form of a Set.
type document struct {
	Keys []keyJSON `json:"keys"`
}

type keyJSON struct {
	KeyID      string `json:"kid"`
	Algorithm  string `json:"alg"`
	State      State  `json:"state"`
	PrivateKey string `json:"privateKey"`
	Created    string `json:"created"`
	Activated  string `json:"activated,omitempty"`
	Retired    string `json:"retired,omitempty"`
}

// Parse decodes and validates a keys.json document.
//
// Each privateKey is a PEM block that jose.ParsePrivateKeyPEM reads (PKCS #8
// as Marshal writes it; SEC 1 and PKCS #1 are accepted too), and its key type
// must fit alg. A kid must equal the RFC 7638 thumbprint of its key, so that
// the kid in the JWKS always names the key that signs. Times are RFC 3339.
// Unknown members are ignored, so that an issuer keeps reading the sets of
// a newer controller. Every error wraps ErrInvalid and names the key by
// index and kid, never by its private key.
func Parse(data []byte) (*Set, error) {
	var doc document
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the key set", ErrInvalid)
	}
	if len(doc.Keys) > MaxKeys {
		return nil, fmt.Errorf("%w: %d keys, at most %d allowed", ErrInvalid, len(doc.Keys), MaxKeys)
	}
	set := &Set{Keys: make([]Key, 0, len(doc.Keys))}
	for i, raw := range doc.Keys {
		key, err := parseKey(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d (kid %q): %w", ErrInvalid, i, raw.KeyID, err)
		}
		set.Keys = append(set.Keys, key)
	}
	if err := set.Validate(); err != nil {
		return nil, err
	}
	return set, nil
}

func parseKey(raw keyJSON) (Key, error) {
	if raw.KeyID == "" {
		return Key{}, errors.New(`missing "kid"`)
	}
	alg, err := jose.ParseAlgorithm(raw.Algorithm)
	if err != nil {
		return Key{}, err
	}
	if raw.PrivateKey == "" {
		return Key{}, errors.New(`missing "privateKey"`)
	}
	signing, err := jose.ParsePrivateKeyPEM([]byte(raw.PrivateKey), alg)
	if err != nil {
		return Key{}, fmt.Errorf(`invalid "privateKey": %w`, err)
	}
	if signing.ID != raw.KeyID {
		return Key{}, fmt.Errorf("kid does not match the key's RFC 7638 thumbprint %q", signing.ID)
	}
	key := Key{Signing: signing, State: raw.State}
	if key.Created, err = parseTime("created", raw.Created); err != nil {
		return Key{}, err
	}
	if key.Activated, err = parseTime("activated", raw.Activated); err != nil {
		return Key{}, err
	}
	if key.Retired, err = parseTime("retired", raw.Retired); err != nil {
		return Key{}, err
	}
	return key, nil
}

// parseTime reads an RFC 3339 time; an empty string is the zero time, which
// Validate rejects where the state needs the time.
func parseTime(member, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid %q time %q: use RFC 3339, for example 2026-01-02T15:04:05Z", member, s)
	}
	return t.UTC(), nil
}

// Validate checks the rules of the format that do not need the encoded
// form: exactly one active key, at most one next key, at most MaxKeys keys,
// unique kids, a known state for each key, and the times that its state
// needs. A next key has only "created"; an active key also has "activated";
// a retiring key has all three. Every error wraps ErrInvalid.
func (s *Set) Validate() error {
	if len(s.Keys) > MaxKeys {
		return fmt.Errorf("%w: %d keys, at most %d allowed", ErrInvalid, len(s.Keys), MaxKeys)
	}
	var active, next int
	seen := make(map[string]int, len(s.Keys))
	for i, k := range s.Keys {
		if k.Signing == nil || k.Signing.ID == "" {
			return fmt.Errorf("%w: key %d has no signing key or kid", ErrInvalid, i)
		}
		if j, dup := seen[k.Signing.ID]; dup {
			return fmt.Errorf("%w: keys %d and %d have the same kid %q", ErrInvalid, j, i, k.Signing.ID)
		}
		seen[k.Signing.ID] = i
		if err := checkTimes(k); err != nil {
			return fmt.Errorf("%w: key %d (kid %q): %w", ErrInvalid, i, k.Signing.ID, err)
		}
		switch k.State {
		case StateActive:
			active++
		case StateNext:
			next++
		}
	}
	if active != 1 {
		return fmt.Errorf("%w: %d active keys, want exactly 1", ErrInvalid, active)
	}
	if next > 1 {
		return fmt.Errorf("%w: %d next keys, want at most 1", ErrInvalid, next)
	}
	return nil
}

// checkTimes reports a state that is unknown or a time that is missing or
// present against what the key's state needs.
func checkTimes(k Key) error {
	if k.Created.IsZero() {
		return errors.New(`missing "created" time`)
	}
	switch k.State {
	case StateNext:
		if !k.Activated.IsZero() || !k.Retired.IsZero() {
			return errors.New(`a next key must not have "activated" or "retired" times`)
		}
	case StateActive:
		if k.Activated.IsZero() {
			return errors.New(`missing "activated" time, which an active key needs`)
		}
		if !k.Retired.IsZero() {
			return errors.New(`an active key must not have a "retired" time`)
		}
	case StateRetiring:
		if k.Activated.IsZero() || k.Retired.IsZero() {
			return errors.New(`missing "activated" or "retired" time, which a retiring key needs`)
		}
	default:
		return fmt.Errorf("unknown state %q (use next, active or retiring)", k.State)
	}
	return nil
}

// Marshal validates s and encodes it as a keys.json document, with each
// private key as a PKCS #8 PEM block and times in RFC 3339 with whole
// seconds. Keys keep their order in s.
func Marshal(s *Set) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	doc := document{Keys: make([]keyJSON, 0, len(s.Keys))}
	for _, k := range s.Keys {
		pemData, err := jose.MarshalPrivateKeyPEM(k.Signing)
		if err != nil {
			return nil, fmt.Errorf("encode key %q: %w", k.Signing.ID, err)
		}
		doc.Keys = append(doc.Keys, keyJSON{
			KeyID:      k.Signing.ID,
			Algorithm:  string(k.Signing.Algorithm),
			State:      k.State,
			PrivateKey: string(pemData),
			Created:    formatTime(k.Created),
			Activated:  formatTime(k.Activated),
			Retired:    formatTime(k.Retired),
		})
	}
	return json.Marshal(doc)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Active returns the key that signs new tokens, or nil if s has none, which
// a validated set never lacks.
func (s *Set) Active() *jose.SigningKey {
	for _, k := range s.Keys {
		if k.State == StateActive {
			return k.Signing
		}
	}
	return nil
}

// Published returns the public keys to list in the JWKS: the next key first,
// then the active key, then the retiring keys in their order in s.
func (s *Set) Published() []jose.PublicKey {
	keys := make([]jose.PublicKey, 0, len(s.Keys))
	for _, state := range []State{StateNext, StateActive, StateRetiring} {
		for _, k := range s.Keys {
			if k.State == state {
				keys = append(keys, k.Signing.Public())
			}
		}
	}
	return keys
}

// Count returns the number of keys in state.
func (s *Set) Count(state State) int {
	n := 0
	for _, k := range s.Keys {
		if k.State == state {
			n++
		}
	}
	return n
}
