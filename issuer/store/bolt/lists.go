package bolt

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/gatehouse-dev/gatehouse/issuer/store/internal/record"
	bbolt "go.etcd.io/bbolt"
)

// RevokeAccessToken implements store.RevocationStore. The cursor is the
// revocations bucket's sequence, which bbolt keeps in the file.
func (s *Store) RevokeAccessToken(_ context.Context, jti string, expiresAt, now time.Time) error {
	if jti == "" {
		return store.ErrInvalidArgument
	}
	return s.update(func(tx *bbolt.Tx) error {
		if err := s.maybeSweep(tx, now); err != nil {
			return err
		}
		if tx.Bucket(bucketRevokedJTI).Get([]byte(jti)) != nil || !now.Before(expiresAt) {
			return nil
		}
		return putRevocation(tx, jti, expiresAt, now)
	})
}

func putRevocation(tx *bbolt.Tx, jti string, expiresAt, now time.Time) error {
	revocations := tx.Bucket(bucketRevocations)
	cursor, err := revocations.NextSequence()
	if err != nil {
		return dbErr(err)
	}
	data, err := record.Encode(store.Revocation{Cursor: cursor, JTI: jti, RevokedAt: now, ExpiresAt: expiresAt})
	if err != nil {
		return dbErr(err)
	}
	key := cursorKey(cursor)
	if err := revocations.Put(key, data); err != nil {
		return dbErr(err)
	}
	if err := tx.Bucket(bucketRevokedJTI).Put([]byte(jti), key); err != nil {
		return dbErr(err)
	}
	return dbErr(tx.Bucket(bucketExpiry).Put(expiryKey(expiresAt, kindRevocation, key), nil))
}

// AccessTokenRevoked implements store.RevocationStore.
func (s *Store) AccessTokenRevoked(_ context.Context, jti string, now time.Time) (bool, error) {
	var revoked bool
	err := s.view(func(tx *bbolt.Tx) error {
		key := tx.Bucket(bucketRevokedJTI).Get([]byte(jti))
		if key == nil {
			return nil
		}
		rev, err := record.DecodeRevocation(tx.Bucket(bucketRevocations).Get(key))
		if err != nil {
			return dbErr(err)
		}
		revoked = now.Before(rev.ExpiresAt)
		return nil
	})
	return revoked, err
}

// ListRevocations implements store.RevocationStore.
func (s *Store) ListRevocations(_ context.Context, after uint64, now time.Time, limit int) ([]store.Revocation, error) {
	if limit <= 0 {
		return nil, store.ErrInvalidArgument
	}
	var out []store.Revocation
	err := s.view(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketRevocations).Cursor()
		for k, v := c.Seek(cursorKey(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			rev, err := record.DecodeRevocation(v)
			if err != nil {
				return dbErr(err)
			}
			if now.Before(rev.ExpiresAt) {
				out = append(out, rev)
			}
		}
		return nil
	})
	return out, err
}

func cursorKey(cursor uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, cursor)
}

// RecordFailure implements store.FailureCounter.
func (s *Store) RecordFailure(_ context.Context, key string, window time.Duration, now time.Time) (int, error) {
	if key == "" || window <= 0 {
		return 0, store.ErrInvalidArgument
	}
	var count int
	err := s.update(func(tx *bbolt.Tx) error {
		if err := s.maybeSweep(tx, now); err != nil {
			return err
		}
		w, err := loadFailures(tx, key)
		if err != nil {
			return err
		}
		if !now.Before(w.Until) {
			if err := deleteFailures(tx, key, w); err != nil {
				return err
			}
			w = record.Failures{Until: now.Add(window)}
		}
		w.Count++
		count = w.Count
		return putFailures(tx, key, w)
	})
	return count, err
}

// Failures implements store.FailureCounter.
func (s *Store) Failures(_ context.Context, key string, now time.Time) (int, error) {
	var count int
	err := s.view(func(tx *bbolt.Tx) error {
		w, err := loadFailures(tx, key)
		if err == nil && now.Before(w.Until) {
			count = w.Count
		}
		return err
	})
	return count, err
}

// ResetFailures implements store.FailureCounter.
func (s *Store) ResetFailures(_ context.Context, key string) error {
	return s.update(func(tx *bbolt.Tx) error {
		w, err := loadFailures(tx, key)
		if err != nil {
			return err
		}
		return deleteFailures(tx, key, w)
	})
}

// loadFailures returns key's window, or the zero window, which has ended.
func loadFailures(tx *bbolt.Tx, key string) (record.Failures, error) {
	data := tx.Bucket(bucketFailures).Get([]byte(key))
	if data == nil {
		return record.Failures{}, nil
	}
	w, err := record.DecodeFailures(data)
	return w, dbErr(err)
}

func putFailures(tx *bbolt.Tx, key string, w record.Failures) error {
	data, err := record.Encode(w)
	if err != nil {
		return dbErr(err)
	}
	if err := tx.Bucket(bucketFailures).Put([]byte(key), data); err != nil {
		return dbErr(err)
	}
	return dbErr(tx.Bucket(bucketExpiry).Put(expiryKey(w.Until, kindFailures, []byte(key)), nil))
}

func deleteFailures(tx *bbolt.Tx, key string, w record.Failures) error {
	if err := tx.Bucket(bucketFailures).Delete([]byte(key)); err != nil {
		return dbErr(err)
	}
	return dbErr(tx.Bucket(bucketExpiry).Delete(expiryKey(w.Until, kindFailures, []byte(key))))
}
