package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/gatehouse-dev/gatehouse/issuer/store/internal/record"
	bbolt "go.etcd.io/bbolt"
)

// Kinds of records in the expiry bucket.
const (
	kindToken      byte = 't'
	kindRevocation byte = 'r'
	kindFailures   byte = 'f'
	kindSubject    byte = 's'
)

// Put implements store.RefreshStore.
func (s *Store) Put(_ context.Context, token store.RefreshToken) error {
	if token.FamilyID == "" {
		return store.ErrInvalidArgument
	}
	return s.update(func(tx *bbolt.Tx) error {
		if err := s.maybeSweep(tx, token.IssuedAt); err != nil {
			return err
		}
		return putNew(tx, token)
	})
}

// Get implements store.RefreshStore. It reads in a read transaction and
// opens a write transaction only to revoke a family on reuse.
func (s *Store) Get(_ context.Context, hash store.Hash, now time.Time) (store.RefreshToken, error) {
	var rec record.Token
	err := s.view(func(tx *bbolt.Tx) error {
		var err error
		rec, err = usable(tx, hash, now)
		return err
	})
	if errors.Is(err, store.ErrReused) {
		return rec.RefreshToken(hash), errors.Join(err, s.update(func(tx *bbolt.Tx) error {
			return revokeFamily(tx, rec.FamilyID)
		}))
	}
	if err != nil {
		return store.RefreshToken{}, err
	}
	return rec.RefreshToken(hash), nil
}

// Rotate implements store.RefreshStore in one write transaction.
func (s *Store) Rotate(_ context.Context, old store.Hash, next store.RefreshToken) (store.RefreshToken, error) {
	var rec record.Token
	err := s.update(func(tx *bbolt.Tx) error {
		var err error
		rec, err = usable(tx, old, next.IssuedAt)
		if errors.Is(err, store.ErrReused) {
			return errors.Join(err, revokeFamily(tx, rec.FamilyID))
		}
		if err != nil {
			return err
		}
		if next.FamilyID != rec.FamilyID {
			return store.ErrFamilyMismatch
		}
		if err := putNew(tx, next); err != nil {
			return err
		}
		rec.Used = true
		return putRecord(tx, old, rec)
	})
	if errors.Is(err, store.ErrReused) {
		return rec.RefreshToken(old), err
	}
	if err != nil {
		return store.RefreshToken{}, err
	}
	rec.Used = false
	return rec.RefreshToken(old), nil
}

// RevokeFamily implements store.RefreshStore.
func (s *Store) RevokeFamily(_ context.Context, familyID string) error {
	return s.update(func(tx *bbolt.Tx) error {
		return revokeFamily(tx, familyID)
	})
}

// RevokeSubject implements store.Store in one write transaction.
func (s *Store) RevokeSubject(_ context.Context, subject string) error {
	return s.update(func(tx *bbolt.Tx) error {
		families := tx.Bucket(bucketSubjects).Bucket(nestedName(subject))
		if families == nil {
			return nil
		}
		var ids []string
		err := families.ForEach(func(id, _ []byte) error {
			ids = append(ids, string(id))
			return nil
		})
		if err != nil {
			return dbErr(err)
		}
		for _, id := range ids {
			if err := revokeFamily(tx, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// usable returns the record of an unused, unexpired token. For a used one
// it returns the record and store.ErrReused, and the caller revokes the
// family.
func usable(tx *bbolt.Tx, hash store.Hash, now time.Time) (record.Token, error) {
	data := tx.Bucket(bucketTokens).Get(hash[:])
	if data == nil {
		return record.Token{}, store.ErrNotFound
	}
	rec, err := record.DecodeToken(data)
	if err != nil {
		return record.Token{}, dbErr(err)
	}
	if !now.Before(rec.Expiry()) {
		return record.Token{}, store.ErrExpired
	}
	if rec.Used {
		return rec, store.ErrReused
	}
	return rec, nil
}

// putNew stores a token that the store must not have yet, with its family,
// subject and expiry entries.
func putNew(tx *bbolt.Tx, token store.RefreshToken) error {
	if tx.Bucket(bucketTokens).Get(token.Hash[:]) != nil {
		return store.ErrDuplicate
	}
	if err := putRecord(tx, token.Hash, record.FromToken(token)); err != nil {
		return err
	}
	family, err := tx.Bucket(bucketFamilies).CreateBucketIfNotExists(nestedName(token.FamilyID))
	if err != nil {
		return dbErr(err)
	}
	if err := family.Put(token.Hash[:], nil); err != nil {
		return dbErr(err)
	}
	subject, err := tx.Bucket(bucketSubjects).CreateBucketIfNotExists(nestedName(token.Subject))
	if err != nil {
		return dbErr(err)
	}
	if err := subject.Put([]byte(token.FamilyID), nil); err != nil {
		return dbErr(err)
	}
	return dbErr(tx.Bucket(bucketExpiry).Put(expiryKey(token.Expiry(), kindToken, token.Hash[:]), nil))
}

func putRecord(tx *bbolt.Tx, hash store.Hash, rec record.Token) error {
	data, err := record.Encode(rec)
	if err != nil {
		return dbErr(err)
	}
	return dbErr(tx.Bucket(bucketTokens).Put(hash[:], data))
}

// revokeFamily deletes every token of the family and the family's entry
// under its subject.
func revokeFamily(tx *bbolt.Tx, familyID string) error {
	name := nestedName(familyID)
	family := tx.Bucket(bucketFamilies).Bucket(name)
	if family == nil {
		return nil
	}
	var hashes []store.Hash
	err := family.ForEach(func(k, _ []byte) error {
		if len(k) != len(store.Hash{}) {
			return record.ErrCorrupt
		}
		hashes = append(hashes, store.Hash(k))
		return nil
	})
	if err != nil {
		return dbErr(err)
	}
	// Deleting the last token also deletes the family bucket and the
	// family's entry under its subject.
	for _, h := range hashes {
		if err := deleteToken(tx, h); err != nil {
			return err
		}
	}
	return nil
}

// deleteToken deletes one token, its expiry entry and, when it is the last
// of its family, the family's entry under its subject.
func deleteToken(tx *bbolt.Tx, hash store.Hash) error {
	tokens := tx.Bucket(bucketTokens)
	data := tokens.Get(hash[:])
	if data == nil {
		return nil
	}
	rec, err := record.DecodeToken(data)
	if err != nil {
		return dbErr(err)
	}
	if err := tokens.Delete(hash[:]); err != nil {
		return dbErr(err)
	}
	if err := tx.Bucket(bucketExpiry).Delete(expiryKey(rec.Expiry(), kindToken, hash[:])); err != nil {
		return dbErr(err)
	}
	return forgetToken(tx, hash, rec)
}

// forgetToken removes the token from its family bucket, and an emptied
// family from its subject bucket.
func forgetToken(tx *bbolt.Tx, hash store.Hash, rec record.Token) error {
	family := tx.Bucket(bucketFamilies).Bucket(nestedName(rec.FamilyID))
	if family == nil {
		return nil
	}
	if err := family.Delete(hash[:]); err != nil {
		return dbErr(err)
	}
	if k, _ := family.Cursor().First(); k != nil {
		return nil
	}
	if err := tx.Bucket(bucketFamilies).DeleteBucket(nestedName(rec.FamilyID)); err != nil {
		return dbErr(err)
	}
	subjects := tx.Bucket(bucketSubjects)
	subject := subjects.Bucket(nestedName(rec.Subject))
	if subject == nil {
		return nil
	}
	if err := subject.Delete([]byte(rec.FamilyID)); err != nil {
		return dbErr(err)
	}
	if k, _ := subject.Cursor().First(); k != nil {
		return nil
	}
	return dbErr(subjects.DeleteBucket(nestedName(rec.Subject)))
}

// nestedName returns the name of a nested bucket for id. The leading byte
// keeps the name non-empty, which bbolt requires, for an empty subject.
func nestedName(id string) []byte {
	return append([]byte{'/'}, id...)
}

// expiryKey returns the key of a record in the expiry bucket. Big-endian
// Unix nanoseconds sort in time order; times before 1970 sort as 1970.
func expiryKey(at time.Time, kind byte, id []byte) []byte {
	key := make([]byte, 9, 9+len(id))
	binary.BigEndian.PutUint64(key, uint64(max(at.UnixNano(), 0)))
	key[8] = kind
	return append(key, id...)
}
