package redis

import (
	"context"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/gatehouse-dev/gatehouse/issuer/store/internal/record"
)

// RevokeSubjectAccessTokens implements store.SubjectRevocationStore. One
// script sweeps expired revocations, records the feed record and merges
// the subject's hash, whose TTL lasts until the merged expiry.
func (s *Store) RevokeSubjectAccessTokens(ctx context.Context, subject string, expiresAt, now time.Time) error {
	if subject == "" {
		return store.ErrInvalidArgument
	}
	if !now.Before(expiresAt) {
		return nil
	}
	key := store.SubjectRevocationKey(subject, now)
	data, err := record.Encode(store.Revocation{JTI: key, RevokedAt: now, ExpiresAt: expiresAt})
	if err != nil {
		return err
	}
	keys := append(s.revocationKeys(), s.revokedSubjectKey(subject))
	err = revokeSubjectScript.Run(ctx, s.client, keys, millis(now), key, millis(expiresAt), string(data),
		nanos(now), nanos(expiresAt), ttl(expiresAt, now).Milliseconds()).Err()
	if err != nil {
		return wrap("revoke subject access tokens", err)
	}
	return nil
}

// SubjectRevokedSince implements store.SubjectRevocationStore.
func (s *Store) SubjectRevokedSince(ctx context.Context, subject string, since, now time.Time) (bool, error) {
	values, err := s.client.HMGet(ctx, s.revokedSubjectKey(subject), "at", "exp").Result()
	if err != nil {
		return false, wrap("read subject revocation", err)
	}
	at, okAt := values[0].(string)
	exp, okExp := values[1].(string)
	if !okAt || !okExp {
		return false, nil
	}
	atNanos, errAt := strconv.ParseInt(at, 10, 64)
	expNanos, errExp := strconv.ParseInt(exp, 10, 64)
	if errAt != nil || errExp != nil {
		return false, record.ErrCorrupt
	}
	r := store.SubjectRevocation{RevokedAt: time.Unix(0, atNanos), ExpiresAt: time.Unix(0, expNanos)}
	return r.Covers(since, now), nil
}
