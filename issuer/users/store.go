package users

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/issuer/internal/filewatch"
)

// ErrInvalidCredentials reports an unknown username or a wrong password.
// The two are deliberately not distinguished.
var ErrInvalidCredentials = errors.New("invalid username or password")

// ErrNotFound reports a username that the store does not have.
var ErrNotFound = errors.New("user not found")

// ErrUnavailable reports a user store that could not serve the request,
// such as a directory server that is down or timed out. It is a temporary
// failure of the issuer (HTTP 503), not a failed login.
var ErrUnavailable = errors.New("user store unavailable")

// Store authenticates users and looks them up. Implementations are safe for
// concurrent use.
type Store interface {
	// Authenticate returns the user when password is theirs, or an error
	// wrapping ErrInvalidCredentials for an unknown user or wrong password.
	// An error wrapping ErrUnavailable means the store could not be
	// reached. Other errors mean the store failed.
	Authenticate(ctx context.Context, username, password string) (User, error)
	// Lookup returns the user, or an error wrapping ErrNotFound.
	Lookup(ctx context.Context, username string) (User, error)
}

// hashSlots bounds the password verifications that run at once. An argon2id
// verification with the default parameters holds 64 MiB, so without a bound
// a burst of logins could exhaust memory. Waiting requests queue here.
var hashSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

// set is an immutable collection of validated users with the dummy hash
// that unknown usernames are verified against.
type set struct {
	byName map[string]User
	dummy  string
}

func newSet(list []User) (*set, error) {
	s := &set{byName: make(map[string]User, len(list))}
	subjects := make(map[string]bool, len(list))
	for i, u := range list {
		if err := u.Validate(); err != nil {
			return nil, fmt.Errorf("users[%d]: %w", i, err)
		}
		if u.Subject == "" {
			u.Subject = u.Username
		}
		if _, dup := s.byName[u.Username]; dup {
			return nil, fmt.Errorf("users[%d]: %w %q: username: duplicate", i, ErrInvalid, u.Username)
		}
		if subjects[u.Subject] {
			return nil, fmt.Errorf("users[%d]: %w %q: subject: duplicate %q", i, ErrInvalid, u.Username, u.Subject)
		}
		subjects[u.Subject] = true
		s.byName[u.Username] = u
	}
	dummy, err := dummyHash(list)
	if err != nil {
		return nil, err
	}
	s.dummy = dummy
	return s, nil
}

// defaultDummy is the dummy hash of a store without users.
var defaultDummy = sync.OnceValues(func() (string, error) { return HashPassword(rand.Text()) })

// dummyHash returns a hash that costs as much to verify as the first user's.
func dummyHash(list []User) (string, error) {
	if len(list) == 0 {
		return defaultDummy()
	}
	return hashLike(list[0].PasswordHash)
}

func (s *set) authenticate(ctx context.Context, username, password string) (User, error) {
	if err := acquireHashSlot(ctx); err != nil {
		return User{}, err
	}
	defer func() { <-hashSlots }()

	u, known := s.byName[username]
	hash := u.PasswordHash
	if !known {
		hash = s.dummy
	}
	ok, err := VerifyPassword(hash, password)
	if err != nil {
		return User{}, fmt.Errorf("verify password: %w", err)
	}
	if !known || !ok {
		return User{}, ErrInvalidCredentials
	}
	u.PasswordHash = ""
	return u, nil
}

func acquireHashSlot(ctx context.Context) error {
	select {
	case hashSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for a password verification slot: %w", context.Cause(ctx))
	}
}

func (s *set) lookup(username string) (User, error) {
	u, ok := s.byName[username]
	if !ok {
		return User{}, ErrNotFound
	}
	u.PasswordHash = ""
	return u, nil
}

// Static is a fixed set of users, for development and tests.
type Static struct {
	users *set
}

// NewStatic validates every user and returns them as a Store. It fails on
// the first invalid user or duplicate username or subject.
func NewStatic(list []User) (*Static, error) {
	s, err := newSet(list)
	if err != nil {
		return nil, err
	}
	return &Static{users: s}, nil
}

// Authenticate implements Store.
func (s *Static) Authenticate(ctx context.Context, username, password string) (User, error) {
	return s.users.authenticate(ctx, username, password)
}

// Lookup implements Store.
func (s *Static) Lookup(_ context.Context, username string) (User, error) {
	return s.users.lookup(username)
}

// FileSource is the set of users in a YAML file, reloaded when the file
// changes.
type FileSource struct {
	value *filewatch.Value[*set]
}

// WatchFile loads the users from the YAML file at path and polls the file
// every interval until ctx is done. New content replaces the set atomically
// when every user in it is valid; otherwise the last good set stays and the
// error is logged. The first load must succeed, or WatchFile returns its
// error.
func WatchFile(ctx context.Context, path string, interval time.Duration, logger *slog.Logger) (*FileSource, error) {
	v, err := filewatch.Watch(ctx, path, interval, logger.With("file", "users"), parseFile)
	if err != nil {
		return nil, fmt.Errorf("load users: %w", err)
	}
	return &FileSource{value: v}, nil
}

// Authenticate implements Store.
func (f *FileSource) Authenticate(ctx context.Context, username, password string) (User, error) {
	return f.value.Load().authenticate(ctx, username, password)
}

// Lookup implements Store.
func (f *FileSource) Lookup(_ context.Context, username string) (User, error) {
	return f.value.Load().lookup(username)
}

// parseFile decodes and validates a user file.
func parseFile(data []byte) (*set, error) {
	var doc struct {
		Users []struct {
			Username     string   `json:"username"`
			Subject      string   `json:"subject"`
			PasswordHash string   `json:"passwordHash"`
			Email        string   `json:"email"`
			Groups       []string `json:"groups"`
		} `json:"users"`
	}
	if err := yaml.UnmarshalStrict(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	list := make([]User, len(doc.Users))
	for i, fu := range doc.Users {
		list[i] = User(fu)
	}
	return newSet(list)
}
