package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
)

// ErrCorrupt reports a stored record that does not decode. It means the
// database was changed by something other than a store of this module.
var ErrCorrupt = errors.New("corrupt store record")

// Token is the stored form of a store.RefreshToken. The hash is the key,
// so it is not repeated here.
type Token struct {
	FamilyID      string    `json:"familyID"`
	ClientID      string    `json:"clientID"`
	Username      string    `json:"username"`
	Subject       string    `json:"subject"`
	Scope         []string  `json:"scope"`
	AuthTime      time.Time `json:"authTime"`
	IssuedAt      time.Time `json:"issuedAt"`
	ExpiresAt     time.Time `json:"expiresAt"`
	IdleExpiresAt time.Time `json:"idleExpiresAt"`
	// Used marks a token that was rotated. Presenting it again is reuse.
	Used bool `json:"used"`
}

// FromToken returns the stored form of t.
func FromToken(t store.RefreshToken) Token {
	return Token{
		FamilyID:      t.FamilyID,
		ClientID:      t.ClientID,
		Username:      t.Username,
		Subject:       t.Subject,
		Scope:         t.Scope,
		AuthTime:      t.AuthTime,
		IssuedAt:      t.IssuedAt,
		ExpiresAt:     t.ExpiresAt,
		IdleExpiresAt: t.IdleExpiresAt,
	}
}

// RefreshToken returns the store.RefreshToken of the record with hash h.
func (r Token) RefreshToken(h store.Hash) store.RefreshToken {
	return store.RefreshToken{
		Hash:          h,
		FamilyID:      r.FamilyID,
		ClientID:      r.ClientID,
		Username:      r.Username,
		Subject:       r.Subject,
		Scope:         r.Scope,
		AuthTime:      r.AuthTime,
		IssuedAt:      r.IssuedAt,
		ExpiresAt:     r.ExpiresAt,
		IdleExpiresAt: r.IdleExpiresAt,
	}
}

// Expiry returns when the token stops working, as store.RefreshToken.Expiry.
func (r Token) Expiry() time.Time {
	return r.RefreshToken(store.Hash{}).Expiry()
}

// Failures is the stored form of one key's failure window.
type Failures struct {
	Count int       `json:"count"`
	Until time.Time `json:"until"`
}

// Encode returns the JSON of v, one of the record types or a
// store.Revocation.
func Encode(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode store record: %w", err)
	}
	return data, nil
}

// DecodeToken parses a stored Token.
func DecodeToken(data []byte) (Token, error) {
	var r Token
	return r, decode(data, &r)
}

// DecodeRevocation parses a stored store.Revocation.
func DecodeRevocation(data []byte) (store.Revocation, error) {
	var r store.Revocation
	return r, decode(data, &r)
}

// DecodeFailures parses a stored Failures.
func DecodeFailures(data []byte) (Failures, error) {
	var r Failures
	return r, decode(data, &r)
}

func decode(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return nil
}
