package redis

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
	"github.com/gatehouse-dev/gatehouse/issuer/store/internal/record"
	goredis "github.com/redis/go-redis/v9"
)

// Statuses that the token scripts return.
const (
	statusOK        = "ok"
	statusMissing   = "missing"
	statusExpired   = "expired"
	statusReused    = "reused"
	statusDuplicate = "duplicate"
)

// Put implements store.RefreshStore. It adds the family to the subject's
// set, then writes the token index, then the family, as the package
// documentation explains.
func (s *Store) Put(ctx context.Context, token store.RefreshToken) error {
	if token.FamilyID == "" {
		return store.ErrInvalidArgument
	}
	value, err := tokenValue(token)
	if err != nil {
		return err
	}
	life := ttl(token.Expiry(), token.IssuedAt)
	if err := s.addToSubject(ctx, token, life); err != nil {
		return err
	}
	hexHash := hex.EncodeToString(token.Hash[:])
	if err := s.claimIndex(ctx, hexHash, token.FamilyID, life); err != nil {
		return err
	}
	status, err := putScript.Run(ctx, s.client, s.familyKeys(token.FamilyID),
		hexHash, value, millis(token.Expiry()), life.Milliseconds()).Text()
	if err != nil {
		return wrap("put refresh token", err)
	}
	if status == statusDuplicate {
		return store.ErrDuplicate
	}
	return nil
}

func (s *Store) addToSubject(ctx context.Context, token store.RefreshToken, life time.Duration) error {
	err := subjectScript.Run(ctx, s.client, []string{s.subjectKey(token.Subject)}, token.FamilyID, life.Milliseconds()).Err()
	if err != nil {
		return wrap("add family to subject", err)
	}
	return nil
}

// claimIndex creates the index entry of a new token, and returns
// store.ErrDuplicate when the hash has one.
func (s *Store) claimIndex(ctx context.Context, hexHash, familyID string, life time.Duration) error {
	created, err := s.client.SetNX(ctx, s.indexKey(hexHash), familyID, life).Result()
	if err != nil {
		return wrap("index refresh token", err)
	}
	if !created {
		return store.ErrDuplicate
	}
	return nil
}

// Get implements store.RefreshStore.
func (s *Store) Get(ctx context.Context, hash store.Hash, now time.Time) (store.RefreshToken, error) {
	hexHash := hex.EncodeToString(hash[:])
	familyID, err := s.client.Get(ctx, s.indexKey(hexHash)).Result()
	if errors.Is(err, goredis.Nil) {
		return store.RefreshToken{}, store.ErrNotFound
	}
	if err != nil {
		return store.RefreshToken{}, wrap("read refresh token index", err)
	}
	result, err := getScript.Run(ctx, s.client, s.familyKeys(familyID), hexHash, nanos(now)).StringSlice()
	if err != nil {
		return store.RefreshToken{}, wrap("read refresh token", err)
	}
	return decodeResult(result, hash)
}

// Rotate implements store.RefreshStore: the check of the old token, its
// marking as used and the write of the next one are one script.
func (s *Store) Rotate(ctx context.Context, old store.Hash, next store.RefreshToken) (store.RefreshToken, error) {
	value, err := tokenValue(next)
	if err != nil {
		return store.RefreshToken{}, err
	}
	life := ttl(next.Expiry(), next.IssuedAt)
	nextHex := hex.EncodeToString(next.Hash[:])
	if err := s.claimIndex(ctx, nextHex, next.FamilyID, life); err != nil {
		return store.RefreshToken{}, err
	}
	rec, err := s.rotate(ctx, old, next, nextHex, value, life)
	if err != nil {
		// The index entry of a token that was not stored would read as
		// unknown anyway; deleting it only saves memory.
		s.client.Del(context.WithoutCancel(ctx), s.indexKey(nextHex))
		if errors.Is(err, store.ErrReused) {
			return rec, err
		}
		return store.RefreshToken{}, err
	}
	return rec, nil
}

func (s *Store) rotate(ctx context.Context, old store.Hash, next store.RefreshToken, nextHex, value string, life time.Duration) (store.RefreshToken, error) {
	oldHex := hex.EncodeToString(old[:])
	result, err := rotateScript.Run(ctx, s.client, s.familyKeys(next.FamilyID),
		oldHex, nanos(next.IssuedAt), millis(next.IssuedAt), nextHex, value, millis(next.Expiry()), life.Milliseconds()).StringSlice()
	if err != nil {
		return store.RefreshToken{}, wrap("rotate refresh token", err)
	}
	if len(result) > 0 && result[0] == statusMissing {
		return store.RefreshToken{}, s.missingOnRotate(ctx, oldHex, next.FamilyID)
	}
	return decodeResult(result, old)
}

// missingOnRotate distinguishes a token of another family from an unknown one,
// when the rotate script did not find the old token in next's family.
func (s *Store) missingOnRotate(ctx context.Context, oldHex, familyID string) error {
	owner, err := s.client.Get(ctx, s.indexKey(oldHex)).Result()
	if errors.Is(err, goredis.Nil) {
		return store.ErrNotFound
	}
	if err != nil {
		return wrap("read refresh token index", err)
	}
	if owner != familyID {
		return store.ErrFamilyMismatch
	}
	return store.ErrNotFound
}

// RevokeFamily implements store.RefreshStore.
func (s *Store) RevokeFamily(ctx context.Context, familyID string) error {
	if err := s.client.Del(ctx, s.familyKeys(familyID)...).Err(); err != nil {
		return wrap("revoke family", err)
	}
	return nil
}

// RevokeSubject implements store.Store. It revokes the families one by one,
// because each lives in its own Cluster slot.
func (s *Store) RevokeSubject(ctx context.Context, subject string) error {
	key := s.subjectKey(subject)
	families, err := s.client.SMembers(ctx, key).Result()
	if err != nil {
		return wrap("list families of subject", err)
	}
	for _, familyID := range families {
		if err := s.RevokeFamily(ctx, familyID); err != nil {
			return err
		}
		if err := s.client.SRem(ctx, key, familyID).Err(); err != nil {
			return wrap("remove family from subject", err)
		}
	}
	return nil
}

// decodeResult turns a token script's result into a record or an error.
func decodeResult(result []string, hash store.Hash) (store.RefreshToken, error) {
	if len(result) == 0 {
		return store.RefreshToken{}, wrap("token script", errors.New("empty result"))
	}
	switch result[0] {
	case statusOK:
	case statusMissing:
		return store.RefreshToken{}, store.ErrNotFound
	case statusExpired:
		return store.RefreshToken{}, store.ErrExpired
	case statusReused:
		return reusedRecord(result, hash)
	case statusDuplicate:
		return store.RefreshToken{}, store.ErrDuplicate
	default:
		return store.RefreshToken{}, wrap("token script", fmt.Errorf("unknown status %q", result[0]))
	}
	if len(result) != 2 || len(result[1]) < valueHeader {
		return store.RefreshToken{}, record.ErrCorrupt
	}
	rec, err := record.DecodeToken([]byte(result[1][valueHeader:]))
	if err != nil {
		return store.RefreshToken{}, err
	}
	return rec.RefreshToken(hash), nil
}

// valueHeader is the length of the state byte and the expiry digits that
// precede the JSON of a token value.
const valueHeader = 21

// tokenValue returns the family hash value of an active token.
func tokenValue(token store.RefreshToken) (string, error) {
	data, err := record.Encode(record.FromToken(token))
	if err != nil {
		return "", err
	}
	return "a" + nanos(token.Expiry()) + string(data), nil
}

// nanos returns t as 20 zero-padded digits of Unix nanoseconds, and times
// before 1970 as zero.
func nanos(t time.Time) string {
	return fmt.Sprintf("%020d", max(t.UnixNano(), 0))
}

// millis returns t in Unix milliseconds, as a decimal string.
func millis(t time.Time) string {
	return strconv.FormatInt(t.UnixMilli(), 10)
}

// reusedRecord returns the record that the script sent with a "reused"
// status, and store.ErrReused, so the caller can revoke what the family
// issued. A result without the record still reports the reuse.
func reusedRecord(result []string, hash store.Hash) (store.RefreshToken, error) {
	if len(result) != 2 || len(result[1]) < valueHeader {
		return store.RefreshToken{}, store.ErrReused
	}
	rec, err := record.DecodeToken([]byte(result[1][valueHeader:]))
	if err != nil {
		return store.RefreshToken{}, store.ErrReused
	}
	return rec.RefreshToken(hash), store.ErrReused
}
