package bolt

import (
	"errors"
	"fmt"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// Defaults of Options.
const (
	// DefaultLockTimeout is how long Open waits for another process to
	// release the file.
	DefaultLockTimeout = 5 * time.Second
	// DefaultSweepInterval is how often writes sweep expired records, at
	// most.
	DefaultSweepInterval = time.Minute
	// DefaultSweepBatch is the maximum number of expired records that one
	// sweep removes, so that a sweep never makes a write transaction
	// large.
	DefaultSweepBatch = 1000
)

var (
	bucketTokens      = []byte("tokens")
	bucketFamilies    = []byte("families")
	bucketSubjects    = []byte("subjects")
	bucketExpiry      = []byte("expiry")
	bucketRevocations = []byte("revocations")
	bucketRevokedJTI  = []byte("revokedJTI")
	bucketFailures    = []byte("failures")
	// Files that older versions created lack bucketRevokedSubjects, and
	// Open adds it as it adds every missing bucket.
	bucketRevokedSubjects = []byte("revokedSubjects")
	allBuckets            = [][]byte{bucketTokens, bucketFamilies, bucketSubjects, bucketExpiry, bucketRevocations, bucketRevokedJTI, bucketFailures, bucketRevokedSubjects}
)

// Options configures Open. The zero value uses every default.
type Options struct {
	// LockTimeout is how long Open waits for the file lock that another
	// process holds. Zero means DefaultLockTimeout.
	LockTimeout time.Duration
	// SweepInterval is how often writes sweep expired records, at most,
	// measured by the times that callers pass. Zero means
	// DefaultSweepInterval.
	SweepInterval time.Duration
	// SweepBatch is the maximum number of expired records that one sweep
	// removes. Zero means DefaultSweepBatch.
	SweepBatch int
}

// Store is a store.Store in a bbolt file. It is safe for concurrent use.
// Only one process may open the file at a time.
type Store struct {
	db   *bbolt.DB
	opts Options

	mu        sync.Mutex
	lastSweep time.Time
}

// Open opens the store in the file at path, creating the file with mode
// 0600 when it does not exist. The caller must Close the store.
func Open(path string, opts Options) (*Store, error) {
	opts = withDefaults(opts)
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: opts.LockTimeout})
	if err != nil {
		return nil, fmt.Errorf("open bolt store %s: %w", path, err)
	}
	if err := db.Update(createBuckets); err != nil {
		return nil, errors.Join(fmt.Errorf("create bolt store buckets: %w", err), db.Close())
	}
	return &Store{db: db, opts: opts}, nil
}

func withDefaults(opts Options) Options {
	if opts.LockTimeout == 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.SweepInterval == 0 {
		opts.SweepInterval = DefaultSweepInterval
	}
	if opts.SweepBatch == 0 {
		opts.SweepBatch = DefaultSweepBatch
	}
	return opts
}

func createBuckets(tx *bbolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the file. Calls after Close fail.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close bolt store: %w", err)
	}
	return nil
}

// update runs fn in a write transaction and commits it, also when fn
// returns a store error such as store.ErrReused: fn writes only what must
// persist before it reports one, such as the revocation of a family. An
// error of bbolt itself rolls the transaction back.
func (s *Store) update(fn func(tx *bbolt.Tx) error) error {
	var verdict error
	err := s.db.Update(func(tx *bbolt.Tx) error {
		verdict = fn(tx)
		var dbErr dbError
		if errors.As(verdict, &dbErr) {
			return verdict
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bolt store: %w", err)
	}
	return verdict
}

// view runs fn in a read transaction.
func (s *Store) view(fn func(tx *bbolt.Tx) error) error {
	err := s.db.View(fn)
	var dbErr dbError
	if errors.As(err, &dbErr) {
		return fmt.Errorf("bolt store: %w", err)
	}
	return err
}

// dbError marks an error of bbolt or of decoding, which rolls a
// transaction back, unlike the store errors that fn reports as results.
type dbError struct{ err error }

func (e dbError) Error() string { return e.err.Error() }
func (e dbError) Unwrap() error { return e.err }

// dbErr wraps a non-nil err as a dbError.
func dbErr(err error) error {
	if err == nil {
		return nil
	}
	return dbError{err: err}
}
