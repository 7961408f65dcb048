package bolt

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/gatehouse-dev/gatehouse/issuer/store/internal/record"
	bbolt "go.etcd.io/bbolt"
)

// subjectRevocationSize is the length of a stored store.SubjectRevocation:
// RevokedAt and ExpiresAt in Unix nanoseconds, 8 bytes each.
const subjectRevocationSize = 16

// RevokeSubjectAccessTokens implements store.SubjectRevocationStore. The
// feed record and the subject's merged record are written in one
// transaction.
func (s *Store) RevokeSubjectAccessTokens(_ context.Context, subject string, expiresAt, now time.Time) error {
	if subject == "" {
		return store.ErrInvalidArgument
	}
	key := store.SubjectRevocationKey(subject, now)
	return s.update(func(tx *bbolt.Tx) error {
		if err := s.maybeSweep(tx, now); err != nil {
			return err
		}
		if tx.Bucket(bucketRevokedJTI).Get([]byte(key)) != nil || !now.Before(expiresAt) {
			return nil
		}
		if err := putRevocation(tx, key, expiresAt, now); err != nil {
			return err
		}
		return mergeSubjectRevocation(tx, subject, store.SubjectRevocation{RevokedAt: now, ExpiresAt: expiresAt})
	})
}

// SubjectRevokedSince implements store.SubjectRevocationStore.
func (s *Store) SubjectRevokedSince(_ context.Context, subject string, since, now time.Time) (bool, error) {
	var revoked bool
	err := s.view(func(tx *bbolt.Tx) error {
		r, _, err := loadSubjectRevocation(tx, subject)
		revoked = err == nil && r.Covers(since, now)
		return err
	})
	return revoked, err
}

// mergeSubjectRevocation merges next into the subject's record, and moves
// the record's entry in the expiry bucket when its expiry grows.
func mergeSubjectRevocation(tx *bbolt.Tx, subject string, next store.SubjectRevocation) error {
	current, found, err := loadSubjectRevocation(tx, subject)
	if err != nil {
		return err
	}
	merged := current.Merge(next)
	expiry := tx.Bucket(bucketExpiry)
	if found && !merged.ExpiresAt.Equal(current.ExpiresAt) {
		if err := expiry.Delete(expiryKey(current.ExpiresAt, kindSubject, []byte(subject))); err != nil {
			return dbErr(err)
		}
	}
	if err := tx.Bucket(bucketRevokedSubjects).Put([]byte(subject), encodeSubjectRevocation(merged)); err != nil {
		return dbErr(err)
	}
	return dbErr(expiry.Put(expiryKey(merged.ExpiresAt, kindSubject, []byte(subject)), nil))
}

// loadSubjectRevocation returns the subject's record and whether it is
// stored. A missing record is the zero record, which covers nothing.
func loadSubjectRevocation(tx *bbolt.Tx, subject string) (store.SubjectRevocation, bool, error) {
	data := tx.Bucket(bucketRevokedSubjects).Get([]byte(subject))
	if data == nil {
		return store.SubjectRevocation{}, false, nil
	}
	if len(data) != subjectRevocationSize {
		return store.SubjectRevocation{}, false, dbErr(record.ErrCorrupt)
	}
	return store.SubjectRevocation{
		RevokedAt: time.Unix(0, int64(binary.BigEndian.Uint64(data[:8]))),
		ExpiresAt: time.Unix(0, int64(binary.BigEndian.Uint64(data[8:]))),
	}, true, nil
}

func encodeSubjectRevocation(r store.SubjectRevocation) []byte {
	data := binary.BigEndian.AppendUint64(make([]byte, 0, subjectRevocationSize), uint64(r.RevokedAt.UnixNano()))
	return binary.BigEndian.AppendUint64(data, uint64(r.ExpiresAt.UnixNano()))
}

// deleteSubjectRevocation removes the subject's record when it has expired
// at now, for the sweep.
func deleteSubjectRevocation(tx *bbolt.Tx, subject string, now time.Time) error {
	r, found, err := loadSubjectRevocation(tx, subject)
	if err != nil || !found || now.Before(r.ExpiresAt) {
		return err
	}
	return dbErr(tx.Bucket(bucketRevokedSubjects).Delete([]byte(subject)))
}
