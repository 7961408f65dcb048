package issuer

import (
	"context"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/issuer/clients"
	"github.com/gatehouse-dev/gatehouse/issuer/store"
)

// serveRevocation is the RFC 7009 revocation endpoint.
func (s *Server) serveRevocation(w http.ResponseWriter, r *http.Request) {
	out := s.handleRevocation(r)
	if out.err != nil {
		s.writeTokenError(w, out.err)
	} else {
		writeRevocationResponse(w)
	}
	s.recordManagement(r.Context(), endpointRevocation, out)
}

// handleRevocation revokes req.token if it is valid and was issued to the
// requesting client. Otherwise it does nothing and still succeeds. RFC 7009
// §2.2 specifies 200 for an invalid token. Its §2.1 requires the server to
// check that the token was issued to the client, and defines no other
// response for a token that was not. Public clients may revoke their
// tokens, because RFC 7009 §2.1 requires credentials only of confidential
// clients.
func (s *Server) handleRevocation(r *http.Request) managementOutcome {
	req, clientID, terr := s.readManagementRequest(r, endpointRevocation)
	out := managementOutcome{clientID: clientID, err: terr}
	if terr != nil {
		return out
	}
	revoke := s.revokeRefreshToken
	if looksLikeJWT(req.token) {
		revoke = s.revokeAccessToken
	}
	reason, terr := revoke(r.Context(), req.client, req.token)
	out.reason, out.err = reason, terr
	out.result = "revoked"
	if reason != "" {
		out.result = "ignored"
	}
	return out
}

// revokeAccessToken records the token's jti as revoked until its expiry.
// It returns the reason when it revokes nothing.
//
// The refresh token of the same login stays valid, because an access token
// does not name its refresh token family. RFC 7009 §2.1 leaves revoking it
// to the server.
func (s *Server) revokeAccessToken(ctx context.Context, client clients.Client, raw string) (string, *tokenError) {
	claims, err := s.parseAccessToken(raw)
	if err != nil {
		return accessTokenReason(err), nil
	}
	if claims.ClientID != client.ID {
		return reasonOtherClient, nil
	}
	if err := s.cfg.Revocations.RevokeAccessToken(ctx, claims.ID, claims.ExpiresAt.Time, s.cfg.Now()); err != nil {
		return "", errUnavailable("revocation store failed", err)
	}
	return "", nil
}

// revokeRefreshToken revokes the whole family of the token, so that the
// login it belongs to ends. It returns the reason when it revokes nothing.
//
// NOTE: RefreshStore.Get revokes the family of a token that was already
// rotated, even when another client presents it, because a reused token
// has leaked.
func (s *Server) revokeRefreshToken(ctx context.Context, client clients.Client, raw string) (string, *tokenError) {
	record, err := s.cfg.Store.Get(ctx, store.HashToken(raw), s.cfg.Now())
	if reason, ok := inactiveRefreshReason(err); ok {
		return reason, nil
	}
	if err != nil {
		return "", errUnavailable("refresh token store failed", err)
	}
	if record.ClientID != client.ID {
		return reasonOtherClient, nil
	}
	if err := s.cfg.Store.RevokeFamily(ctx, record.FamilyID); err != nil {
		return "", errUnavailable("refresh token family revocation failed", err)
	}
	s.revokeSession(ctx, record)
	return "", nil
}

// writeRevocationResponse sends the empty 200 response of RFC 7009 §2.2.
func writeRevocationResponse(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
}
