package clients

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/scope"
)

// GrantType is an OAuth 2.0 grant_type value.
type GrantType string

// The grant types that the issuer implements.
const (
	GrantPassword          GrantType = "password"
	GrantClientCredentials GrantType = "client_credentials"
	GrantRefreshToken      GrantType = "refresh_token"
)

// GrantTypes lists every supported grant type in a fixed order.
var GrantTypes = []GrantType{GrantPassword, GrantClientCredentials, GrantRefreshToken}

// secretHashPrefix starts every entry of Client.SecretHashes.
const secretHashPrefix = "sha256:"

// MaxAccessTokenTTL bounds a client's access token lifetime. A revoked
// access token stays on every ext_authz deny list for this long at most, and
// a longer-lived bearer token is a liability that revocation cannot fix.
const MaxAccessTokenTTL = 24 * time.Hour

// maxClientIDLength bounds client IDs, which appear in logs and tokens.
const maxClientIDLength = 255

// ErrInvalid reports a client definition that breaks the rules of the
// package documentation.
var ErrInvalid = errors.New("invalid client")

// Client is one registered OAuth 2.0 client.
type Client struct {
	// ID is the client_id.
	ID string
	// SecretHashes are "sha256:<hex>" digests of the valid secrets.
	SecretHashes []string
	// Public marks a client that has no secret and authenticates with
	// client_id alone.
	Public bool
	// GrantTypes are the grants that the client may use.
	GrantTypes []GrantType
	// Scopes is the set of scope tokens that the client may request.
	Scopes []string
	// Audiences become the "aud" claim of the client's access tokens.
	Audiences []string
	// AccessTokenTTL overrides the issuer's access token lifetime when
	// non-zero.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL overrides the issuer's refresh token lifetime when
	// non-zero.
	RefreshTokenTTL time.Duration
	// RefreshIdleTTL, when non-zero, ends a login whose refresh token is
	// not used for this long, before its absolute RefreshTokenTTL.
	RefreshIdleTTL time.Duration
}

// HashSecret returns the SecretHashes entry for secret.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return secretHashPrefix + hex.EncodeToString(sum[:])
}

// AllowsGrant reports whether the client may use grant.
func (c *Client) AllowsGrant(grant GrantType) bool {
	return slices.Contains(c.GrantTypes, grant)
}

// VerifySecret reports whether secret matches one of the client's secret
// hashes. It compares every stored digest in constant time, so the time
// taken does not depend on which hash matched or on how much of it did.
func (c *Client) VerifySecret(secret string) bool {
	sum := sha256.Sum256([]byte(secret))
	match := 0
	for _, h := range c.SecretHashes {
		want, err := decodeSecretHash(h)
		if err != nil {
			continue
		}
		match |= subtle.ConstantTimeCompare(sum[:], want)
	}
	return match == 1
}

func decodeSecretHash(h string) ([]byte, error) {
	digest, ok := strings.CutPrefix(h, secretHashPrefix)
	if !ok || len(digest) != 2*sha256.Size {
		return nil, errors.New(`want "sha256:" followed by 64 hex digits`)
	}
	b, err := hex.DecodeString(digest)
	if err != nil {
		return nil, errors.New(`want "sha256:" followed by 64 hex digits`)
	}
	return b, nil
}

// Validate checks the client against the rules of the package
// documentation. The error wraps ErrInvalid and names the client and field.
func (c *Client) Validate() error {
	if err := c.validate(); err != nil {
		if c.ID == "" {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return fmt.Errorf("%w %q: %w", ErrInvalid, c.ID, err)
	}
	return nil
}

func (c *Client) validate() error {
	if err := validateID(c.ID); err != nil {
		return err
	}
	if err := c.validateSecrets(); err != nil {
		return err
	}
	if err := c.validateGrantTypes(); err != nil {
		return err
	}
	if err := validateScopes(c.Scopes); err != nil {
		return err
	}
	if err := validateAudiences(c.Audiences); err != nil {
		return err
	}
	if c.AccessTokenTTL < 0 || c.AccessTokenTTL > MaxAccessTokenTTL {
		return fmt.Errorf("accessTokenTTL: %v is outside 0 to %v", c.AccessTokenTTL, MaxAccessTokenTTL)
	}
	if c.RefreshTokenTTL < 0 {
		return fmt.Errorf("refreshTokenTTL: %v is negative", c.RefreshTokenTTL)
	}
	if c.RefreshIdleTTL < 0 {
		return fmt.Errorf("refreshTokenIdleTTL: %v is negative", c.RefreshIdleTTL)
	}
	return nil
}

func validateID(id string) error {
	if id == "" {
		return errors.New("clientID: missing")
	}
	if len(id) > maxClientIDLength {
		return fmt.Errorf("clientID: longer than %d bytes", maxClientIDLength)
	}
	if strings.ContainsFunc(id, isControl) {
		return errors.New("clientID: contains a control character")
	}
	return nil
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f
}

func (c *Client) validateSecrets() error {
	if c.Public && len(c.SecretHashes) > 0 {
		return errors.New("secretHashes: a public client has no secret")
	}
	if !c.Public && len(c.SecretHashes) == 0 {
		return errors.New("secretHashes: missing for a confidential client (set public: true for a client without a secret)")
	}
	for i, h := range c.SecretHashes {
		if _, err := decodeSecretHash(h); err != nil {
			return fmt.Errorf("secretHashes[%d]: %w", i, err)
		}
	}
	return nil
}

func (c *Client) validateGrantTypes() error {
	if len(c.GrantTypes) == 0 {
		return errors.New("grantTypes: missing")
	}
	for i, g := range c.GrantTypes {
		if !slices.Contains(GrantTypes, g) {
			return fmt.Errorf("grantTypes[%d]: unknown grant type %q (use password, client_credentials or refresh_token)", i, g)
		}
	}
	if c.Public && c.AllowsGrant(GrantClientCredentials) {
		return errors.New("grantTypes: a public client cannot use client_credentials")
	}
	return nil
}

func validateScopes(scopes []string) error {
	for i, s := range scopes {
		if !scope.Valid(s) {
			return fmt.Errorf("scopes[%d]: %q is not a valid scope token", i, s)
		}
		if slices.Contains(scopes[:i], s) {
			return fmt.Errorf("scopes[%d]: duplicate scope %q", i, s)
		}
	}
	return nil
}

func validateAudiences(audiences []string) error {
	if len(audiences) == 0 {
		return errors.New("audiences: missing")
	}
	for i, a := range audiences {
		if a == "" || strings.ContainsFunc(a, isControl) {
			return fmt.Errorf("audiences[%d]: %q is empty or contains a control character", i, a)
		}
	}
	return nil
}
