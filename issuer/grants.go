package issuer

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/scope"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/gatehouse-dev/gatehouse/issuer/users"
)

// grantHandler runs one grant type for a client that has authenticated and
// may use it.
type grantHandler func(ctx context.Context, client clients.Client, form tokenForm) (*tokenResponse, *tokenError)

// tokenResponse is the successful token response of RFC 6749 §5.1.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

func (s *Server) grantHandlers() map[clients.GrantType]grantHandler {
	return map[clients.GrantType]grantHandler{
		clients.GrantPassword:          s.passwordGrant,
		clients.GrantClientCredentials: s.clientCredentialsGrant,
		clients.GrantRefreshToken:      s.refreshTokenGrant,
	}
}

// passwordGrant is the resource owner password credentials grant
// (RFC 6749 §4.3). It issues a refresh token when the client may use the
// refresh_token grant.
func (s *Server) passwordGrant(ctx context.Context, client clients.Client, form tokenForm) (*tokenResponse, *tokenError) {
	username, password := form["username"], form["password"]
	if username == "" {
		return nil, errInvalidRequest("missing username")
	}
	if password == "" {
		return nil, errInvalidRequest("missing password")
	}
	granted, terr := resolveScope(form["scope"], client.Scopes)
	if terr != nil {
		return nil, terr
	}

	user, err := s.cfg.Users.Authenticate(ctx, username, password)
	if errors.Is(err, users.ErrInvalidCredentials) {
		return nil, errInvalidGrant("invalid username or password", "invalid username or password")
	}
	if err != nil {
		return nil, errServer("user store failed", err)
	}

	now := s.cfg.Now()
	resp, terr := s.issueAccessToken(client, userSubject(user, now), granted, now)
	if terr != nil || !client.AllowsGrant(clients.GrantRefreshToken) {
		return resp, terr
	}
	resp.RefreshToken, terr = s.startRefreshFamily(ctx, client, user, granted, now)
	if terr != nil {
		return nil, terr
	}
	return resp, nil
}

// startRefreshFamily stores the first refresh token of a new login and
// returns it.
func (s *Server) startRefreshFamily(ctx context.Context, client clients.Client, user users.User, granted []string, now time.Time) (string, *tokenError) {
	family, err := randomString(familyIDBytes)
	if err != nil {
		return "", errServer("create refresh token family", err)
	}
	record := store.RefreshToken{
		FamilyID:  family,
		ClientID:  client.ID,
		Username:  user.Username,
		Subject:   user.Subject,
		Scope:     granted,
		AuthTime:  now,
		IssuedAt:  now,
		ExpiresAt: now.Add(cmp.Or(client.RefreshTokenTTL, s.cfg.RefreshTokenTTL)),
	}
	raw, err := newRefreshToken(&record)
	if err != nil {
		return "", errServer("create refresh token", err)
	}
	if err := s.cfg.Store.Put(ctx, record); err != nil {
		return "", errServer("store refresh token", err)
	}
	return raw, nil
}

// clientCredentialsGrant is the client credentials grant (RFC 6749 §4.4).
// The token's subject is the client itself, and no refresh token is issued
// (RFC 6749 §4.4.3).
func (s *Server) clientCredentialsGrant(_ context.Context, client clients.Client, form tokenForm) (*tokenResponse, *tokenError) {
	if client.Public {
		return nil, errUnauthorizedClient("public clients cannot use client_credentials")
	}
	granted, terr := resolveScope(form["scope"], client.Scopes)
	if terr != nil {
		return nil, terr
	}
	now := s.cfg.Now()
	return s.issueAccessToken(client, accessTokenSubject{subject: client.ID}, granted, now)
}

// refreshTokenGrant exchanges a refresh token for a new access token and a
// new refresh token (RFC 6749 §6). The old refresh token stops working.
// The request may narrow the scope but not widen it, and the new refresh
// token keeps the scope and expiry of the login it descends from.
func (s *Server) refreshTokenGrant(ctx context.Context, client clients.Client, form tokenForm) (*tokenResponse, *tokenError) {
	raw := form["refresh_token"]
	if raw == "" {
		return nil, errInvalidRequest("missing refresh_token")
	}
	now := s.cfg.Now()
	hash := store.HashToken(raw)
	old, err := s.cfg.Store.Get(ctx, hash, now)
	if err != nil {
		return nil, refreshStoreError(err)
	}
	if old.ClientID != client.ID {
		// The token leaked to another client, so the login is compromised.
		s.revokeFamily(ctx, old.FamilyID)
		return nil, errInvalidGrant("refresh token is invalid", "refresh token of another client, family revoked")
	}
	granted, terr := resolveScope(form["scope"], intersectScopes(old.Scope, client.Scopes))
	if terr != nil {
		return nil, terr
	}
	user, terr := s.currentUser(ctx, old)
	if terr != nil {
		return nil, terr
	}

	resp, terr := s.issueAccessToken(client, userSubject(user, old.AuthTime), granted, now)
	if terr != nil {
		return nil, terr
	}
	next := old
	next.IssuedAt = now
	newRaw, err := newRefreshToken(&next)
	if err != nil {
		return nil, errServer("create refresh token", err)
	}
	if _, err := s.cfg.Store.Rotate(ctx, hash, next); err != nil {
		return nil, refreshStoreError(err)
	}
	resp.RefreshToken = newRaw
	return resp, nil
}

// currentUser looks up the user of a refresh token again, so that a
// removed user cannot refresh. A user that is gone, or whose username now
// belongs to another subject, ends the token's family.
func (s *Server) currentUser(ctx context.Context, token store.RefreshToken) (users.User, *tokenError) {
	user, err := s.cfg.Users.Lookup(ctx, token.Username)
	if errors.Is(err, users.ErrNotFound) || err == nil && user.Subject != token.Subject {
		s.revokeFamily(ctx, token.FamilyID)
		return users.User{}, errInvalidGrant("refresh token is invalid", "user no longer exists, family revoked")
	}
	if err != nil {
		return users.User{}, errServer("user store failed", err)
	}
	return user, nil
}

func (s *Server) revokeFamily(ctx context.Context, familyID string) {
	if err := s.cfg.Store.RevokeFamily(ctx, familyID); err != nil {
		s.cfg.Logger.ErrorContext(ctx, "refresh token family revocation failed", "error", err)
	}
}

// refreshStoreError maps a RefreshStore error to the token endpoint error.
func refreshStoreError(err error) *tokenError {
	switch {
	case errors.Is(err, store.ErrReused):
		return errInvalidGrant("refresh token is invalid", "refresh token reused, family revoked")
	case errors.Is(err, store.ErrExpired):
		return errInvalidGrant("refresh token has expired", "refresh token expired")
	case errors.Is(err, store.ErrNotFound):
		return errInvalidGrant("refresh token is invalid", "unknown or revoked refresh token")
	}
	return errServer("refresh token store failed", err)
}

// newRefreshToken creates a random refresh token, stores its hash in
// record and returns the token.
func newRefreshToken(record *store.RefreshToken) (string, error) {
	raw, err := randomString(refreshTokenBytes)
	if err != nil {
		return "", err
	}
	record.Hash = store.HashToken(raw)
	return raw, nil
}

func userSubject(user users.User, authTime time.Time) accessTokenSubject {
	return accessTokenSubject{
		subject:  user.Subject,
		username: user.Username,
		email:    user.Email,
		groups:   user.Groups,
		authTime: authTime,
	}
}

// issueAccessToken signs an access token for client and returns the token
// response without a refresh token.
func (s *Server) issueAccessToken(client clients.Client, who accessTokenSubject, granted []string, now time.Time) (*tokenResponse, *tokenError) {
	ttl := cmp.Or(client.AccessTokenTTL, s.cfg.AccessTokenTTL)
	claims, err := s.newClaims(client, who, scope.Join(granted), now, ttl)
	if err != nil {
		return nil, errServer("create access token claims", err)
	}
	signed, err := s.signer.sign(claims)
	if err != nil {
		return nil, errServer("sign access token", err)
	}
	return &tokenResponse{
		AccessToken: signed,
		TokenType:   "Bearer",
		ExpiresIn:   int64(ttl / time.Second),
		Scope:       scope.Join(granted),
	}, nil
}
