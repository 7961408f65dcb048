package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/issuer/store"
)

// DefaultPrefix is the key prefix when the caller sets none.
const DefaultPrefix = "gatehouse:"

// minTTL is the shortest TTL that the store sets, so that a record that
// is already due still exists for the call that reports it as expired.
const minTTL = time.Second

// ErrInvalidPrefix reports a key prefix with a brace, which would change the
// hash tags that keep a script's keys in one Cluster slot.
var ErrInvalidPrefix = errors.New("redis key prefix must not contain { or }")

// Store is a store.Store in Redis. It is safe for concurrent use.
type Store struct {
	client    goredis.UniversalClient
	ownClient bool
	prefix    string
}

// Open connects to the Redis servers that opts names, through
// goredis.NewUniversalClient, and checks the connection with PING. An empty
// prefix means DefaultPrefix. The caller must Close the store, which closes
// the client.
func Open(ctx context.Context, opts *goredis.UniversalOptions, prefix string) (*Store, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	client := goredis.NewUniversalClient(opts)
	if err := client.Ping(ctx).Err(); err != nil {
		return nil, errors.Join(fmt.Errorf("redis store: ping %s: %w", strings.Join(opts.Addrs, ","), err), client.Close())
	}
	s, err := New(client, prefix)
	if err != nil {
		return nil, errors.Join(err, client.Close())
	}
	s.ownClient = true
	return s, nil
}

// New returns a store on a client that the caller owns and closes. An
// empty prefix means DefaultPrefix.
func New(client goredis.UniversalClient, prefix string) (*Store, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{client: client, prefix: prefix}, nil
}

func checkPrefix(prefix string) error {
	if strings.ContainsAny(prefix, "{}") {
		return fmt.Errorf("%w: %q", ErrInvalidPrefix, prefix)
	}
	return nil
}

// Close closes the client when Open created it, and does nothing for a
// store from New.
func (s *Store) Close() error {
	if !s.ownClient {
		return nil
	}
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("redis store: close: %w", err)
	}
	return nil
}

// ttl returns the time from now until at, and at least minTTL.
func ttl(at, now time.Time) time.Duration {
	return max(at.Sub(now), minTTL)
}

// Key names. See the package documentation for what each holds.

func (s *Store) indexKey(hexHash string) string { return s.prefix + "tok:" + hexHash }

func (s *Store) familyKeys(familyID string) []string {
	tag := s.prefix + "{fam:" + familyID + "}"
	return []string{tag + ":tokens", tag + ":exp"}
}

func (s *Store) subjectKey(subject string) string { return s.prefix + "{sub:" + subject + "}" }

func (s *Store) revocationKeys() []string {
	tag := s.prefix + "{rev}"
	return []string{tag + ":seq", tag + ":log", tag + ":exp", tag + ":data", tag + ":jti"}
}

// revokedSubjectKey shares the hash tag of revocationKeys, so that one
// script writes a subject revocation and its feed record.
func (s *Store) revokedSubjectKey(subject string) string {
	return s.prefix + "{rev}:sub:" + subject
}

func (s *Store) failureKey(key string) string { return s.prefix + "fail:" + key }

// wrap adds the package prefix to an error of Redis.
func wrap(op string, err error) error {
	if unreachable(err) {
		return fmt.Errorf("redis store: %s: %w: %w", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("redis store: %s: %w", op, err)
}

// unreachable reports whether err means the server could not be reached or
// did not reply in time, rather than that it rejected the command.
func unreachable(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, goredis.ErrPoolTimeout) || errors.Is(err, goredis.ErrClosed) || errors.Is(err, syscall.ECONNREFUSED)
}
