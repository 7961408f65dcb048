package issuer

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/internal/accesstoken"
	"github.com/gatehouse-dev/gatehouse/internal/scope"
	"github.com/gatehouse-dev/gatehouse/issuer/clients"
	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/gatehouse-dev/gatehouse/issuer/users"
)

// Reasons for an inactive token, for the debug log only. The response is
// the same {"active":false} for all of them.
const (
	reasonInvalidAccessToken = "invalid access token"
	reasonExpired            = "expired"
	reasonRevoked            = "revoked"
	reasonUnknownRefresh     = "unknown or revoked refresh token"
	reasonReused             = "refresh token reused, family revoked"
	reasonOtherClient        = "issued to another client"
	reasonNoRefreshGrant     = "client may no longer use refresh_token"
	reasonUserGone           = "user no longer exists"
)

// introspectionResponse is the RFC 7662 §2.2 response. An inactive token
// gets only "active": false, so that the response reveals nothing about it.
type introspectionResponse struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Username  string   `json:"username,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	ExpiresAt int64    `json:"exp,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"`
	NotBefore int64    `json:"nbf,omitempty"`
	Subject   string   `json:"sub,omitempty"`
	Audience  []string `json:"aud,omitempty"`
	Issuer    string   `json:"iss,omitempty"`
	JTI       string   `json:"jti,omitempty"`
}

// serveIntrospection is the RFC 7662 introspection endpoint.
func (s *Server) serveIntrospection(w http.ResponseWriter, r *http.Request) {
	out, resp := s.handleIntrospection(r)
	if out.err != nil {
		s.writeTokenError(w, out.err)
	} else {
		writeIntrospectionResponse(w, resp)
	}
	s.recordManagement(r.Context(), endpointIntrospection, out)
}

func (s *Server) handleIntrospection(r *http.Request) (managementOutcome, introspectionResponse) {
	req, clientID, terr := s.readManagementRequest(r, endpointIntrospection)
	out := managementOutcome{clientID: clientID, err: terr}
	if terr != nil {
		return out, introspectionResponse{}
	}
	if req.client.Public {
		// RFC 7662 §2.1 requires the caller to authenticate, so that it
		// cannot scan for valid tokens. A public client has no secret.
		out.err = errInvalidClient("public client cannot introspect", false)
		return out, introspectionResponse{}
	}
	resp, reason, terr := s.introspect(r.Context(), req)
	out.reason, out.err = reason, terr
	out.result = "inactive"
	if resp.Active {
		out.result = "active"
	}
	return out, resp
}

// introspect describes req.token. It returns the response, and for an
// inactive token the reason to log.
//
// A client may introspect only the tokens issued to it, and gets
// {"active":false} for any other. RFC 7662 §2.2 lets the server respond
// differently to different callers. Resource servers here validate tokens
// through ext_authz, so no client needs other clients' tokens, and their
// claims would reveal to any client the users of every other client.
func (s *Server) introspect(ctx context.Context, req managementRequest) (introspectionResponse, string, *tokenError) {
	if looksLikeJWT(req.token) {
		return s.introspectAccessToken(ctx, req.client, req.token)
	}
	return s.introspectRefreshToken(ctx, req.client, req.token)
}

func (s *Server) introspectAccessToken(ctx context.Context, client clients.Client, raw string) (introspectionResponse, string, *tokenError) {
	claims, err := s.parseAccessToken(raw)
	if err != nil {
		return introspectionResponse{}, accessTokenReason(err), nil
	}
	if claims.ClientID != client.ID {
		return introspectionResponse{}, reasonOtherClient, nil
	}
	revoked, err := s.accessTokenRevoked(ctx, claims)
	if err != nil {
		return introspectionResponse{}, "", errServer("revocation store failed", err)
	}
	if revoked {
		return introspectionResponse{}, reasonRevoked, nil
	}
	return accessTokenIntrospection(claims), "", nil
}

// accessTokenRevoked reports whether the token itself, its login ("sid")
// or its subject is revoked.
func (s *Server) accessTokenRevoked(ctx context.Context, claims *accesstoken.Claims) (bool, error) {
	now := s.cfg.Now()
	revoked, err := s.cfg.Revocations.AccessTokenRevoked(ctx, claims.ID, now)
	if err != nil || revoked {
		return revoked, err
	}
	if claims.SessionID != "" {
		revoked, err = s.cfg.Revocations.AccessTokenRevoked(ctx, store.SessionRevocationKey(claims.SessionID), now)
		if err != nil || revoked {
			return revoked, err
		}
	}
	return s.subjectRevoked(ctx, claims, now)
}

// subjectRevoked reports whether a subject revocation covers the token: one
// recorded at or after its "iat". Because "iat" has whole seconds, this
// covers every token issued in the revocation's own second. ext_authz
// decides the same way: it denies a token whose "iat" is at or before the
// Unix second of the revocation.
func (s *Server) subjectRevoked(ctx context.Context, claims *accesstoken.Claims, now time.Time) (bool, error) {
	subjects, ok := s.cfg.Revocations.(store.SubjectRevocationStore)
	if !ok {
		// RevokeSubject rejects such a store, so it holds no subject
		// revocation.
		return false, nil
	}
	// A token without "iat" cannot be shown to be newer than any
	// revocation, so the zero time lets every revocation cover it.
	var issuedAt time.Time
	if claims.IssuedAt != nil {
		issuedAt = claims.IssuedAt.Time
	}
	return subjects.SubjectRevokedSince(ctx, claims.Subject, issuedAt, now)
}

// accessTokenReason returns the logged reason why parseAccessToken failed.
func accessTokenReason(err error) string {
	if errors.Is(err, jwt.ErrTokenExpired) {
		return reasonExpired
	}
	return reasonInvalidAccessToken
}

func accessTokenIntrospection(claims *accesstoken.Claims) introspectionResponse {
	return introspectionResponse{
		Active:    true,
		Scope:     claims.Scope,
		ClientID:  claims.ClientID,
		Username:  claims.PreferredUsername,
		TokenType: "Bearer",
		ExpiresAt: unixSeconds(claims.ExpiresAt),
		IssuedAt:  unixSeconds(claims.IssuedAt),
		NotBefore: unixSeconds(claims.NotBefore),
		Subject:   claims.Subject,
		Audience:  claims.Audience,
		Issuer:    claims.Issuer,
		JTI:       claims.ID,
	}
}

func unixSeconds(d *jwt.NumericDate) int64 {
	if d == nil {
		return 0
	}
	return d.Unix()
}

// introspectRefreshToken describes a refresh token without using it up.
// A token is active only when the refresh grant would accept it: owned by
// the client, which may still use the grant, and for a user who still
// exists. Unlike the grant, introspection revokes nothing on failure.
//
// NOTE: RefreshStore.Get revokes the family of a token that was already
// rotated, so introspecting an old token ends the login, as reusing it at
// the token endpoint does.
func (s *Server) introspectRefreshToken(ctx context.Context, client clients.Client, raw string) (introspectionResponse, string, *tokenError) {
	record, err := s.cfg.Store.Get(ctx, store.HashToken(raw), s.cfg.Now())
	if reason, ok := inactiveRefreshReason(err); ok {
		return introspectionResponse{}, reason, nil
	}
	if err != nil {
		return introspectionResponse{}, "", errServer("refresh token store failed", err)
	}
	if record.ClientID != client.ID {
		return introspectionResponse{}, reasonOtherClient, nil
	}
	if !client.AllowsGrant(clients.GrantRefreshToken) {
		return introspectionResponse{}, reasonNoRefreshGrant, nil
	}
	user, err := s.cfg.Users.Lookup(ctx, record.Username)
	if errors.Is(err, users.ErrNotFound) || err == nil && user.Subject != record.Subject {
		return introspectionResponse{}, reasonUserGone, nil
	}
	if err != nil {
		return introspectionResponse{}, "", errServer("user store failed", err)
	}
	return refreshTokenIntrospection(record), "", nil
}

// inactiveRefreshReason maps the RefreshStore errors that mean "no usable
// token" to a logged reason. It returns false for nil and for store
// failures.
func inactiveRefreshReason(err error) (string, bool) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return reasonUnknownRefresh, true
	case errors.Is(err, store.ErrExpired):
		return reasonExpired, true
	case errors.Is(err, store.ErrReused):
		return reasonReused, true
	}
	return "", false
}

func refreshTokenIntrospection(record store.RefreshToken) introspectionResponse {
	return introspectionResponse{
		Active:    true,
		Scope:     scope.Join(record.Scope),
		ClientID:  record.ClientID,
		Username:  record.Username,
		TokenType: "refresh_token",
		ExpiresAt: record.Expiry().Unix(),
		IssuedAt:  record.IssuedAt.Unix(),
		Subject:   record.Subject,
	}
}

func writeIntrospectionResponse(w http.ResponseWriter, resp introspectionResponse) {
	setTokenHeaders(w.Header())
	body, _ := json.Marshal(resp)
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}
