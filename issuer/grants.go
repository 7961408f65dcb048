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

	user, terr := s.authenticateUser(ctx, username, password)
	if terr != nil {
		return nil, terr
	}

	now := s.cfg.Now()
	who := userSubject(user, now)
	if !client.AllowsGrant(clients.GrantRefreshToken) {
		return s.issueAccessToken(client, who, granted, now)
	}
	// The family ID exists before the access token, which carries it as
	// "sid" so that revoking the family reaches this token too.
	sessionID, err := randomString(familyIDBytes)
	if err != nil {
		return nil, errServer("create refresh token family", err)
	}
	who.sessionID = sessionID
	resp, terr := s.issueAccessToken(client, who, granted, now)
	if terr != nil {
		return nil, terr
	}
	resp.RefreshToken, terr = s.startRefreshFamily(ctx, client, user, granted, who.sessionID, now)
	if terr != nil {
		return nil, terr
	}
	return resp, nil
}

// startRefreshFamily stores the first refresh token of a new login and
// returns it.
func (s *Server) startRefreshFamily(ctx context.Context, client clients.Client, user users.User, granted []string, family string, now time.Time) (string, *tokenError) {
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
	record.IdleExpiresAt = idleExpiry(client, now)
	raw, err := newRefreshToken(&record)
	if err != nil {
		return "", errServer("create refresh token", err)
	}
	if err := s.cfg.Store.Put(ctx, record); err != nil {
		return "", errStore("store refresh token", err)
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
		return nil, s.refreshFailed(ctx, old, err)
	}
	if old.ClientID != client.ID {
		// The token leaked to another client, so the login is compromised.
		s.revokeFamily(ctx, old)
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

	who := userSubject(user, old.AuthTime)
	who.sessionID = old.FamilyID
	resp, terr := s.issueAccessToken(client, who, granted, now)
	if terr != nil {
		return nil, terr
	}
	next := old
	next.IssuedAt = now
	next.IdleExpiresAt = idleExpiry(client, now)
	newRaw, err := newRefreshToken(&next)
	if err != nil {
		return nil, errServer("create refresh token", err)
	}
	if rotated, err := s.cfg.Store.Rotate(ctx, hash, next); err != nil {
		return nil, s.refreshFailed(ctx, rotated, err)
	}
	resp.RefreshToken = newRaw
	return resp, nil
}

// currentUser looks up the user of a refresh token again, so that a
// removed user cannot refresh. A user that is gone, or whose username now
// belongs to another subject, ends the token's family.
func (s *Server) currentUser(ctx context.Context, token store.RefreshToken) (users.User, *tokenError) {
	user, err := s.cfg.Users.Lookup(ctx, token.Username)
	if errors.Is(err, users.ErrUnavailable) {
		return users.User{}, errDirectoryUnavailable(err)
	}
	if errors.Is(err, users.ErrNotFound) || err == nil && user.Subject != token.Subject {
		s.revokeFamily(ctx, token)
		return users.User{}, errInvalidGrant("refresh token is invalid", "user no longer exists, family revoked")
	}
	if err != nil {
		return users.User{}, errServer("user store failed", err)
	}
	return user, nil
}

// revokeFamily ends a login: its refresh tokens and, through the
// revocation feed, the access tokens that carry its "sid".
func (s *Server) revokeFamily(ctx context.Context, token store.RefreshToken) {
	if err := s.cfg.Store.RevokeFamily(ctx, token.FamilyID); err != nil {
		s.cfg.Logger.ErrorContext(ctx, "refresh token family revocation failed", "familyID", token.FamilyID, "error", err)
	}
	s.revokeSession(ctx, token)
}

// revokeSession records that the access tokens of a family are revoked.
// The record lasts as long as any access token can, so it outlives every
// token the family was issued.
func (s *Server) revokeSession(ctx context.Context, token store.RefreshToken) {
	now := s.cfg.Now()
	key := store.SessionRevocationKey(token.FamilyID)
	if err := s.cfg.Revocations.RevokeAccessToken(ctx, key, now.Add(s.accessTokenTTLOf(token.ClientID)), now); err != nil {
		s.cfg.Logger.ErrorContext(ctx, "access token revocation of a family failed", "familyID", token.FamilyID, "error", err)
	}
}

// accessTokenTTLOf returns the longest lifetime of the client's access
// tokens: its own, the issuer's, or the largest allowed when the client is
// gone and its lifetime unknown.
func (s *Server) accessTokenTTLOf(clientID string) time.Duration {
	client, ok := s.cfg.Clients.Client(clientID)
	if !ok {
		return max(s.cfg.AccessTokenTTL, clients.MaxAccessTokenTTL)
	}
	return cmp.Or(client.AccessTokenTTL, s.cfg.AccessTokenTTL)
}

// refreshFailed maps a store error of the refresh grant. A reused token
// means the family leaked: the store has revoked its refresh tokens, and
// its access tokens are revoked here.
func (s *Server) refreshFailed(ctx context.Context, record store.RefreshToken, err error) *tokenError {
	if errors.Is(err, store.ErrReused) && record.FamilyID != "" {
		s.revokeSession(ctx, record)
	}
	return refreshStoreError(err)
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
	return errStore("refresh token store failed", err)
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
	keys := s.keys.SigningKeys()
	if keys == nil {
		return nil, errNoSigningKeys()
	}
	signed, err := keys.signer.sign(claims)
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

// authenticateUser checks a password under the lockout policy. A locked
// username or address gets the response of a wrong password, so the three
// cases look the same to the client.
func (s *Server) authenticateUser(ctx context.Context, username, password string) (users.User, *tokenError) {
	wrong := errInvalidGrant("invalid username or password", "invalid username or password")
	if s.lockout != nil {
		locked, err := s.lockout.check(ctx, username, clientAddress(ctx))
		if err != nil {
			return users.User{}, errStore("failure counter failed", err)
		}
		if locked {
			s.metrics.countLocked()
			wrong.reason = "username or client address locked"
			return users.User{}, wrong
		}
	}
	start := time.Now()
	user, err := s.cfg.Users.Authenticate(ctx, username, password)
	switch {
	case errors.Is(err, users.ErrInvalidCredentials):
		s.passwordFailed(ctx, username, time.Since(start))
		return users.User{}, wrong
	case errors.Is(err, users.ErrUnavailable):
		return users.User{}, errDirectoryUnavailable(err)
	case err != nil:
		return users.User{}, errServer("user store failed", err)
	}
	if s.lockout != nil {
		s.lockout.observeVerify(time.Since(start))
		if err := s.lockout.succeeded(ctx, username); err != nil {
			s.cfg.Logger.ErrorContext(ctx, "reset of login failures failed", "error", err)
		}
	}
	return user, nil
}

// passwordFailed counts a wrong password and logs a new lock.
func (s *Server) passwordFailed(ctx context.Context, username string, took time.Duration) {
	if s.lockout == nil {
		return
	}
	s.lockout.observeVerify(took)
	address := clientAddress(ctx)
	userLocked, addrLocked, err := s.lockout.failed(ctx, username, address)
	if err != nil {
		s.cfg.Logger.ErrorContext(ctx, "count of a login failure failed", "error", err)
		return
	}
	if userLocked {
		s.metrics.countLockout("username")
		s.cfg.Logger.WarnContext(ctx, "username locked after repeated login failures", "username", username, "window", s.cfg.Lockout.Window.String())
	}
	if addrLocked {
		s.metrics.countLockout("address")
		s.cfg.Logger.WarnContext(ctx, "client address locked after repeated login failures", "clientAddress", address, "window", s.cfg.Lockout.Window.String())
	}
}

// idleExpiry returns when a refresh token issued at now lapses unused, or
// zero when the client sets no idle lifetime.
func idleExpiry(client clients.Client, now time.Time) time.Time {
	if client.RefreshIdleTTL == 0 {
		return time.Time{}
	}
	return now.Add(client.RefreshIdleTTL)
}
