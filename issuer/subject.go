package issuer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/clients"
	"github.com/gatehouse-dev/gatehouse/issuer/store"
)

// subjectRevoker is the part of a store that ends every login of a subject.
type subjectRevoker interface {
	RevokeSubject(ctx context.Context, subject string) error
}

// RevokeSubject ends every login of subject: its refresh tokens stop
// working, and the access tokens it holds now are revoked through the
// revocation feed and in introspection. Access tokens issued after
// RevokeSubject returns stay valid, so the user can log in again unless the
// user store rejects them. It returns less than a second after the
// revocation is recorded (see waitPastRevocationSecond).
func (s *Server) RevokeSubject(ctx context.Context, subject string) error {
	if subject == "" {
		return fmt.Errorf("%w: empty subject", store.ErrInvalidArgument)
	}
	revoker, ok := s.cfg.Store.(subjectRevoker)
	if !ok {
		return errors.New("revoke subject: the refresh token store cannot list a subject's logins")
	}
	revocations, ok := s.cfg.Revocations.(store.SubjectRevocationStore)
	if !ok {
		return errors.New("revoke subject: Config.Revocations does not implement store.SubjectRevocationStore: leave it nil or set a store.Store such as store.Memory")
	}
	if err := revoker.RevokeSubject(ctx, subject); err != nil {
		return fmt.Errorf("revoke refresh tokens of subject: %w", err)
	}
	now := s.cfg.Now()
	// Any client's access tokens may be outstanding, so the record lasts as
	// long as the longest access token lifetime allowed.
	until := now.Add(max(s.cfg.AccessTokenTTL, clients.MaxAccessTokenTTL))
	if err := revocations.RevokeSubjectAccessTokens(ctx, subject, until, now); err != nil {
		return fmt.Errorf("revoke access tokens of subject: %w", err)
	}
	s.cfg.Logger.InfoContext(ctx, "subject revoked", "subject", subject)
	return waitPastRevocationSecond(ctx, now, s.cfg.Now())
}

// waitPastRevocationSecond sleeps until the Unix second after that of
// revokedAt begins, measuring from now.
//
// A subject revocation covers the access tokens whose "iat" is at or before
// the Unix second of revokedAt, both in introspection and in ext_authz. "iat" has whole
// seconds, so a token issued later in the same second would be revoked as
// well. Once this wait ends, every token that this issuer signs has a later
// "iat".
//
// NOTE: another issuer replica whose clock lags this one's can still sign,
// for as long as the lag, tokens that the revocation covers.
func waitPastRevocationSecond(ctx context.Context, revokedAt, now time.Time) error {
	wait := time.Unix(revokedAt.Unix()+1, 0).Sub(now)
	if wait <= 0 {
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("subject revoked, but tokens issued within the next %v may be revoked too: %w", wait, context.Cause(ctx))
	}
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
