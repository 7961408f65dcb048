package issuer

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/issuer/clients"
	"github.com/gatehouse-dev/gatehouse/issuer/store"
)

// subjectRevoker is the part of a store that ends every login of a subject.
type subjectRevoker interface {
	RevokeSubject(ctx context.Context, subject string) error
}

// RevokeSubject ends every login of subject: its refresh tokens stop
// working, and the access tokens it holds now are revoked through the
// revocation feed. Tokens issued after the call are not affected, so the
// user can log in again unless the user store refuses them.
func (s *Server) RevokeSubject(ctx context.Context, subject string) error {
	if subject == "" {
		return fmt.Errorf("%w: empty subject", store.ErrInvalidArgument)
	}
	revoker, ok := s.cfg.Store.(subjectRevoker)
	if !ok {
		return errors.New("revoke subject: the refresh token store cannot list a subject's logins")
	}
	if err := revoker.RevokeSubject(ctx, subject); err != nil {
		return fmt.Errorf("revoke refresh tokens of subject: %w", err)
	}
	now := s.cfg.Now()
	// Any client's access tokens may be outstanding, so the record lasts as
	// long as the longest access token lifetime allowed.
	until := now.Add(max(s.cfg.AccessTokenTTL, clients.MaxAccessTokenTTL))
	if err := s.cfg.Revocations.RevokeAccessToken(ctx, store.SubjectRevocationKey(subject, now), until, now); err != nil {
		return fmt.Errorf("revoke access tokens of subject: %w", err)
	}
	s.cfg.Logger.InfoContext(ctx, "subject revoked", "subject", subject)
	return nil
}

// SubjectRevocationHandler serves POST with a form field "subject", which
// RevokeSubject ends. It is meant for an operator's port, not the public
// one, because it does not authenticate the caller.
func (s *Server) SubjectRevocationHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed: use POST", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxTokenRequestBytes)
		subject := r.PostFormValue("subject")
		if subject == "" {
			http.Error(w, "missing form field subject", http.StatusBadRequest)
			return
		}
		if err := s.RevokeSubject(r.Context(), subject); err != nil {
			s.cfg.Logger.ErrorContext(r.Context(), "subject revocation failed", "subject", subject, "error", err)
			http.Error(w, "revocation failed, try again", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
