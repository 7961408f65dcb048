package redis

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/gatehouse-dev/gatehouse/issuer/store/internal/record"
	goredis "github.com/redis/go-redis/v9"
)

// RevokeAccessToken implements store.RevocationStore. The script that
// records it also sweeps expired revocations.
func (s *Store) RevokeAccessToken(ctx context.Context, jti string, expiresAt, now time.Time) error {
	if jti == "" {
		return store.ErrInvalidArgument
	}
	if !now.Before(expiresAt) {
		return nil
	}
	data, err := record.Encode(store.Revocation{JTI: jti, RevokedAt: now, ExpiresAt: expiresAt})
	if err != nil {
		return err
	}
	err = revokeScript.Run(ctx, s.client, s.revocationKeys(), millis(now), jti, millis(expiresAt), string(data)).Err()
	if err != nil {
		return wrap("revoke access token", err)
	}
	return nil
}

// AccessTokenRevoked implements store.RevocationStore.
func (s *Store) AccessTokenRevoked(ctx context.Context, jti string, now time.Time) (bool, error) {
	result, err := revokedScript.Run(ctx, s.client, s.revocationKeys(), jti).StringSlice()
	if errors.Is(err, goredis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, wrap("read revocation", err)
	}
	if len(result) != 2 {
		return false, record.ErrCorrupt
	}
	rev, err := record.DecodeRevocation([]byte(result[1]))
	if err != nil {
		return false, err
	}
	return now.Before(rev.ExpiresAt), nil
}

// ListRevocations implements store.RevocationStore. It reads batches of
// limit cursors until it has limit unexpired records or reaches the end,
// so that expired records that are not swept yet do not end a page early.
func (s *Store) ListRevocations(ctx context.Context, after uint64, now time.Time, limit int) ([]store.Revocation, error) {
	if limit <= 0 {
		return nil, store.ErrInvalidArgument
	}
	var out []store.Revocation
	for len(out) < limit {
		batch, last, err := s.revocationBatch(ctx, after, limit)
		if err != nil {
			return nil, err
		}
		for _, rev := range batch {
			if now.Before(rev.ExpiresAt) && len(out) < limit {
				out = append(out, rev)
			}
		}
		if last == 0 {
			break
		}
		after = last
	}
	return out, nil
}

// revocationBatch returns up to limit records after the cursor, and the
// last cursor read, or 0 when fewer than limit were left.
func (s *Store) revocationBatch(ctx context.Context, after uint64, limit int) ([]store.Revocation, uint64, error) {
	keys := s.revocationKeys()
	cursors, err := s.client.ZRangeByScore(ctx, keys[1], &goredis.ZRangeBy{
		Min: "(" + strconv.FormatUint(after, 10), Max: "+inf", Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, 0, wrap("list revocations", err)
	}
	if len(cursors) == 0 {
		return nil, 0, nil
	}
	values, err := s.client.HMGet(ctx, keys[3], cursors...).Result()
	if err != nil {
		return nil, 0, wrap("read revocations", err)
	}
	batch, err := decodeRevocations(cursors, values)
	if err != nil || len(cursors) < limit {
		return batch, 0, err
	}
	last, err := strconv.ParseUint(cursors[len(cursors)-1], 10, 64)
	if err != nil {
		return nil, 0, record.ErrCorrupt
	}
	return batch, last, nil
}

func decodeRevocations(cursors []string, values []any) ([]store.Revocation, error) {
	batch := make([]store.Revocation, 0, len(cursors))
	for i, v := range values {
		data, ok := v.(string)
		if !ok {
			continue // swept between the two reads
		}
		rev, err := record.DecodeRevocation([]byte(data))
		if err != nil {
			return nil, err
		}
		if rev.Cursor, err = strconv.ParseUint(cursors[i], 10, 64); err != nil {
			return nil, record.ErrCorrupt
		}
		batch = append(batch, rev)
	}
	return batch, nil
}

// RecordFailure implements store.FailureCounter. Windows start and end on
// whole milliseconds.
func (s *Store) RecordFailure(ctx context.Context, key string, window time.Duration, now time.Time) (int, error) {
	if key == "" || window <= 0 {
		return 0, store.ErrInvalidArgument
	}
	count, err := failureScript.Run(ctx, s.client, []string{s.failureKey(key)}, millis(now), millis(now.Add(window))).Int()
	if err != nil {
		return 0, wrap("record failure", err)
	}
	return count, nil
}

// Failures implements store.FailureCounter.
func (s *Store) Failures(ctx context.Context, key string, now time.Time) (int, error) {
	values, err := s.client.HMGet(ctx, s.failureKey(key), "count", "until").Result()
	if err != nil {
		return 0, wrap("read failures", err)
	}
	count, okCount := values[0].(string)
	until, okUntil := values[1].(string)
	if !okCount || !okUntil {
		return 0, nil
	}
	n, errCount := strconv.Atoi(count)
	ends, errUntil := strconv.ParseInt(until, 10, 64)
	if errCount != nil || errUntil != nil {
		return 0, record.ErrCorrupt
	}
	if now.UnixMilli() >= ends {
		return 0, nil
	}
	return n, nil
}

// ResetFailures implements store.FailureCounter.
func (s *Store) ResetFailures(ctx context.Context, key string) error {
	if err := s.client.Del(ctx, s.failureKey(key)).Err(); err != nil {
		return wrap("reset failures", err)
	}
	return nil
}
