package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/gatehouse-dev/gatehouse/issuer/store/internal/record"
	bbolt "go.etcd.io/bbolt"
)

// Sweep removes up to Options.SweepBatch records that expired at or before
// now, in one write transaction, and returns how many it removed. Writes
// call it on their own; callers need it only to sweep on a timer.
func (s *Store) Sweep(_ context.Context, now time.Time) (int, error) {
	var removed int
	err := s.update(func(tx *bbolt.Tx) error {
		var err error
		removed, err = s.sweep(tx, now)
		return err
	})
	return removed, err
}

// maybeSweep sweeps when SweepInterval has passed since the last sweep, by
// the caller's clock.
func (s *Store) maybeSweep(tx *bbolt.Tx, now time.Time) error {
	s.mu.Lock()
	due := now.Sub(s.lastSweep) >= s.opts.SweepInterval
	if due {
		s.lastSweep = now
	}
	s.mu.Unlock()
	if !due {
		return nil
	}
	_, err := s.sweep(tx, now)
	return err
}

func (s *Store) sweep(tx *bbolt.Tx, now time.Time) (int, error) {
	limit := expiryKey(now, 0xff, nil)
	var expired [][]byte
	c := tx.Bucket(bucketExpiry).Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k, limit) <= 0 && len(expired) < s.opts.SweepBatch; k, _ = c.Next() {
		expired = append(expired, bytes.Clone(k))
	}
	for _, key := range expired {
		if err := removeExpired(tx, key, now); err != nil {
			return 0, err
		}
	}
	return len(expired), nil
}

// removeExpired removes the record of one expiry entry and the entry.
func removeExpired(tx *bbolt.Tx, key []byte, now time.Time) error {
	if err := tx.Bucket(bucketExpiry).Delete(key); err != nil {
		return dbErr(err)
	}
	id := key[9:]
	switch key[8] {
	case kindToken:
		if len(id) != len(store.Hash{}) {
			return dbErr(record.ErrCorrupt)
		}
		return deleteToken(tx, store.Hash(id))
	case kindRevocation:
		return deleteRevocation(tx, id)
	case kindFailures:
		w, err := loadFailures(tx, string(id))
		if err != nil || now.Before(w.Until) {
			return err
		}
		return dbErr(tx.Bucket(bucketFailures).Delete(id))
	case kindSubject:
		return deleteSubjectRevocation(tx, string(id), now)
	}
	return nil
}

func deleteRevocation(tx *bbolt.Tx, cursor []byte) error {
	revocations := tx.Bucket(bucketRevocations)
	data := revocations.Get(cursor)
	if data == nil {
		return nil
	}
	rev, err := record.DecodeRevocation(data)
	if err != nil {
		return dbErr(err)
	}
	if err := revocations.Delete(cursor); err != nil {
		return dbErr(err)
	}
	jtis := tx.Bucket(bucketRevokedJTI)
	current := jtis.Get([]byte(rev.JTI))
	if len(current) != 8 || binary.BigEndian.Uint64(current) != rev.Cursor {
		return nil
	}
	return dbErr(jtis.Delete([]byte(rev.JTI)))
}
